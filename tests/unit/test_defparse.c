/* tests/unit/test_defparse.c: unit tests for the definition-file parser
 * (defparse/): tokenizer, header, sections, %files, %labels, apps,
 * templating, multi-stage splitting, error locations, JSON output, lint.
 *
 * Expected values follow docs/apptainer-behaviour.md sections 1.2-1.10 and
 * sifbuild's documented deliberate differences. Every object is freed: the
 * program must be clean under ASan/LeakSanitizer.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defparse/defparse.h"
#include "defparse/internal.h"

/* ------------------------------------------------------------ helpers */

#define PATH "t.def"

/* Parses text (as the file "t.def") with optional build args; the parse must
 * succeed. */
static struct defparse_def *PO(const char *text, const struct defparse_buildargs *args,
			       bool allow_undefined)
{
	struct defparse_options o = { args, allow_undefined };
	sb_error_t err = NULL;
	struct defparse_def *d = defparse_parse_buffer(PATH, text, strlen(text), &o, &err);
	ck_assert_msg(d != NULL, "parse failed: %s", sb_error_message(err));
	ck_assert_ptr_null(err);
	return d;
}

static struct defparse_def *P(const char *text)
{
	return PO(text, NULL, false);
}

/* Parses text that must fail; returns the error message (malloc'd) and checks
 * that the exit status carried is 2. */
static char *EO(const char *text, const struct defparse_buildargs *args)
{
	struct defparse_options o = { args, false };
	sb_error_t err = NULL;
	struct defparse_def *d = defparse_parse_buffer(PATH, text, strlen(text), &o, &err);
	if (d != NULL) {
		defparse_def_free(d);
		ck_abort_msg("parse of %s unexpectedly succeeded", text);
	}
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->status, 2);
	char *m = sb_strdup(sb_error_message(err));
	sb_error_free(&err);
	return m;
}

static char *E(const char *text)
{
	return EO(text, NULL);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Build args from a NULL-terminated list of "K=V" strings. */
static void mkargs(struct defparse_buildargs *a, const char *const *kv)
{
	memset(a, 0, sizeof(*a));
	for (; *kv; kv++) {
		sb_error_t err = NULL;
		ck_assert_int_eq(defparse_buildargs_add(a, *kv, &err), 0);
		ck_assert_ptr_null(err);
	}
}

static const char *script(const struct defparse_def *d, size_t stage, enum defparse_script_id id)
{
	ck_assert_uint_lt(stage, d->n_stages);
	return d->stages[stage].scripts[id].script;
}

static const char *label(const struct defparse_stage *st, const char *key)
{
	for (size_t i = 0; i < st->n_labels; i++)
		if (strcmp(st->labels[i].key, key) == 0)
			return st->labels[i].value;
	return NULL;
}

static const char *custom(const struct defparse_stage *st, const char *key)
{
	for (size_t i = 0; i < st->n_custom; i++)
		if (strcmp(st->custom[i].key, key) == 0)
			return st->custom[i].value;
	return NULL;
}

/* Own small base64 encoder (standard alphabet, padded) to check JSON raw. */
static char *b64(const char *s, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t o = 0;
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < n; i += 3) {
		unsigned char a = (unsigned char)s[i];
		unsigned char b = i + 1 < n ? (unsigned char)s[i + 1] : 0;
		unsigned char c = i + 2 < n ? (unsigned char)s[i + 2] : 0;
		out[o++] = t[a >> 2];
		out[o++] = t[((a & 3) << 4) | (b >> 4)];
		out[o++] = i + 1 < n ? t[((b & 15) << 2) | (c >> 6)] : '=';
		out[o++] = i + 2 < n ? t[c & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* defparse_to_json parsed back with jansson; caller decrefs. */
static json_t *J(const struct defparse_def *d)
{
	char *s = defparse_to_json(d);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	ck_assert_msg(j != NULL, "JSON does not parse: %s", je.text);
	free(s);
	ck_assert(json_is_array(j));
	return j;
}

/* Lint helpers. */
static int L(const char *text, const struct defparse_lint_options *o,
	     struct defparse_lint_report *r)
{
	return defparse_lint_buffer(PATH, text, strlen(text), o, r);
}

static const struct defparse_lint_item *LF(const struct defparse_lint_report *r,
					   enum defparse_severity sev, const char *sub)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].severity == sev && strstr(r->v[i].msg, sub) != NULL)
			return &r->v[i];
	return NULL;
}

static void dump_lint(const struct defparse_lint_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, "  lint[%zu] sev=%d line=%d %s\n", i, (int)r->v[i].severity,
			r->v[i].line, r->v[i].msg);
}

/* ---------------------------------------------------------- tokenizer */

START_TEST(tok_scan_tokens)
{
	const char *text = "Bootstrap: x\r\n\n%post\r\necho\n  %foo\nlast";
	struct dp_tokens t;
	dp_scan(text, strlen(text), &t);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.v[0].text, "Bootstrap: x\n\n");
	ck_assert_int_eq(t.v[0].line, 1);
	ck_assert_int_eq(t.v[0].nlines, 2);
	ck_assert(!t.v[0].is_section);
	ck_assert_str_eq(t.v[1].text, "%post\necho\n");
	ck_assert_int_eq(t.v[1].line, 3);
	ck_assert(t.v[1].is_section);
	/* the last line gains a newline although the input has none */
	ck_assert_str_eq(t.v[2].text, "  %foo\nlast\n");
	ck_assert_int_eq(t.v[2].line, 5);
	ck_assert_int_eq(t.v[2].nlines, 2);
	dp_tokens_free(&t);
}
END_TEST

