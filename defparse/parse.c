/* defparse/parse.c: one stage of a definition file, as Apptainer's
 * ParseDefinitionFile reads it: the header token, then one token per section,
 * then the populated definition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"

const char *const defparse_header_keys[] = {
	"bootstrap", "from", "includecmd", "mirrorurl", "updateurl", "osversion", "include",
	"library", "registry", "namespace", "stage", "product", "user", "regcode",
	"productpgp", "registerurl", "modules", "otherurl<N>", "fingerprints", "confurl",
	"setopt", "target", "frontend", "filename", "buildargs", NULL,
};

/* Order matches enum defparse_script_id; "files" and "labels" follow. */
const char *const defparse_section_names[] = {
	"help", "environment", "runscript", "test", "startscript", "pre", "setup", "post",
	"arguments", "files", "labels", NULL,
};

const char *const defparse_app_section_names[] = {
	"appinstall", "applabels", "appfiles", "appenv", "apptest", "apphelp", "apprun",
	"appstart", NULL,
};

const char *defparse_script_name(enum defparse_script_id id)
{
	return (id < DEFPARSE_SCRIPT_COUNT) ? defparse_section_names[id] : "?";
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool defparse_is_header_key(const char *key)
{
	if (strcmp(key, "otherurl<N>") != 0 && in_list(defparse_header_keys, key))
		return true;
	/* Only otherurl takes a number: otherurl0, otherurl1, ... */
	size_t n = strlen(key), d = n;
	while (d > 0 && key[d - 1] >= '0' && key[d - 1] <= '9')
		d--;
	return d < n && d == 8 && strncmp(key, "otherurl", 8) == 0;
}

int dp_line(const struct dp_linemap *lm, int line)
{
	if (lm == NULL)
		return line;
	if (lm->map && line >= 1 && (size_t)line <= lm->n)
		return lm->map[line - 1] + lm->offset;
	if (lm->map && lm->n > 0 && (size_t)line > lm->n)
		return lm->map[lm->n - 1] + lm->offset;
	return line + lm->offset;
}

void dp_kv_set(struct defparse_kv **v, size_t *n, const char *key, const char *value, int line)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i].key, key) == 0) {
			free((*v)[i].value);
			(*v)[i].value = sb_strdup(value);
			(*v)[i].line = line;
			return;
		}
	}
	*v = sb_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = sb_strdup(key);
	(*v)[*n].value = sb_strdup(value);
	(*v)[*n].line = line;
	(*n)++;
}

void dp_kv_free(struct defparse_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void dp_diag_add(struct defparse_diag **v, size_t *n, int line, char *msg_taken)
{
	*v = sb_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].line = line;
	(*v)[*n].msg = msg_taken;
	(*n)++;
}

/* ---------------------------------------------------------------- header */

struct header_state {
	const char *path;
	const struct dp_linemap *lm;
	struct defparse_stage *st;
	char *pend_key; /* a value ending in '\' waits for its next line */
	struct sb_strbuf pend_val;
	int pend_line;
};

static int header_store(struct header_state *h, const char *key, const char *val, int line,
			sb_error_t *err)
{
	if (!defparse_is_header_key(key))
		return sb_error_set_status(err, 2, 0,
					   "%s:%d: failed to parse deffile header: invalid header "
					   "keyword found: %s",
					   h->path, dp_line(h->lm, line), key);
	dp_kv_set(&h->st->header, &h->st->n_header, key, val, dp_line(h->lm, line));
	return 0;
}

/* Apptainer drops a pending continued value at the end of the header, and
 * panics when a blank or comment line follows it: we keep the value. */
static int header_flush(struct header_state *h, sb_error_t *err)
{
	if (h->pend_key == NULL)
		return 0;
	char *key = steal_pointer(&h->pend_key);
	char *val = sb_strbuf_detach(&h->pend_val, NULL);
	int r = header_store(h, key, val, h->pend_line, err);
	free(key);
	free(val);
	return r;
}

