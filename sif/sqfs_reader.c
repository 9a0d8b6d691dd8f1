/* sif/sqfs_reader.c: sif_sqfs_extract, recreating a SquashFS image as a
 * directory tree.
 *
 * Image contents are hostile input. Every entry is created relative to a
 * directory fd that this code made itself (mkdirat + openat O_NOFOLLOW), with
 * O_EXCL/mknodat/symlinkat semantics that fail on an existing name, so a
 * symlink from the image is never followed and nothing lands outside outdir.
 * Names are checked before use. Directory permissions and times are applied
 * at the end, children before parents, so a mode-000 directory does not stop
 * its own extraction. With an ownership map (eo->owners), what this user
 * cannot store goes there: each entry's pending record (x->rec) is filled
 * while the entry is made and stored, with the inode's identity, by
 * rec_flush. */
#include "sif/sqfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir.h>
#include <sqfs/dir_reader.h>
#include <sqfs/error.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_reader.h>

#include "common/cleanup.h"
#include "common/ownership.h"
#include "common/strbuf.h"

#define EXTRACT_MAX_DEPTH 2048

struct dirfix {
	char *path; /* relative to outdir, "" for outdir itself */
	uint32_t mode, uid, gid, mtime;
};

struct extract {
	const struct sif_sqfs_extract_options *eo;
	const char *outdir;
	sqfs_file_t *file;
	sqfs_super_t super;
	sqfs_compressor_t *cmp;
	sqfs_id_table_t *ids;
	sqfs_dir_reader_t *dr;
	sqfs_data_reader_t *data;
	sqfs_xattr_reader_t *xr;
	uint8_t *raw, *out; /* one block each */
	int rootfd;
	struct sb_strbuf path;
	struct sq_map links; /* inode number -> relative path of its first name */
	struct sq_map dirs;  /* inode numbers of directories seen */
	struct dirfix *fix;
	size_t n_fix, cap_fix;
	bool privileged;
	uint32_t self_uid, self_gid;
	size_t foreign_owners, xattr_failures;
	size_t depth;
	struct sb_ownership *owners; /* eo->owners */
	struct sb_owner_entry rec;   /* the current entry's pending record */
	bool warned_chown;
};

struct entry {
	char *name;
	sqfs_inode_generic_t *inode;
};

static void warn(struct extract *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct extract *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vwarnf(x->eo->warn, x->eo->warn_ctx, fmt, ap);
	va_end(ap);
}

static const char *rel(const struct extract *x)
{
	return x->path.len ? x->path.buf : "/";
}

static int fail(struct extract *x, int code, const char *op, sb_error_t *err)
{
	return sq_fail(err, code, sq_file_last_errno(x->file), op, rel(x));
}