START_TEST(tok_crlf)
{
	struct defparse_def *d = P("Bootstrap: docker\r\nFrom: alpine\r\n%post\r\necho hi\r\n"
				   "%labels\r\nA b\r\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_str_eq(defparse_header_get(st, "bootstrap"), "docker");
	ck_assert_str_eq(defparse_header_get(st, "from"), "alpine");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo hi\n");
	ck_assert_str_eq(label(st, "A"), "b");
	defparse_def_free(d);
}
END_TEST

START_TEST(tok_indented_percent)
{
	char *m = E("Bootstrap: docker\n"
		    "%post\n"
		    "cat > f <<EOF\n"
		    "    %foo\n"
		    "EOF\n");
	ck_assert_msg(starts_with(m, PATH ":4: invalid section(s) specified: "), "%s", m);
	free(m);
}
END_TEST

START_TEST(tok_double_percent_and_upper)
{
	struct defparse_def *d = P("Bootstrap: docker\n%%post\necho a\n%RUNSCRIPT\necho r\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo a\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_RUNSCRIPT), "echo r\n");
	defparse_def_free(d);
}
END_TEST

START_TEST(tok_tab_after_files)
{
	char *m = E("Bootstrap: docker\n%files\tfrom x\na b\n");
	ck_assert_str_eq(m, PATH ":2: invalid section(s) specified: files\tfrom");
	free(m);
}
END_TEST

START_TEST(tok_headerless_first_token_trimmed)
{
	/* only the very first token is trimmed: an indented first %-line works */
	struct defparse_def *d = P("  %post -c sh   \n  echo  \n\n");
	ck_assert_str_eq(d->stages[0].scripts[DEFPARSE_POST].args, "-c sh   ");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "  echo");
	defparse_def_free(d);
	/* after a leading blank line the section token is not the first one */
	d = P("\n%runscript\necho hi\n\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_RUNSCRIPT), "echo hi\n\n");
	defparse_def_free(d);
	char *m = E("\n  %runscript\necho hi\n");
	ck_assert_msg(starts_with(m, PATH ":2: invalid section(s) specified: "), "%s", m);
	free(m);
}
END_TEST

START_TEST(tok_section_without_body)
{
	char *m = E("%runscript\n");
	ck_assert_str_eq(m, PATH ":1: section %runscript: could not be split into section name "
			    "and body");
	free(m);
}
END_TEST

/* ------------------------------------------------------------- header */

START_TEST(hdr_keys_lower_values_trimmed)
{
	struct defparse_def *d = P("BootStrap:   docker   \nFROM:\talpine:3.19\t\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert(st->has_header);
	ck_assert_uint_eq(st->n_header, 2);
	ck_assert_str_eq(st->header[0].key, "bootstrap");
	ck_assert_str_eq(st->header[0].value, "docker");
	ck_assert_int_eq(st->header[0].line, 1);
	ck_assert_str_eq(st->header[1].key, "from");
	ck_assert_str_eq(st->header[1].value, "alpine:3.19");
	ck_assert_int_eq(st->header[1].line, 2);
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_comment_cut)
{
	struct defparse_def *d = P("# leading\nBootstrap: docker # agent\n  # indented comment\n"
				   "From: alpine#fragment\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_str_eq(defparse_header_get(st, "bootstrap"), "docker");
	ck_assert_str_eq(defparse_header_get(st, "from"), "alpine");
	ck_assert_uint_eq(st->n_header, 2);
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_no_colon)
{
	char *m = E("Bootstrap: docker\n\nfoo bar # c\n%post\nx\n");
	ck_assert_str_eq(m, PATH ":3: failed to parse deffile header: header key foo bar  had no val");
	free(m);
}
END_TEST

START_TEST(hdr_unknown_keyword)
{
	char *m = E("Bootstrap: docker\nFooBar: baz\n");
	ck_assert_str_eq(m, PATH ":2: failed to parse deffile header: invalid header keyword "
			    "found: foobar");
	free(m);
}
END_TEST

START_TEST(hdr_otherurl)
{
	struct defparse_def *d = P("Bootstrap: zypper\nOtherURL0: a\notherurl12: b\n");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "otherurl0"), "a");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "otherurl12"), "b");
	defparse_def_free(d);
	char *m = E("Bootstrap: zypper\notherurl: a\n");
	ck_assert_str_eq(m, PATH ":2: failed to parse deffile header: invalid header keyword "
			    "found: otherurl");
	free(m);
	m = E("Bootstrap: zypper\nfrom1: a\n");
	ck_assert_str_eq(m, PATH ":2: failed to parse deffile header: invalid header keyword "
			    "found: from1");
	free(m);
	ck_assert(defparse_is_header_key("otherurl7"));
	ck_assert(defparse_is_header_key("buildargs"));
	ck_assert(!defparse_is_header_key("otherurl"));
	ck_assert(!defparse_is_header_key("otherurl<N>"));
	ck_assert(!defparse_is_header_key("xotherurl1"));
}
END_TEST

START_TEST(hdr_duplicate_last_wins)
{
	struct defparse_def *d = P("Bootstrap: docker\nFrom: a\nStage: s\nfrom: b\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_header, 3);
	ck_assert_str_eq(st->header[1].key, "from"); /* first-appearance order */
	ck_assert_str_eq(st->header[1].value, "b");
	ck_assert_int_eq(st->header[1].line, 4);
	ck_assert_str_eq(defparse_stage_name(st), "s");
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_continuation_newline)
{
	/* zypper_sle style PGP key: "\n\" gives a real newline */
	struct defparse_def *d = P("Bootstrap: zypper\n"
				   "ProductPGP: -----BEGIN KEY-----\\n\\\n"
				   "   abc\\n\\\n"
				   "   -----END KEY-----\n"
				   "From: docker.io/library/\\\n"
				   "  alpine:3.19\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_str_eq(defparse_header_get(st, "productpgp"),
			 "-----BEGIN KEY-----\nabc\n-----END KEY-----");
	ck_assert_str_eq(defparse_header_get(st, "from"), "docker.io/library/alpine:3.19");
	ck_assert_int_eq(st->header[1].line, 2);
	ck_assert_int_eq(st->header[2].line, 5);
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_continuation_then_blank)
{
	/* deliberate difference (a): Apptainer panics / drops, we keep */
	struct defparse_def *d = P("Bootstrap: docker\nFrom: alpine\\\n\nStage: one\n");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "stage"), "one");
	defparse_def_free(d);
	d = P("Bootstrap: docker\nFrom: alpine\\\n# comment\nStage: one\n");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	defparse_def_free(d);
	d = P("Bootstrap: docker\nFrom: alpine\\\n\n%post\necho\n");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	defparse_def_free(d);
	d = P("Bootstrap: docker\nFrom: alpine\\");
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	defparse_def_free(d);
	/* "Key: \" with nothing before the backslash: next line is a new key */
	d = P("Bootstrap: docker\nFrom: \\\nStage: x\n");
	ck_assert_ptr_null(defparse_header_get(&d->stages[0], "from"));
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "stage"), "x");
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_headerless)
{
	struct defparse_def *d = P("%post\necho\n");
	ck_assert(!d->stages[0].has_header);
	ck_assert_uint_eq(d->stages[0].n_header, 0);
	ck_assert_ptr_null(defparse_header_get(&d->stages[0], "bootstrap"));
	ck_assert_str_eq(defparse_stage_name(&d->stages[0]), "");
	defparse_def_free(d);
	d = P("# only a comment\n\n%post\necho\n");
	ck_assert(!d->stages[0].has_header);
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo\n");
	defparse_def_free(d);
}
END_TEST

START_TEST(hdr_nul_byte_rejected)
{
	/* Apptainer (Go strings) keeps a NUL byte as an ordinary character; we
	 * reject the file with the line of the NUL (docs/deffile.md). */
	static const char text[] = "Bootstrap: docker\nFrom: a\0b\nStage: s\n";
	sb_error_t err = NULL;
	struct defparse_def *d = defparse_parse_buffer(PATH, text, sizeof(text) - 1, NULL, &err);
	ck_assert_ptr_null(d);
	ck_assert_str_eq(sb_error_message(err),
			 PATH ":2: NUL byte in definition file (binary file or UTF-16 encoding?)");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
}
END_TEST

/* ----------------------------------------------------------- sections */

START_TEST(sec_scripts_concatenated_args_replaced)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%post\necho a\n"
				   "%post -c /bin/bash\necho b\n"
				   "%post\necho c\n");
	const struct defparse_script *s = &d->stages[0].scripts[DEFPARSE_POST];
	ck_assert_str_eq(s->script, "echo a\necho b\necho c\n");
	ck_assert_str_eq(s->args, "-c /bin/bash");
	ck_assert_int_eq(s->line, 2);
	defparse_def_free(d);
}
END_TEST