static int header_line(struct header_state *h, const char *line, size_t n, int lineno,
		       sb_error_t *err)
{
	const char *hash = memchr(line, '#', n);
	size_t tl = hash ? (size_t)(hash - line) : n;
	char *key, *val;
	int key_line = lineno;

	if (h->pend_key != NULL && h->pend_val.len > 0) {
		key = steal_pointer(&h->pend_key);
		size_t vl;
		const char *v = dp_trim(line, tl, &vl);
		sb_strbuf_add(&h->pend_val, v, vl);
		val = sb_strbuf_detach(&h->pend_val, NULL);
		key_line = h->pend_line;
	} else {
		/* An empty pending value ("Key: \") lets the line start a new key,
		 * as in Apptainer; the pending key is dropped. */
		free(steal_pointer(&h->pend_key));
		sb_strbuf_release(&h->pend_val);
		const char *colon = memchr(line, ':', tl);
		if (colon == NULL)
			return sb_error_set_status(err, 2, 0,
						   "%s:%d: failed to parse deffile header: header "
						   "key %.*s had no val",
						   h->path, dp_line(h->lm, lineno), (int)tl, line);
		key = dp_trim_dup(line, (size_t)(colon - line));
		dp_ascii_lower(key);
		val = dp_trim_dup(colon + 1, tl - (size_t)(colon - line) - 1);
	}
	size_t vl = strlen(val);
	if (vl > 0 && val[vl - 1] == '\\') {
		val[--vl] = '\0';
		if (vl >= 2 && val[vl - 2] == '\\' && val[vl - 1] == 'n') {
			val[vl - 2] = '\n';
			val[vl - 1] = '\0';
		}
		h->pend_key = key;
		sb_strbuf_release(&h->pend_val);
		sb_strbuf_adds(&h->pend_val, val);
		h->pend_line = key_line;
		free(val);
		return 0;
	}
	int r = header_store(h, key, val, key_line, err);
	free(key);
	free(val);
	return r;
}

static int parse_header(const char *path, const struct dp_token *tok, const struct dp_linemap *lm,
			struct defparse_stage *st, sb_error_t *err)
{
	struct header_state h = { .path = path, .lm = lm, .st = st, .pend_val = SB_STRBUF_INIT };
	const char *p = tok->text;
	int lineno = tok->line, r = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p), tl;
		const char *t = dp_trim(p, l, &tl);
		if (tl == 0 || t[0] == '#')
			r = header_flush(&h, err);
		else
			r = header_line(&h, t, tl, lineno, err);
		if (r < 0 || !nl)
			break;
		p = nl + 1;
		lineno++;
	}
	if (r == 0)
		r = header_flush(&h, err);
	free(h.pend_key);
	sb_strbuf_release(&h.pend_val);
	st->has_header = st->n_header > 0;
	return r;
}

/* -------------------------------------------------------------- sections */

/* Text accumulated for one section key, with the original line of each line. */
struct acc {
	char *key;
	char *args;
	bool is_app;
	int line; /* first %-line */
	struct sb_strbuf text;
	int *lines;
	size_t nlines;
};

struct sections {
	struct acc *v;
	size_t n;
};

static struct acc *acc_get(struct sections *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return &s->v[i];
	s->v = sb_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	struct acc *a = &s->v[s->n++];
	memset(a, 0, sizeof(*a));
	a->key = sb_strdup(key);
	a->args = sb_strdup("");
	return a;
}

static void acc_push_line(struct acc *a, int line)
{
	a->lines = sb_xrealloc(a->lines, (a->nlines + 1) * sizeof(int));
	a->lines[a->nlines++] = line;
}

/* Appends body (whose first line is `line` in the parsed text): bodies are
 * concatenated with no separator, as Apptainer does. */
static void acc_add(struct acc *a, const char *body, int line, const struct dp_linemap *lm)
{
	if (a->text.len == 0)
		acc_push_line(a, dp_line(lm, line));
	else if (a->text.buf[a->text.len - 1] == '\n')
		a->lines[a->nlines - 1] = dp_line(lm, line);
	for (const char *p = body; *p; p++)
		if (*p == '\n')
			acc_push_line(a, dp_line(lm, ++line));
	sb_strbuf_adds(&a->text, body);
}