static int hostile(struct extract *x, sb_error_t *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int hostile(struct extract *x, sb_error_t *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	sb_error_set_status(err, 2, 0, "refusing to extract %s: %s", rel(x), msg);
	free(msg);
	return -1;
}

/* ------------------------------------------------------------- attributes */

static int inode_owner(struct extract *x, const sqfs_inode_generic_t *g, uint32_t *uid,
		       uint32_t *gid, sb_error_t *err)
{
	int ret = sqfs_id_table_index_to_id(x->ids, g->base.uid_idx, uid);
	if (ret == 0)
		ret = sqfs_id_table_index_to_id(x->ids, g->base.gid_idx, gid);
	return ret ? fail(x, ret, "reading owner of", err) : 0;
}

static void rec_reset(struct extract *x)
{
	x->rec = (struct sb_owner_entry){ .uid = SB_OWNER_UNSET, .gid = SB_OWNER_UNSET };
}

/* Stores the pending record of the entry name in dirfd (x->path), merged
 * with the xattrs recorded for it already, with its inode identity. */
static void rec_flush(struct extract *x, int dirfd, const char *name)
{
	if (x->owners == NULL)
		return;
	const struct sb_owner_entry *old = sb_ownership_get(x->owners, x->path.buf);
	struct sb_owner_entry e = x->rec;
	if (old == NULL && e.uid == SB_OWNER_UNSET && e.gid == SB_OWNER_UNSET && e.mode == 0)
		return;
	if (old) {
		e.xattrs = old->xattrs;
		e.n_xattrs = old->n_xattrs;
	}
	struct stat st;
	if (fstatat(dirfd, name, &st, *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) == 0) {
		e.dev = st.st_dev;
		e.ino = st.st_ino;
	}
	sb_ownership_set(x->owners, x->path.buf, &e);
}

/* Changes the owner where this user can; records (with a map) or counts the
 * owners it cannot give. */
static int apply_owner(struct extract *x, int dirfd, const char *name, uint32_t uid, uint32_t gid,
		       sb_error_t *err)
{
	int flags = *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
	if (x->privileged) {
		if (fchownat(dirfd, name, uid, gid, flags) == 0)
			return 0;
		if (x->owners == NULL || (errno != EPERM && errno != EINVAL))
			return sb_error_set(err, errno, "setting owner of %s", rel(x));
		if (!x->warned_chown)
			warn(x, "%s: cannot change owners here (%s); owners are recorded for the "
			     "image instead", rel(x), strerror(errno));
		x->warned_chown = true;
		x->privileged = false; /* e.g. root of a user namespace with one id */
	}
	if (x->owners) {
		if (uid != 0)
			x->rec.uid = uid;
		if (gid != 0)
			x->rec.gid = gid;
	} else if ((uid != 0 && uid != x->self_uid) || (gid != 0 && gid != x->self_gid)) {
		x->foreign_owners++;
	}
	return 0;
}

/* With a map: the permission bits the disk did not keep (setgid cleared by
 * the kernel, a directory kept owner-rwx) are recorded. */
static void check_mode(struct extract *x, int dirfd, const char *name, uint32_t type,
		       uint32_t mode)
{
	struct stat st;
	if (x->owners == NULL ||
	    fstatat(dirfd, name, &st, *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) != 0)
		return;
	if ((st.st_mode & 07777) != (mode & 07777))
		x->rec.mode = type | (mode & 07777);
}

static int apply_time(struct extract *x, int dirfd, const char *name, uint32_t mtime,
		      sb_error_t *err)
{
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	int ret = *name ? utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) : futimens(dirfd, ts);
	return ret ? sb_error_set(err, errno, "setting time of %s", rel(x)) : 0;
}

static int apply_xattrs(struct extract *x, const sqfs_inode_generic_t *g, int fd, sb_error_t *err)
{
	sqfs_u32 idx;
	if (x->xr == NULL || sqfs_inode_get_xattr_index(g, &idx) != 0 || idx == 0xFFFFFFFF)
		return 0;
	sqfs_xattr_id_t desc;
	int ret = sqfs_xattr_reader_get_desc(x->xr, idx, &desc);
	if (ret == 0)
		ret = sqfs_xattr_reader_seek_kv(x->xr, &desc);
	cleanup_free char *full = fd < 0 ? sb_asprintf("%s/%s", x->outdir, x->path.buf) : NULL;
	for (sqfs_u32 i = 0; ret == 0 && i < desc.count; i++) {
		sqfs_xattr_entry_t *key = NULL;
		sqfs_xattr_value_t *val = NULL;
		ret = sqfs_xattr_reader_read_key(x->xr, &key);
		if (ret == 0)
			ret = sqfs_xattr_reader_read_value(x->xr, key, &val);
		if (ret == 0) {
			const char *k = (const char *)key->key;
			int r = fd >= 0 ? fsetxattr(fd, k, val->value, val->size, 0)
					: lsetxattr(full, k, val->value, val->size, 0);
			if (r != 0 && x->owners)
				sb_ownership_add_xattr(x->owners, x->path.buf, k, val->value,
						       val->size);
			else if (r != 0 && x->xattr_failures++ == 0)
				warn(x, "%s: xattr %s not set: %s", rel(x), k, strerror(errno));
		}
		sqfs_free(key);
		sqfs_free(val);
	}
	return ret ? fail(x, ret, "reading xattrs of", err) : 0;
}

/* ------------------------------------------------------------------ files */

/* Data blocks are read and decompressed here, in one pass: the library's
 * per-block lookup walks the block list from the start every time. */
