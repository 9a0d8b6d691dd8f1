/* tests/conformance/test_parser_conformance.c: `sifbuild parse --json` against
 * Apptainer's own parser test data (../shared/conformance/apptainer-parser).
 *
 * Every testdata_good/DIR/NAME that has NAME.json must produce the same
 * Definition, compared semantically (maps without order, null vs empty as
 * Go's encoding/json writes them, a missing buildScripts.arguments counted as
 * the zero script). The fixtures hold Apptainer's single-file raw; ours is the
 * stage text from its Bootstrap: line on, so raw must be equal or be the
 * fixture's raw without a leading comment-only chunk. Every testdata_bad file
 * must be rejected with exit status 2 and a "FILE:"-prefixed message. */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/strbuf.h"

#define CONF SB_TOP_SRCDIR "/../shared/conformance/apptainer-parser"
#define SIFBUILD SB_TOP_BUILDDIR "/sifbuild"

static char **good;
static size_t n_good;
static char **bad;
static size_t n_bad;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void discover(void)
{
	DIR *d = opendir(CONF "/testdata_good");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = sb_asprintf(CONF "/testdata_good/%s", e->d_name);
		DIR *d2 = opendir(dir);
		struct dirent *f;
		while (d2 && (f = readdir(d2)) != NULL) {
			size_t l = strlen(f->d_name);
			if (l > 5 && strcmp(f->d_name + l - 5, ".json") == 0 &&
			    strstr(f->d_name, "_sections") == NULL) {
				good = sb_xrealloc(good, (n_good + 1) * sizeof(char *));
				good[n_good++] = sb_asprintf("%s/%.*s", dir, (int)(l - 5), f->d_name);
			}
		}
		if (d2)
			closedir(d2);
		free(dir);
	}
	if (d)
		closedir(d);
	d = opendir(CONF "/testdata_bad");
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		bad = sb_xrealloc(bad, (n_bad + 1) * sizeof(char *));
		bad[n_bad++] = sb_asprintf(CONF "/testdata_bad/%s", e->d_name);
	}
	if (d)
		closedir(d);
	if (good)
		qsort(good, n_good, sizeof(char *), cmp_names);
	if (bad)
		qsort(bad, n_bad, sizeof(char *), cmp_names);
}

/* Runs sifbuild parse --json FILE; returns exit status, stdout and stderr. */
static int run_parse(const char *file, char **out, char **err)
{
	char tmpl[] = "/tmp/sbconfXXXXXX";
	int fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char *cmd = sb_asprintf("'%s' parse --json '%s' 2>'%s'", SIFBUILD, file, tmpl);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	struct sb_strbuf sb = SB_STRBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		sb_strbuf_add(&sb, buf, n);
	int st = pclose(p);
	*out = sb_strbuf_detach(&sb, NULL);
	*err = sb_read_file(tmpl, NULL);
	unlink(tmpl);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static unsigned char *b64dec(const char *s, size_t *len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);
	unsigned char *o = sb_xmalloc(n + 1);
	size_t k = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *p = strchr(tbl, s[i]);
		ck_assert_ptr_nonnull(p);
		v = (v << 6) | (unsigned)(p - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)((v >> bits) & 0xFF);
		}
	}
	*len = k;
	return o;
}

/* ours must equal theirs, or be theirs without a prefix made only of blank
 * and '#' lines (the comment chunk before the first Bootstrap: line). */
static void check_raw(const char *case_name, const char *field, json_t *mine, json_t *theirs)
{
	size_t lm, lt;
	unsigned char *m = b64dec(json_string_value(mine), &lm);
	unsigned char *t = b64dec(json_string_value(theirs), &lt);
	if (lm == lt && memcmp(m, t, lm) == 0)
		goto ok;
	ck_assert_msg(lm < lt && memcmp(m, t + (lt - lm), lm) == 0,
		      "%s: %s differs and is not a suffix of Apptainer's", case_name, field);
	for (size_t i = 0; i < lt - lm;) {
		size_t j = i;
		while (j < lt - lm && (t[j] == ' ' || t[j] == '\t'))
			j++;
		ck_assert_msg(t[j] == '#' || t[j] == '\n' || j == lt - lm,
			      "%s: %s drops a non-comment prefix", case_name, field);
		while (j < lt - lm && t[j] != '\n')
			j++;
		i = j + 1;
	}
ok:
	free(m);
	free(t);
}

static void normalize(json_t *def)
{
	json_t *bs = json_object_get(json_object_get(def, "buildData"), "buildScripts");
	if (bs && !json_object_get(bs, "arguments"))
		json_object_set_new(bs, "arguments", json_pack("{s:s,s:s}", "args", "", "script", ""));
}

