/* defparse/lexer.c: text helpers that behave like Go's strings/bufio functions
 * Apptainer's parser relies on, and the scanner that cuts a definition into a
 * header token and one token per section. */
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"

size_t dp_space_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return 0;
	switch (u[0]) {
	case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
		return 1;
	case 0xC2: /* U+0085 NEL, U+00A0 NBSP */
		return (n >= 2 && (u[1] == 0x85 || u[1] == 0xA0)) ? 2 : 0;
	case 0xE1: /* U+1680 */
		return (n >= 3 && u[1] == 0x9A && u[2] == 0x80) ? 3 : 0;
	case 0xE2:
		if (n < 3)
			return 0;
		if (u[1] == 0x80 && ((u[2] >= 0x80 && u[2] <= 0x8A) || u[2] == 0xA8 ||
				     u[2] == 0xA9 || u[2] == 0xAF))
			return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
		if (u[1] == 0x81 && u[2] == 0x9F)
			return 3; /* U+205F */
		return 0;
	case 0xE3: /* U+3000 */
		return (n >= 3 && u[1] == 0x80 && u[2] == 0x80) ? 3 : 0;
	default:
		return 0;
	}
}

/* Length of a white-space rune that ends exactly at s+n, 0 if none. */
static size_t space_len_before(const char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (dp_space_len(s + n - k, k) == k)
			return k;
	return 0;
}

const char *dp_trim(const char *s, size_t n, size_t *out_len)
{
	size_t k;
	while (n > 0 && (k = dp_space_len(s, n)) > 0) {
		s += k;
		n -= k;
	}
	while (n > 0 && (k = space_len_before(s, n)) > 0)
		n -= k;
	*out_len = n;
	return s;
}

char *dp_trim_dup(const char *s, size_t n)
{
	size_t l;
	const char *t = dp_trim(s, n, &l);
	return sb_strndup(t, l);
}

void dp_ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A line starts a section when its first white-space separated word starts
 * with '%' (bufio.ScanWords semantics). */
static bool is_section_line(const char *s, size_t n)
{
	size_t k;
	while (n > 0 && (k = dp_space_len(s, n)) > 0) {
		s += k;
		n -= k;
	}
	return n > 0 && s[0] == '%';
}

static void push_token(struct dp_tokens *out, struct sb_strbuf *sb, int line, int nlines,
		       bool is_section)
{
	out->v = sb_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	struct dp_token *t = &out->v[out->n++];
	t->text = sb_strbuf_detach(sb, &t->len);
	t->line = line;
	t->nlines = nlines;
	t->is_section = is_section;
}

void dp_scan(const char *buf, size_t len, struct dp_tokens *out)
{
	struct sb_strbuf cur = SB_STRBUF_INIT;
	int lineno = 0, tok_line = 1, tok_lines = 0;
	bool have = false, in_section = false;
	size_t pos = 0;

	out->v = NULL;
	out->n = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t l = end - pos;
		if (l > 0 && buf[pos + l - 1] == '\r')
			l--;
		lineno++;
		if (is_section_line(buf + pos, l)) {
			if (have)
				push_token(out, &cur, tok_line, tok_lines, in_section);
			have = false;
			in_section = true;
		}
		if (!have) {
			have = true;
			tok_line = lineno;
			tok_lines = 0;
		}
		sb_strbuf_add(&cur, buf + pos, l);
		sb_strbuf_addc(&cur, '\n');
		tok_lines++;
		pos = nl ? end + 1 : len;
	}
	if (have)
		push_token(out, &cur, tok_line, tok_lines, in_section);
	sb_strbuf_release(&cur);
}

void dp_tokens_free(struct dp_tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