static int write_blocks(struct extract *x, int fd, const sqfs_inode_generic_t *g, sb_error_t *err)
{
	sqfs_u64 off, size;
	sqfs_inode_get_file_block_start(g, &off);
	sqfs_inode_get_file_size(g, &size);
	uint64_t pos = 0, bs = x->super.block_size;
	size_t count = sqfs_inode_get_file_block_count(g);
	for (size_t i = 0; i < count && pos < size; i++) {
		size_t want = size - pos < bs ? (size_t)(size - pos) : (size_t)bs;
		sqfs_u32 disk = SQFS_ON_DISK_BLOCK_SIZE(g->extra[i]);
		if (disk == 0) { /* sparse */
			pos += want;
			continue;
		}
		if (disk > bs)
			return hostile(x, err, "data block of %u bytes", disk);
		int ret = x->file->read_at(x->file, off, x->raw, disk);
		if (ret != 0)
			return fail(x, ret, "reading data of", err);
		const uint8_t *data = x->raw;
		sqfs_s32 n = (sqfs_s32)disk;
		if (SQFS_IS_BLOCK_COMPRESSED(g->extra[i])) {
			n = x->cmp->do_block(x->cmp, x->raw, disk, x->out, (sqfs_u32)bs);
			data = x->out;
		}
		if (n < 0 || (size_t)n != want)
			return hostile(x, err, "data block %zu does not unpack to %zu bytes", i,
				       want);
		if (pwrite(fd, data, want, (off_t)pos) != (ssize_t)want)
			return sb_error_set(err, errno, "writing %s", rel(x));
		off += disk;
		pos += want;
	}
	if (pos < size) {
		size_t len = 0;
		sqfs_u8 *frag = NULL;
		int ret = sqfs_data_reader_get_fragment(x->data, g, &len, &frag);
		if (ret != 0)
			return fail(x, ret, "reading data of", err);
		ssize_t w = len ? pwrite(fd, frag, len, (off_t)pos) : 0;
		sqfs_free(frag);
		if (w != (ssize_t)len)
			return sb_error_set(err, errno, "writing %s", rel(x));
	}
	if (ftruncate(fd, (off_t)size) != 0)
		return sb_error_set(err, errno, "writing %s", rel(x));
	return 0;
}

static int make_file(struct extract *x, int dirfd, const char *name, const sqfs_inode_generic_t *g,
		     uint32_t uid, uint32_t gid, sb_error_t *err)
{
	cleanup_close int fd =
		openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? hostile(x, err, "the name appears twice")
				       : sb_error_set(err, errno, "creating %s", rel(x));
	/* xattrs after chown: a chown drops security.capability */
	if (write_blocks(x, fd, g, err) < 0 || apply_owner(x, fd, "", uid, gid, err) < 0)
		return -1;
	if (fchmod(fd, g->base.mode & 07777) != 0)
		return sb_error_set(err, errno, "setting mode of %s", rel(x));
	check_mode(x, fd, "", S_IFREG, g->base.mode);
	if (apply_xattrs(x, g, fd, err) < 0)
		return -1;
	return apply_time(x, fd, "", g->base.mod_time, err);
}

static int make_symlink(struct extract *x, int dirfd, const char *name,
			const sqfs_inode_generic_t *g, sb_error_t *err)
{
	size_t len = g->data.slink.target_size;
	if (len == 0 || memchr(g->extra, '\0', len) != NULL)
		return hostile(x, err, "bad symlink target");
	cleanup_free char *target = sb_strndup((const char *)g->extra, len);
	if (symlinkat(target, dirfd, name) != 0)
		return errno == EEXIST ? hostile(x, err, "the name appears twice")
				       : sb_error_set(err, errno, "creating %s", rel(x));
	return apply_xattrs(x, g, -1, err);
}

/* A device this user cannot create: an empty regular file, its type, device
 * number and permission bits in the map. */
