/* common/gojson.c: Go's encoding/json text forms (see gojson.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/gojson.h"

void sb_go_json_string(struct sb_strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	sb_strbuf_addc(sb, '"');
	while (*u) {
		unsigned char c = *u;
		size_t l = 1;
		if (c == '"' || c == '\\') {
			sb_strbuf_addc(sb, '\\');
			sb_strbuf_addc(sb, (char)c);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			sb_strbuf_adds(sb, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			sb_strbuf_addf(sb, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c < 0x80) {
			sb_strbuf_addc(sb, (char)c);
		} else {
			l = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
			    : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
			bool ok = l > 0;
			for (size_t k = 1; ok && k < l; k++)
				ok = (u[k] & 0xC0) == 0x80;
			/* overlong 3/4-byte forms and surrogates are invalid too */
			if (ok && l == 3 && ((c == 0xE0 && u[1] < 0xA0) || (c == 0xED && u[1] >= 0xA0)))
				ok = false;
			if (ok && l == 4 && ((c == 0xF0 && u[1] < 0x90) || (c == 0xF4 && u[1] >= 0x90)))
				ok = false;
			if (!ok) {
				sb_strbuf_adds(sb, "\\ufffd");
				l = 1;
			} else if (l == 3 && c == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9)) {
				sb_strbuf_adds(sb, u[2] == 0xA8 ? "\\u2028" : "\\u2029");
			} else {
				sb_strbuf_add(sb, u, l);
			}
		}
		u += l;
	}
	sb_strbuf_addc(sb, '"');
}

struct pair {
	const char *k, *v;
};

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->k, ((const struct pair *)b)->k);
}

char *sb_go_json_map(const char *const *keys, const char *const *values, size_t n)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	struct pair *p = sb_xcalloc(n ? n : 1, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		p[i].k = keys[i];
		p[i].v = values[i];
	}
	qsort(p, n, sizeof(*p), pair_cmp);
	sb_strbuf_adds(&sb, n ? "{\n" : "{");
	for (size_t i = 0; i < n; i++) {
		sb_strbuf_addc(&sb, '\t');
		sb_go_json_string(&sb, p[i].k);
		sb_strbuf_adds(&sb, ": ");
		sb_go_json_string(&sb, p[i].v);
		sb_strbuf_adds(&sb, i + 1 < n ? ",\n" : "\n");
	}
	sb_strbuf_addc(&sb, '}');
	free(p);
	return sb_strbuf_detach(&sb, NULL);
}
