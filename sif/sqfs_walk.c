/* sif/sqfs_walk.c: sif_sqfs_pack_dir, the directory producer of the SquashFS
 * writer. Walks with directory fds (openat/fstatat, never following symlinks),
 * in byte-wise sorted order, and streams each file into the writer as it goes:
 * there is no separate scan pass, so compression starts with the first file. */
#include "sif/sqfs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

#define WALK_MAX_DEPTH 1024

struct walk {
	struct sif_sqfs_writer *w;
	const struct sif_sqfs_options *o;
	struct sif_sqfs_walk_options wo;
	const char *root_path;
	struct sb_strbuf path; /* relative to the root, "" for the root */
	struct sq_map links;   /* (st_dev, st_ino) of multiply linked inodes -> node */
	dev_t root_dev;
	uint32_t self_uid, self_gid;
	bool privileged;
	size_t depth;
};

struct link_key {
	dev_t dev;
	ino_t ino;
};

/* ------------------------------------------------------------------ xattrs */

struct xattrs {
	struct sif_sqfs_xattr *v;
	size_t n;
	char *names;
	void **values;
};

static void xattrs_free(struct xattrs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->values[i]);
	free(x->values);
	free(x->v);
	free(x->names);
	memset(x, 0, sizeof(*x));
}

/* fd >= 0: reads through fd; otherwise through path without following it. */
static ssize_t list_names(int fd, const char *path, char **out)
{
	ssize_t len = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
	for (int tries = 0; len > 0 && tries < 8; tries++) {
		char *buf = sb_xmalloc((size_t)len);
		ssize_t got = fd >= 0 ? flistxattr(fd, buf, (size_t)len)
				      : llistxattr(path, buf, (size_t)len);
		if (got >= 0) {
			*out = buf;
			return got;
		}
		free(buf);
		if (errno != ERANGE)
			return -1;
		len = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
	}
	return len;
}

static void *get_value(int fd, const char *path, const char *name, size_t *size)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t len =
			fd >= 0 ? fgetxattr(fd, name, NULL, 0) : lgetxattr(path, name, NULL, 0);
		if (len < 0)
			return NULL;
		void *buf = sb_xmalloc(len ? (size_t)len : 1);
		ssize_t got = fd >= 0 ? fgetxattr(fd, name, buf, (size_t)len)
				      : lgetxattr(path, name, buf, (size_t)len);
		if (got >= 0) {
			*size = (size_t)got;
			return buf;
		}
		free(buf);
		if (errno != ERANGE)
			return NULL;
	}
	return NULL;
}

static void read_xattrs(struct walk *z, int fd, struct xattrs *x)
{
	memset(x, 0, sizeof(*x));
	cleanup_free char *full = NULL;
	if (fd < 0)
		full = z->path.len ? sb_asprintf("%s/%s", z->root_path, z->path.buf)
				   : sb_strdup(z->root_path);
	ssize_t len = list_names(fd, full, &x->names);
	if (len < 0 && errno != ENOTSUP && errno != ENODATA)
		sq_writer_warn(z->w, "%s: listing xattrs: %s", z->path.buf, strerror(errno));
	if (len <= 0)
		return;
	size_t count = 0;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(x->names + i) + 1)
		count++;
	x->v = sb_xcalloc(count, sizeof(*x->v));
	x->values = sb_xcalloc(count, sizeof(*x->values));
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(x->names + i) + 1) {
		const char *name = x->names + i;
		size_t size = 0;
		void *val = get_value(fd, full, name, &size);
		if (val == NULL) {
			if (errno != ENODATA)
				sq_writer_warn(z->w, "%s: xattr %s skipped: %s", z->path.buf, name,
					       strerror(errno));
			continue;
		}
		x->values[x->n] = val;
		x->v[x->n++] = (struct sif_sqfs_xattr){name, val, size};
	}
}

/* The entry's xattrs: the on-disk ones x plus those the owner hook put in
 * a->xattrs (a name the hook gives wins). A new array of borrowed entries. */
static struct sif_sqfs_xattr *with_hook_xattrs(const struct xattrs *x,
					       const struct sif_sqfs_attr *a, size_t *n)
{
	struct sif_sqfs_xattr *v = sb_xcalloc(x->n + a->n_xattrs + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < x->n; i++) {
		bool replaced = false;
		for (size_t j = 0; j < a->n_xattrs && !replaced; j++)
			replaced = strcmp(x->v[i].key, a->xattrs[j].key) == 0;
		if (!replaced)
			v[k++] = x->v[i];
	}
	for (size_t j = 0; j < a->n_xattrs; j++)
		v[k++] = a->xattrs[j];
	*n = k;
	return v;
}

/* ------------------------------------------------------------------ opening */

/* Opens name in dirfd. A non-root user who owns an entry he may not read
 * (mode 000 and the like) gets the bits in need added for the moment; the
 * caller puts st_mode back with fchmod on the fd (*changed tells). */