static int make_placeholder(struct extract *x, int dirfd, const char *name,
			    const sqfs_inode_generic_t *g, mode_t type, dev_t dev, sb_error_t *err)
{
	cleanup_close int fd =
		openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? hostile(x, err, "the name appears twice")
				       : sb_error_set(err, errno, "creating %s", rel(x));
	if (apply_xattrs(x, g, fd, err) < 0)
		return -1;
	if (fchmod(fd, g->base.mode & 07777) != 0)
		return sb_error_set(err, errno, "setting mode of %s", rel(x));
	x->rec.mode = type | (g->base.mode & 07777);
	x->rec.rdev = dev;
	return 0;
}

/* Devices, fifos and sockets. Returns 1 when the node was skipped. */
static int make_node(struct extract *x, int dirfd, const char *name, const sqfs_inode_generic_t *g,
		     sb_error_t *err)
{
	mode_t type;
	dev_t dev = 0;
	switch (g->base.type) {
	case SQFS_INODE_BDEV:
	case SQFS_INODE_EXT_BDEV:
	case SQFS_INODE_CDEV:
	case SQFS_INODE_EXT_CDEV: {
		uint32_t d = g->data.dev.devno;
		type = (g->base.type == SQFS_INODE_BDEV || g->base.type == SQFS_INODE_EXT_BDEV)
			       ? S_IFBLK
			       : S_IFCHR;
		dev = makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
		break;
	}
	case SQFS_INODE_FIFO:
	case SQFS_INODE_EXT_FIFO: type = S_IFIFO; break;
	default: type = S_IFSOCK; break;
	}
	bool device = type == S_IFBLK || type == S_IFCHR;
	if (device && !x->privileged && x->owners)
		return make_placeholder(x, dirfd, name, g, type, dev, err);
	if (mknodat(dirfd, name, type | 0600, dev) != 0) {
		if (errno == EEXIST)
			return hostile(x, err, "the name appears twice");
		if (errno == EPERM && device && x->owners)
			return make_placeholder(x, dirfd, name, g, type, dev, err);
		if (errno == EPERM && device) {
			warn(x, "%s: device node skipped (creating devices needs privilege)",
			     rel(x));
			return 1;
		}
		return sb_error_set(err, errno, "creating %s", rel(x));
	}
	if (apply_xattrs(x, g, -1, err) < 0)
		return -1;
	if (fchmodat(dirfd, name, g->base.mode & 07777, 0) != 0)
		return sb_error_set(err, errno, "setting mode of %s", rel(x));
	check_mode(x, dirfd, name, type, g->base.mode);
	return 0;
}

/* A second name of an inode already extracted: a hard link to its first path
 * (both paths consist of directories this extraction created). Returns 1 when
 * there is no first name yet. */
static int try_link(struct extract *x, int dirfd, const char *name, const sqfs_inode_generic_t *g,
		    sb_error_t *err)
{
	uint32_t ino = g->base.inode_number;
	const char *first = sq_map_get(&x->links, &ino, sizeof(ino));
	if (first == NULL)
		return 1;
	if (linkat(x->rootfd, first, dirfd, name, 0) != 0)
		return errno == EEXIST
			       ? hostile(x, err, "the name appears twice")
			       : sb_error_set(err, errno, "linking %s to %s", rel(x), first);
	if (x->owners)
		sb_ownership_link(x->owners, x->path.buf, first);
	return 0;
}

static uint32_t inode_nlink(const sqfs_inode_generic_t *g)
{
	switch (g->base.type) {
	case SQFS_INODE_FILE: return 1;
	case SQFS_INODE_EXT_FILE: return g->data.file_ext.nlink;
	case SQFS_INODE_SLINK:
	case SQFS_INODE_EXT_SLINK: return g->data.slink.nlink;
	case SQFS_INODE_BDEV:
	case SQFS_INODE_CDEV:
	case SQFS_INODE_EXT_BDEV:
	case SQFS_INODE_EXT_CDEV: return g->data.dev.nlink;
	default: return g->data.ipc.nlink;
	}
}

