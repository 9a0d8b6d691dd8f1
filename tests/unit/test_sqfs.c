/* tests/unit/test_sqfs.c: unit tests of the SquashFS writer, packer and
 * extractor API (sif/sqfs.h): option parsing, the owner mapping, entries in
 * any order, implicit parents, hard links, removal, path errors, xattr
 * filtering, byte-wise order, extended inodes, determinism, data past 4 GiB,
 * and extraction. Images are read back with libsquashfs directly, so the
 * checks do not depend on our own reader. Clean under ASan/LSan.
 */
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

#include <sqfs/compressor.h>
#include <sqfs/dir.h>
#include <sqfs/dir_reader.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/super.h>

#include "sif/sqfs.h"

/* ------------------------------------------------------------ helpers */

static char tmpdir[256];

static void make_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sqfs.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
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

struct warnings {
	int count;
	char last[512];
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	w->count++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static struct warnings warns;

static struct sif_sqfs_options opts(void)
{
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.jobs = 2;
	o.deterministic = true;
	o.epoch = 1700000000;
	o.warn = collect;
	o.warn_ctx = &warns;
	return o;
}

static int open_image(const char *name)
{
	int fd = open(tpath(name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	return fd;
}

struct text {
	const char *p;
};

static ssize_t read_text(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	struct text *t = ctx;
	size_t n = strlen(t->p);
	(void)err;
	if (n > len)
		n = len;
	memcpy(buf, t->p, n);
	t->p += n;
	return (ssize_t)n;
}

static void add_text(struct sif_sqfs_writer *w, const char *path, uint32_t mode, const char *s)
{
	struct sif_sqfs_attr a = {.mode = mode, .mtime = 1600000000};
	struct text t = {s};
	sb_error_t err = NULL;
	ck_assert_msg(sif_sqfs_writer_add_file(w, path, &a, read_text, &t, &err) == 0, "%s",
		      sb_error_message(err));
}

static uint64_t finish(struct sif_sqfs_writer *w)
{
	uint64_t size = 0;
	sb_error_t err = NULL;
	ck_assert_msg(sif_sqfs_writer_finish(w, &size, &err) == 0, "%s", sb_error_message(err));
	sif_sqfs_writer_free(w);
	return size;
}

static struct sif_sqfs_writer *writer(int fd, const struct sif_sqfs_options *o)
{
	sb_error_t err = NULL;
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, o, &err);
	ck_assert_msg(w != NULL, "%s", sb_error_message(err));
	return w;
}

/* An image opened with libsquashfs itself. */
struct image {
	sqfs_file_t *file;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_dir_reader_t *dr;
	sqfs_id_table_t *ids;
};

static void image_open(struct image *im, const char *name)
{
	im->file = sqfs_open_file(tpath(name), SQFS_FILE_OPEN_READ_ONLY);
	ck_assert_ptr_nonnull(im->file);
	ck_assert_int_eq(sqfs_super_read(&im->super, im->file), 0);
	sqfs_compressor_config_t cfg;
	ck_assert_int_eq(sqfs_compressor_config_init(&cfg, im->super.compression_id,
						     im->super.block_size,
						     SQFS_COMP_FLAG_UNCOMPRESS),
			 0);
	ck_assert_int_eq(sqfs_compressor_create(&cfg, &im->cmp), 0);
	im->dr = sqfs_dir_reader_create(&im->super, im->cmp, im->file, 0);
	im->ids = sqfs_id_table_create(0);
	ck_assert_int_eq(sqfs_id_table_read(im->ids, im->file, &im->super, im->cmp), 0);
}

static void image_close(struct image *im)
{
	sqfs_destroy(im->ids);
	sqfs_destroy(im->dr);
	sqfs_destroy(im->cmp);
	sqfs_destroy(im->file);
}

static sqfs_inode_generic_t *image_inode(struct image *im, const char *path)
{
	sqfs_inode_generic_t *g = NULL;
	int ret = sqfs_dir_reader_find_by_path(im->dr, NULL, path, &g);
	ck_assert_msg(ret == 0, "%s: %d", path, ret);
	return g;
}

static bool image_has(struct image *im, const char *path)
{
	sqfs_inode_generic_t *g = NULL;
	int ret = sqfs_dir_reader_find_by_path(im->dr, NULL, path, &g);
	sqfs_free(g);
	return ret == 0;
}

/* Names of the root directory, in on-disk order, joined by '|'. */
static void image_root_names(struct image *im, char *out, size_t len)
{
	sqfs_inode_generic_t *root = NULL;
	ck_assert_int_eq(sqfs_dir_reader_get_root_inode(im->dr, &root), 0);
	ck_assert_int_eq(sqfs_dir_reader_open_dir(im->dr, root, 0), 0);
	out[0] = '\0';
	sqfs_dir_entry_t *e;
	while (sqfs_dir_reader_read(im->dr, &e) == 0) {
		if (*out)
			strncat(out, "|", len - strlen(out) - 1);
		strncat(out, (const char *)e->name, len - strlen(out) - 1);
		sqfs_free(e);
	}
	sqfs_free(root);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------------ options */

START_TEST(t_parse_compression)
{
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	sb_error_t err = NULL;
	ck_assert_int_eq(o.compressor, SIF_SQFS_GZIP);
	ck_assert_uint_eq(o.block_size, 131072);
	ck_assert_int_eq(sif_sqfs_parse_compression("zstd:19", &o, &err), 0);
	ck_assert_int_eq(o.compressor, SIF_SQFS_ZSTD);
	ck_assert_int_eq(o.level, 19);
	ck_assert_int_eq(sif_sqfs_parse_compression("xz", &o, &err), 0);
	ck_assert_int_eq(o.compressor, SIF_SQFS_XZ);
	ck_assert_int_eq(o.level, 0);
	ck_assert_int_eq(sif_sqfs_parse_compression("gzip:1", &o, &err), 0);
	ck_assert_int_eq(o.compressor, SIF_SQFS_GZIP);
	ck_assert_int_eq(o.level, 1);
	ck_assert_int_eq(sif_sqfs_parse_compression("lz4", &o, &err), 0);
	ck_assert_int_eq(o.compressor, SIF_SQFS_LZ4);
	ck_assert_int_eq(sif_sqfs_parse_compression("gzip:10", &o, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "compression gzip: level '10' is not in 1..9");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_parse_compression("lz4:3", &o, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "compression lz4: takes no level");
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_parse_compression("zstd:x", &o, &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_parse_compression("brotli", &o, &err), -1);
	ck_assert_str_eq(sb_error_message(err),
			 "unknown compression 'brotli' (gzip, zstd, xz, lz4 or lzo)");
	sb_error_free(&err);
}
END_TEST

START_TEST(t_parse_epoch)
{
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	sb_error_t err = NULL;
	ck_assert(!o.deterministic);
	ck_assert_int_eq(sif_sqfs_parse_epoch("1700000000", &o, &err), 0);
	ck_assert(o.deterministic);
	ck_assert_int_eq(o.epoch, 1700000000);
	ck_assert_int_eq(sif_sqfs_parse_epoch("4294967295", &o, &err), 0);
	ck_assert_int_eq(o.epoch, 4294967295LL);
	const char *bad[] = {"-1", "4294967296", "12x", ""};
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(sif_sqfs_parse_epoch(bad[i], &o, &err), -1);
		ck_assert_int_eq(err->status, 2);
		sb_error_free(&err);
	}
}
END_TEST

START_TEST(t_map_owner)
{
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	uint32_t uid = 1000, gid = 1000;
	sif_sqfs_map_owner(&o, 1000, 1000, &uid, &gid);
	ck_assert_uint_eq(uid, 1000);
	ck_assert_uint_eq(gid, 1000);
	o.all_root = true;
	sif_sqfs_map_owner(&o, 1000, 1000, &uid, &gid);
	ck_assert_uint_eq(uid, 0);
	ck_assert_uint_eq(gid, 0);
	uid = 1000, gid = 50;
	sif_sqfs_map_owner(&o, 1000, 1000, &uid, &gid);
	ck_assert_uint_eq(uid, 0);
	ck_assert_uint_eq(gid, 50);
	uid = 33, gid = 1000;
	sif_sqfs_map_owner(&o, 1000, 1000, &uid, &gid);
	ck_assert_uint_eq(uid, 33);
	ck_assert_uint_eq(gid, 0);
}
END_TEST

START_TEST(t_bad_options)
{
	struct sif_sqfs_options o = opts();
	sb_error_t err = NULL;
	int fd = open_image("bad.img");
	o.block_size = 3000;
	ck_assert_ptr_null(sif_sqfs_writer_open(fd, 0, &o, &err));
	ck_assert_str_eq(sb_error_message(err),
			 "block size 3000: not a power of two between 4 KiB and 1 MiB");
	sb_error_free(&err);
	o = opts();
	o.compressor = SIF_SQFS_LZO;
	ck_assert_ptr_null(sif_sqfs_writer_open(fd, 0, &o, &err));
	ck_assert_str_eq(sb_error_message(err),
			 "compression lzo: not supported by this libsquashfs");
	sb_error_free(&err);
	close(fd);
}
END_TEST

/* ------------------------------------------------------------ writer */

START_TEST(t_any_order_and_implicit_parents)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("order.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	add_text(w, "a/b/c.txt", 0640, "deep\n"); /* parents a, a/b implicit */
	struct sif_sqfs_attr d = {.mode = 0700, .uid = 7, .gid = 8, .mtime = 1500000000};
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "/a/", &d, &err), 0); /* fills a in */
	ck_assert(sif_sqfs_writer_exists(w, "a/b"));
	ck_assert(sif_sqfs_writer_exists(w, "./a//b/c.txt"));
	ck_assert(!sif_sqfs_writer_exists(w, "a/x"));
	ck_assert_uint_gt(finish(w), 0);
	close(fd);

	struct image im;
	image_open(&im, "order.img");
	sqfs_inode_generic_t *a = image_inode(&im, "a"), *b = image_inode(&im, "a/b"),
			     *c = image_inode(&im, "a/b/c.txt");
	ck_assert_uint_eq(a->base.mode, S_IFDIR | 0700);
	ck_assert_uint_eq(a->base.mod_time, 1500000000);
	sqfs_u32 uid;
	ck_assert_int_eq(sqfs_id_table_index_to_id(im.ids, a->base.uid_idx, &uid), 0);
	ck_assert_uint_eq(uid, 7);
	ck_assert_uint_eq(b->base.mode, S_IFDIR | 0755);
	ck_assert_uint_eq(b->base.mod_time, 1700000000); /* the default time is the epoch */
	ck_assert_uint_eq(c->base.mode, S_IFREG | 0640);
	ck_assert_uint_eq(c->base.mod_time, 1600000000);
	ck_assert_uint_eq(c->data.file.file_size, 5);
	ck_assert_uint_eq(im.super.modification_time, 1700000000);
	ck_assert_uint_eq(im.super.inode_count, 4);
	sqfs_free(a);
	sqfs_free(b);
	sqfs_free(c);
	image_close(&im);
}
END_TEST

START_TEST(t_path_errors)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("errors.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr f = {.mode = 0644}, d = {.mode = 0755};
	add_text(w, "file", 0644, "x");
	struct text t = {"y"};
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "file", &f, read_text, &t, &err), -1);
	ck_assert_int_eq(err->errnum, EEXIST);
	ck_assert_str_eq(sb_error_message(err), "adding file: File exists");
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "file/sub", &d, &err), -1);
	ck_assert_int_eq(err->errnum, ENOTDIR);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "a/../b", &d, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "adding a/../b: '..' component");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "/", &f, "x", &err), -1);
	ck_assert_str_eq(sb_error_message(err), "adding '/': the root must be a directory");
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_hardlink(w, "h", "missing", &err), -1);
	ck_assert_int_eq(err->errnum, ENOENT);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, "dir", &d, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_hardlink(w, "h", "dir", &err), -1);
	ck_assert_int_eq(err->errnum, EPERM);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_remove(w, "/", &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_remove(w, "nothere", &err), -1);
	ck_assert_int_eq(err->errnum, ENOENT);
	sb_error_free(&err);
	struct sif_sqfs_attr dev = {.mode = S_IFCHR | 0600, .rdev = makedev(5000, 1)};
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "dev", &dev, &err), -1);
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	struct sif_sqfs_attr reg = {.mode = S_IFREG | 0600};
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "reg", &reg, &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "empty-target", &f, "", &err), -1);
	sb_error_free(&err);
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = '\0';
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, longname, &d, &err), -1);
	sb_error_free(&err);
	longname[255] = '\0';
	ck_assert_int_eq(sif_sqfs_writer_add_dir(w, longname, &d, &err), 0);
	finish(w);
	close(fd);
}
END_TEST