static int open_owned(struct walk *z, int dirfd, const char *name, const struct stat *st, int flags,
		      mode_t need, bool *changed)
{
	*changed = false;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES || z->privileged || st->st_uid != z->self_uid)
		return fd;
	if (fchmodat(dirfd, name, (st->st_mode & 07777) | need, AT_SYMLINK_NOFOLLOW) != 0) {
		errno = EACCES;
		return -1;
	}
	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		(void)fchmodat(dirfd, name, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW);
		errno = e;
		return -1;
	}
	*changed = true;
	return fd;
}

static int restore_mode(struct walk *z, int fd, const struct stat *st, sb_error_t *err)
{
	if (fchmod(fd, st->st_mode & 07777) != 0)
		return sb_error_set(err, errno, "restoring the mode of %s", z->path.buf);
	return 0;
}

/* --------------------------------------------------------------- entries */

static int walk_dir(struct walk *z, int dirfd, struct sq_node *dir, sb_error_t *err);

static struct sq_node *visit_dir(struct walk *z, int dirfd, struct sq_node *parent,
				 const char *name, const struct stat *st,
				 const struct sif_sqfs_attr *a, sb_error_t *err)
{
	bool changed = false;
	cleanup_close int fd = -1;
	bool descend = !(z->wo.one_file_system && st->st_dev != z->root_dev);
	if (descend) {
		fd = open_owned(z, dirfd, name, st, O_RDONLY | O_DIRECTORY, S_IRUSR | S_IXUSR,
				&changed);
		if (fd < 0)
			return sb_error_set(err, errno, "opening directory %s", z->path.buf), NULL;
	}
	struct xattrs x;
	read_xattrs(z, fd, &x);
	struct sif_sqfs_attr xa = *a;
	cleanup_free struct sif_sqfs_xattr *xv = with_hook_xattrs(&x, a, &xa.n_xattrs);
	xa.xattrs = xv;
	struct sq_node *n = sq_add_dir(z->w, parent, name, &xa, z->path.buf, err);
	xattrs_free(&x);
	if (n != NULL && descend && walk_dir(z, fd, n, err) < 0)
		n = NULL;
	if (descend && changed && restore_mode(z, fd, st, n ? err : NULL) < 0)
		n = NULL;
	return n;
}

static struct sq_node *visit_file(struct walk *z, int dirfd, struct sq_node *parent,
				  const char *name, const struct stat *st,
				  const struct sif_sqfs_attr *a, sb_error_t *err)
{
	bool changed;
	cleanup_close int fd = open_owned(z, dirfd, name, st, O_RDONLY, S_IRUSR, &changed);
	if (fd < 0)
		return sb_error_set(err, errno, "opening %s", z->path.buf), NULL;
	struct xattrs x;
	read_xattrs(z, fd, &x);
	if (changed && restore_mode(z, fd, st, err) < 0) {
		xattrs_free(&x);
		return NULL;
	}
	if (st->st_size > (off_t)(1 << 20))
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct sif_sqfs_attr xa = *a;
	cleanup_free struct sif_sqfs_xattr *xv = with_hook_xattrs(&x, a, &xa.n_xattrs);
	xa.xattrs = xv;
	/* Holes are looked for only where the blocks allocated cannot hold the
	 * size (saves two lseek calls per file). */
	bool holes = (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size;
	struct sq_node *n = sq_add_file_fd(z->w, parent, name, &xa, fd, (uint64_t)st->st_size,
					   holes, z->path.buf, err);
	xattrs_free(&x);
	return n;
}

static struct sq_node *visit_other(struct walk *z, int dirfd, struct sq_node *parent,
				   const char *name, const struct stat *st,
				   const struct sif_sqfs_attr *a, sb_error_t *err)
{
	struct xattrs x;
	read_xattrs(z, -1, &x);
	struct sif_sqfs_attr xa = *a;
	cleanup_free struct sif_sqfs_xattr *xv = with_hook_xattrs(&x, a, &xa.n_xattrs);
	xa.xattrs = xv;
	struct sq_node *n = NULL;
	if (S_ISLNK(st->st_mode)) {
		size_t cap = (size_t)st->st_size + 2;
		cleanup_free char *target = sb_xmalloc(cap);
		ssize_t len = readlinkat(dirfd, name, target, cap);
		if (len < 0 || (size_t)len >= cap)
			sb_error_set(err, len < 0 ? errno : 0, "reading symlink %s%s", z->path.buf,
				     len < 0 ? "" : ": changed while being packed");
		else {
			target[len] = '\0';
			n = sq_add_symlink(z->w, parent, name, &xa, target, z->path.buf, err);
		}
	} else {
		n = sq_add_node(z->w, parent, name, &xa, z->path.buf, err);
	}
	xattrs_free(&x);
	return n;
}

/* Builds the image attributes of an entry: lstat, the owner mapping, the hook. */
static int entry_attrs(struct walk *z, int dirfd, const char *name, const struct stat *st,
		       struct sif_sqfs_attr *a, sb_error_t *err)
{
	memset(a, 0, sizeof(*a));
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->mtime = st->st_mtim.tv_sec;
	a->rdev = st->st_rdev;
	sif_sqfs_map_owner(z->o, z->self_uid, z->self_gid, &a->uid, &a->gid);
	if (z->wo.owner_hook != NULL &&
	    z->wo.owner_hook(z->wo.owner_ctx, dirfd, name, z->path.buf, st, a, err) < 0)
		return sb_error_wrap(err, "%s", z->path.len ? z->path.buf : "/");
	uint32_t was = st->st_mode & S_IFMT, now = a->mode & S_IFMT;
	if (now != was && !(was == S_IFREG && (now == S_IFCHR || now == S_IFBLK)))
		return sb_error_set_status(err, 2, 0, "%s: the ownership map turns type %o into %o",
					   z->path.buf, was, now);
	return 0;
}

static struct sq_node *add_entry(struct walk *z, int dirfd, struct sq_node *parent,
				 const char *name, const struct stat *st,
				 const struct sif_sqfs_attr *a, sb_error_t *err)
{
	if (S_ISDIR(a->mode))
		return visit_dir(z, dirfd, parent, name, st, a, err);
	if (z->wo.one_file_system && st->st_dev != z->root_dev) {
		sq_writer_warn(z->w, "%s: on another filesystem, skipped", z->path.buf);
		return parent;
	}
	if (S_ISREG(a->mode))
		return visit_file(z, dirfd, parent, name, st, a, err);
	return visit_other(z, dirfd, parent, name, st, a, err);
}

static int visit(struct walk *z, int dirfd, struct sq_node *dir, const char *name, sb_error_t *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			return sb_error_set(err, errno, "stat %s", z->path.buf);
		sq_writer_warn(z->w, "%s: vanished while being packed", z->path.buf);
		return 0;
	}
	struct link_key key = {st.st_dev, st.st_ino};
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct sq_node *first = sq_map_get(&z->links, &key, sizeof(key));
		if (first != NULL)
			return sq_add_hardlink(z->w, dir, name, first, z->path.buf, err) ? 0 : -1;
	}
	struct sif_sqfs_attr a;
	if (entry_attrs(z, dirfd, name, &st, &a, err) < 0)
		return -1;
	struct sq_node *n = add_entry(z, dirfd, dir, name, &st, &a, err);
	if (n == NULL)
		return -1;
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && n != dir)
		sq_map_put(&z->links, &key, sizeof(key), n);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the names of dirfd (without "." and ".."), sorted byte-wise. */