static int extract_leaf(struct extract *x, int dirfd, const char *name,
			const sqfs_inode_generic_t *g, sb_error_t *err)
{
	int ret = try_link(x, dirfd, name, g, err);
	if (ret <= 0)
		return ret;
	rec_reset(x);
	uint32_t uid, gid;
	if (inode_owner(x, g, &uid, &gid, err) < 0)
		return -1;
	switch (g->base.type) {
	case SQFS_INODE_FILE:
	case SQFS_INODE_EXT_FILE: ret = make_file(x, dirfd, name, g, uid, gid, err); break;
	case SQFS_INODE_SLINK:
	case SQFS_INODE_EXT_SLINK: ret = make_symlink(x, dirfd, name, g, err); break;
	default: ret = make_node(x, dirfd, name, g, err); break;
	}
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	if (g->base.type != SQFS_INODE_FILE && g->base.type != SQFS_INODE_EXT_FILE &&
	    (apply_owner(x, dirfd, name, uid, gid, err) < 0 ||
	     apply_time(x, dirfd, name, g->base.mod_time, err) < 0))
		return -1;
	rec_flush(x, dirfd, name);
	uint32_t ino = g->base.inode_number;
	if (inode_nlink(g) > 1)
		sq_map_put(&x->links, &ino, sizeof(ino), sb_strdup(x->path.buf));
	return 0;
}

/* ------------------------------------------------------------ directories */

static bool is_dir(const sqfs_inode_generic_t *g)
{
	return g->base.type == SQFS_INODE_DIR || g->base.type == SQFS_INODE_EXT_DIR;
}

static void free_entries(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].name);
		sqfs_free(e[i].inode);
	}
	free(e);
}

/* Reads the whole listing first: the one directory reader cannot be shared
 * with the recursion. */
static int read_listing(struct extract *x, const sqfs_inode_generic_t *dir, struct entry **out,
			size_t *count, sb_error_t *err)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	int ret = sqfs_dir_reader_open_dir(x->dr, dir, 0);
	while (ret == 0) {
		sqfs_dir_entry_t *de = NULL;
		ret = sqfs_dir_reader_read(x->dr, &de);
		if (ret != 0)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = sb_xrealloc(v, cap * sizeof(*v));
		}
		v[n].name = sb_strndup((const char *)de->name, (size_t)de->size + 1);
		v[n].inode = NULL;
		bool nul_inside = strlen(v[n].name) != (size_t)de->size + 1;
		sqfs_free(de);
		n++;
		if (nul_inside) {
			free_entries(v, n);
			return hostile(x, err, "a name contains a NUL byte");
		}
		ret = sqfs_dir_reader_get_inode(x->dr, &v[n - 1].inode);
	}
	if (ret < 0) {
		free_entries(v, n);
		return fail(x, ret, "reading directory", err);
	}
	*out = v;
	*count = n;
	return 0;
}

static int check_name(struct extract *x, const char *name, sb_error_t *err)
{
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strchr(name, '/') != NULL)
		return hostile(x, err, "bad entry name '%s'", name);
	return 0;
}

static int extract_dir(struct extract *x, int fd, const sqfs_inode_generic_t *dir, sb_error_t *err);

static int record_dir(struct extract *x, const sqfs_inode_generic_t *g, sb_error_t *err)
{
	uint32_t uid, gid;
	if (inode_owner(x, g, &uid, &gid, err) < 0)
		return -1;
	if (x->n_fix == x->cap_fix) {
		x->cap_fix = x->cap_fix ? 2 * x->cap_fix : 64;
		x->fix = sb_xrealloc(x->fix, x->cap_fix * sizeof(*x->fix));
	}
	x->fix[x->n_fix++] = (struct dirfix){sb_strdup(x->path.buf), g->base.mode & 07777, uid, gid,
					     g->base.mod_time};
	return 0;
}

static int extract_subdir(struct extract *x, int dirfd, const char *name,
			  const sqfs_inode_generic_t *g, sb_error_t *err)
{
	if (mkdirat(dirfd, name, 0700) != 0)
		return errno == EEXIST ? hostile(x, err, "the name appears twice")
				       : sb_error_set(err, errno, "creating %s", rel(x));
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "opening %s", rel(x));
	if (record_dir(x, g, err) < 0 || apply_xattrs(x, g, fd, err) < 0)
		return -1;
	return extract_dir(x, fd, g, err);
}