START_TEST(t_links_nodes_removal)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("links.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr l = {.mode = 0}, fifo = {.mode = S_IFIFO | 0600},
			     cdev = {.mode = S_IFCHR | 0666, .rdev = makedev(1, 3)},
			     bdev = {.mode = S_IFBLK | 0660, .rdev = makedev(259, 70000)},
			     sock = {.mode = S_IFSOCK | 0755};
	add_text(w, "data", 0644, "payload");
	ck_assert_int_eq(sif_sqfs_writer_add_hardlink(w, "sub/link", "data", &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "sym", &l, "../target", &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "fifo", &fifo, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "null", &cdev, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "nvme", &bdev, &err), 0);
	ck_assert_int_eq(sif_sqfs_writer_add_node(w, "sock", &sock, &err), 0);
	add_text(w, "gone/deep/file", 0644, "removed");
	add_text(w, "single", 0644, "one name");
	ck_assert_int_eq(sif_sqfs_writer_remove(w, "gone", &err), 0);
	ck_assert(!sif_sqfs_writer_exists(w, "gone/deep/file"));
	finish(w);
	close(fd);

	struct image im;
	image_open(&im, "links.img");
	ck_assert(!image_has(&im, "gone"));
	sqfs_inode_generic_t *a = image_inode(&im, "data"), *b = image_inode(&im, "sub/link");
	ck_assert_uint_eq(a->base.inode_number, b->base.inode_number);
	ck_assert_uint_eq(a->base.type, SQFS_INODE_EXT_FILE); /* nlink > 1 */
	ck_assert_uint_eq(a->data.file_ext.nlink, 2);
	sqfs_free(a);
	sqfs_free(b);
	a = image_inode(&im, "single");
	ck_assert_uint_eq(a->base.type, SQFS_INODE_FILE);
	sqfs_free(a);
	a = image_inode(&im, "sym");
	ck_assert_uint_eq(a->base.mode, S_IFLNK | 0777);
	ck_assert_uint_eq(a->data.slink.target_size, 9);
	ck_assert_int_eq(memcmp(a->extra, "../target", 9), 0);
	sqfs_free(a);
	a = image_inode(&im, "nvme");
	ck_assert_uint_eq(a->base.type, SQFS_INODE_BDEV);
	uint32_t d = a->data.dev.devno;
	ck_assert_uint_eq((d & 0xfff00) >> 8, 259);
	ck_assert_uint_eq((d & 0xff) | ((d >> 12) & 0xfff00), 70000);
	sqfs_free(a);
	a = image_inode(&im, "sock");
	ck_assert_uint_eq(a->base.mode, S_IFSOCK | 0755);
	sqfs_free(a);
	a = image_inode(&im, "sub");
	ck_assert_uint_eq(a->data.dir.nlink, 2);
	sqfs_free(a);
	a = image_inode(&im, "");
	ck_assert_uint_eq(a->data.dir.nlink, 3); /* sub and the removed gone no longer */
	sqfs_free(a);
	image_close(&im);
}
END_TEST