START_TEST(sec_args_verbatim)
{
	struct defparse_def *d = P("Bootstrap: docker\n%post -c /bin/bash extra #c\necho\n");
	ck_assert_str_eq(d->stages[0].scripts[DEFPARSE_POST].args, "-c /bin/bash extra #c");
	defparse_def_free(d);
}
END_TEST

START_TEST(sec_each_kind)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%help\nhelp text\n"
				   "%environment\nexport A=1\n"
				   "%runscript\nrun\n"
				   "%startscript\nstart\n"
				   "%test\nexit 0\n"
				   "%pre\npre\n"
				   "%setup\nsetup\n"
				   "%post\n\n  # comment kept\npost\n\n"
				   "%arguments\nX=1\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_HELP), "help text\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_ENVIRONMENT), "export A=1\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_RUNSCRIPT), "run\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_STARTSCRIPT), "start\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_TEST), "exit 0\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_PRE), "pre\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_SETUP), "setup\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "\n  # comment kept\npost\n\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_ARGUMENTS), "X=1\n");
	ck_assert_str_eq(defparse_script_name(DEFPARSE_TEST), "test");
	ck_assert_str_eq(defparse_script_name(DEFPARSE_STARTSCRIPT), "startscript");
	ck_assert_int_eq(d->stages[0].scripts[DEFPARSE_TEST].line, 10);
	ck_assert_int_eq(d->stages[0].scripts[DEFPARSE_PRE].line, 12);
	defparse_def_free(d);
}
END_TEST

START_TEST(sec_headerless_first_loses_newline)
{
	struct defparse_def *d = P("%help\nHello Help!\n# # double Hashtag comment\n\n\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_HELP), "Hello Help!\n# # double Hashtag comment");
	defparse_def_free(d);
	d = P("%post\necho a\n%post\necho b\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo aecho b\n");
	defparse_def_free(d);
	/* the same quirk for %labels: the second body is glued to the last line */
	d = P("%labels\nA 1\n%labels\nB 2\n");
	ck_assert_uint_eq(d->stages[0].n_labels, 1);
	ck_assert_str_eq(label(&d->stages[0], "A"), "1B 2");
	defparse_def_free(d);
}
END_TEST

START_TEST(sec_occurrences)
{
	struct defparse_def *d = P("Bootstrap: docker\n\n%post\na\nb\n%runscript foo\nc\n%files\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_sections, 3);
	ck_assert_str_eq(st->sections[0].name, "post");
	ck_assert_int_eq(st->sections[0].line, 3);
	ck_assert_int_eq(st->sections[0].end_line, 5);
	ck_assert_str_eq(st->sections[1].name, "runscript");
	ck_assert_str_eq(st->sections[1].args, "foo");
	ck_assert_int_eq(st->sections[1].line, 6);
	ck_assert_int_eq(st->sections[1].end_line, 7);
	ck_assert_str_eq(st->sections[2].name, "files");
	ck_assert_int_eq(st->sections[2].line, 8);
	ck_assert_int_eq(st->first_line, 1);
	ck_assert_int_eq(st->last_line, 8);
	defparse_def_free(d);
}
END_TEST

START_TEST(sec_invalid_sections_file_order)
{
	char *m = E("Bootstrap: docker\n%zeta\n\n%post\nx\n%alpha\n\n%zeta\n");
	ck_assert_str_eq(m, PATH ":2: invalid section(s) specified: zeta, alpha");
	free(m);
}
END_TEST

START_TEST(sec_empty_stage_only_comments)
{
	/* a %labels with nothing in it makes an empty definition */
	char *m = E("%labels\n# none\n");
	ck_assert_msg(starts_with(m, PATH ": "), "%s", m);
	free(m);
	/* but args alone make a section count */
	struct defparse_def *d = P("\n%post -c sh\n");
	ck_assert_str_eq(d->stages[0].scripts[DEFPARSE_POST].args, "-c sh");
	defparse_def_free(d);
}
END_TEST

/* -------------------------------------------------------------- files */

START_TEST(files_quotes_and_missing_dst)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%files\n"
				   "  \"file 1\" \"with space 1\"\n"
				   "# comment\n"
				   "\n"
				   "a.txt\n"
				   "'single quoted' dst\n"
				   "x\ty\n"
				   "one two three # comment\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_files, 1);
	const struct defparse_files *f = &st->files[0];
	ck_assert_str_eq(f->args, "");
	ck_assert(f->has_list);
	ck_assert_uint_eq(f->n, 5);
	ck_assert_str_eq(f->v[0].src, "file 1");
	ck_assert_str_eq(f->v[0].dst, "with space 1");
	ck_assert_int_eq(f->v[0].line, 3);
	ck_assert_str_eq(f->v[1].src, "a.txt");
	ck_assert_str_eq(f->v[1].dst, "");
	ck_assert_int_eq(f->v[1].line, 6);
	ck_assert_str_eq(f->v[2].src, "'single quoted");
	ck_assert_str_eq(f->v[2].dst, "' dst");
	ck_assert_str_eq(f->v[3].src, "x");
	ck_assert_str_eq(f->v[3].dst, "y");
	ck_assert_str_eq(f->v[4].src, "one");
	ck_assert_str_eq(f->v[4].dst, "two");
	ck_assert_int_eq(f->v[4].line, 9);
	defparse_def_free(d);
}
END_TEST

START_TEST(files_merge_by_args)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%files\na b\n"
				   "%files from s1\nc d\n"
				   "%files\ne f\n"
				   "%files from  s1\ng h\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_files, 3);
	ck_assert_str_eq(st->files[0].args, "");
	ck_assert_uint_eq(st->files[0].n, 2);
	ck_assert_str_eq(st->files[0].v[0].src, "a");
	ck_assert_str_eq(st->files[0].v[1].src, "e");
	ck_assert_int_eq(st->files[0].v[1].line, 7);
	ck_assert_int_eq(st->files[0].line, 2);
	ck_assert_str_eq(st->files[1].args, "from s1");
	ck_assert_uint_eq(st->files[1].n, 1);
	ck_assert_int_eq(st->files[1].line, 4);
	ck_assert_int_eq(st->files[1].v[0].line, 5);
	/* byte-identical args only: two spaces make another group */
	ck_assert_str_eq(st->files[2].args, "from  s1");
	defparse_def_free(d);
}
END_TEST

START_TEST(files_no_token_error)
{
	char *m = E("Bootstrap: docker\n%files\na b\n\"\n");
	ck_assert_msg(starts_with(m, PATH ":4: %files line has no source path"), "%s", m);
	free(m);
}
END_TEST

START_TEST(files_empty_section)
{
	struct defparse_def *d = P("Bootstrap: docker\n%files\n# nothing\n\n");
	ck_assert_uint_eq(d->stages[0].n_files, 1);
	ck_assert_uint_eq(d->stages[0].files[0].n, 0);
	ck_assert(!d->stages[0].files[0].has_list);
	defparse_def_free(d);
}
END_TEST

