/* defparse/json.c: Apptainer's types.Definition JSON form, and a readable summary. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"

/* Go's encoding/json replaces invalid UTF-8 with U+FFFD; jansson refuses it. */
static char *valid_utf8(const char *s, size_t n)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = 0;
		unsigned char c = u[i];
		if (c < 0x80)
			l = 1;
		else if (c >= 0xC2 && c <= 0xDF)
			l = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			l = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			l = 4;
		bool ok = l > 0 && i + l <= n;
		for (size_t k = 1; ok && k < l; k++)
			ok = (u[i + k] & 0xC0) == 0x80;
		if (ok && l == 3) {
			unsigned cp = ((c & 0x0Fu) << 12) | ((u[i + 1] & 0x3Fu) << 6) | (u[i + 2] & 0x3Fu);
			ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
		}
		if (ok && l == 4) {
			unsigned cp = ((c & 0x07u) << 18) | ((u[i + 1] & 0x3Fu) << 12) |
				      ((u[i + 2] & 0x3Fu) << 6) | (u[i + 3] & 0x3Fu);
			ok = cp >= 0x10000 && cp <= 0x10FFFF;
		}
		if (ok && c == 0) {
			sb_strbuf_adds(&sb, "\xEF\xBF\xBD"); /* jansson strings stop at NUL */
			i++;
			continue;
		}
		if (!ok) {
			sb_strbuf_adds(&sb, "\xEF\xBF\xBD");
			i++;
			continue;
		}
		sb_strbuf_add(&sb, s + i, l);
		i += l;
	}
	return sb_strbuf_detach(&sb, NULL);
}

static json_t *jstr(const char *s)
{
	char *v = valid_utf8(s, strlen(s));
	json_t *j = json_string(v);
	free(v);
	return j;
}

static json_t *jscript(const struct defparse_script *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "args", jstr(s->args));
	json_object_set_new(o, "script", jstr(s->script));
	return o;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct defparse_kv *)a)->key, ((const struct defparse_kv *)b)->key);
}

/* Go marshals maps with sorted keys. */
static json_t *jmap(const struct defparse_kv *v, size_t n, bool null_when_empty)
{
	if (n == 0 && null_when_empty)
		return json_null();
	struct defparse_kv *s = sb_xcalloc(n, sizeof(*s));
	if (n)
		memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), kv_cmp);
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		char *k = valid_utf8(s[i].key, strlen(s[i].key));
		json_object_set_new(o, k, jstr(s[i].value));
		free(k);
	}
	free(s);
	return o;
}