START_TEST(t_xattrs_filtered_and_extended)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("xattr.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_xattr x[] = {
		{"user.b", "2", 1},
		{"system.posix_acl_access", "zz", 2},
		{"user.a", "1", 1},
		{"security.selinux", "ctx", 3},
	};
	struct sif_sqfs_attr a = {.mode = 0644, .xattrs = x, .n_xattrs = 4};
	warns.count = 0;
	struct text t = {"x"};
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "f", &a, read_text, &t, &err), 0);
	ck_assert_int_eq(warns.count, 1);
	ck_assert_str_eq(warns.last, "f: xattr system.posix_acl_access skipped (SquashFS keeps "
				     "only user., trusted. and security. xattrs)");
	struct sif_sqfs_attr s = {.mode = 0, .xattrs = x + 3, .n_xattrs = 1};
	ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "s", &s, "f", &err), 0);
	finish(w);
	close(fd);
	struct image im;
	image_open(&im, "xattr.img");
	sqfs_inode_generic_t *g = image_inode(&im, "f");
	ck_assert_uint_eq(g->base.type, SQFS_INODE_EXT_FILE);
	ck_assert_uint_eq(g->data.file_ext.nlink, 1);
	ck_assert_uint_ne(g->data.file_ext.xattr_idx, 0xFFFFFFFF);
	sqfs_free(g);
	g = image_inode(&im, "s");
	ck_assert_uint_eq(g->base.type, SQFS_INODE_EXT_SLINK);
	sqfs_free(g);
	ck_assert_uint_eq(im.super.flags & SQFS_FLAG_NO_XATTRS, 0);
	image_close(&im);
}
END_TEST