START_TEST(files_line_helper)
{
	char *src, *dst;
	const char *l = "pre{{ X }}post /dst";
	ck_assert_int_eq(dp_files_line(l, strlen(l), &src, &dst), 0);
	ck_assert_str_eq(src, "pre{{ X }}post");
	ck_assert_str_eq(dst, "/dst");
	free(src);
	free(dst);
	l = "\"\"a b\"\" c";
	ck_assert_int_eq(dp_files_line(l, strlen(l), &src, &dst), 0);
	ck_assert_str_eq(src, ""); /* the empty quoted token "" comes first */
	ck_assert_str_eq(dst, "a");
	free(src);
	free(dst);
	l = "\"";
	ck_assert_int_eq(dp_files_line(l, strlen(l), &src, &dst), -1);
	ck_assert_ptr_null(src);
	ck_assert_ptr_null(dst);
}
END_TEST

/* ------------------------------------------------------------- labels */

START_TEST(labels_rules)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%labels\n"
				   "  Author   Jane Doe  \n"
				   "A\tB\n"
				   "# C 1\n"
				   "Version 1\n"
				   "Url http://x/#frag # kept\n"
				   "Author John\n"
				   "Lonely\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_labels, 5);
	ck_assert_str_eq(st->labels[0].key, "Author");
	ck_assert_str_eq(st->labels[0].value, "John");
	ck_assert_int_eq(st->labels[0].line, 8);
	ck_assert_str_eq(st->labels[1].key, "A\tB");
	ck_assert_str_eq(st->labels[1].value, "");
	ck_assert_ptr_null(label(st, "C"));
	ck_assert_str_eq(label(st, "Version"), "1");
	ck_assert_int_eq(st->labels[2].line, 6);
	ck_assert_str_eq(label(st, "Url"), "http://x/#frag # kept");
	ck_assert_str_eq(label(st, "Lonely"), "");
	defparse_def_free(d);
}
END_TEST

START_TEST(labels_two_sections_lines)
{
	struct defparse_def *d = P("Bootstrap: docker\n%labels\nA 1\n%post\nx\n%labels\nB 2\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_labels, 2);
	ck_assert_int_eq(st->labels[0].line, 3);
	ck_assert_int_eq(st->labels[1].line, 7);
	defparse_def_free(d);
}
END_TEST

/* --------------------------------------------------------------- apps */

START_TEST(apps_keys_and_order)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%apprun foo\nrun foo\n"
				   "%appinstall bar ignored words\nmake\n"
				   "%appinstall foo\nmake foo\n"
				   "%appinstall foo\nmore\n");
	const struct defparse_stage *st = &d->stages[0];
	ck_assert_uint_eq(st->n_apps, 2);
	ck_assert_str_eq(st->app_order[0], "foo");
	ck_assert_str_eq(st->app_order[1], "bar");
	ck_assert_uint_eq(st->n_custom, 3);
	ck_assert_str_eq(custom(st, "apprun foo"), "run foo\n");
	ck_assert_str_eq(custom(st, "appinstall bar"), "make\n");
	ck_assert_str_eq(custom(st, "appinstall foo"), "make foo\nmore\n");
	ck_assert_str_eq(st->sections[1].name, "appinstall bar");
	defparse_def_free(d);
}
END_TEST

START_TEST(apps_missing_name)
{
	char *m = E("Bootstrap: docker\n%appinstall\nmake\n");
	ck_assert_str_eq(m, PATH ":2: app section appinstall: could not be split into section "
			    "name and app name");
	free(m);
}
END_TEST

START_TEST(apps_uppercase_keyword)
{
	char *m = E("Bootstrap: docker\n%post\nx\n%APPINSTALL foo\nmake\n");
	ck_assert_str_eq(m, PATH ":4: invalid section(s) specified: APPINSTALL foo");
	free(m);
}
END_TEST

/* --------------------------------------------------------- templating */

START_TEST(tpl_build_arg)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "X=alpine", NULL });
	struct defparse_def *d = PO("Bootstrap: docker\nFrom: {{ X }}\n%post\necho {{X}}\n", &a,
				    false);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo alpine\n");
	ck_assert_str_eq(d->stages[0].raw, "Bootstrap: docker\nFrom: alpine\n%post\necho alpine\n");
	ck_assert_uint_eq(d->n_unused, 0);
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(tpl_arguments_default_and_override)
{
	const char *text = "Bootstrap: docker\nFrom: {{ X }}\n%arguments\nX=debian\n";
	struct defparse_def *d = P(text);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "debian");
	defparse_def_free(d);
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "X=alpine", NULL });
	d = PO(text, &a, false);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "alpine");
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(tpl_undefined_error)
{
	char *m = E("Bootstrap: docker\n\nFrom: {{ NOPE }}\n");
	ck_assert_str_eq(m, PATH ":3: build var NOPE is not defined through either --build-arg "
			    "(--build-arg-file) or 'arguments' section");
	free(m);
}
END_TEST

START_TEST(tpl_comment_suppression)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "X=v", NULL });
	struct defparse_def *d = PO("Bootstrap: docker\n"
				    "%post\n"
				    "# {{ X }}\n"
				    "#!{{ X }}\n"
				    "#{{ X }}\n"
				    "echo \"a#b {{ X }}\"\n"
				    "echo foo # {{ X }}\n"
				    "echo {{ X }} # {{ X }}\n",
				    &a, false);
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "# {{ X }}\n"
						       "#!v\n"
						       "#v\n"
						       "echo \"a#b {{ X }}\"\n"
						       "echo foo # {{ X }}\n"
						       "echo v # {{ X }}\n");
	defparse_def_free(d);
	defparse_buildargs_free(&a);
	/* untouched placeholders need not be defined */
	d = P("Bootstrap: docker\n%post\n# {{ UNDEF }}\n");
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "# {{ UNDEF }}\n");
	defparse_def_free(d);
}
END_TEST

START_TEST(tpl_arguments_inline_comment_and_nesting)
{
	struct defparse_def *d = P("Bootstrap: docker\n"
				   "%arguments\n"
				   "V=1 # inline\n"
				   "A=x\n"
				   "B={{ A }}y\n"
				   "C={{ B }}z\n"
				   "%post\n"
				   "echo {{ V }}\n"
				   "echo {{ B }}\n"
				   "echo {{ C }}\n");
	/* one level of nesting only: C's {{ B }} expands to B's raw value */
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo 1 # inline\necho xy\necho {{ A }}yz\n");
	defparse_def_free(d);
}
END_TEST

START_TEST(tpl_unused_args)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "X=1", "Y=2", "Z=3", NULL });
	struct defparse_def *d = PO("Bootstrap: docker\n%post\necho {{ X }}\n# {{ Z }}\n", &a,
				    false);
	ck_assert_uint_eq(d->n_unused, 2);
	ck_assert_str_eq(d->unused_args[0], "Y");
	ck_assert_str_eq(d->unused_args[1], "Z");
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(tpl_allow_undefined)
{
	struct defparse_def *d = PO("Bootstrap: docker\nFrom: {{ U }}\n%post\necho {{ W }}\n", NULL,
				    true);
	ck_assert_uint_eq(d->n_undefined, 2);
	ck_assert_str_eq(d->undefined[0].key, "U");
	ck_assert_int_eq(d->undefined[0].line, 2);
	ck_assert_str_eq(d->undefined[1].key, "W");
	ck_assert_int_eq(d->undefined[1].line, 4);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "{{ U }}");
	defparse_def_free(d);
}
END_TEST

