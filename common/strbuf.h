/* common/strbuf.h: growable byte buffers and small string helpers.
 * Allocation failure aborts (there is no useful recovery in a CLI tool). */
#ifndef SB_COMMON_STRBUF_H
#define SB_COMMON_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct sb_strbuf {
	char *buf;  /* always NUL-terminated once anything was added; may hold NULs */
	size_t len; /* bytes used, not counting the terminator */
	size_t cap;
};

#define SB_STRBUF_INIT { NULL, 0, 0 }

void sb_strbuf_add(struct sb_strbuf *sb, const void *data, size_t len);
void sb_strbuf_adds(struct sb_strbuf *sb, const char *s);
void sb_strbuf_addc(struct sb_strbuf *sb, char c);
void sb_strbuf_addf(struct sb_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the buffer (never NULL, "" when empty), the caller owns it; sb is reset. */
char *sb_strbuf_detach(struct sb_strbuf *sb, size_t *len);
void sb_strbuf_release(struct sb_strbuf *sb);

/* malloc'd copies that abort on failure. */
char *sb_strdup(const char *s);
char *sb_strndup(const char *s, size_t n);
void *sb_xmalloc(size_t n);
void *sb_xcalloc(size_t n, size_t size);
void *sb_xrealloc(void *p, size_t n);
char *sb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A warning sink: msg is borrowed for the duration of the call. */
typedef void (*sb_warn_fn)(void *ctx, const char *msg);
/* Formats and hands one warning to warn (nothing when warn is NULL). */
void sb_warnf(sb_warn_fn warn, void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sb_vwarnf(sb_warn_fn warn, void *ctx, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Reads a whole file into a new NUL-terminated buffer. Returns NULL and sets
 * errno on failure. */
char *sb_read_file(const char *path, size_t *len);

/* Levenshtein distance between a and b (ASCII case-insensitive). */
size_t sb_edit_distance(const char *a, const char *b);

#endif
