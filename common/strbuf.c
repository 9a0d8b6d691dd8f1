#include "common/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void *sb_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

void *sb_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		abort();
	return p;
}

void *sb_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		abort();
	return q;
}

char *sb_strdup(const char *s)
{
	return sb_strndup(s, strlen(s));
}

char *sb_strndup(const char *s, size_t n)
{
	char *p = sb_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sb_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	return s;
}

void sb_vwarnf(sb_warn_fn warn, void *ctx, const char *fmt, va_list ap)
{
	if (warn == NULL)
		return;
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	warn(ctx, s);
	free(s);
}

void sb_warnf(sb_warn_fn warn, void *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vwarnf(warn, ctx, fmt, ap);
	va_end(ap);
}

static void grow(struct sb_strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap *= 2;
	sb->buf = sb_xrealloc(sb->buf, cap);
	sb->cap = cap;
}

void sb_strbuf_add(struct sb_strbuf *sb, const void *data, size_t len)
{
	grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_strbuf_adds(struct sb_strbuf *sb, const char *s)
{
	sb_strbuf_add(sb, s, strlen(s));
}

void sb_strbuf_addc(struct sb_strbuf *sb, char c)
{
	sb_strbuf_add(sb, &c, 1);
}

void sb_strbuf_addf(struct sb_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		abort();
	sb_strbuf_add(sb, s, (size_t)r);
	free(s);
}

char *sb_strbuf_detach(struct sb_strbuf *sb, size_t *len)
{
	if (sb->buf == NULL)
		sb_strbuf_add(sb, "", 0);
	char *b = sb->buf;
	if (len)
		*len = sb->len;
	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return b;
}

void sb_strbuf_release(struct sb_strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

char *sb_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return NULL;
	}
	struct sb_strbuf sb = SB_STRBUF_INIT;
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			sb_strbuf_release(&sb);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		sb_strbuf_add(&sb, tmp, (size_t)n);
	}
	close(fd);
	return sb_strbuf_detach(&sb, len);
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

size_t sb_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = sb_xcalloc(lb + 1, sizeof(size_t));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}