START_TEST(tpl_multiline_value_keeps_lines)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "M=a\nb\nc", NULL });
	char *m = EO("Bootstrap: docker\n%post\n{{ M }}\n%bogus\nx\n", &a);
	ck_assert_str_eq(m, PATH ":4: invalid section(s) specified: bogus");
	free(m);
	m = EO("Bootstrap: docker\n%post\n{{ M }}\n%files\n\"\n", &a);
	ck_assert_msg(starts_with(m, PATH ":5: %files line has no source path"), "%s", m);
	free(m);
	struct defparse_def *d = PO("Bootstrap: docker\n%post\n{{ M }}\n%labels\nK v\n", &a, false);
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "a\nb\nc\n");
	ck_assert_int_eq(d->stages[0].labels[0].line, 5);
	ck_assert_int_eq(d->stages[0].sections[1].line, 4);
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(tpl_buildargs_add)
{
	struct defparse_buildargs a = { 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(defparse_buildargs_add(&a, " K = v = w ", &err), 0);
	ck_assert_str_eq(a.v[0].key, "K");
	ck_assert_str_eq(a.v[0].value, "v = w");
	ck_assert_int_eq(defparse_buildargs_add(&a, "K=\"q\"", &err), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.v[0].value, "\"q\"");
	ck_assert_int_eq(defparse_buildargs_add(&a, "noequals", &err), -1);
	ck_assert_str_eq(sb_error_message(err), "--build-arg: \"noequals\" is not a key=value pair");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_eq(defparse_buildargs_add(&a, " =v", &err), -1);
	ck_assert_str_eq(sb_error_message(err), "--build-arg: missing key portion in \" =v\"");
	sb_error_free(&err);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(tpl_buildargs_file)
{
	char path[] = "/tmp/test_defparse_argsXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *content = "A=1\r\n\n# comment\nbad line\nB = 2\n  \nA=3";
	ck_assert_int_eq(write(fd, content, strlen(content)), (int)strlen(content));
	close(fd);
	struct defparse_buildargs a = { 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(defparse_buildargs_read_file(&a, path, &err), 0);
	unlink(path);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_str_eq(a.v[0].key, "A");
	ck_assert_str_eq(a.v[0].value, "3");
	ck_assert_str_eq(a.v[1].value, "2");
	/* difference (e): blank and '#' lines are skipped silently */
	ck_assert_uint_eq(a.n_warnings, 1);
	ck_assert_int_eq(a.warnings[0].line, 4);
	ck_assert_ptr_nonnull(strstr(a.warnings[0].msg, "Skipping \"bad line\" in build arg file"));
	defparse_buildargs_free(&a);
	ck_assert_int_eq(defparse_buildargs_read_file(&a, "/nonexistent/args", &err), -1);
	ck_assert_ptr_nonnull(err);
	sb_error_free(&err);
}
END_TEST

START_TEST(tpl_arguments_warning_lines)
{
	struct defparse_def *d = P("Bootstrap: docker\n%arguments\nok=1\nbad\n");
	ck_assert_uint_eq(d->n_warnings, 1);
	ck_assert_int_eq(d->warnings[0].line, 4);
	ck_assert_ptr_nonnull(strstr(d->warnings[0].msg, "Skipping \"bad\" in 'arguments' section"));
	defparse_def_free(d);
	/* a second %arguments section further down */
	d = P("Bootstrap: docker\n%arguments\nA=1\n%post\nx\n%arguments\nbad\n");
	ck_assert_uint_eq(d->n_warnings, 1);
	int bad_line = d->warnings[0].line;
	defparse_def_free(d);
	ck_assert_int_eq(bad_line, 7);
}
END_TEST

START_TEST(tpl_keyval_helper)
{
	char *k, *v, *why;
	ck_assert_int_eq(dp_keyval("a=b=c", &k, &v, &why), 0);
	ck_assert_str_eq(k, "a");
	ck_assert_str_eq(v, "b=c");
	free(k);
	free(v);
	ck_assert_int_eq(dp_keyval("x\ty", &k, &v, &why), -1);
	ck_assert_str_eq(why, "\"x\\ty\" is not a key=value pair");
	free(why);
}
END_TEST

/* --------------------------------------------------------- multistage */

START_TEST(ms_split)
{
	struct defparse_def *d = P("Bootstrap: docker\nFrom: a\nStage: one\n%post\necho 1\n"
				   "bootstrap: docker\nFrom: b\n\n");
	ck_assert_uint_eq(d->n_stages, 2);
	ck_assert_str_eq(defparse_stage_name(&d->stages[0]), "one");
	ck_assert_str_eq(defparse_stage_name(&d->stages[1]), "");
	ck_assert_int_eq(d->stages[0].first_line, 1);
	ck_assert_int_eq(d->stages[0].last_line, 5);
	ck_assert_int_eq(d->stages[1].first_line, 6);
	ck_assert_int_eq(d->stages[1].last_line, 8);
	ck_assert_int_eq(d->stages[1].header[1].line, 7);
	ck_assert_str_eq(d->stages[1].raw, "bootstrap: docker\nFrom: b\n\n");
	defparse_def_free(d);
}
END_TEST

START_TEST(ms_not_split_points)
{
	struct defparse_def *d = P("Bootstrap : docker\nFrom: a\n  Bootstrap: docker\n");
	ck_assert_uint_eq(d->n_stages, 1);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "bootstrap"), "docker");
	defparse_def_free(d);
	/* a column-0 bootstrap: inside a script body does split */
	d = P("Bootstrap: docker\n%post\necho\nBOOTSTRAP:docker\n");
	ck_assert_uint_eq(d->n_stages, 2);
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo\n");
	ck_assert_str_eq(defparse_header_get(&d->stages[1], "bootstrap"), "docker");
	defparse_def_free(d);
}
END_TEST

START_TEST(ms_leading_comments_dropped)
{
	struct defparse_def *d = P("# leading\n\n#more\nBootstrap: docker\nFrom: a\n");
	ck_assert_uint_eq(d->n_stages, 1);
	ck_assert_int_eq(d->stages[0].first_line, 4);
	ck_assert(starts_with(d->stages[0].raw, "Bootstrap:"));
	ck_assert_str_eq(d->fullraw, "Bootstrap: docker\nFrom: a\n");
	ck_assert_uint_eq(d->fullraw_len, strlen(d->fullraw));
	ck_assert_int_eq(d->stages[0].header[1].line, 5);
	defparse_def_free(d);
}
END_TEST

START_TEST(ms_fullraw_templated)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "X=alpine", NULL });
	struct defparse_def *d = PO("# c\nBootstrap: docker\nFrom: {{ X }}\nStage: b\n"
				    "Bootstrap: docker\nFrom: {{ X }}\n%files from b\n/a /b\n",
				    &a, false);
	ck_assert_uint_eq(d->n_stages, 2);
	ck_assert_str_eq(d->stages[0].raw, "Bootstrap: docker\nFrom: alpine\nStage: b\n");
	ck_assert_str_eq(d->stages[1].raw, "Bootstrap: docker\nFrom: alpine\n%files from b\n/a /b\n");
	ck_assert_str_eq(d->fullraw, "Bootstrap: docker\nFrom: alpine\nStage: b\n"
				     "Bootstrap: docker\nFrom: alpine\n%files from b\n/a /b\n");
	ck_assert_str_eq(d->stages[1].files[0].args, "from b");
	ck_assert_int_eq(d->stages[1].files[0].v[0].line, 8);
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(ms_from_before_bootstrap)
{
	struct defparse_def *d = P("From: a\nBootstrap: docker\n");
	ck_assert_uint_eq(d->n_stages, 2);
	ck_assert(d->stages[0].has_header);
	ck_assert_ptr_null(defparse_header_get(&d->stages[0], "bootstrap"));
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "a");
	ck_assert_str_eq(defparse_header_get(&d->stages[1], "bootstrap"), "docker");
	ck_assert_int_eq(d->stages[1].first_line, 2);
	defparse_def_free(d);
}
END_TEST

