/* tests/unit/test_common.c: common/ (errors, buffers, in-root path resolution). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/strbuf.h"

START_TEST(error_set_wrap_free)
{
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_error_set(&err, ENOENT, "opening %s", "x"), -1);
	ck_assert_str_eq(sb_error_message(err), "opening x: No such file or directory");
	ck_assert_int_eq(err->errnum, ENOENT);
	sb_error_wrap(&err, "building %s", "y.sif");
	ck_assert_str_eq(sb_error_message(err), "building y.sif: opening x: No such file or directory");
	sb_error_free(&err);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(sb_error_set_status(&err, 2, 0, "bad"), -1);
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_eq(sb_error_set(NULL, 0, "dropped"), -1);
	ck_assert_str_eq(sb_error_message(NULL), "unknown error");
}
END_TEST

START_TEST(strbuf_and_distance)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	for (int i = 0; i < 1000; i++)
		sb_strbuf_addf(&sb, "%d,", i % 10);
	ck_assert_uint_eq(sb.len, 2000);
	sb_strbuf_add(&sb, "\0x", 2);
	size_t len;
	char *s = sb_strbuf_detach(&sb, &len);
	ck_assert_uint_eq(len, 2002);
	ck_assert_int_eq(s[2001], 'x');
	free(s);
	ck_assert_uint_eq(sb_edit_distance("post", "pots"), 2);
	ck_assert_uint_eq(sb_edit_distance("Post", "post"), 0);
	ck_assert_uint_eq(sb_edit_distance("", "abc"), 3);
}
END_TEST

static char root[PATH_MAX];
static int rootfd = -1;

static void mk_tree(void)
{
	char tmpl[] = "/tmp/sbcommonXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s", tmpl);
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/etc", root);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	FILE *f = fopen(p, "w");
	fputs("inside\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/abs", root);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0); /* absolute: must stay inside */
	snprintf(p, sizeof(p), "%s/up", root);
	ck_assert_int_eq(symlink("../../../../../../etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/dirlink", root);
	ck_assert_int_eq(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/loop", root);
	ck_assert_int_eq(symlink("loop", p), 0);
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void rm_tree(void)
{
	close(rootfd);
	char *cmd = sb_asprintf("rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static char *read_via(int (*open_fn)(int, const char *, int), const char *path)
{
	int fd = open_fn(rootfd, path, O_RDONLY);
	if (fd < 0)
		return NULL;
	char buf[64] = { 0 };
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 ? sb_strdup(buf) : NULL;
}

static void check_resolver(int (*open_fn)(int, const char *, int))
{
	mk_tree();
	const char *paths[] = { "etc/passwd", "/etc/passwd", "abs", "up", "dirlink/passwd",
				"../../etc/passwd", "etc/../../etc/passwd" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *s = read_via(open_fn, paths[i]);
		ck_assert_msg(s != NULL, "%s: %s", paths[i], strerror(errno));
		ck_assert_msg(strcmp(s, "inside\n") == 0, "%s escaped the root: read %s", paths[i], s);
		free(s);
	}
	errno = 0;
	ck_assert_int_lt(open_fn(rootfd, "loop", O_RDONLY), 0);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_lt(open_fn(rootfd, "nothere", O_RDONLY), 0);
	ck_assert_int_eq(errno, ENOENT);
	int fd = open_fn(rootfd, "abs", O_RDONLY | O_NOFOLLOW | O_PATH);
	ck_assert_int_ge(fd, 0); /* the link itself */
	close(fd);
	rm_tree();
}

START_TEST(open_in_root_openat2)
{
	check_resolver(sb_open_in_root);
}
END_TEST

START_TEST(open_in_root_fallback)
{
	check_resolver(sb_open_in_root_walk);
}
END_TEST

START_TEST(read_in_root_limits)
{
	mk_tree();
	size_t len;
	char *s = sb_read_in_root(rootfd, "abs", 100, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, 7);
	free(s);
	ck_assert_ptr_null(sb_read_in_root(rootfd, "etc/passwd", 3, &len));
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_ptr_null(sb_read_in_root(rootfd, "etc", 100, &len));
	ck_assert_int_eq(errno, EISDIR);
	rm_tree();
}
END_TEST

START_TEST(temp_beside_target)
{
	char tmpl[] = "/tmp/sbtempXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char *target = sb_asprintf("%s/out.sif", tmpl);
	sb_error_t err = NULL;
	char *t = sb_temp_beside(target, &err);
	ck_assert_ptr_nonnull(t);
	char *prefix = sb_asprintf("%s/.out.sif.sifbuild-", tmpl);
	ck_assert_int_eq(strncmp(t, prefix, strlen(prefix)), 0);
	ck_assert_int_eq(access(t, F_OK), 0);
	unlink(t);
	rmdir(tmpl);
	char *bad = sb_temp_beside("/nonexistent-dir/x.sif", &err);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "beside /nonexistent-dir/x.sif"));
	sb_error_free(&err);
	free(prefix);
	free(t);
	free(target);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("common");
	tcase_add_test(tc, error_set_wrap_free);
	tcase_add_test(tc, strbuf_and_distance);
	tcase_add_test(tc, open_in_root_openat2);
	tcase_add_test(tc, open_in_root_fallback);
	tcase_add_test(tc, read_in_root_limits);
	tcase_add_test(tc, temp_beside_target);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	printf("\n");
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