static void sections_free(struct sections *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].args);
		free(s->v[i].lines);
		sb_strbuf_release(&s->v[i].text);
	}
	free(s->v);
}

static bool is_app_keyword(const char *k)
{
	return in_list(defparse_app_section_names, k);
}

static void record_app(struct defparse_stage *st, const char *name)
{
	for (size_t i = 0; i < st->n_apps; i++)
		if (strcmp(st->app_order[i], name) == 0)
			return;
	st->app_order = sb_xrealloc(st->app_order, (st->n_apps + 1) * sizeof(char *));
	st->app_order[st->n_apps++] = sb_strdup(name);
}

struct files_ctx {
	struct defparse_files *f;
	const struct dp_linemap *lm;
	const char *path;
	int bad_line;
};

static void files_line_cb(void *vctx, const char *line, size_t n, int lineno)
{
	struct files_ctx *c = vctx;
	char *src, *dst;
	c->f->has_list = true;
	if (dp_files_line(line, n, &src, &dst) < 0) {
		/* Apptainer indexes an empty match list here and panics. */
		if (c->bad_line == 0)
			c->bad_line = dp_line(c->lm, lineno);
		return;
	}
	c->f->v = sb_xrealloc(c->f->v, (c->f->n + 1) * sizeof(*c->f->v));
	c->f->v[c->f->n].src = src;
	c->f->v[c->f->n].dst = dst;
	c->f->v[c->f->n].line = dp_line(c->lm, lineno);
	c->f->n++;
}

static int parse_files(const char *path, const char *rest_of_line, const char *body, int body_line,
		       int sect_line, const struct dp_linemap *lm, struct defparse_stage *st,
		       sb_error_t *err)
{
	const char *sp = strchr(rest_of_line, ' ');
	const char *args = sp ? sp + 1 : "";
	struct defparse_files *f = NULL;
	for (size_t i = 0; i < st->n_files; i++)
		if (strcmp(st->files[i].args, args) == 0)
			f = &st->files[i];
	if (f == NULL) {
		st->files = sb_xrealloc(st->files, (st->n_files + 1) * sizeof(*st->files));
		f = &st->files[st->n_files++];
		memset(f, 0, sizeof(*f));
		f->args = sb_strdup(args);
		f->line = dp_line(lm, sect_line);
	}
	struct files_ctx c = { .f = f, .lm = lm, .path = path };
	dp_each_content_line(body, NULL, 0, body_line, files_line_cb, &c);
	if (c.bad_line)
		return sb_error_set_status(err, 2, 0,
					   "%s:%d: %%files line has no source path (only quotes)",
					   path, c.bad_line);
	return 0;
}

static void add_occurrence(struct defparse_stage *st, const char *name, const char *args,
			   int line, int end_line)
{
	st->sections = sb_xrealloc(st->sections, (st->n_sections + 1) * sizeof(*st->sections));
	struct defparse_section *s = &st->sections[st->n_sections++];
	s->name = sb_strdup(name);
	s->args = sb_strdup(args);
	s->line = line;
	s->end_line = end_line;
}

/* One section token (Apptainer's parseTokenSection). */
static int parse_section(const char *path, const char *tok, int line, int nlines,
			 const struct dp_linemap *lm, struct defparse_stage *st,
			 struct sections *secs, sb_error_t *err)
{
	const char *nl = strchr(tok, '\n');
	if (nl == NULL)
		return sb_error_set_status(err, 2, 0,
					   "%s:%d: section %s: could not be split into section "
					   "name and body",
					   path, dp_line(lm, line), tok);
	cleanup_free char *first = sb_strndup(tok, (size_t)(nl - tok));
	const char *body = nl + 1;
	const char *rest = first;
	while (*rest == '%')
		rest++;
	const char *sp = strchr(rest, ' ');
	cleanup_free char *key = sb_strndup(rest, sp ? (size_t)(sp - rest) : strlen(rest));
	dp_ascii_lower(key);
	int orig = dp_line(lm, line), end = dp_line(lm, line + nlines - 1);

