/* tests/unit/tree_helpers.h: temporary image trees for the builder/image
 * writer tests, and exact checks of what ends up in them (test_metadata.c). */
#ifndef SB_TESTS_TREE_HELPERS_H
#define SB_TESTS_TREE_HELPERS_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strbuf.h"

struct tree {
	char *top;  /* temporary directory holding root/ and outside/ */
	char *root; /* the image tree */
	char *out;  /* a host directory next to it that nothing may touch */
	int fd;
};

static struct tree tree_new(void)
{
	struct tree t;
	char tmpl[] = "/tmp/sbmetaXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	t.top = sb_strdup(tmpl);
	t.root = sb_asprintf("%s/root", tmpl);
	t.out = sb_asprintf("%s/outside", tmpl);
	ck_assert_int_eq(mkdir(t.root, 0755), 0);
	ck_assert_int_eq(mkdir(t.out, 0755), 0);
	t.fd = open(t.root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(t.fd, 0);
	return t;
}

static void tree_free(struct tree *t)
{
	sb_error_t err = NULL;
	close(t->fd);
	ck_assert_int_eq(sb_rm_rf(t->top, &err), 0);
	free(t->top);
	free(t->root);
	free(t->out);
}

static char *path_in(const struct tree *t, const char *rel)
{
	return sb_asprintf("%s/%s", t->root, rel);
}

static void put(const struct tree *t, const char *rel, const char *content, unsigned mode)
{
	char *p = path_in(t, rel);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd >= 0, "creating %s", p);
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static void mkdir_in(const struct tree *t, const char *rel)
{
	char *p = path_in(t, rel);
	ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s", p);
	free(p);
}

static void link_in(const struct tree *t, const char *rel, const char *target)
{
	char *p = path_in(t, rel);
	ck_assert_msg(symlink(target, p) == 0, "symlink %s", p);
	free(p);
}

/* The file rel is a regular file with exactly mode and content. */
static void expect_file(const struct tree *t, const char *rel, const char *content, unsigned mode)
{
	char *p = path_in(t, rel);
	struct stat st;
	ck_assert_msg(lstat(p, &st) == 0, "%s missing", rel);
	ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", rel);
	ck_assert_msg((st.st_mode & 07777) == mode, "%s mode %o, want %o", rel,
		      (unsigned)st.st_mode & 07777, mode);
	size_t len;
	char *s = sb_read_file(p, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(len == strlen(content) && memcmp(s, content, len) == 0,
		      "%s:\n--- got ---\n%s\n--- want ---\n%s", rel, s, content);
	free(s);
	free(p);
}

static void expect_dir(const struct tree *t, const char *rel, unsigned mode)
{
	char *p = path_in(t, rel);
	struct stat st;
	ck_assert_msg(lstat(p, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", rel);
	ck_assert_msg((st.st_mode & 07777) == mode, "%s mode %o, want %o", rel,
		      (unsigned)st.st_mode & 07777, mode);
	free(p);
}

static void expect_link(const struct tree *t, const char *rel, const char *target)
{
	char *p = path_in(t, rel);
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);
	ck_assert_msg(n >= 0, "%s is not a symlink", rel);
	buf[n] = '\0';
	ck_assert_str_eq(buf, target);
	free(p);
}

static void expect_absent(const struct tree *t, const char *rel)
{
	char *p = path_in(t, rel);
	struct stat st;
	ck_assert_msg(lstat(p, &st) < 0 && errno == ENOENT, "%s exists", rel);
	free(p);
}

/* The host directory next to the tree holds only "secret", unchanged. */
static void expect_outside_untouched(const struct tree *t)
{
	char *cmd = sb_asprintf("test \"$(ls -A '%s')\" = secret", t->out);
	ck_assert_msg(system(cmd) == 0, "something was written to %s", t->out);
	free(cmd);
	char *p = sb_asprintf("%s/secret", t->out);
	size_t len;
	char *s = sb_read_file(p, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "Secret leaked\n");
	free(s);
	free(p);
}

#endif
