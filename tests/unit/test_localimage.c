/* tests/unit/test_localimage.c: the pieces the localimage agent stands on.
 *
 *   - sif_sqfs_extract with an ownership map as a plain user (also when run
 *     as root: extract options .unprivileged): foreign owners, device
 *     placeholders, kept-open directories, refused xattrs and hard links go
 *     to the map, with the inode identity;
 *   - the round trip image -> extract (map) -> sif_sqfs_pack_dir with
 *     bootstrap_owner_hook -> image gives the same attributes;
 *   - xattrs added by an owner hook reach the image (they were dropped);
 *   - bootstrap_image_file_kind and the localimage agent's errors.
 * Images are written with sif/'s writer API. Clean under ASan/LSan. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"
#include "sif/sqfs.h"

static char tmpdir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_localimage.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmpdir, tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *tpath(const char *name)
{
	static char buf[4][1024];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

struct mem {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	(void)err;
	struct mem *m = ctx;
	size_t n = len < m->left ? len : m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

static const char cap[20] = { 1, 0, 0, 2, 0, 0x20 };

/* An image with what a plain user cannot store. */
static void write_image(const char *path)
{
	sb_error_t err = NULL;
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.jobs = 1;
	o.deterministic = true;
	o.epoch = 1700000000;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, &o, &err);
	ck_assert_msg(w != NULL, "%s", sb_error_message(err));
	struct sif_sqfs_attr root = { .mode = 0755, .mtime = 1600000000 };
	struct sif_sqfs_xattr xa = { "security.capability", cap, sizeof(cap) };
	struct sif_sqfs_attr f = { .mode = 04755, .uid = 1000, .gid = 1000, .mtime = 1600000000,
				   .xattrs = &xa, .n_xattrs = 1 };
	struct sif_sqfs_attr dir = { .mode = 0500, .mtime = 1600000000 };
	struct sif_sqfs_attr dev = { .mode = S_IFCHR | 0620, .gid = 5, .mtime = 1600000000,
				     .rdev = makedev(1, 3) };
	struct sif_sqfs_attr plain = { .mode = 0644, .mtime = 1600000000 };
	struct mem m1 = { "owned by 1000\n", 14 }, m2 = { "inside\n", 7 };
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "", &root, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "bin/tool", &f, mem_read, &m1, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_hardlink(w, "bin/tool2", "bin/tool", &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "locked", &dir, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "locked/f", &plain, mem_read, &m2, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "dev/null", &dev, &err), 0);
	ck_assert_msg(sif_sqfs_writer_finish(w, NULL, &err) == 0, "%s", sb_error_message(err));
	sif_sqfs_writer_free(w);
	close(fd);
}

static void extract(const char *image, const char *out, struct sb_ownership *map)
{
	sb_error_t err = NULL;
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct sif_sqfs_extract_options eo = { .owners = map, .unprivileged = true };
	ck_assert_msg(sif_sqfs_extract(fd, 0, out, &eo, &err) == 0, "%s", sb_error_message(err));
	close(fd);
}

static const struct sb_owner_entry *record(struct sb_ownership *m, const char *root,
					   const char *path)
{
	struct stat st;
	char *full = sb_asprintf("%s/%s", root, path);
	ck_assert_int_eq(lstat(full, &st), 0);
	free(full);
	return sb_ownership_lookup(m, path, &st); /* identity checked */
}

/* The map seeded by an unprivileged extraction describes the image. */
static void check_map(struct sb_ownership *m, const char *root)
{
	const struct sb_owner_entry *e = record(m, root, "bin/tool");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->uid, 1000);
	ck_assert_uint_eq(e->gid, 1000);
	e = record(m, root, "bin/tool2");
	ck_assert_msg(e != NULL && e->uid == 1000, "the hard link shares the record");
	e = record(m, root, "dev/null");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->mode, S_IFCHR | 0620);
	ck_assert_uint_eq(e->rdev, makedev(1, 3));
	ck_assert_uint_eq(e->gid, 5);
	e = record(m, root, "locked");
	ck_assert_msg(e != NULL && e->mode == (S_IFDIR | 0500), "real mode of the 0500 dir");
	ck_assert_ptr_null(record(m, root, "locked/f"));
}