static char **read_names(int dirfd, size_t *count)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = sb_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = sb_strdup(de->d_name);
	}
	int e = errno;
	closedir(d);
	if (e != 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		errno = e;
		return NULL;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	*count = n;
	return names ? names : sb_xcalloc(1, sizeof(*names));
}

static int walk_dir(struct walk *z, int dirfd, struct sq_node *dir, sb_error_t *err)
{
	if (++z->depth > WALK_MAX_DEPTH)
		return sb_error_set_status(err, 2, 0, "%s: deeper than %d levels", z->path.buf,
					   WALK_MAX_DEPTH);
	size_t count = 0;
	char **names = read_names(dirfd, &count);
	if (names == NULL)
		return sb_error_set(err, errno, "reading directory %s",
				    z->path.len ? z->path.buf : z->root_path);
	size_t base = z->path.len;
	int ret = 0;
	for (size_t i = 0; i < count; i++) {
		if (ret == 0) {
			if (base > 0)
				sb_strbuf_addc(&z->path, '/');
			sb_strbuf_adds(&z->path, names[i]);
			ret = visit(z, dirfd, dir, names[i], err);
			z->path.len = base;
			z->path.buf[base] = '\0';
		}
		free(names[i]);
	}
	free(names);
	z->depth--;
	return ret;
}

static int walk_root(struct walk *z, sb_error_t *err)
{
	cleanup_close int fd = open(z->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return sb_error_set(err, errno, "opening directory %s", z->root_path);
	z->root_dev = st.st_dev;
	struct sif_sqfs_attr a;
	if (entry_attrs(z, fd, ".", &st, &a, err) < 0)
		return -1;
	struct xattrs x;
	read_xattrs(z, fd, &x);
	cleanup_free struct sif_sqfs_xattr *xv = with_hook_xattrs(&x, &a, &a.n_xattrs);
	a.xattrs = xv;
	struct sq_node *root = sq_add_dir(z->w, NULL, "", &a, "/", err);
	xattrs_free(&x);
	if (root == NULL)
		return -1;
	return walk_dir(z, fd, root, err);
}

int sif_sqfs_pack_dir(struct sif_sqfs_writer *w, const char *dir,
		      const struct sif_sqfs_walk_options *wo, sb_error_t *err)
{
	struct walk z = {
		.w = w,
		.o = sq_writer_options(w),
		.root_path = dir,
		.path = SB_STRBUF_INIT,
		.self_uid = (uint32_t)geteuid(),
		.self_gid = (uint32_t)getegid(),
		.privileged = geteuid() == 0,
	};
	if (wo != NULL)
		z.wo = *wo;
	sb_strbuf_adds(&z.path, "");
	int ret = walk_root(&z, err);
	sb_strbuf_release(&z.path);
	sq_map_clear(&z.links, NULL);
	if (ret < 0)
		return sb_error_wrap(err, "packing %s", dir);
	return 0;
}
