/* tests/unit/test_journal.c: the ownership journal's inode table
 * (builder/sandbox/jtable.c) and notification decoding (jfilter.c):
 * records and their log replay, file-handle checks against inode reuse,
 * loading the build's ownership map and writing the table back to it on a
 * real tree (renames, hard links, device placeholders, stale records), and
 * the syscall table for the native and the i386 ABI. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/sandbox/internal.h"
#include "common/fs.h"
#include "common/strbuf.h"

static char tree[64];

static void mk_tree(void)
{
	strcpy(tree, "/tmp/sbjournal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tree));
}

static void rm_tree(void)
{
	sb_rm_rf(tree, NULL);
}

static char *at(const char *rel)
{
	return sb_asprintf("%s/%s", tree, rel);
}

static void touch(const char *rel)
{
	char *p = at(rel);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	free(p);
}

static void key_of(const char *rel, struct sb_jkey *k)
{
	char *p = at(rel);
	int fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	sb_jkey_of_fd(fd, &st, k);
	close(fd);
	free(p);
}

START_TEST(t_records_and_replay)
{
	mk_tree();
	touch("a");
	struct sb_jkey k;
	key_of("a", &k);
	int log = memfd_create("log", MFD_CLOEXEC);
	struct sb_jtable *t = sb_jtable_new(), *r = sb_jtable_new();
	ck_assert_int_eq(sb_jtable_chown(t, &k, 1000, SB_OWNER_UNSET, log), 0);
	ck_assert_int_eq(sb_jtable_chown(t, &k, SB_OWNER_UNSET, 100, log), 0);
	struct sb_jentry *e = sb_jtable_find(t, &k);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 1000); /* fields merge, last writer wins */
	ck_assert_uint_eq(e->gid, 100);
	ck_assert_int_eq(sb_jtable_mknod(t, &k, S_IFCHR | 0600, makedev(1, 3), log), 0);
	/* The log gives the caller the same table. */
	ck_assert_int_eq(sb_jtable_replay(r, log, 0, NULL), 0);
	e = sb_jtable_find(r, &k);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 1000);
	ck_assert_uint_eq(e->gid, 100);
	ck_assert_uint_eq(e->mode, S_IFCHR | 0600);
	ck_assert(e->rdev == makedev(1, 3));
	ck_assert_uint_eq(sb_jtable_count(r), 1);
	/* The same inode number with another handle is another file. */
	struct sb_jkey other = k;
	if (other.hlen > 0) {
		other.h[other.hlen - 1] ^= 0xff;
		ck_assert_ptr_null(sb_jtable_find(t, &other));
		ck_assert(sb_jtable_has_inode(t, k.dev, k.ino));
		ck_assert_int_eq(sb_jtable_chown(t, &other, 5, SB_OWNER_UNSET, -1), 0);
		e = sb_jtable_find(t, &other);
		ck_assert_uint_eq(e->uid, 5);
		ck_assert_uint_eq(e->gid, SB_OWNER_UNSET); /* reset, not merged */
		ck_assert_ptr_null(sb_jtable_find(t, &k));
	}
	/* A torn last line is ignored. */
	ck_assert_int_eq(write(log, "C 1 2 0 - 3", 11), 11);
	struct sb_jtable *r2 = sb_jtable_new();
	ck_assert_int_eq(sb_jtable_replay(r2, log, 0, NULL), 0);
	ck_assert_uint_eq(sb_jtable_count(r2), 1);
	sb_jtable_free(t);
	sb_jtable_free(r);
	sb_jtable_free(r2);
	close(log);
	rm_tree();
}
END_TEST