START_TEST(ms_arguments_per_stage)
{
	char *m = E("Bootstrap: docker\n%arguments\nX=1\n%post\necho {{ X }}\n"
		    "Bootstrap: docker\n%post\necho {{ X }}\n");
	ck_assert_str_eq(m, PATH ":8: build var X is not defined through either --build-arg "
			    "(--build-arg-file) or 'arguments' section");
	free(m);
}
END_TEST

/* ------------------------------------------------------------- errors */

START_TEST(err_line_numbers)
{
	char *m = E("Bootstrap: docker\nFrom: a\n\n%post\necho\n\n%pots\necho\n");
	ck_assert_str_eq(m, PATH ":7: invalid section(s) specified: pots");
	free(m);
	m = E("Bootstrap: docker\n%post\nx\nBootstrap: docker\n%bad\ny\n");
	ck_assert_str_eq(m, PATH ":5: invalid section(s) specified: bad");
	free(m);
	m = E("Bootstrap: docker\nFrom: a\nBootstrap: docker\n\nnocolon\n");
	ck_assert_str_eq(m, PATH ":5: failed to parse deffile header: header key nocolon had no val");
	free(m);
	m = E("Bootstrap: docker\n%post\nx\nBootstrap: docker\n%appenv\ny\n");
	ck_assert_msg(starts_with(m, PATH ":5: app section appenv:"), "%s", m);
	free(m);
}
END_TEST

START_TEST(err_line_after_multiline_header_value)
{
	struct defparse_buildargs a;
	/* the value brings a header continuation and a second line */
	mkargs(&a, (const char *const[]){ "M=a\\\nb", NULL });
	char *m = EO("Bootstrap: docker\nFrom: {{ M }}\nBad: x\n", &a);
	ck_assert_str_eq(m, PATH ":3: failed to parse deffile header: invalid header keyword "
			    "found: bad");
	free(m);
	struct defparse_def *d = PO("Bootstrap: docker\nFrom: {{ M }}\nStage: s\n", &a, false);
	ck_assert_str_eq(defparse_header_get(&d->stages[0], "from"), "ab");
	ck_assert_int_eq(d->stages[0].header[2].line, 3);
	defparse_def_free(d);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(err_empty_files)
{
	const char *const cases[] = { "", "\n\n", "# a\n# b\n", "   \t\n# c\n", NULL };
	for (size_t i = 0; cases[i]; i++) {
		char *m = E(cases[i]);
		ck_assert_msg(starts_with(m, PATH ": "), "case %zu: %s", i, m);
		ck_assert_ptr_nonnull(strstr(m, "empty definition file"));
		free(m);
	}
}
END_TEST

START_TEST(err_parse_file)
{
	sb_error_t err = NULL;
	ck_assert_ptr_null(defparse_parse_file("/nonexistent/x.def", NULL, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert(starts_with(sb_error_message(err), "/nonexistent/x.def: "));
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);

	char path[] = "/tmp/test_defparse_defXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *content = "Bootstrap: docker\n%post\necho\n";
	ck_assert_int_eq(write(fd, content, strlen(content)), (int)strlen(content));
	close(fd);
	struct defparse_def *d = defparse_parse_file(path, NULL, &err);
	unlink(path);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->path, path);
	ck_assert_str_eq(script(d, 0, DEFPARSE_POST), "echo\n");
	defparse_def_free(d);
}
END_TEST

/* ------------------------------------------------------------ helpers */

START_TEST(lex_trim_and_line_map)
{
	size_t l;
	const char *s = "\xC2\xA0 x y\t\xE3\x80\x80";
	const char *t = dp_trim(s, strlen(s), &l);
	ck_assert_uint_eq(l, 3);
	ck_assert(strncmp(t, "x y", 3) == 0);
	ck_assert_uint_eq(dp_space_len("\xE2\x80\x8B", 3), 0); /* U+200B is not a space */
	ck_assert_uint_eq(dp_space_len("\xE2\x80\x8A", 3), 3);
	char low[] = "AbC-9";
	dp_ascii_lower(low);
	ck_assert_str_eq(low, "abc-9");
	const int map[] = { 1, 1, 4 };
	struct dp_linemap lm = { map, 3, 10 };
	ck_assert_int_eq(dp_line(&lm, 3), 14);
	ck_assert_int_eq(dp_line(&lm, 2), 11);
	ck_assert_int_eq(dp_line(NULL, 7), 7);
}
END_TEST

/* --------------------------------------------------------------- json */

START_TEST(json_headerless)
{
	struct defparse_def *d = P("%post\necho\n");
	json_t *j = J(d);
	ck_assert_uint_eq(json_array_size(j), 1);
	json_t *o = json_array_get(j, 0);
	ck_assert(json_is_null(json_object_get(o, "header")));
	ck_assert(json_is_null(json_object_get(o, "customData")));
	json_t *labels = json_object_get(json_object_get(o, "imageData"), "labels");
	ck_assert(json_is_object(labels));
	ck_assert_uint_eq(json_object_size(labels), 0);
	json_t *files = json_object_get(json_object_get(o, "buildData"), "files");
	ck_assert(json_is_array(files));
	ck_assert_uint_eq(json_array_size(files), 0);
	json_t *apps = json_object_get(o, "appOrder");
	ck_assert(json_is_array(apps));
	ck_assert_uint_eq(json_array_size(apps), 0);
	json_t *bs = json_object_get(json_object_get(o, "buildData"), "buildScripts");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(bs, "post"), "script")),
			 "echo");
	json_decref(j);
	defparse_def_free(d);
}
END_TEST