START_TEST(t_bytewise_order)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("sorted.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr d = {.mode = 0755};
	const char *names[] = {"\xc3\xa9t\xc3\xa9", "a", "Z", "B", "a b", "ab", "a-"};
	for (size_t i = 0; i < 7; i++)
		ck_assert_int_eq(sif_sqfs_writer_add_dir(w, names[i], &d, &err), 0);
	finish(w);
	close(fd);
	struct image im;
	image_open(&im, "sorted.img");
	char got[256];
	image_root_names(&im, got, sizeof(got));
	ck_assert_str_eq(got, "B|Z|a|a b|a-|ab|\xc3\xa9t\xc3\xa9");
	image_close(&im);
}
END_TEST

/* Builds the same tree with its directories, links and nodes added in two
 * different orders (file data in the same order): the images are equal. */
static void build_tree(const char *name, bool reverse, unsigned jobs)
{
	struct sif_sqfs_options o = opts();
	o.jobs = jobs;
	int fd = open_image(name);
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr d = {.mode = 0750, .mtime = 1800000000}, l = {0};
	add_text(w, "z/file", 0644, "zzz");
	add_text(w, "a/file", 0600, "aaa");
	const char *dirs[] = {"z", "a", "m/n/o", "m"};
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(sif_sqfs_writer_add_dir(w, dirs[reverse ? 3 - i : i], &d, &err),
				 0);
	if (reverse) {
		ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "m/s2", &l, "b", &err), 0);
		ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "m/s1", &l, "a", &err), 0);
	} else {
		ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "m/s1", &l, "a", &err), 0);
		ck_assert_int_eq(sif_sqfs_writer_add_symlink(w, "m/s2", &l, "b", &err), 0);
	}
	finish(w);
	close(fd);
}

