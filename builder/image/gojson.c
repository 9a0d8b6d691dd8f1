/* builder/image/gojson.c: labels.json exactly as Apptainer writes it (Go's
 * json.MarshalIndent(map, "", "\t")): keys sorted byte-wise, tab indentation,
 * HTML-safe escapes, no trailing newline. jansson cannot produce this form
 * (it has no HTML escaping or tab indentation), hence this small encoder. */
#include <stdlib.h>
#include <string.h>

#include "builder/image/image.h"
#include "common/strbuf.h"

static void go_string(struct sb_strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	sb_strbuf_addc(sb, '"');
	while (*u) {
		unsigned char c = *u;
		if (c == '"' || c == '\\') {
			sb_strbuf_addc(sb, '\\');
			sb_strbuf_addc(sb, (char)c);
		} else if (c == '\n') {
			sb_strbuf_adds(sb, "\\n");
		} else if (c == '\r') {
			sb_strbuf_adds(sb, "\\r");
		} else if (c == '\t') {
			sb_strbuf_adds(sb, "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			sb_strbuf_adds(sb, "\\u00");
			sb_strbuf_addc(sb, hex[c >> 4]);
			sb_strbuf_addc(sb, hex[c & 15]);
		} else if (c == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9)) {
			sb_strbuf_adds(sb, u[2] == 0xA8 ? "\\u2028" : "\\u2029");
			u += 3;
			continue;
		} else if (c >= 0x80) {
			size_t l = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
				 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
			bool ok = l > 0;
			for (size_t k = 1; ok && k < l; k++)
				ok = (u[k] & 0xC0) == 0x80;
			if (!ok) {
				sb_strbuf_adds(sb, "\\ufffd");
				u++;
				continue;
			}
			sb_strbuf_add(sb, u, l);
			u += l;
			continue;
		} else {
			sb_strbuf_addc(sb, (char)c);
		}
		u++;
	}
	sb_strbuf_addc(sb, '"');
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(((const struct image_label *)a)->key, ((const struct image_label *)b)->key);
}

char *image_labels_json(const struct image_label *labels, size_t n)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (n == 0) {
		sb_strbuf_adds(&sb, "{}");
		return sb_strbuf_detach(&sb, NULL);
	}
	struct image_label *s = sb_xcalloc(n, sizeof(*s));
	memcpy(s, labels, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_keys);
	sb_strbuf_adds(&sb, "{\n");
	for (size_t i = 0; i < n; i++) {
		sb_strbuf_addc(&sb, '\t');
		go_string(&sb, s[i].key);
		sb_strbuf_adds(&sb, ": ");
		go_string(&sb, s[i].value);
		sb_strbuf_adds(&sb, i + 1 < n ? ",\n" : "\n");
	}
	sb_strbuf_addc(&sb, '}');
	free(s);
	return sb_strbuf_detach(&sb, NULL);
}
