/* defparse/lint.c: `sifbuild lint`. Everything Apptainer would reject, and the
 * mistakes it silently accepts, reported with file:line and a suggestion. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defparse/internal.h"

const char *const defparse_agent_names[] = {
	"library", "oras", "shub", "docker", "docker-archive", "docker-daemon", "oci",
	"oci-archive", "busybox", "debootstrap", "arch", "localimage", "yum", "dnf", "zypper",
	"scratch", "buildkit", "dockerfile", NULL,
};

static void add(struct defparse_lint_report *r, enum defparse_severity sev, int line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add(struct defparse_lint_report *r, enum defparse_severity sev, int line,
		const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	r->v = sb_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n].severity = sev;
	r->v[r->n].line = line;
	r->v[r->n].msg = m;
	r->n++;
	if ((int)sev > r->worst)
		r->worst = (int)sev;
}

static bool has_line_error(const struct defparse_lint_report *r, int line)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].line == line && r->v[i].severity == DEFPARSE_ERROR)
			return true;
	return false;
}

/* Nearest name within distance 2 (or a case-only difference), or NULL. */
static const char *nearest(const char *word, const char *const *lists[])
{
	const char *best = NULL;
	size_t bestd = 3;
	for (size_t l = 0; lists[l]; l++)
		for (const char *const *p = lists[l]; *p; p++) {
			size_t d = sb_edit_distance(word, *p);
			if (d < bestd && strcmp(*p, "otherurl<N>") != 0) {
				bestd = d;
				best = *p;
			}
		}
	return best;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------ raw text checks */

struct line {
	const char *s;
	size_t n;
	bool crlf;
};

static bool invisible_at(const unsigned char *u, size_t n, size_t *len, unsigned *cp)
{
	if (n >= 2 && u[0] == 0xC2 && (u[1] == 0xA0 || u[1] == 0xAD)) {
		*len = 2;
		*cp = u[1];
		return true;
	}
	if (n < 3)
		return false;
	unsigned c = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
	if ((u[0] & 0xF0) != 0xE0)
		return false;
	if ((c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
	    (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF) {
		*len = 3;
		*cp = c;
		return true;
	}
	return false;
}

static void check_invisible(struct defparse_lint_report *r, const struct line *ln, int lineno)
{
	const unsigned char *u = (const unsigned char *)ln->s;
	for (size_t i = 0; i < ln->n; i++) {
		size_t l;
		unsigned cp;
		if (invisible_at(u + i, ln->n - i, &l, &cp)) {
			add(r, DEFPARSE_WARNING, lineno,
			    "invisible Unicode character U+%04X at column %zu", cp, i + 1);
			return;
		}
	}
}

/* Name of a %-line: its first word without leading '%'. */
static char *section_word(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	size_t st = i;
	while (i < n && s[i] == '%')
		i++;
	size_t b = i;
	while (i < n && s[i] != ' ')
		i++;
	(void)st;
	return sb_strndup(s + b, i - b);
}

struct heredoc {
	char *word; /* NULL when not inside one */
	bool dash;
	int line;
};

static void heredoc_scan(struct heredoc *h, const char *s, size_t n, int lineno)
{
	const char *p = s, *end = s + n;
	while ((p = memmem(p, (size_t)(end - p), "<<", 2)) != NULL) {
		p += 2;
		if (p < end && *p == '<') { /* here-string <<< */
			p++;
			continue;
		}
		bool dash = p < end && *p == '-';
		if (dash)
			p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		char q = (p < end && (*p == '\'' || *p == '"')) ? *p++ : 0;
		const char *w = p;
		/* "$((1<<2))": a shift, not a here-document (delimiters are words) */
		if (!q && (p >= end || !(*p == '_' || *p == '\\' || (*p >= 'A' && *p <= 'Z') ||
					 (*p >= 'a' && *p <= 'z'))))
			continue;
		while (p < end && *p != (q ? q : ' ') && *p != ';' && *p != '>' && *p != ')' &&
		       *p != '|' && *p != '&' && *p != '\t' && (q || *p != '\''))
			p++;
		if (p > w) {
			free(h->word);
			h->word = sb_strndup(w, (size_t)(p - w));
			h->dash = dash;
			h->line = lineno;
			return;
		}
	}
}

static bool heredoc_ends(const struct heredoc *h, const char *s, size_t n)
{
	size_t i = 0;
	if (h->dash)
		while (i < n && s[i] == '\t')
			i++;
	return n - i == strlen(h->word) && memcmp(s + i, h->word, n - i) == 0;
}

static bool is_script_section(const char *name)
{
	static const char *const scripts[] = { "setup", "post", "test", "runscript",
					       "startscript", "pre", "environment", NULL };
	char *low = sb_strdup(name);
	dp_ascii_lower(low);
	bool r = in_list(scripts, low) || (strncmp(low, "app", 3) == 0 &&
					   strcmp(low, "applabels") != 0 &&
					   strcmp(low, "appfiles") != 0 && strcmp(low, "apphelp") != 0);
	free(low);
	return r;
}

static void check_section_line(struct defparse_lint_report *r, const struct line *ln, int lineno)
{
	cleanup_free char *w = section_word(ln->s, ln->n);
	cleanup_free char *low = sb_strdup(w);
	dp_ascii_lower(low);
	const char *const *lists[] = { defparse_section_names, defparse_app_section_names, NULL };
	if (ln->s[0] != '%') {
		add(r, DEFPARSE_ERROR, lineno,
		    "indented line starting with '%%' (\"%%%s\") starts a new section in "
		    "Apptainer and is rejected; move it to column 0 or quote it",
		    w);
		return;
	}
	if (in_list(defparse_app_section_names, low)) {
		if (strcmp(low, w) != 0)
			add(r, DEFPARSE_ERROR, lineno,
			    "app section keyword must be lower-case: %%%s (did you mean %%%s?)", w, low);
		const char *sp = memchr(ln->s, ' ', ln->n);
		if (sp == NULL || sp + 1 >= ln->s + ln->n || sp[1] == ' ')
			add(r, DEFPARSE_ERROR, lineno, "%%%s needs an app name: %%%s NAME", low, low);
		return;
	}
	if (in_list(defparse_section_names, low))
		return;
	char *tab = strchr(low, '\t');
	if (tab) {
		*tab = '\0';
		if (in_list(defparse_section_names, low) ||
		    in_list(defparse_app_section_names, low)) {
			add(r, DEFPARSE_ERROR, lineno,
			    "a tab after %%%s makes it part of the section name; use a space", low);
			return;
		}
		*tab = '\t';
	}
	const char *sug = nearest(low, lists);
	if (w[0] == '\0') {
		add(r, DEFPARSE_ERROR, lineno, "a lone '%%' starts a section with an empty name");
		return;
	}
	add(r, DEFPARSE_ERROR, lineno, "unknown section %%%s%s%s%s", w, sug ? " (did you mean %" : "",
	    sug ? sug : "", sug ? "?)" : "");
}

static void check_header_line(struct defparse_lint_report *r, const struct line *ln, int lineno)
{
	size_t tl;
	const char *t = dp_trim(ln->s, ln->n, &tl);
	if (tl == 0 || t[0] == '#')
		return;
	const char *colon = memchr(t, ':', tl);
	if (colon == NULL)
		return; /* continuation lines and "no val" errors: left to the parser */
	cleanup_free char *key = dp_trim_dup(t, (size_t)(colon - t));
	dp_ascii_lower(key);
	if (!defparse_is_header_key(key)) {
		if (strchr(key, ' ') || key[0] == '\0')
			return;
		const char *const *lists[] = { defparse_header_keys, NULL };
		const char *sug = strcmp(key, "otherurl") == 0 ? "otherurl0" : nearest(key, lists);
		add(r, DEFPARSE_ERROR, lineno, "unknown header keyword %s%s%s%s", key,
		    sug ? " (did you mean " : "", sug ? sug : "", sug ? "?)" : "");
	}
	const char *val = colon + 1;
	size_t vl = tl - (size_t)(colon - t) - 1;
	const char *d = memchr(val, '$', vl);
	if (d && d + 1 < val + vl &&
	    (d[1] == '{' || d[1] == '_' || (d[1] >= 'A' && d[1] <= 'Z') || (d[1] >= 'a' && d[1] <= 'z')))
		add(r, DEFPARSE_WARNING, lineno,
		    "header values are not expanded: '$' is kept literally (use {{ VAR }} with "
		    "--build-arg or %%arguments)");
	const char *h = memchr(val, '#', vl);
	if (h && h > val && h[-1] != ' ' && h[-1] != '\t')
		add(r, DEFPARSE_WARNING, lineno,
		    "'#' starts a comment in header values: the value is cut at column %zu",
		    (size_t)(h - ln->s) + 1);
}

/* A value continued with '\' and then a blank or comment line (or the end of
 * the header): Apptainer panics or drops the value; we keep it. Returns the new
 * pending line. ln NULL: the header ended. */
static int header_continuation(struct defparse_lint_report *r, const struct line *ln, int lineno,
			       int pending)
{
	size_t tl = 0;
	const char *t = ln ? dp_trim(ln->s, ln->n, &tl) : NULL;
	bool blank = ln == NULL || tl == 0 || t[0] == '#';
	if (pending && blank) {
		add(r, DEFPARSE_WARNING, pending,
		    "header value continued with '\\' is followed by %s: Apptainer %s; "
		    "sifbuild keeps the value",
		    ln ? "a blank or comment line" : "the end of the header",
		    ln ? "crashes (or drops the value)" : "drops the value");
		return 0;
	}
	if (blank)
		return pending;
	const char *hash = memchr(t, '#', tl);
	size_t vl = hash ? (size_t)(hash - t) : tl;
	const char *v = dp_trim(t, vl, &vl);
	return (vl > 0 && v[vl - 1] == '\\') ? lineno : 0;
}

static void split_lines(const char *buf, size_t len, struct line **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t p = 0;
	while (p < len) {
		const char *nl = memchr(buf + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - buf) : len;
		*out = sb_xrealloc(*out, (*n + 1) * sizeof(**out));
		struct line *l = &(*out)[(*n)++];
		l->s = buf + p;
		l->n = e - p;
		l->crlf = l->n > 0 && l->s[l->n - 1] == '\r';
		if (l->crlf)
			l->n--;
		p = nl ? e + 1 : len;
	}
}

static bool starts_section(const struct line *ln)
{
	size_t k, i = 0;
	while (i < ln->n && (k = dp_space_len(ln->s + i, ln->n - i)) > 0)
		i += k;
	return i < ln->n && ln->s[i] == '%';
}

static void raw_checks(struct defparse_lint_report *r, const char *buf, size_t len)
{
	struct line *lines;
	size_t n, crlf = 0;
	int first_crlf = 0;
	split_lines(buf, len, &lines, &n);
	bool in_header = true, in_script = false;
	int cont = 0; /* header line whose value ends in '\' */
	struct heredoc h = { NULL, false, 0 };
	for (size_t i = 0; i < n; i++) {
		const struct line *ln = &lines[i];
		int lineno = (int)i + 1;
		if (ln->crlf && crlf++ == 0)
			first_crlf = lineno;
		check_invisible(r, ln, lineno);
		if (ln->n >= 10 && strncasecmp(ln->s, "bootstrap:", 10) == 0) {
			in_header = true;
			in_script = false;
			free(h.word);
			h.word = NULL;
		}
		if (starts_section(ln)) {
			cont = header_continuation(r, NULL, lineno, cont);
			if (h.word && in_script)
				add(r, DEFPARSE_ERROR, lineno,
				    "line starting with '%%' inside the here-document started at line "
				    "%d ends the section there (every line whose first word starts "
				    "with '%%' starts a section, indented or not); produce it "
				    "another way, e.g. printf '%%s\\n'",
				    h.line);
			else
				check_section_line(r, ln, lineno);
			in_header = false;
			free(h.word);
			h.word = NULL;
			cleanup_free char *w = section_word(ln->s, ln->n);
			in_script = is_script_section(w);
			continue;
		}
		if (in_header) {
			/* a continuation line is part of the previous value, not a key */
			if (!cont)
				check_header_line(r, ln, lineno);
			cont = header_continuation(r, ln, lineno, cont);
		} else if (in_script) {
			if (h.word && heredoc_ends(&h, ln->s, ln->n)) {
				free(h.word);
				h.word = NULL;
			} else if (!h.word) {
				heredoc_scan(&h, ln->s, ln->n, lineno);
			}
		}
	}
	header_continuation(r, NULL, (int)n + 1, cont);
	free(h.word);
	if (crlf)
		add(r, DEFPARSE_WARNING, first_crlf,
		    "CRLF (Windows) line endings on %zu line%s; scripts run with a stray '\\r' "
		    "(convert with dos2unix)",
		    crlf, crlf == 1 ? "" : "s");
	free(lines);
}

/* ---------------------------------------------------- structural checks */

/* "path:LINE: msg" -> LINE and msg, so parse errors print like other items. */
static void add_parse_error(struct defparse_lint_report *r, const char *path, const char *msg)
{
	size_t pl = strlen(path);
	int line = 0;
	const char *m = msg;
	if (strncmp(msg, path, pl) == 0 && msg[pl] == ':') {
		m = msg + pl + 1;
		char *end;
		long l = strtol(m, &end, 10);
		if (end != m && *end == ':') {
			line = (int)l;
			m = end + 1;
		}
		while (*m == ' ')
			m++;
	}
	if (line && has_line_error(r, line))
		return;
	add(r, DEFPARSE_ERROR, line, "%s", m);
}

static void check_agent(struct defparse_lint_report *r, const struct defparse_stage *st,
			const struct defparse_lint_options *o)
{
	if (!st->has_header) {
		add(r, DEFPARSE_ERROR, st->first_line,
		    "no header: a build needs a 'Bootstrap:' line (Apptainer: multiple stages "
		    "detected, all must have headers)");
		return;
	}
	const char *agent = defparse_header_get(st, "bootstrap");
	int line = st->header[0].line;
	if (agent == NULL || agent[0] == '\0') {
		add(r, DEFPARSE_ERROR, line,
		    "no bootstrap specification found: 'Bootstrap:' must be the first header "
		    "line of every stage");
		return;
	}
	for (size_t i = 0; i < st->n_header; i++)
		if (strcmp(st->header[i].key, "bootstrap") == 0)
			line = st->header[i].line;
	if (!in_list(defparse_agent_names, agent)) {
		const char *const *lists[] = { defparse_agent_names, NULL };
		const char *sug = nearest(agent, lists);
		add(r, DEFPARSE_WARNING, line, "invalid build source %s%s%s%s", agent,
		    sug ? " (did you mean " : "", sug ? sug : "", sug ? "?)" : "");
		return;
	}
	const char *why = o && o->agent_status ? o->agent_status(agent) : NULL;
	if (why)
		add(r, DEFPARSE_WARNING, line, "bootstrap agent %s: %s", agent, why);
}

static void check_stages(struct defparse_lint_report *r, const struct defparse_def *def,
			 const struct defparse_lint_options *o)
{
	for (size_t i = 0; i < def->n_stages; i++) {
		const struct defparse_stage *st = &def->stages[i];
		check_agent(r, st, o);
		const char *name = defparse_stage_name(st);
		for (size_t j = 0; j < i && name[0]; j++)
			if (strcmp(defparse_stage_name(&def->stages[j]), name) == 0)
				add(r, DEFPARSE_WARNING, st->first_line,
				    "duplicate stage name %s (first at line %d)", name,
				    def->stages[j].first_line);
		for (size_t f = 0; f < st->n_files; f++) {
			const struct defparse_files *fl = &st->files[f];
			cleanup_free char *args = sb_strdup(fl->args);
			char *hash = strchr(args, '#');
			if (hash)
				*hash = '\0';
			char *save = NULL, *w1 = strtok_r(args, " \t", &save);
			char *w2 = w1 ? strtok_r(NULL, " \t", &save) : NULL;
			char *w3 = w2 ? strtok_r(NULL, " \t", &save) : NULL;
			if (w1 == NULL)
				continue;
			if (w2 == NULL || w3 != NULL || strcmp(w1, "from") != 0) {
				add(r, DEFPARSE_WARNING, fl->line,
				    "%%files %s: expected '%%files from STAGE'; Apptainer skips "
				    "this section silently",
				    fl->args);
				continue;
			}
			bool found = false;
			for (size_t j = 0; j < i; j++)
				found |= strcmp(defparse_stage_name(&def->stages[j]), w2) == 0;
			if (!found)
				add(r, DEFPARSE_WARNING, fl->line,
				    "%%files from %s: no earlier stage is named %s", w2, w2);
		}
	}
	for (size_t i = 0; i < def->n_warnings; i++)
		add(r, DEFPARSE_WARNING, def->warnings[i].line, "%s", def->warnings[i].msg);
	for (size_t i = 0; i < def->n_undefined; i++)
		add(r, DEFPARSE_ERROR, def->undefined[i].line,
		    "build var %s is not defined through either --build-arg (--build-arg-file) or "
		    "'arguments' section",
		    def->undefined[i].key);
	for (size_t i = 0; i < def->n_unused; i++)
		add(r, DEFPARSE_WARNING, 0, "unused build arg: %s", def->unused_args[i]);
}

static int item_cmp(const void *a, const void *b)
{
	const struct defparse_lint_item *x = a, *y = b;
	return (x->line > y->line) - (x->line < y->line);
}

int defparse_lint_buffer(const char *path, const char *buf, size_t len,
			 const struct defparse_lint_options *o, struct defparse_lint_report *out)
{
	memset(out, 0, sizeof(*out));
	raw_checks(out, buf, len);
	struct defparse_options po = { o ? o->args : NULL, true };
	sb_error_t err = NULL;
	struct defparse_def *def = defparse_parse_buffer(path, buf, len, &po, &err);
	if (def == NULL) {
		add_parse_error(out, path, sb_error_message(err));
		sb_error_free(&err);
	} else {
		check_stages(out, def, o);
		defparse_def_free(def);
	}
	/* stable order by line (insertion sort keeps equal lines in order) */
	for (size_t i = 1; i < out->n; i++)
		for (size_t j = i; j > 0 && item_cmp(&out->v[j - 1], &out->v[j]) > 0; j--) {
			struct defparse_lint_item t = out->v[j];
			out->v[j] = out->v[j - 1];
			out->v[j - 1] = t;
		}
	return out->worst;
}

int defparse_lint_file(const char *path, const struct defparse_lint_options *o,
		       struct defparse_lint_report *out, sb_error_t *err)
{
	size_t len;
	cleanup_free char *buf = sb_read_file(path, &len);
	if (buf == NULL)
		return sb_error_set_status(err, 2, errno, "%s: cannot read definition file", path);
	return defparse_lint_buffer(path, buf, len, o, out);
}

void defparse_lint_report_free(struct defparse_lint_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].msg);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