START_TEST(json_full)
{
	const char *text = "# c\nBootstrap: docker\nFrom: alpine\n"
			   "%labels\nA b\n"
			   "%files\nx y\n"
			   "%files from s\n"
			   "%runscript -x\nrun\n"
			   "%test\nexit 0\n"
			   "%appinstall foo\nmake\n";
	struct defparse_def *d = P(text);
	json_t *j = J(d);
	json_t *o = json_array_get(j, 0);
	json_t *h = json_object_get(o, "header");
	ck_assert(json_is_object(h));
	ck_assert_str_eq(json_string_value(json_object_get(h, "bootstrap")), "docker");
	ck_assert_str_eq(json_string_value(json_object_get(h, "from")), "alpine");
	json_t *img = json_object_get(o, "imageData");
	ck_assert(json_is_null(json_object_get(img, "metadata")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(img, "labels"), "A")), "b");
	json_t *is = json_object_get(img, "imageScripts");
	json_t *rs = json_object_get(is, "runScript");
	ck_assert_str_eq(json_string_value(json_object_get(rs, "args")), "-x");
	ck_assert_str_eq(json_string_value(json_object_get(rs, "script")), "run\n");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(is, "test"), "script")),
			 "exit 0\n");
	json_t *bd = json_object_get(o, "buildData");
	json_t *bs = json_object_get(bd, "buildScripts");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(bs, "test"), "script")),
			 "exit 0\n");
	ck_assert_ptr_nonnull(json_object_get(bs, "arguments"));
	json_t *files = json_object_get(bd, "files");
	ck_assert_uint_eq(json_array_size(files), 2);
	json_t *f0 = json_array_get(files, 0);
	ck_assert_str_eq(json_string_value(json_object_get(f0, "args")), "");
	json_t *e0 = json_array_get(json_object_get(f0, "files"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e0, "source")), "x");
	ck_assert_str_eq(json_string_value(json_object_get(e0, "destination")), "y");
	json_t *f1 = json_array_get(files, 1);
	ck_assert_str_eq(json_string_value(json_object_get(f1, "args")), "from s");
	ck_assert(json_is_null(json_object_get(f1, "files"))); /* Go nil slice */
	json_t *cd = json_object_get(o, "customData");
	ck_assert(json_is_object(cd));
	ck_assert_str_eq(json_string_value(json_object_get(cd, "appinstall foo")), "make\n");
	json_t *apps = json_object_get(o, "appOrder");
	ck_assert_uint_eq(json_array_size(apps), 1);
	ck_assert_str_eq(json_string_value(json_array_get(apps, 0)), "foo");
	char *raw = b64(d->stages[0].raw, d->stages[0].raw_len);
	ck_assert_str_eq(json_string_value(json_object_get(o, "raw")), raw);
	/* the comment line before Bootstrap: is not kept */
	char *want = b64(text + 4, strlen(text) - 4);
	ck_assert_str_eq(raw, want);
	ck_assert_str_eq(json_string_value(json_object_get(o, "fullraw")), want);
	free(raw);
	free(want);
	json_decref(j);
	defparse_def_free(d);
}
END_TEST

START_TEST(json_multistage_and_summary)
{
	struct defparse_def *d = P("Bootstrap: docker\nStage: a\nBootstrap: scratch\n");
	json_t *j = J(d);
	ck_assert_uint_eq(json_array_size(j), 2);
	char *full = b64(d->fullraw, d->fullraw_len);
	char *raw1 = b64("Bootstrap: scratch\n", 19);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "fullraw")), full);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "fullraw")), full);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "raw")), raw1);
	free(full);
	free(raw1);
	json_decref(j);
	char *s = defparse_summary(d);
	ck_assert(starts_with(s, PATH ": 2 stages\n"));
	ck_assert_ptr_nonnull(strstr(s, "stage 1 \"a\""));
	free(s);
	defparse_def_free(d);
}
END_TEST

/* --------------------------------------------------------------- lint */

static const char *agent_never(const char *agent)
{
	(void)agent;
	return "not available on this host";
}

START_TEST(lint_clean)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: alpine\n%post\necho hi\n%runscript\nexec sh\n", NULL, &r);
	if (r.n)
		dump_lint(&r);
	ck_assert_int_eq(w, 0);
	ck_assert_int_eq(r.worst, 0);
	ck_assert_uint_eq(r.n, 0);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_continuation_with_colon_is_clean)
{
	/* Apptainer accepts this: the second line continues From's value. */
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: docker.io/library/\\\nalpine:3.19\n%post\necho\n", NULL,
		  &r);
	if (r.n)
		dump_lint(&r);
	defparse_lint_report_free(&r);
	ck_assert_int_eq(w, 0);
}
END_TEST

START_TEST(lint_crlf_and_invisible)
{
	struct defparse_lint_report r;
	L("Bootstrap: docker\r\nFrom: alpine\r\n%post\necho\xE2\x80\x8B hi\n", NULL, &r);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_WARNING, "CRLF");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 1);
	it = LF(&r, DEFPARSE_WARNING, "U+200B");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 4);
	ck_assert_int_eq(r.worst, 1);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_section_typo)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: a\n%pots\necho\n", NULL, &r);
	ck_assert_int_eq(w, 2);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_ERROR, "%post");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 3);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_header_typo)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nForm: x\n", NULL, &r);
	ck_assert_int_eq(w, 2);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_ERROR, "from");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 2);
	/* the parser's own error for the same line is not repeated */
	size_t on2 = 0;
	for (size_t i = 0; i < r.n; i++)
		on2 += r.v[i].line == 2 && r.v[i].severity == DEFPARSE_ERROR;
	ck_assert_uint_eq(on2, 1);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_dollar_in_header)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: ${IMG}\n", NULL, &r);
	ck_assert_int_eq(w, 1);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_WARNING, "not expanded");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 2);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_heredoc_percent)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: a\n%post\ncat > /f <<'EOF'\n%foo bar\nEOF\n", NULL, &r);
	ck_assert_int_eq(w, 2);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_ERROR, "here-document");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 5);
	defparse_lint_report_free(&r);
	/* after the terminator a %-line is an ordinary section again */
	w = L("Bootstrap: docker\nFrom: a\n%post\ncat <<EOF\nx\nEOF\n%runscript\nrun\n", NULL, &r);
	ck_assert_int_eq(w, 0);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_shift_is_not_heredoc)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: a\n%post\necho $((1<<2))\n%runscript\nrun\n", NULL,
		  &r);
	if (r.n)
		dump_lint(&r);
	defparse_lint_report_free(&r);
	ck_assert_int_eq(w, 0);
}
END_TEST

START_TEST(lint_files_from_and_stages)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: a\nStage: one\n"
		  "Bootstrap: docker\nFrom: b\nStage: one\n"
		  "Bootstrap: docker\nFrom: c\n%files from nosuch\n/a /b\n%files from one\n/c /d\n",
		  NULL, &r);
	ck_assert_int_eq(w, 1);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_WARNING, "nosuch");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 9);
	ck_assert_ptr_null(LF(&r, DEFPARSE_WARNING, "named one"));
	it = LF(&r, DEFPARSE_WARNING, "duplicate stage name");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 4);
	/* sorted by line */
	for (size_t i = 1; i < r.n; i++)
		ck_assert_int_le(r.v[i - 1].line, r.v[i].line);
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_build_vars)
{
	struct defparse_buildargs a;
	mkargs(&a, (const char *const[]){ "USED=1", "EXTRA=2", NULL });
	struct defparse_lint_options o = { &a, NULL };
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: {{ USED }}\n%post\necho {{ NOPE }}\n", &o, &r);
	ck_assert_int_eq(w, 2);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_ERROR, "build var NOPE is not defined");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 4);
	ck_assert_ptr_nonnull(LF(&r, DEFPARSE_WARNING, "unused build arg: EXTRA"));
	ck_assert_ptr_null(LF(&r, DEFPARSE_WARNING, "USED"));
	defparse_lint_report_free(&r);
	defparse_buildargs_free(&a);
}
END_TEST