static char *base64(const char *s, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)s;
	char *out = sb_xmalloc(4 * ((n + 2) / 3) + 1), *o = out;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)u[i + 1] << 8;
		if (i + 2 < n)
			v |= u[i + 2];
		*o++ = tbl[(v >> 18) & 63];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tbl[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static json_t *jfiles(const struct defparse_stage *st)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < st->n_files; i++) {
		const struct defparse_files *f = &st->files[i];
		json_t *o = json_object();
		json_object_set_new(o, "args", jstr(f->args));
		json_t *list = f->n ? json_array() : json_null();
		for (size_t j = 0; j < f->n; j++) {
			json_t *t = json_object();
			json_object_set_new(t, "source", jstr(f->v[j].src));
			json_object_set_new(t, "destination", jstr(f->v[j].dst));
			json_array_append_new(list, t);
		}
		json_object_set_new(o, "files", list);
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *jstage(const struct defparse_def *def, const struct defparse_stage *st)
{
	const struct defparse_script *sc = st->scripts;
	json_t *o = json_object();
	json_object_set_new(o, "header", st->has_header ? jmap(st->header, st->n_header, false)
							: json_null());
	json_t *img = json_object();
	json_object_set_new(img, "metadata", json_null());
	json_object_set_new(img, "labels", jmap(st->labels, st->n_labels, false));
	json_t *is = json_object();
	json_object_set_new(is, "help", jscript(&sc[DEFPARSE_HELP]));
	json_object_set_new(is, "environment", jscript(&sc[DEFPARSE_ENVIRONMENT]));
	json_object_set_new(is, "runScript", jscript(&sc[DEFPARSE_RUNSCRIPT]));
	json_object_set_new(is, "test", jscript(&sc[DEFPARSE_TEST]));
	json_object_set_new(is, "startScript", jscript(&sc[DEFPARSE_STARTSCRIPT]));
	json_object_set_new(img, "imageScripts", is);
	json_object_set_new(o, "imageData", img);
	json_t *bd = json_object();
	json_object_set_new(bd, "files", jfiles(st));
	json_t *bs = json_object();
	json_object_set_new(bs, "pre", jscript(&sc[DEFPARSE_PRE]));
	json_object_set_new(bs, "setup", jscript(&sc[DEFPARSE_SETUP]));
	json_object_set_new(bs, "post", jscript(&sc[DEFPARSE_POST]));
	json_object_set_new(bs, "test", jscript(&sc[DEFPARSE_TEST]));
	json_object_set_new(bs, "arguments", jscript(&sc[DEFPARSE_ARGUMENTS]));
	json_object_set_new(bd, "buildScripts", bs);
	json_object_set_new(o, "buildData", bd);
	json_object_set_new(o, "customData", jmap(st->custom, st->n_custom, true));
	char *raw = base64(st->raw, st->raw_len);
	char *full = base64(def->fullraw, def->fullraw_len);
	json_object_set_new(o, "raw", json_string(raw));
	json_object_set_new(o, "fullraw", json_string(full));
	free(raw);
	free(full);
	json_t *apps = json_array();
	for (size_t i = 0; i < st->n_apps; i++)
		json_array_append_new(apps, jstr(st->app_order[i]));
	json_object_set_new(o, "appOrder", apps);
	return o;
}

char *defparse_to_json(const struct defparse_def *def)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < def->n_stages; i++)
		json_array_append_new(arr, jstage(def, &def->stages[i]));
	char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (s == NULL)
		abort();
	char *out = sb_asprintf("%s\n", s);
	free(s);
	return out;
}

static void summary_stage(struct sb_strbuf *sb, const struct defparse_stage *st, size_t idx)
{
	const char *agent = defparse_header_get(st, "bootstrap");
	const char *name = defparse_stage_name(st);
	sb_strbuf_addf(sb, "stage %zu%s%s%s (lines %d-%d)\n", idx + 1, name[0] ? " \"" : "", name,
		       name[0] ? "\"" : "", st->first_line, st->last_line);
	if (!st->has_header)
		sb_strbuf_adds(sb, "  header: none\n");
	else
		sb_strbuf_addf(sb, "  bootstrap: %s\n", agent ? agent : "(none)");
	for (size_t i = 0; i < st->n_header; i++)
		if (strcmp(st->header[i].key, "bootstrap") != 0)
			sb_strbuf_addf(sb, "  %s: %s\n", st->header[i].key, st->header[i].value);
	for (size_t i = 0; i < st->n_sections; i++) {
		const struct defparse_section *s = &st->sections[i];
		sb_strbuf_addf(sb, "  %%%s%s%s  lines %d-%d\n", s->name, s->args[0] ? " " : "",
			       s->args, s->line, s->end_line);
	}
	if (st->n_labels)
		sb_strbuf_addf(sb, "  labels: %zu\n", st->n_labels);
	for (size_t i = 0; i < st->n_files; i++)
		sb_strbuf_addf(sb, "  files%s%s: %zu entr%s\n", st->files[i].args[0] ? " " : "",
			       st->files[i].args, st->files[i].n, st->files[i].n == 1 ? "y" : "ies");
	if (st->n_apps) {
		sb_strbuf_adds(sb, "  apps:");
		for (size_t i = 0; i < st->n_apps; i++)
			sb_strbuf_addf(sb, " %s", st->app_order[i]);
		sb_strbuf_adds(sb, "\n");
	}
}

char *defparse_summary(const struct defparse_def *def)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_addf(&sb, "%s: %zu stage%s\n", def->path, def->n_stages,
		       def->n_stages == 1 ? "" : "s");
	for (size_t i = 0; i < def->n_stages; i++)
		summary_stage(&sb, &def->stages[i], i);
	return sb_strbuf_detach(&sb, NULL);
}