static void assert_same_files(const char *a, const char *b)
{
	char cmd[2400];
	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", tpath(a), tpath(b));
	ck_assert_msg(system(cmd) == 0, "%s and %s differ", a, b);
}

START_TEST(t_deterministic)
{
	build_tree("det1.img", false, 1);
	build_tree("det2.img", true, 2);
	build_tree("det3.img", false, 4);
	assert_same_files("det1.img", "det2.img");
	assert_same_files("det1.img", "det3.img");
	struct image im;
	image_open(&im, "det1.img");
	sqfs_inode_generic_t *g = image_inode(&im, "m/n/o");
	ck_assert_uint_eq(g->base.mod_time, 1700000000); /* clamped to the epoch */
	sqfs_free(g);
	image_close(&im);
}
END_TEST

START_TEST(t_offset_and_size)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("offset.img");
	ck_assert_int_eq(ftruncate(fd, 5000), 0);
	ck_assert_int_eq(pwrite(fd, "HEAD", 4, 0), 4);
	sb_error_t err = NULL;
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 32768, &o, &err);
	ck_assert_ptr_nonnull(w);
	add_text(w, "f", 0644, "offset data");
	uint64_t size = finish(w);
	ck_assert_uint_eq(size % 4096, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, 32768 + size);
	char buf[4];
	ck_assert_int_eq(pread(fd, buf, 4, 0), 4);
	ck_assert_int_eq(memcmp(buf, "HEAD", 4), 0);
	ck_assert_int_eq(pread(fd, buf, 4, 32768), 4);
	ck_assert_int_eq(memcmp(buf, "hsqs", 4), 0);
	struct sif_sqfs_extract_options eo = {.size = size, .warn = collect, .warn_ctx = &warns};
	ck_assert_msg(sif_sqfs_extract(fd, 32768, tpath("offset.out"), &eo, &err) == 0, "%s",
		      sb_error_message(err));
	ck_assert_str_eq(slurp(tpath("offset.out/f")), "offset data");
	close(fd);
}
END_TEST