START_TEST(lint_agents)
{
	struct defparse_lint_options o = { NULL, agent_never };
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\nFrom: a\n", &o, &r);
	ck_assert_int_eq(w, 1);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_WARNING, "not available on this host");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 1);
	defparse_lint_report_free(&r);
	/* whether an agent exists is a warning for lint (an error for build) */
	w = L("Bootstrap: Docker\nFrom: a\n", NULL, &r);
	ck_assert_int_eq(w, 1);
	it = LF(&r, DEFPARSE_WARNING, "invalid build source Docker");
	ck_assert_ptr_nonnull(it);
	ck_assert_ptr_nonnull(strstr(it->msg, "docker"));
	defparse_lint_report_free(&r);
	/* From: before Bootstrap: makes a stage without bootstrap */
	w = L("From: a\nBootstrap: docker\n", NULL, &r);
	ck_assert_int_eq(w, 2);
	ck_assert_ptr_nonnull(LF(&r, DEFPARSE_ERROR, "no bootstrap specification found"));
	defparse_lint_report_free(&r);
}
END_TEST

START_TEST(lint_parse_error_and_file)
{
	struct defparse_lint_report r;
	int w = L("Bootstrap: docker\n%files\n\"\n", NULL, &r);
	ck_assert_int_eq(w, 2);
	const struct defparse_lint_item *it = LF(&r, DEFPARSE_ERROR, "%files line has no source");
	ck_assert_ptr_nonnull(it);
	ck_assert_int_eq(it->line, 3);
	ck_assert(!starts_with(it->msg, PATH));
	defparse_lint_report_free(&r);
	sb_error_t err = NULL;
	ck_assert_int_eq(defparse_lint_file("/nonexistent/x.def", NULL, &r, &err), -1);
	ck_assert_ptr_nonnull(err);
	sb_error_free(&err);
}
END_TEST

/* --------------------------------------------------------------- main */

static Suite *defparse_suite(void)
{
	Suite *s = suite_create("defparse");
	TCase *tc;

	tc = tcase_create("tokenizer");
	tcase_add_test(tc, tok_scan_tokens);
	tcase_add_test(tc, tok_crlf);
	tcase_add_test(tc, tok_indented_percent);
	tcase_add_test(tc, tok_double_percent_and_upper);
	tcase_add_test(tc, tok_tab_after_files);
	tcase_add_test(tc, tok_headerless_first_token_trimmed);
	tcase_add_test(tc, tok_section_without_body);
	tcase_add_test(tc, lex_trim_and_line_map);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_test(tc, hdr_keys_lower_values_trimmed);
	tcase_add_test(tc, hdr_comment_cut);
	tcase_add_test(tc, hdr_no_colon);
	tcase_add_test(tc, hdr_unknown_keyword);
	tcase_add_test(tc, hdr_otherurl);
	tcase_add_test(tc, hdr_duplicate_last_wins);
	tcase_add_test(tc, hdr_continuation_newline);
	tcase_add_test(tc, hdr_continuation_then_blank);
	tcase_add_test(tc, hdr_headerless);
	tcase_add_test(tc, hdr_nul_byte_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("sections");
	tcase_add_test(tc, sec_scripts_concatenated_args_replaced);
	tcase_add_test(tc, sec_args_verbatim);
	tcase_add_test(tc, sec_each_kind);
	tcase_add_test(tc, sec_headerless_first_loses_newline);
	tcase_add_test(tc, sec_occurrences);
	tcase_add_test(tc, sec_invalid_sections_file_order);
	tcase_add_test(tc, sec_empty_stage_only_comments);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, files_quotes_and_missing_dst);
	tcase_add_test(tc, files_merge_by_args);
	tcase_add_test(tc, files_no_token_error);
	tcase_add_test(tc, files_empty_section);
	tcase_add_test(tc, files_line_helper);
	suite_add_tcase(s, tc);

	tc = tcase_create("labels");
	tcase_add_test(tc, labels_rules);
	tcase_add_test(tc, labels_two_sections_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("apps");
	tcase_add_test(tc, apps_keys_and_order);
	tcase_add_test(tc, apps_missing_name);
	tcase_add_test(tc, apps_uppercase_keyword);
	suite_add_tcase(s, tc);

	tc = tcase_create("templating");
	tcase_add_test(tc, tpl_build_arg);
	tcase_add_test(tc, tpl_arguments_default_and_override);
	tcase_add_test(tc, tpl_undefined_error);
	tcase_add_test(tc, tpl_comment_suppression);
	tcase_add_test(tc, tpl_arguments_inline_comment_and_nesting);
	tcase_add_test(tc, tpl_unused_args);
	tcase_add_test(tc, tpl_allow_undefined);
	tcase_add_test(tc, tpl_multiline_value_keeps_lines);
	tcase_add_test(tc, tpl_buildargs_add);
	tcase_add_test(tc, tpl_buildargs_file);
	tcase_add_test(tc, tpl_keyval_helper);
	tcase_add_test(tc, tpl_arguments_warning_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("multistage");
	tcase_add_test(tc, ms_split);
	tcase_add_test(tc, ms_not_split_points);
	tcase_add_test(tc, ms_leading_comments_dropped);
	tcase_add_test(tc, ms_fullraw_templated);
	tcase_add_test(tc, ms_from_before_bootstrap);
	tcase_add_test(tc, ms_arguments_per_stage);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, err_line_numbers);
	tcase_add_test(tc, err_line_after_multiline_header_value);
	tcase_add_test(tc, err_empty_files);
	tcase_add_test(tc, err_parse_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_headerless);
	tcase_add_test(tc, json_full);
	tcase_add_test(tc, json_multistage_and_summary);
	suite_add_tcase(s, tc);

	tc = tcase_create("lint");
	tcase_add_test(tc, lint_clean);
	tcase_add_test(tc, lint_continuation_with_colon_is_clean);
	tcase_add_test(tc, lint_crlf_and_invisible);
	tcase_add_test(tc, lint_section_typo);
	tcase_add_test(tc, lint_header_typo);
	tcase_add_test(tc, lint_dollar_in_header);
	tcase_add_test(tc, lint_heredoc_percent);
	tcase_add_test(tc, lint_files_from_and_stages);
	tcase_add_test(tc, lint_shift_is_not_heredoc);
	tcase_add_test(tc, lint_build_vars);
	tcase_add_test(tc, lint_agents);
	tcase_add_test(tc, lint_parse_error_and_file);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(defparse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures ? 1 : 0;
}