	if (strcmp(key, "files") == 0) {
		add_occurrence(st, "files", sp ? sp + 1 : "", orig, end);
		return parse_files(path, rest, body, line + 1, line, lm, st, err);
	}
	struct acc *a;
	if (is_app_keyword(key)) {
		if (sp == NULL)
			return sb_error_set_status(err, 2, 0,
						   "%s:%d: app section %s: could not be split "
						   "into section name and app name",
						   path, orig, rest);
		const char *name = sp + 1;
		const char *sp2 = strchr(name, ' ');
		cleanup_free char *app = sb_strndup(name, sp2 ? (size_t)(sp2 - name) : strlen(name));
		cleanup_free char *full = sb_asprintf("%.*s %s", (int)(sp - rest), rest, app);
		a = acc_get(secs, full);
		a->is_app = true;
		record_app(st, app);
		add_occurrence(st, full, "", orig, end);
	} else {
		a = acc_get(secs, key);
		if (sp) {
			free(a->args);
			a->args = sb_strdup(sp + 1);
		}
		add_occurrence(st, key, sp ? sp + 1 : "", orig, end);
	}
	if (a->line == 0)
		a->line = orig;
	acc_add(a, body, line + 1, lm);
	return 0;
}

/* ------------------------------------------------------------ populate */

static int script_id(const char *key)
{
	for (int i = 0; i < DEFPARSE_SCRIPT_COUNT; i++)
		if (strcmp(defparse_section_names[i], key) == 0)
			return i;
	return -1;
}

void dp_parse_labels(const char *body, const int *lines, size_t nlines, struct defparse_kv **out,
		     size_t *n);

struct labels_ctx {
	struct defparse_kv **out;
	size_t *n;
};

static void labels_cb(void *vctx, const char *line, size_t n, int lineno)
{
	struct labels_ctx *c = vctx;
	const char *sp = memchr(line, ' ', n);
	cleanup_free char *key = dp_trim_dup(line, sp ? (size_t)(sp - line) : n);
	cleanup_free char *val = sp ? dp_trim_dup(sp + 1, n - (size_t)(sp - line) - 1) : sb_strdup("");
	dp_kv_set(c->out, c->n, key, val, lineno);
}

void dp_parse_labels(const char *body, const int *lines, size_t nlines, struct defparse_kv **out,
		     size_t *n)
{
	struct labels_ctx c = { out, n };
	dp_each_content_line(body, lines, nlines, 1, labels_cb, &c);
}

void defparse_parse_labels_text(const char *text, struct defparse_kv **out, size_t *n)
{
	dp_parse_labels(text ? text : "", NULL, 0, out, n);
}

void defparse_kv_array_free(struct defparse_kv *v, size_t n)
{
	dp_kv_free(v, n);
}

static bool stage_is_empty(const struct defparse_stage *st)
{
	if (st->has_header || st->n_labels || st->n_files || st->n_custom || st->n_apps)
		return false;
	for (int i = 0; i < DEFPARSE_SCRIPT_COUNT; i++)
		if (st->scripts[i].args[0] || st->scripts[i].script[0])
			return false;
	return true;
}