/* ------------------------------------------------------- packer + extractor */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static int hook_calls;

static int owner_hook(void *ctx, int dirfd, const char *name, const char *path,
		      const struct stat *st, struct sif_sqfs_attr *a, sb_error_t *err)
{
	(void)ctx;
	(void)dirfd;
	(void)name;
	(void)err;
	hook_calls++;
	/* "hard" comes before "tree/owned" in the walk: the inode's first name
	 * is where its attributes are decided. */
	if (strcmp(path, "hard") == 0) {
		a->uid = 4242;
		a->gid = 4343;
	}
	if (strcmp(path, "tree/devplaceholder") == 0 && S_ISREG(st->st_mode)) {
		a->mode = S_IFCHR | (a->mode & 07777);
		a->rdev = makedev(4, 64);
	}
	return 0;
}

START_TEST(t_pack_dir_hook_and_extract)
{
	char src[1024];
	snprintf(src, sizeof(src), "%s", tpath("src"));
	ck_assert_int_eq(mkdir(src, 0755), 0);
	ck_assert_int_eq(mkdir(tpath("src/tree"), 0755), 0);
	write_file(tpath("src/tree/owned"), "mine\n", 0640);
	write_file(tpath("src/tree/devplaceholder"), "", 0620);
	write_file(tpath("src/tree/secret"), "shh\n", 0);
	ck_assert_int_eq(symlink("owned", tpath("src/tree/link")), 0);
	ck_assert_int_eq(link(tpath("src/tree/owned"), tpath("src/hard")), 0);

	struct sif_sqfs_options o = opts();
	o.all_root = true;
	int fd = open_image("pack.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	struct sif_sqfs_walk_options wo = {owner_hook, NULL, false};
	sb_error_t err = NULL;
	hook_calls = 0;
	ck_assert_msg(sif_sqfs_pack_dir(w, src, &wo, &err) == 0, "%s", sb_error_message(err));
	ck_assert_int_eq(hook_calls, 6); /* root, hard, tree, 3 more: a link's second name not */
	finish(w);
	struct stat st;
	ck_assert_int_eq(stat(tpath("src/tree/secret"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0); /* put back after reading */

	struct image im;
	image_open(&im, "pack.img");
	sqfs_inode_generic_t *g = image_inode(&im, "tree/owned");
	sqfs_u32 uid, gid;
	sqfs_id_table_index_to_id(im.ids, g->base.uid_idx, &uid);
	sqfs_id_table_index_to_id(im.ids, g->base.gid_idx, &gid);
	ck_assert_uint_eq(uid, 4242);
	ck_assert_uint_eq(gid, 4343);
	ck_assert_uint_eq(g->base.type, SQFS_INODE_EXT_FILE);
	sqfs_free(g);
	g = image_inode(&im, "tree/devplaceholder");
	ck_assert_uint_eq(g->base.mode, S_IFCHR | 0620);
	sqfs_free(g);
	g = image_inode(&im, "tree/secret");
	sqfs_id_table_index_to_id(im.ids, g->base.uid_idx, &uid);
	ck_assert_uint_eq(uid, geteuid() == 0 ? 0 : 0); /* own files map to root */
	ck_assert_uint_eq(g->base.mode, S_IFREG | 0);
	ck_assert_uint_eq(g->data.file.file_size, 4);
	sqfs_free(g);
	image_close(&im);

	warns.count = 0;
	struct sif_sqfs_extract_options eo = {.warn = collect, .warn_ctx = &warns};
	ck_assert_msg(sif_sqfs_extract(fd, 0, tpath("out"), &eo, &err) == 0, "%s",
		      sb_error_message(err));
	close(fd);
	ck_assert_str_eq(slurp(tpath("out/hard")), "mine\n");
	ck_assert_int_eq(lstat(tpath("out/tree/secret"), &st), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0);
	ck_assert_uint_eq(st.st_size, 4);
	ck_assert_int_eq(lstat(tpath("out/hard"), &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
	char target[64] = {0};
	ck_assert_int_eq(readlink(tpath("out/tree/link"), target, sizeof(target)), 5);
	ck_assert_str_eq(target, "owned");
	if (geteuid() == 0) {
		ck_assert_int_eq(lstat(tpath("out/tree/devplaceholder"), &st), 0);
		ck_assert(S_ISCHR(st.st_mode));
		ck_assert_uint_eq(major(st.st_rdev), 4);
		ck_assert_int_eq(lstat(tpath("out/tree/owned"), &st), 0);
		ck_assert_uint_eq(st.st_uid, 4242);
		ck_assert_uint_eq(st.st_gid, 4343);
	} else {
		ck_assert_int_ne(access(tpath("out/tree/devplaceholder"), F_OK), 0);
		ck_assert_int_ge(warns.count, 2); /* the device, the foreign owner */
	}
}
END_TEST

START_TEST(t_extract_hostile)
{
	struct sif_sqfs_options o = opts();
	o.unsafe_names = true;
	int fd = open_image("hostile.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	add_text(w, "ok", 0644, "fine");
	add_text(w, "sub/../escape", 0644, "bad");
	finish(w);
	sb_error_t err = NULL;
	ck_assert_int_eq(mkdir(tpath("h"), 0755), 0);
	ck_assert_int_eq(sif_sqfs_extract(fd, 0, tpath("h/out"), NULL, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "refusing to extract sub/..: bad entry name '..'");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_ne(access(tpath("h/escape"), F_OK), 0);
	close(fd);

	fd = open_image("dup.img");
	w = writer(fd, &o);
	add_text(w, "twice", 0644, "1");
	add_text(w, "twice", 0644, "2");
	finish(w);
	ck_assert_int_eq(sif_sqfs_extract(fd, 0, tpath("dup.out"), NULL, &err), -1);
	ck_assert_str_eq(sb_error_message(err),
			 "refusing to extract twice: the name appears twice");
	sb_error_free(&err);
	close(fd);

	fd = open_image("garbage.img");
	ck_assert_int_eq(write(fd, "garbage", 7), 7);
	ck_assert_int_eq(sif_sqfs_extract(fd, 0, tpath("garbage.out"), NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "reading SquashFS superblock"));
	sb_error_free(&err);
	close(fd);
}
END_TEST

static ssize_t read_fails(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	int *calls = ctx;
	if ((*calls)++ == 0) {
		memset(buf, 'x', len < 10 ? len : 10);
		return len < 10 ? (ssize_t)len : 10;
	}
	return sb_error_set(err, EIO, "layer blob truncated");
}

START_TEST(t_read_callback_error)
{
	struct sif_sqfs_options o = opts();
	int fd = open_image("cb.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr a = {.mode = 0644};
	int calls = 0;
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "f", &a, read_fails, &calls, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "layer blob truncated: Input/output error");
	sb_error_free(&err);
	struct text t = {"more"};
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "g", &a, read_text, &t, &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sif_sqfs_writer_finish(w, NULL, &err), -1);
	ck_assert_str_eq(sb_error_message(err),
			 "finishing SquashFS image: an earlier error broke the image");
	sb_error_free(&err);
	sif_sqfs_writer_free(w);
	close(fd);
}
END_TEST

/* 4.1 GiB of incompressible data before a small file: the small file's data
 * starts past 4 GiB and needs an extended inode (32-bit start otherwise). */
struct noise {
	uint64_t left, state;
};

static ssize_t read_noise(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	struct noise *n = ctx;
	(void)err;
	if (len > n->left)
		len = (size_t)n->left;
	uint64_t *p = buf;
	for (size_t i = 0; i < len / 8; i++) {
		n->state ^= n->state << 13;
		n->state ^= n->state >> 7;
		n->state ^= n->state << 17;
		p[i] = n->state;
	}
	n->left -= len;
	return (ssize_t)len;
}

/* As root, where loop mounts work: the kernel reads the file whose data
 * starts past 4 GiB back exactly (the trap is a truncated 32-bit start). */
static void kernel_reads_after(const char *img, const char *mnt)
{
	char cmd[2400];
	if (geteuid() != 0 || mkdir(mnt, 0755) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "mount -t squashfs -o loop,ro '%s' '%s' 2>/dev/null", img, mnt);
	if (system(cmd) != 0)
		return;
	char path[1200];
	snprintf(path, sizeof(path), "%s/after", mnt);
	int fd = open(path, O_RDONLY);
	size_t len = 3u << 20;
	char *got = malloc(len), *want = malloc(len);
	struct noise m = {len, 1234567};
	sb_error_t err = NULL;
	ck_assert_int_eq(read_noise(&m, want, len, &err), (ssize_t)len);
	ssize_t n = fd >= 0 ? read(fd, got, len) : -1;
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof(cmd), "umount '%s'", mnt);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_int_eq(memcmp(got, want, len), 0);
	free(got);
	free(want);
}

START_TEST(t_data_past_4gib)
{
	if (getenv("SB_SKIP_SLOW") != NULL)
		return;
	struct sif_sqfs_options o = opts();
	o.compressor = SIF_SQFS_LZ4; /* incompressible data stays fast */
	o.block_size = 1 << 20;
	int fd = open_image("big.img");
	struct sif_sqfs_writer *w = writer(fd, &o);
	sb_error_t err = NULL;
	struct sif_sqfs_attr a = {.mode = 0644};
	struct noise n = {4400ull << 20, 88172645463325252ull};
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "big", &a, read_noise, &n, &err), 0);
	struct noise m = {3ull << 20, 1234567};
	ck_assert_int_eq(sif_sqfs_writer_add_file(w, "after", &a, read_noise, &m, &err), 0);
	uint64_t size = finish(w);
	ck_assert_uint_gt(size, 4400ull << 20);
	struct image im;
	image_open(&im, "big.img");
	sqfs_inode_generic_t *g = image_inode(&im, "after");
	ck_assert_uint_eq(g->base.type, SQFS_INODE_EXT_FILE);
	ck_assert_uint_gt(g->data.file_ext.blocks_start, 0xFFFFFFFFull);
	ck_assert_uint_eq(g->data.file_ext.file_size, 3ull << 20);
	sqfs_free(g);
	g = image_inode(&im, "big");
	ck_assert_uint_eq(g->base.type, SQFS_INODE_EXT_FILE); /* size > 4 GiB */
	sqfs_free(g);
	image_close(&im);
	close(fd);
	kernel_reads_after(tpath("big.img"), tpath("mnt"));
	ck_assert_int_eq(unlink(tpath("big.img")), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sqfs");
	TCase *tc = tcase_create("sqfs");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_add_test(tc, t_parse_compression);
	tcase_add_test(tc, t_parse_epoch);
	tcase_add_test(tc, t_map_owner);
	tcase_add_test(tc, t_bad_options);
	tcase_add_test(tc, t_any_order_and_implicit_parents);
	tcase_add_test(tc, t_path_errors);
	tcase_add_test(tc, t_links_nodes_removal);
	tcase_add_test(tc, t_xattrs_filtered_and_extended);
	tcase_add_test(tc, t_bytewise_order);
	tcase_add_test(tc, t_deterministic);
	tcase_add_test(tc, t_offset_and_size);
	tcase_add_test(tc, t_pack_dir_hook_and_extract);
	tcase_add_test(tc, t_extract_hostile);
	tcase_add_test(tc, t_read_callback_error);
	tcase_add_test(tc, t_data_past_4gib);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