static int extract_entry(struct extract *x, int dirfd, const struct entry *e, sb_error_t *err)
{
	if (check_name(x, e->name, err) < 0)
		return -1;
	if (is_dir(e->inode))
		return extract_subdir(x, dirfd, e->name, e->inode, err);
	return extract_leaf(x, dirfd, e->name, e->inode, err);
}

static int extract_dir(struct extract *x, int fd, const sqfs_inode_generic_t *dir, sb_error_t *err)
{
	uint32_t ino = dir->base.inode_number;
	if (sq_map_get(&x->dirs, &ino, sizeof(ino)) != NULL)
		return hostile(x, err, "directory loop or hard-linked directory");
	sq_map_put(&x->dirs, &ino, sizeof(ino), x);
	if (++x->depth > EXTRACT_MAX_DEPTH)
		return hostile(x, err, "deeper than %d levels", EXTRACT_MAX_DEPTH);
	struct entry *v = NULL;
	size_t n = 0;
	if (read_listing(x, dir, &v, &n, err) < 0)
		return -1;
	size_t base = x->path.len;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (base > 0)
			sb_strbuf_addc(&x->path, '/');
		sb_strbuf_adds(&x->path, v[i].name);
		ret = extract_entry(x, fd, &v[i], err);
		if (ret == 0) {
			x->path.len = base;
			x->path.buf[base] = '\0';
		}
	}
	free_entries(v, n);
	x->depth--;
	return ret;
}

/* Children before parents: the reverse of the order directories were made. */
static int fix_dirs(struct extract *x, sb_error_t *err)
{
	for (size_t i = x->n_fix; i-- > 0;) {
		const struct dirfix *f = &x->fix[i];
		const char *name = *f->path ? f->path : "";
		x->path.len = 0;
		sb_strbuf_adds(&x->path, f->path);
		rec_reset(x);
		if (apply_owner(x, x->rootfd, name, f->uid, f->gid, err) < 0)
			return -1;
		/* with a map, as a user: kept owner-rwx (removable, writable) */
		mode_t m = x->owners && !x->privileged ? f->mode | 0700 : f->mode;
		int r = *name ? fchmodat(x->rootfd, name, m, 0) : fchmod(x->rootfd, m);
		if (r != 0)
			return sb_error_set(err, errno, "setting mode of %s", rel(x));
		check_mode(x, x->rootfd, name, S_IFDIR, f->mode);
		if (apply_time(x, x->rootfd, name, f->mtime, err) < 0)
			return -1;
		rec_flush(x, x->rootfd, name);
	}
	return 0;
}

/* ------------------------------------------------------------------- setup */

static int open_image(struct extract *x, int fd, uint64_t base, sb_error_t *err)
{
	x->file = sq_file_create(fd, base, false, x->eo->size, err);
	if (x->file == NULL)
		return -1;
	int ret = sqfs_super_read(&x->super, x->file);
	if (ret != 0)
		return sq_fail(err, ret, sq_file_last_errno(x->file), "reading SquashFS superblock",
			       NULL);
	sqfs_compressor_config_t cfg;
	ret = sqfs_compressor_config_init(&cfg, x->super.compression_id, x->super.block_size,
					  SQFS_COMP_FLAG_UNCOMPRESS);
	if (ret == 0)
		ret = sqfs_compressor_create(&cfg, &x->cmp);
	if (ret == 0 && (x->super.flags & SQFS_FLAG_COMPRESSOR_OPTIONS))
		ret = x->cmp->read_options(x->cmp, x->file);
	if (ret != 0)
		return sq_fail(err, ret, 0, "SquashFS compressor",
			       sqfs_compressor_name_from_id(x->super.compression_id));
	x->ids = sqfs_id_table_create(0);
	x->dr = sqfs_dir_reader_create(&x->super, x->cmp, x->file, 0);
	x->data = sqfs_data_reader_create(x->file, x->super.block_size, x->cmp, 0);
	if (x->ids == NULL || x->dr == NULL || x->data == NULL)
		return sb_error_set(err, ENOMEM, "reading SquashFS image");
	const char *what = "reading SquashFS ID table";
	ret = sqfs_id_table_read(x->ids, x->file, &x->super, x->cmp);
	if (ret == 0) {
		what = "reading SquashFS fragment table";
		ret = sqfs_data_reader_load_fragment_table(x->data, &x->super);
	}
	if (ret == 0 && !(x->super.flags & SQFS_FLAG_NO_XATTRS) &&
	    x->super.xattr_id_table_start != 0xFFFFFFFFFFFFFFFFull) {
		what = "reading SquashFS xattr table";
		x->xr = sqfs_xattr_reader_create(0);
		ret = x->xr ? sqfs_xattr_reader_load(x->xr, &x->super, x->file, x->cmp)
			    : SQFS_ERROR_ALLOC;
	}
	if (ret != 0)
		return sq_fail(err, ret, sq_file_last_errno(x->file), what, NULL);
	x->raw = sb_xmalloc(x->super.block_size);
	x->out = sb_xmalloc(x->super.block_size);
	return 0;
}

