#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static int error_vset(sb_error_t *err, int status, int errnum, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	struct sb_error *e = calloc(1, sizeof(*e));
	if (e == NULL)
		abort();
	char *m = vformat(fmt, ap);
	if (m == NULL)
		abort();
	if (errnum != 0) {
		char *m2 = NULL;
		if (asprintf(&m2, "%s: %s", m, strerror(errnum)) < 0)
			abort();
		free(m);
		m = m2;
	}
	e->errnum = errnum;
	e->status = status;
	e->msg = m;
	if (*err != NULL)
		sb_error_free(err);
	*err = e;
	return -1;
}

int sb_error_set(sb_error_t *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, 1, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int sb_error_set_status(sb_error_t *err, int status, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_vset(err, status, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int sb_error_wrap(sb_error_t *err, const char *fmt, ...)
{
	if (err == NULL || *err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vformat(fmt, ap);
	va_end(ap);
	if (ctx == NULL)
		abort();
	char *m = NULL;
	if (asprintf(&m, "%s: %s", ctx, (*err)->msg) < 0)
		abort();
	free(ctx);
	free((*err)->msg);
	(*err)->msg = m;
	return -1;
}

const char *sb_error_message(const struct sb_error *err)
{
	return err && err->msg ? err->msg : "unknown error";
}

void sb_error_free(sb_error_t *err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