START_TEST(t_extract_records)
{
	write_image(tpath("a.sqfs"));
	struct sb_ownership *m = sb_ownership_new();
	extract(tpath("a.sqfs"), tpath("out"), m);
	check_map(m, tpath("out"));
	struct stat st;
	ck_assert_int_eq(lstat(tpath("out/dev/null"), &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode) && st.st_size == 0, "an empty placeholder on disk");
	ck_assert_int_eq(lstat(tpath("out/locked"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700); /* owner rwx on disk */
	ck_assert_int_eq(lstat(tpath("out/bin/tool"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 04755);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_uint_eq(st.st_mtime, 1600000000);
	/* the capability: on disk (root) or in the map, never lost */
	char v[32];
	ssize_t n = getxattr(tpath("out/bin/tool"), "security.capability", v, sizeof(v));
	const struct sb_owner_entry *e = record(m, tpath("out"), "bin/tool");
	bool in_map = e->n_xattrs == 1 && strcmp(e->xattrs[0].name, "security.capability") == 0 &&
		      e->xattrs[0].size == sizeof(cap) && memcmp(e->xattrs[0].value, cap, 20) == 0;
	ck_assert_msg((n == sizeof(cap) && memcmp(v, cap, sizeof(cap)) == 0) || in_map,
		      "security.capability kept (disk %zd, map %d)", n, in_map);
	sb_ownership_free(m);
}
END_TEST

static void pack(const char *dir, const char *image, struct sb_ownership *m)
{
	sb_error_t err = NULL;
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.jobs = 1;
	o.deterministic = true;
	o.epoch = 1700000000;
	o.all_root = true;
	int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	struct bootstrap_owner_ctx oc = { .map = m };
	struct sif_sqfs_walk_options wo = { .owner_hook = bootstrap_owner_hook, .owner_ctx = &oc };
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, &o, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(sif_sqfs_pack_dir(w, dir, &wo, &err) == 0 &&
		      sif_sqfs_writer_finish(w, NULL, &err) == 0, "%s", sb_error_message(err));
	sif_sqfs_writer_free(w);
	bootstrap_owner_ctx_release(&oc);
	close(fd);
}

START_TEST(t_round_trip)
{
	write_image(tpath("a.sqfs"));
	struct sb_ownership *m = sb_ownership_new(), *m2 = sb_ownership_new();
	extract(tpath("a.sqfs"), tpath("x1"), m);
	pack(tpath("x1"), tpath("b.sqfs"), m);
	extract(tpath("b.sqfs"), tpath("x2"), m2);
	check_map(m2, tpath("x2"));
	const struct sb_owner_entry *e = record(m2, tpath("x2"), "bin/tool");
	char v[32];
	ssize_t n = getxattr(tpath("x2/bin/tool"), "security.capability", v, sizeof(v));
	ck_assert_msg(n == sizeof(cap) || e->n_xattrs == 1, "the capability survives the trip");
	sb_ownership_free(m);
	sb_ownership_free(m2);
}
END_TEST

/* A hook that adds one xattr and replaces the on-disk user.a. */
static int add_xattr_hook(void *ctx, int dirfd, const char *name, const char *path,
			  const struct stat *st, struct sif_sqfs_attr *a, sb_error_t *err)
{
	(void)ctx, (void)dirfd, (void)name, (void)st, (void)err;
	static const struct sif_sqfs_xattr x[2] = { { "user.a", "hook", 4 },
						    { "user.added", "yes", 3 } };
	if (strcmp(path, "f") == 0) {
		a->xattrs = x;
		a->n_xattrs = 2;
	}
	return 0;
}

START_TEST(t_hook_xattrs_packed)
{
	ck_assert_int_eq(mkdir(tpath("d"), 0755), 0);
	FILE *f = fopen(tpath("d/f"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("x", f);
	fclose(f);
	bool disk = setxattr(tpath("d/f"), "user.a", "disk", 4, 0) == 0 &&
		    setxattr(tpath("d/f"), "user.b", "disk", 4, 0) == 0;
	sb_error_t err = NULL;
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.jobs = 1;
	int fd = open(tpath("h.sqfs"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct sif_sqfs_walk_options wo = { .owner_hook = add_xattr_hook };
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, &o, &err);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(sif_sqfs_pack_dir(w, tpath("d"), &wo, &err) == 0 &&
		      sif_sqfs_writer_finish(w, NULL, &err) == 0, "%s", sb_error_message(err));
	sif_sqfs_writer_free(w);
	close(fd);
	/* read back: on disk where the filesystem takes user xattrs, else the map */
	struct sb_ownership *m = sb_ownership_new();
	extract(tpath("h.sqfs"), tpath("hx"), m);
	char v[16] = { 0 };
	ssize_t n = getxattr(tpath("hx/f"), "user.added", v, sizeof(v));
	const struct sb_owner_entry *e = sb_ownership_get(m, "f");
	ck_assert_msg((n == 3 && memcmp(v, "yes", 3) == 0) || (e && e->n_xattrs >= 1),
		      "the hook's xattr is in the image");
	if (disk && n == 3) {
		ck_assert_int_eq(getxattr(tpath("hx/f"), "user.a", v, sizeof(v)), 4);
		ck_assert_msg(memcmp(v, "hook", 4) == 0, "the hook's value replaces the disk's");
		ck_assert_int_eq(getxattr(tpath("hx/f"), "user.b", v, sizeof(v)), 4);
	}
	sb_ownership_free(m);
}
END_TEST

static int unpack_header(const char *from, const char *rootfs, struct bootstrap_result *res,
			 sb_error_t *err)
{
	struct defparse_kv kv[2] = { { (char *)"bootstrap", (char *)"localimage", 1 },
				     { (char *)"from", (char *)from, 2 } };
	struct bootstrap_request rq = { .header = kv, .n_header = 2, .rootfs = rootfs };
	const struct bootstrap_agent *a = bootstrap_find("localimage");
	ck_assert_ptr_nonnull(a);
	ck_assert(a->implemented);
	if (a->ops->validate(&rq, err) < 0)
		return -1;
	return a->ops->materialise(&rq, res, err);
}

START_TEST(t_kinds_and_errors)
{
	write_image(tpath("a.sqfs"));
	ck_assert_int_eq(bootstrap_image_file_kind(tpath("a.sqfs"), NULL), BOOTSTRAP_IMAGE_SQUASHFS);
	FILE *f = fopen(tpath("junk"), "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
	sb_error_t err = NULL;
	ck_assert_int_eq(bootstrap_image_file_kind(tpath("junk"), &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "junk: not a SIF image"));
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	/* an ext2/3/4 superblock magic at 1080 */
	unsigned char ext[2048] = { 0 };
	ext[1080] = 0x53, ext[1081] = 0xef;
	int fd = open(tpath("ext.img"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_eq(write(fd, ext, sizeof(ext)), (ssize_t)sizeof(ext));
	close(fd);
	ck_assert_int_eq(bootstrap_image_file_kind(tpath("ext.img"), &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "ext.img: ext2/3/4 images are not"));
	sb_error_free(&err);
	/* the agent: a bare SquashFS file unpacks; junk is refused by validate */
	struct bootstrap_result res = { 0 };
	ck_assert_int_eq(mkdir(tpath("r"), 0755), 0);
	ck_assert_msg(unpack_header(tpath("a.sqfs"), tpath("r"), &res, &err) == 0, "%s",
		      sb_error_message(err));
	ck_assert(res.keep_metadata);
	ck_assert_ptr_null(res.oci_config_json);
	bootstrap_result_release(&res);
	ck_assert_int_eq(access(tpath("r/locked/f"), F_OK), 0);
	ck_assert_int_eq(unpack_header(tpath("junk"), tpath("r2"), &res, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "From: "));
	sb_error_free(&err);
	ck_assert_int_eq(access(tpath("r2"), F_OK), -1); /* nothing made */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("localimage");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t_extract_records);
	tcase_add_test(tc, t_round_trip);
	tcase_add_test(tc, t_hook_xattrs_packed);
	tcase_add_test(tc, t_kinds_and_errors);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