static int open_outdir(struct extract *x, sb_error_t *err)
{
	if (mkdir(x->outdir, 0700) != 0 && errno != EEXIST)
		return sb_error_set(err, errno, "creating %s", x->outdir);
	x->rootfd = open(x->outdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (x->rootfd < 0)
		return sb_error_set(err, errno, "opening %s", x->outdir);
	size_t count = 0;
	int fd = dup(x->rootfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return sb_error_set(err, errno, "reading %s", x->outdir);
	}
	for (struct dirent *de; (de = readdir(d)) != NULL;)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			count++;
	closedir(d);
	if (count != 0)
		return sb_error_set_status(err, 2, 0, "extracting into %s: not empty", x->outdir);
	return 0;
}

static int run(struct extract *x, int fd, uint64_t base, sb_error_t *err)
{
	if (open_image(x, fd, base, err) < 0 || open_outdir(x, err) < 0)
		return -1;
	sqfs_inode_generic_t *root = NULL;
	int ret = sqfs_dir_reader_get_root_inode(x->dr, &root);
	if (ret != 0)
		return fail(x, ret, "reading root inode", err);
	if (!is_dir(root))
		ret = hostile(x, err, "the root is not a directory");
	else if (record_dir(x, root, err) < 0 || apply_xattrs(x, root, x->rootfd, err) < 0 ||
		 extract_dir(x, x->rootfd, root, err) < 0)
		ret = -1;
	sqfs_free(root);
	if (ret < 0 || fix_dirs(x, err) < 0)
		return -1;
	if (x->foreign_owners)
		warn(x, "%zu entries owned by other users were extracted as the current user",
		     x->foreign_owners);
	if (x->xattr_failures > 1)
		warn(x, "%zu xattrs in all could not be set", x->xattr_failures);
	return 0;
}

int sif_sqfs_extract(int fd, uint64_t base_offset, const char *outdir,
		     const struct sif_sqfs_extract_options *eo, sb_error_t *err)
{
	static const struct sif_sqfs_extract_options none;
	struct extract x = {
		.eo = eo ? eo : &none,
		.outdir = outdir,
		.rootfd = -1,
		.path = SB_STRBUF_INIT,
		.privileged = geteuid() == 0 && !(eo && eo->unprivileged),
		.self_uid = (uint32_t)geteuid(),
		.self_gid = (uint32_t)getegid(),
		.owners = eo ? eo->owners : NULL,
	};
	sb_strbuf_adds(&x.path, "");
	int ret = run(&x, fd, base_offset, err);
	sq_map_clear(&x.links, free);
	sq_map_clear(&x.dirs, NULL);
	for (size_t i = 0; i < x.n_fix; i++)
		free(x.fix[i].path);
	free(x.fix);
	sb_strbuf_release(&x.path);
	if (x.rootfd >= 0)
		close(x.rootfd);
	free(x.raw);
	free(x.out);
	sqfs_destroy(x.xr);
	sqfs_destroy(x.data);
	sqfs_destroy(x.dr);
	sqfs_destroy(x.ids);
	sqfs_destroy(x.cmp);
	sqfs_destroy(x.file);
	return ret < 0 ? -1 : 0;
}
