/* defparse/template.c: {{ var }} build-argument substitution, as Apptainer's
 * build-args reader does it, keeping a map from output lines to input lines so
 * that later errors still name the line of the file the user wrote. */
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"


/* Finds the next {{\s*(\w+)\s*}} at or after p. */
static bool find_placeholder(const char *s, size_t n, size_t p, size_t *m0, size_t *m1,
			     size_t *n0, size_t *n1)
{
	for (; p + 1 < n; p++) {
		if (s[p] != '{' || s[p + 1] != '{')
			continue;
		size_t j = p + 2;
		while (j < n && dp_re_space(s[j]))
			j++;
		size_t w = j;
		while (j < n && dp_re_word(s[j]))
			j++;
		if (j == w)
			continue;
		size_t we = j;
		while (j < n && dp_re_space(s[j]))
			j++;
		if (j + 1 >= n || s[j] != '}' || s[j + 1] != '}')
			continue;
		*m0 = p;
		*m1 = j + 2;
		*n0 = w;
		*n1 = we;
		return true;
	}
	return false;
}

/* Apptainer leaves a placeholder alone when the text before it on its line
 * (since the last substitution) matches \s*[#][^!]\s*.* anywhere. */
static bool commented(const char *s, size_t from, size_t to)
{
	size_t start = from;
	for (size_t k = to + 1; k-- > from;) {
		if (s[k] == '\n') {
			start = k;
			break;
		}
	}
	for (size_t k = start; k + 1 < to; k++)
		if (s[k] == '#' && s[k + 1] != '!')
			return true;
	return false;
}

static const char *lookup(const struct dp_template_ctx *ctx, const char *name)
{
	if (ctx->args)
		for (size_t i = ctx->args->n; i-- > 0;)
			if (strcmp(ctx->args->v[i].key, name) == 0)
				return ctx->args->v[i].value;
	for (size_t i = 0; i < ctx->n_defaults; i++)
		if (strcmp(ctx->defaults[i].key, name) == 0)
			return ctx->defaults[i].value;
	return NULL;
}

static char *replace_all(const char *s, const char *from, const char *to)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	size_t fl = strlen(from);
	const char *p = s, *q;
	while ((q = strstr(p, from)) != NULL) {
		sb_strbuf_add(&sb, p, (size_t)(q - p));
		sb_strbuf_adds(&sb, to);
		p = q + fl;
	}
	sb_strbuf_adds(&sb, p);
	return sb_strbuf_detach(&sb, NULL);
}

/* One level of nesting: {{ k }} inside a value. */
static char *expand_value(const struct dp_template_ctx *ctx, const char *val)
{
	char *out = sb_strdup(val);
	size_t n = strlen(val), p = 0, m0, m1, n0, n1;
	while (find_placeholder(val, n, p, &m0, &m1, &n0, &n1)) {
		cleanup_free char *name = sb_strndup(val + n0, n1 - n0);
		cleanup_free char *whole = sb_strndup(val + m0, m1 - m0);
		const char *v = lookup(ctx, name);
		if (v) {
			char *r = replace_all(out, whole, v);
			free(out);
			out = r;
		}
		p = m1;
	}
	return out;
}

static void add_unique(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = sb_xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = sb_strdup(s);
}

struct out {
	struct sb_strbuf text;
	int *map;
	size_t nmap;
	int src_line;
};

static void out_add(struct out *o, const char *s, size_t n, bool from_src)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		if (from_src)
			o->src_line++;
		o->map = sb_xrealloc(o->map, (o->nmap + 1) * sizeof(int));
		o->map[o->nmap++] = o->src_line;
	}
	sb_strbuf_add(&o->text, s, n);
}

static int count_nl(const char *s, size_t n)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		c += s[i] == '\n';
	return c;
}

char *dp_template(struct dp_template_ctx *ctx, const char *text, size_t len, size_t *out_len,
		  int **out_map, size_t *out_nmap, char **bad_name, int *bad_line)
{
	struct out o = { SB_STRBUF_INIT, sb_xmalloc(sizeof(int)), 1, 1 };
	size_t i = 0, p = 0, m0, m1, n0, n1;
	o.map[0] = 1;
	while (find_placeholder(text, len, p, &m0, &m1, &n0, &n1)) {
		p = m1;
		if (commented(text, i, m0))
			continue;
		cleanup_free char *name = sb_strndup(text + n0, n1 - n0);
		const char *val = lookup(ctx, name);
		int line = 1 + count_nl(text, m0);
		if (val == NULL && !ctx->allow_undefined) {
			*bad_name = steal_pointer(&name);
			*bad_line = line;
			sb_strbuf_release(&o.text);
			free(o.map);
			return NULL;
		}
		out_add(&o, text + i, m0 - i, true);
		if (val == NULL) {
			dp_kv_set(&ctx->undefined, &ctx->n_undefined, name, "", line);
			out_add(&o, text + m0, m1 - m0, true);
		} else {
			cleanup_free char *v = expand_value(ctx, val);
			out_add(&o, v, strlen(v), false);
			o.src_line += count_nl(text + m0, m1 - m0);
			add_unique(&ctx->consumed, &ctx->n_consumed, name);
		}
		i = m1;
	}
	out_add(&o, text + i, len - i, true);
	*out_map = o.map;
	*out_nmap = o.nmap;
	return sb_strbuf_detach(&o.text, out_len);
}

/* Go's %q for the ASCII cases that matter in messages. */
static char *quote(const char *s)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_addc(&sb, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			sb_strbuf_addc(&sb, '\\');
		if (*s == '\t')
			sb_strbuf_adds(&sb, "\\t");
		else
			sb_strbuf_addc(&sb, *s);
	}
	sb_strbuf_addc(&sb, '"');
	return sb_strbuf_detach(&sb, NULL);
}

int dp_keyval(const char *text, char **key, char **val, char **why)
{
	const char *eq = strchr(text, '=');
	cleanup_free char *q = quote(text);
	if (eq == NULL) {
		*why = sb_asprintf("%s is not a key=value pair", q);
		return -1;
	}
	*key = dp_trim_dup(text, (size_t)(eq - text));
	if ((*key)[0] == '\0') {
		free(*key);
		*why = sb_asprintf("missing key portion in %s", q);
		return -1;
	}
	*val = dp_trim_dup(eq + 1, strlen(eq + 1));
	return 0;
}