/* The multistage fixture was made per chunk: its fullraw is each stage's own
 * text. Ours (as Apptainer's build stores it) is every stage's raw, joined. */
static void check_fullraw_joined(const char *name, json_t *arr)
{
	struct sb_strbuf joined = SB_STRBUF_INIT;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		size_t l;
		unsigned char *r = b64dec(json_string_value(json_object_get(json_array_get(arr, i), "raw")), &l);
		sb_strbuf_add(&joined, r, l);
		free(r);
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		size_t l;
		unsigned char *f = b64dec(json_string_value(json_object_get(json_array_get(arr, i), "fullraw")), &l);
		ck_assert_msg(l == joined.len && memcmp(f, joined.buf, l) == 0,
			      "%s: fullraw of stage %zu is not the stages' raw joined", name, i);
		free(f);
	}
	sb_strbuf_release(&joined);
}

static void compare_stage(const char *name, json_t *mine, json_t *theirs, int multi)
{
	normalize(theirs);
	normalize(mine);
	check_raw(name, "raw", json_object_get(mine, "raw"), json_object_get(theirs, "raw"));
	if (!multi)
		check_raw(name, "fullraw", json_object_get(mine, "fullraw"),
			  json_object_get(theirs, "fullraw"));
	json_t *a = json_deep_copy(mine), *b = json_deep_copy(theirs);
	json_object_del(a, "raw");
	json_object_del(a, "fullraw");
	json_object_del(b, "raw");
	json_object_del(b, "fullraw");
	if (!json_equal(a, b)) {
		char *sa = json_dumps(a, JSON_SORT_KEYS | JSON_INDENT(1));
		char *sb2 = json_dumps(b, JSON_SORT_KEYS | JSON_INDENT(1));
		fprintf(stderr, "%s: ours:\n%s\nApptainer's:\n%s\n", name, sa, sb2);
		free(sa);
		free(sb2);
		ck_abort_msg("%s: parse differs from Apptainer's", name);
	}
	json_decref(a);
	json_decref(b);
}

START_TEST(test_good)
{
	const char *base = good[_i];
	char *jpath = sb_asprintf("%s.json", base);
	char *out, *err;
	int rc = run_parse(base, &out, &err);
	ck_assert_msg(rc == 0, "%s: exit %d: %s", base, rc, err);
	json_error_t je;
	json_t *mine = json_loads(out, 0, &je);
	ck_assert_msg(mine != NULL, "%s: output is not JSON: %s", base, je.text);
	json_t *theirs = json_load_file(jpath, 0, &je);
	ck_assert_msg(theirs != NULL, "%s: %s", jpath, je.text);
	ck_assert(json_is_array(mine));
	if (json_is_object(theirs)) {
		ck_assert_int_eq(json_array_size(mine), 1);
		compare_stage(base, json_array_get(mine, 0), theirs, 0);
	} else {
		ck_assert_int_eq(json_array_size(mine), json_array_size(theirs));
		for (size_t i = 0; i < json_array_size(theirs); i++)
			compare_stage(base, json_array_get(mine, i), json_array_get(theirs, i), 1);
		check_fullraw_joined(base, mine);
	}
	json_decref(mine);
	json_decref(theirs);
	free(out);
	free(err);
	free(jpath);
}
END_TEST

START_TEST(test_bad)
{
	const char *path = bad[_i];
	char *out, *err;
	int rc = run_parse(path, &out, &err);
	ck_assert_msg(rc == 2, "%s: expected exit 2, got %d", path, rc);
	char *prefix = sb_asprintf("%s:", path);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "%s: message not FILE-prefixed: %s",
		      path, err);
	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "%s: not one line: %s", path, err);
	ck_assert_str_eq(out, "");
	free(prefix);
	free(out);
	free(err);
}
END_TEST

int main(void)
{
	struct stat st;
	if (stat(CONF, &st) != 0) {
		printf("SKIP: %s not found (../shared absent); conformance not checked\n", CONF);
		return 77;
	}
	discover();
	printf("conformance: %zu good cases, %zu bad cases\n", n_good, n_bad);
	if (n_good < 22 || n_bad < 5) {
		printf("FAIL: expected at least 22 good and 5 bad cases\n");
		return 1;
	}
	Suite *s = suite_create("apptainer-parser-conformance");
	TCase *tc = tcase_create("good");
	tcase_add_loop_test(tc, test_good, 0, (int)n_good);
	suite_add_tcase(s, tc);
	TCase *tb = tcase_create("bad");
	tcase_add_loop_test(tb, test_bad, 0, (int)n_bad);
	suite_add_tcase(s, tb);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	printf("\n");
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < n_good; i++)
		free(good[i]);
	for (size_t i = 0; i < n_bad; i++)
		free(bad[i]);
	free(good);
	free(bad);
	return failed ? 1 : 0;
}
