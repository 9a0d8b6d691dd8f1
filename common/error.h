/* common/error.h: the one error type that travels through sifbuild.
 *
 * A failing function fills a `sb_error_t *err` out-parameter and returns a
 * negative value (or NULL). On success it leaves *err untouched. Callers may
 * wrap an inner error with outer context ("pulling x: layer y: why"). Library
 * code never prints or exits; the CLI prints sb_error_message() and decides the
 * exit code.
 */
#ifndef SB_COMMON_ERROR_H
#define SB_COMMON_ERROR_H

#include <stdarg.h>

struct sb_error {
	int errnum; /* errno-style code, 0 when none applies */
	int status; /* suggested exit status for the CLI (2 = bad input) */
	char *msg;  /* one line, owned */
};
typedef struct sb_error *sb_error_t;

/* Sets *err (which must be NULL) to a new error built from fmt. When errnum is
 * not 0, ": strerror(errnum)" is appended. Always returns -1 so callers can
 * write `return sb_error_set(err, ...)`. err may be NULL (error dropped). */
int sb_error_set(sb_error_t *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like sb_error_set, with an explicit exit status. */
int sb_error_set_status(sb_error_t *err, int status, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefixes the message of *err with the formatted context and ": ".
 * Returns -1. Does nothing (but return -1) when *err is NULL. */
int sb_error_wrap(sb_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Borrowed message text of err ("unknown error" for NULL). */
const char *sb_error_message(const struct sb_error *err);

/* Frees *err and sets it to NULL. Safe on NULL. */
void sb_error_free(sb_error_t *err);

#endif