static int populate(const char *path, struct sections *secs, struct defparse_stage *st,
		    sb_error_t *err)
{
	struct sb_strbuf bad = SB_STRBUF_INIT;
	int bad_line = 0;
	for (int i = 0; i < DEFPARSE_SCRIPT_COUNT; i++) {
		st->scripts[i].args = sb_strdup("");
		st->scripts[i].script = sb_strdup("");
	}
	for (size_t i = 0; i < secs->n; i++) {
		struct acc *a = &secs->v[i];
		int id = script_id(a->key);
		if (id >= 0) {
			struct defparse_script *s = &st->scripts[id];
			free(s->args);
			free(s->script);
			s->args = steal_pointer(&a->args);
			s->script = sb_strbuf_detach(&a->text, NULL);
			s->line = a->line;
			s->lines = steal_pointer(&a->lines);
			s->n_lines = a->nlines;
			a->args = sb_strdup("");
			continue;
		}
		if (strcmp(a->key, "labels") == 0) {
			char *text = a->text.buf ? a->text.buf : "";
			dp_parse_labels(text, a->lines, a->nlines, &st->labels, &st->n_labels);
			continue;
		}
		dp_kv_set(&st->custom, &st->n_custom, a->key, a->text.buf ? a->text.buf : "",
			  a->line);
		const char *sp = strchr(a->key, ' ');
		cleanup_free char *word = sb_strndup(a->key, sp ? (size_t)(sp - a->key) : strlen(a->key));
		if (!is_app_keyword(word)) {
			if (bad.len)
				sb_strbuf_adds(&bad, ", ");
			sb_strbuf_adds(&bad, a->key);
			if (bad_line == 0)
				bad_line = a->line;
		}
	}
	if (bad.len || bad_line) {
		const char *hint = "";
		for (size_t i = 0; i < st->n_sections; i++)
			if (st->sections[i].line == bad_line && st->sections[i].name[0] == '\0')
				hint = " (empty section name: a line whose first word starts "
				       "with '%' always starts a section, even indented)";
		sb_error_set_status(err, 2, 0, "%s:%d: invalid section(s) specified: %s%s", path,
				    bad_line, bad.buf ? bad.buf : "", hint);
		sb_strbuf_release(&bad);
		return DP_ERROR;
	}
	if (stage_is_empty(st))
		return DP_EMPTY;
	return DP_OK;
}

void dp_stage_clear(struct defparse_stage *st)
{
	dp_kv_free(st->header, st->n_header);
	dp_kv_free(st->labels, st->n_labels);
	for (int i = 0; i < DEFPARSE_SCRIPT_COUNT; i++) {
		free(st->scripts[i].args);
		free(st->scripts[i].script);
		free(st->scripts[i].lines);
	}
	for (size_t i = 0; i < st->n_files; i++) {
		for (size_t j = 0; j < st->files[i].n; j++) {
			free(st->files[i].v[j].src);
			free(st->files[i].v[j].dst);
		}
		free(st->files[i].v);
		free(st->files[i].args);
	}
	free(st->files);
	dp_kv_free(st->custom, st->n_custom);
	for (size_t i = 0; i < st->n_apps; i++)
		free(st->app_order[i]);
	free(st->app_order);
	for (size_t i = 0; i < st->n_sections; i++) {
		free(st->sections[i].name);
		free(st->sections[i].args);
	}
	free(st->sections);
	free(st->raw);
	memset(st, 0, sizeof(*st));
}

enum dp_parse_status dp_parse_stage(const char *path, const char *buf, size_t len,
				    const struct dp_linemap *lm, struct defparse_stage *st,
				    sb_error_t *err)
{
	struct dp_tokens toks;
	struct sections secs = { NULL, 0 };
	int r = 0;

	memset(st, 0, sizeof(*st));
	dp_scan(buf, len, &toks);
	if (toks.n == 0) {
		dp_tokens_free(&toks);
		return DP_EMPTY;
	}
	/* The first token is white-space trimmed: a header, or (no header) a
	 * section whose body then loses its trailing newlines. */
	size_t tl;
	const char *t = dp_trim(toks.v[0].text, toks.v[0].len, &tl);
	if (tl > 0 && t[0] != '%') {
		r = parse_header(path, &toks.v[0], lm, st, err);
	} else if (tl > 0) {
		cleanup_free char *first = sb_strndup(t, tl);
		r = parse_section(path, first, toks.v[0].line, toks.v[0].nlines, lm, st, &secs, err);
	}
	for (size_t i = 1; i < toks.n && r == 0; i++)
		r = parse_section(path, toks.v[i].text, toks.v[i].line, toks.v[i].nlines, lm, st,
				  &secs, err);
	dp_tokens_free(&toks);
	if (r == 0)
		r = populate(path, &secs, st, err);
	else
		r = DP_ERROR;
	sections_free(&secs);
	if (r != DP_OK) {
		/* keep scripts allocated for a consistent clear */
		for (int i = 0; i < DEFPARSE_SCRIPT_COUNT; i++) {
			if (st->scripts[i].args == NULL)
				st->scripts[i].args = sb_strdup("");
			if (st->scripts[i].script == NULL)
				st->scripts[i].script = sb_strdup("");
		}
		dp_stage_clear(st);
	}
	return (enum dp_parse_status)r;
}
