/* defparse/stages.c: the whole file. Splits stages on "Bootstrap:" lines,
 * reads each stage's %arguments defaults, templates, parses again (Apptainer's
 * parser.All followed by build.MakeAllDefs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"

/* ---------------------------------------------------------- build args */

int defparse_buildargs_add(struct defparse_buildargs *a, const char *kv, sb_error_t *err)
{
	char *key, *val, *why;
	if (dp_keyval(kv, &key, &val, &why) < 0) {
		sb_error_set_status(err, 2, 0, "--build-arg: %s", why);
		free(why);
		return -1;
	}
	dp_kv_set(&a->v, &a->n, key, val, 0);
	free(key);
	free(val);
	return 0;
}

int defparse_buildargs_read_file(struct defparse_buildargs *a, const char *path, sb_error_t *err)
{
	size_t len;
	cleanup_free char *buf = sb_read_file(path, &len);
	if (buf == NULL)
		return sb_error_set_status(err, 2, errno, "error while opening build arg file %s",
					   path);
	char *p = buf;
	int lineno = 0;
	while (*p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		size_t l = strlen(p);
		if (l > 0 && p[l - 1] == '\r')
			p[--l] = '\0';
		lineno++;
		size_t tl;
		const char *t = dp_trim(p, l, &tl);
		/* Apptainer warns about blank and comment lines too; we skip them. */
		if (tl > 0 && t[0] != '#') {
			char *key, *val, *why;
			if (dp_keyval(p, &key, &val, &why) < 0) {
				dp_diag_add(&a->warnings, &a->n_warnings, lineno,
					    sb_asprintf("%s:%d: Skipping \"%s\" in build arg file: %s",
							path, lineno, p, why));
				free(why);
			} else {
				dp_kv_set(&a->v, &a->n, key, val, lineno);
				free(key);
				free(val);
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

void defparse_buildargs_free(struct defparse_buildargs *a)
{
	dp_kv_free(a->v, a->n);
	for (size_t i = 0; i < a->n_warnings; i++)
		free(a->warnings[i].msg);
	free(a->warnings);
	memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------- helpers */

const char *defparse_header_get(const struct defparse_stage *st, const char *key)
{
	for (size_t i = 0; i < st->n_header; i++)
		if (strcmp(st->header[i].key, key) == 0)
			return st->header[i].value;
	return NULL;
}

const char *defparse_stage_name(const struct defparse_stage *st)
{
	const char *s = defparse_header_get(st, "stage");
	return s ? s : "";
}

void defparse_def_free(struct defparse_def *def)
{
	if (def == NULL)
		return;
	for (size_t i = 0; i < def->n_stages; i++)
		dp_stage_clear(&def->stages[i]);
	free(def->stages);
	free(def->fullraw);
	free(def->path);
	for (size_t i = 0; i < def->n_warnings; i++)
		free(def->warnings[i].msg);
	free(def->warnings);
	for (size_t i = 0; i < def->n_unused; i++)
		free(def->unused_args[i]);
	free(def->unused_args);
	dp_kv_free(def->undefined, def->n_undefined);
	free(def);
}

/* Start offsets of stages: every line starting with "bootstrap:" (any case). */
static size_t *split_points(const char *buf, size_t len, size_t *n)
{
	size_t *v = NULL;
	*n = 0;
	for (size_t p = 0; p < len; p++) {
		if (p > 0 && buf[p - 1] != '\n')
			continue;
		if (len - p >= 10 && strncasecmp(buf + p, "bootstrap:", 10) == 0) {
			v = sb_xrealloc(v, (*n + 1) * sizeof(size_t));
			v[(*n)++] = p;
		}
	}
	return v;
}

static int line_at(const char *buf, size_t off)
{
	int l = 1;
	for (size_t i = 0; i < off; i++)
		l += buf[i] == '\n';
	return l;
}

/* %arguments defaults of an untemplated stage. */
static void read_defaults(struct defparse_def *def, const struct defparse_stage *st,
			  struct defparse_kv **out, size_t *n)
{
	const struct defparse_script *s = &st->scripts[DEFPARSE_ARGUMENTS];
	const char *p = s->script;
	size_t k = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p), tl;
		int lineno = k < s->n_lines ? s->lines[k] : s->line + 1 + (int)k;
		k++;
		const char *t = dp_trim(p, l, &tl);
		if (tl > 0 && t[0] != '#') {
			cleanup_free char *line = sb_strndup(t, tl);
			char *key, *val, *why;
			if (dp_keyval(line, &key, &val, &why) < 0) {
				dp_diag_add(&def->warnings, &def->n_warnings, lineno,
					    sb_asprintf("Skipping \"%s\" in 'arguments' section: %s",
							line, why));
				free(why);
			} else {
				dp_kv_set(out, n, key, val, lineno);
				free(key);
				free(val);
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void add_stage(struct defparse_def *def, struct defparse_stage *st)
{
	def->stages = sb_xrealloc(def->stages, (def->n_stages + 1) * sizeof(*st));
	def->stages[def->n_stages++] = *st;
}

/* Parses one chunk: untemplated for its defaults, then templated. 1 when the
 * chunk is empty (dropped), 0 when a stage was added, -1 on error. */
static int parse_chunk(struct defparse_def *def, struct dp_template_ctx *tc, const char *chunk,
		       size_t len, int first_line, sb_error_t *err)
{
	struct defparse_stage pre, st;
	struct dp_linemap lm0 = { NULL, 0, first_line - 1 };
	enum dp_parse_status r = dp_parse_stage(def->path, chunk, len, &lm0, &pre, err);
	if (r != DP_OK)
		return r == DP_EMPTY ? 1 : -1;
	struct defparse_kv *defaults = NULL;
	size_t n_defaults = 0;
	read_defaults(def, &pre, &defaults, &n_defaults);
	dp_stage_clear(&pre);

	tc->defaults = defaults;
	tc->n_defaults = n_defaults;
	size_t tlen, nmap;
	int *map = NULL, bad_line = 0;
	char *bad_name = NULL;
	char *text = dp_template(tc, chunk, len, &tlen, &map, &nmap, &bad_name, &bad_line);
	dp_kv_free(defaults, n_defaults);
	tc->defaults = NULL;
	tc->n_defaults = 0;
	if (text == NULL) {
		sb_error_set_status(err, 2, 0,
				    "%s:%d: build var %s is not defined through either "
				    "--build-arg (--build-arg-file) or 'arguments' section",
				    def->path, first_line - 1 + bad_line, bad_name);
		free(bad_name);
		return -1;
	}
	struct dp_linemap lm = { map, nmap, first_line - 1 };
	r = dp_parse_stage(def->path, text, tlen, &lm, &st, err);
	free(map);
	if (r != DP_OK) {
		free(text);
		return r == DP_EMPTY ? 1 : -1;
	}
	st.raw = text;
	st.raw_len = tlen;
	st.first_line = first_line;
	st.last_line = first_line + line_at(chunk, len) - 1 - (len > 0 && chunk[len - 1] == '\n');
	add_stage(def, &st);
	return 0;
}

static void finish(struct defparse_def *def, struct dp_template_ctx *tc)
{
	struct sb_strbuf full = SB_STRBUF_INIT;
	for (size_t i = 0; i < def->n_stages; i++)
		sb_strbuf_add(&full, def->stages[i].raw, def->stages[i].raw_len);
	def->fullraw = sb_strbuf_detach(&full, &def->fullraw_len);
	if (tc->args) {
		for (size_t i = 0; i < tc->args->n; i++) {
			bool used = false;
			for (size_t j = 0; j < tc->n_consumed; j++)
				used |= strcmp(tc->consumed[j], tc->args->v[i].key) == 0;
			if (!used) {
				def->unused_args = sb_xrealloc(def->unused_args,
							       (def->n_unused + 1) * sizeof(char *));
				def->unused_args[def->n_unused++] = sb_strdup(tc->args->v[i].key);
			}
		}
	}
	def->undefined = tc->undefined;
	def->n_undefined = tc->n_undefined;
	tc->undefined = NULL;
	tc->n_undefined = 0;
}

struct defparse_def *defparse_parse_buffer(const char *path, const char *buf, size_t len,
					   const struct defparse_options *opts, sb_error_t *err)
{
	struct defparse_def *def = sb_xcalloc(1, sizeof(*def));
	struct dp_template_ctx tc = { 0 };
	size_t npts;
	size_t *pts = split_points(buf, len, &npts);
	int r = 0;

	def->path = sb_strdup(path);
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		/* Go keeps NULs as characters; C strings cannot, and a NUL in a
		 * definition file is never intended (binary file, wrong encoding). */
		sb_error_set_status(err, 2, 0, "%s:%d: NUL byte in definition file (binary file or "
				    "UTF-16 encoding?)", path, line_at(buf, (size_t)(nul - buf)));
		free(pts);
		defparse_def_free(def);
		return NULL;
	}
	tc.args = opts ? opts->args : NULL;
	tc.allow_undefined = opts ? opts->allow_undefined : false;
	for (size_t i = 0; i <= npts && r >= 0; i++) {
		size_t start = i == 0 ? 0 : pts[i - 1];
		size_t end = i < npts ? pts[i] : len;
		if (end > start)
			r = parse_chunk(def, &tc, buf + start, end - start, line_at(buf, start), err);
	}
	free(pts);
	if (r >= 0 && def->n_stages == 0)
		r = sb_error_set_status(err, 2, 0,
					"%s: empty definition file: no header and no sections "
					"(no stages found in definition file)",
					path);
	if (r >= 0)
		finish(def, &tc);
	for (size_t i = 0; i < tc.n_consumed; i++)
		free(tc.consumed[i]);
	free(tc.consumed);
	dp_kv_free(tc.undefined, tc.n_undefined);
	if (r < 0) {
		defparse_def_free(def);
		return NULL;
	}
	return def;
}

struct defparse_def *defparse_parse_file(const char *path, const struct defparse_options *opts,
					 sb_error_t *err)
{
	size_t len;
	cleanup_free char *buf = sb_read_file(path, &len);
	if (buf == NULL) {
		sb_error_set_status(err, 2, errno, "%s: cannot read definition file", path);
		return NULL;
	}
	return defparse_parse_buffer(path, buf, len, opts, err);
}