START_TEST(t_materialize)
{
	mk_tree();
	touch("f");
	touch("h1");
	touch("node");
	char *d = at("dir");
	ck_assert_int_eq(mkdir(d, 0755), 0);
	free(d);
	struct sb_jtable *t = sb_jtable_new();
	struct sb_jkey k;
	key_of("f", &k);
	sb_jtable_chown(t, &k, 1000, 1000, -1);
	key_of("h1", &k);
	sb_jtable_chown(t, &k, 33, 33, -1);
	key_of("node", &k);
	sb_jtable_mknod(t, &k, S_IFBLK | 0644, makedev(8, 0), -1);
	key_of("dir", &k);
	sb_jtable_chown(t, &k, SB_OWNER_UNSET, 100, -1);
	/* After the records: a hard link, a rename, a chmod of the node. */
	char *a = at("h1"), *b = at("h2"), *c = at("f"), *c2 = at("dir/f-moved"), *n = at("node");
	ck_assert_int_eq(link(a, b), 0);
	ck_assert_int_eq(rename(c, c2), 0);
	ck_assert_int_eq(chmod(n, 0600), 0);
	struct sb_ownership *m = sb_ownership_new();
	struct sb_owner_entry stale = { .uid = 7, .gid = 7 };
	sb_ownership_set(m, "h2", &stale); /* replaced by the journal's record */
	ck_assert_int_eq(sb_jtable_materialize(t, m, tree, NULL), 0);
	const struct sb_owner_entry *e = sb_ownership_get(m, "dir/f-moved");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 1000);
	ck_assert_ptr_null(sb_ownership_get(m, "f"));
	struct stat st;
	ck_assert_int_eq(lstat(b, &st), 0);
	e = sb_ownership_lookup(m, "h2", &st); /* identity recorded and matching */
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 33);
	ck_assert_ptr_nonnull(sb_ownership_get(m, "h1"));
	e = sb_ownership_get(m, "node");
	ck_assert_uint_eq(e->mode, S_IFBLK | 0600); /* the placeholder's current bits */
	ck_assert(e->rdev == makedev(8, 0));
	e = sb_ownership_get(m, "dir");
	ck_assert_uint_eq(e->uid, SB_OWNER_UNSET);
	ck_assert_uint_eq(e->gid, 100);
	/* The next run loads the map: stat answers come from it. */
	struct sb_jtable *t2 = sb_jtable_new();
	ck_assert_int_eq(sb_jtable_load(t2, m, tree, NULL), 0);
	key_of("h2", &k);
	ck_assert_ptr_nonnull(sb_jtable_find(t2, &k));
	ck_assert_uint_eq(sb_jtable_find(t2, &k)->uid, 33);
	/* A file replaced under its name (sed -i, rm + create) loses the
	 * record when the run did not journal the new one. */
	ck_assert_int_eq(unlink(c2), 0);
	touch("dir/f-moved");
	ck_assert_int_eq(sb_jtable_materialize(t2, m, tree, NULL), 0);
	ck_assert_ptr_null(sb_ownership_get(m, "dir/f-moved"));
	ck_assert_ptr_nonnull(sb_ownership_get(m, "h2"));
	sb_jtable_free(t2);
	sb_jtable_free(t);
	sb_ownership_free(m);
	free(a);
	free(b);
	free(c);
	free(c2);
	free(n);
	rm_tree();
}
END_TEST

START_TEST(t_decode)
{
	bool id16;
	uint32_t native = seccomp_arch_native();
	int nr = seccomp_syscall_resolve_name_arch(native, "fchownat");
	ck_assert_int_eq(sb_journal_decode(native, nr, &id16), SB_JOP_FCHOWNAT);
	ck_assert(!id16);
	nr = seccomp_syscall_resolve_name_arch(native, "statx");
	ck_assert_int_eq(sb_journal_decode(native, nr, &id16), SB_JOP_STATX);
	nr = seccomp_syscall_resolve_name_arch(native, "getpid");
	ck_assert_int_eq(sb_journal_decode(native, nr, &id16), SB_JOP_NONE);
	if (native != SCMP_ARCH_X86_64)
		return;
	/* i386: chown/lchown/fchown are the 16-bit calls, *32 the wide ones;
	 * the i386 stat layouts are not emulated (statx is). */
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 182, &id16), SB_JOP_CHOWN);
	ck_assert(id16);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 212, &id16), SB_JOP_CHOWN);
	ck_assert(!id16);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 16, &id16), SB_JOP_LCHOWN);
	ck_assert(id16);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 383, &id16), SB_JOP_STATX);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 106, &id16), SB_JOP_NONE);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86, 297, &id16), SB_JOP_MKNODAT);
	ck_assert_int_eq(sb_journal_decode(SCMP_ARCH_X86_64, 4, &id16), SB_JOP_STAT);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, t_records_and_replay);
	tcase_add_test(tc, t_materialize);
	tcase_add_test(tc, t_decode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
