/* sif/sqfs_writer.c: the streaming SquashFS writer (sif/sqfs.h): the
 * in-memory tree of entries and its path interface, opening (compressors,
 * superblock, block pipeline) and finish. File data is in sqfs_data.c and
 * sqfs_frag.c, inode and directory serialization in sqfs_serialize.c. */
#include "sif/sqfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_writer.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

#define MAX_DEPTH 2048     /* path components: bounds recursion in finish */
#define MAX_NAME 255       /* bytes of one component */
#define MAX_TARGET 4095    /* bytes of a symlink target */
#define BACKLOG_PER_JOB 64 /* blocks in flight per compression thread */

/* ----------------------------------------------------------------- helpers */

struct sq_node *sq_writer_root(struct sif_sqfs_writer *w)
{
	return w->root;
}

const struct sif_sqfs_options *sq_writer_options(const struct sif_sqfs_writer *w)
{
	return &w->o;
}

void sq_writer_warn(struct sif_sqfs_writer *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vwarnf(w->o.warn, w->o.warn_ctx, fmt, ap);
	va_end(ap);
}

static uint32_t clamp_mtime(struct sif_sqfs_writer *w, int64_t t, const char *path)
{
	if (t < 0) {
		sq_writer_warn(w, "%s: time %lld before 1970 stored as 0", path, (long long)t);
		t = 0;
	} else if (t > (int64_t)UINT32_MAX) {
		sq_writer_warn(w, "%s: time %lld after 2106 stored as %lu", path, (long long)t,
			       (unsigned long)UINT32_MAX);
		t = UINT32_MAX;
	}
	if (w->o.deterministic && t > w->o.epoch)
		t = w->o.epoch;
	return (uint32_t)t;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sq_kv *)a)->key, ((const struct sq_kv *)b)->key);
}

static void free_xattrs(struct sq_inode *ino)
{
	for (size_t i = 0; i < ino->n_xattrs; i++) {
		free(ino->xattrs[i].key);
		free(ino->xattrs[i].value);
	}
	free(ino->xattrs);
	ino->xattrs = NULL;
	ino->n_xattrs = 0;
}

/* Copies the storable xattrs of a, sorted by key (the on-disk order must not
 * depend on the order a producer listed them in). A repeated key keeps the
 * last value. */
static void set_xattrs(struct sif_sqfs_writer *w, struct sq_inode *ino,
		       const struct sif_sqfs_attr *a, const char *path)
{
	free_xattrs(ino);
	if (a->n_xattrs == 0)
		return;
	ino->xattrs = sb_xcalloc(a->n_xattrs, sizeof(*ino->xattrs));
	for (size_t i = 0; i < a->n_xattrs; i++) {
		const struct sif_sqfs_xattr *x = &a->xattrs[i];
		if (sqfs_get_xattr_prefix_id(x->key) < 0) {
			sq_writer_warn(w,
				       "%s: xattr %s skipped (SquashFS keeps only user., "
				       "trusted. and security. xattrs)",
				       path, x->key);
			continue;
		}
		struct sq_kv *kv = &ino->xattrs[ino->n_xattrs++];
		kv->key = sb_strdup(x->key);
		kv->size = x->size;
		kv->value = sb_xmalloc(x->size ? x->size : 1);
		if (x->size > 0)
			memcpy(kv->value, x->value, x->size);
	}
	qsort(ino->xattrs, ino->n_xattrs, sizeof(*ino->xattrs), kv_cmp);
	size_t out = 0;
	for (size_t i = 0; i < ino->n_xattrs; i++) {
		if (out > 0 && strcmp(ino->xattrs[out - 1].key, ino->xattrs[i].key) == 0) {
			free(ino->xattrs[out - 1].key);
			free(ino->xattrs[out - 1].value);
			out--;
		}
		ino->xattrs[out++] = ino->xattrs[i];
	}
	ino->n_xattrs = out;
}

void sq_set_attrs(struct sif_sqfs_writer *w, struct sq_inode *ino, uint32_t type,
		  const struct sif_sqfs_attr *a, const char *path)
{
	ino->mode = type | (a->mode & 07777);
	ino->uid = a->uid;
	ino->gid = a->gid;
	ino->mtime = clamp_mtime(w, a->mtime, path);
	set_xattrs(w, ino, a, path);
}

struct sq_inode *sq_new_inode(struct sif_sqfs_writer *w)
{
	if (w->n_inodes == w->cap_inodes) {
		w->cap_inodes = w->cap_inodes ? 2 * w->cap_inodes : 1024;
		w->inodes = sb_xrealloc(w->inodes, w->cap_inodes * sizeof(*w->inodes));
	}
	struct sq_inode *ino = sb_xcalloc(1, sizeof(*ino));
	w->inodes[w->n_inodes++] = ino;
	return ino;
}

static size_t make_key(unsigned char *key, const struct sq_node *parent, const char *name,
		       size_t len)
{
	memcpy(key, &parent, sizeof(parent));
	memcpy(key + sizeof(parent), name, len);
	return sizeof(parent) + len;
}

static struct sq_node *lookup(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name)
{
	unsigned char key[sizeof(parent) + MAX_NAME + 1];
	size_t len = strlen(name);
	if (len > MAX_NAME)
		return NULL;
	return sq_map_get(&w->names, key, make_key(key, parent, name, len));
}

struct sq_node *sq_link_node(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			     struct sq_inode *ino)
{
	size_t len = strlen(name);
	struct sq_node *n = sb_xcalloc(1, sizeof(*n) + len + 1);
	memcpy(n->name, name, len);
	n->name_len = len;
	n->parent = parent;
	n->inode = ino;
	ino->nlink++;
	if (parent->n_kids == parent->cap_kids) {
		parent->cap_kids = parent->cap_kids ? 2 * parent->cap_kids : 4;
		parent->kids = sb_xrealloc(parent->kids, parent->cap_kids * sizeof(*parent->kids));
	}
	parent->kids[parent->n_kids++] = n;
	if (S_ISDIR(ino->mode))
		parent->n_subdirs++;
	unsigned char key[sizeof(parent) + MAX_NAME + 1];
	sq_map_put(&w->names, key, make_key(key, parent, name, len), n);
	return n;
}

static int check_name(struct sif_sqfs_writer *w, const char *name, const char *path,
		      sb_error_t *err)
{
	size_t len = strlen(name);
	if (len == 0 || len > MAX_NAME || strchr(name, '/') != NULL)
		return sb_error_set_status(err, 2, 0, "adding %s: bad name '%s'", path, name);
	if (!w->o.unsafe_names && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
		return sb_error_set_status(err, 2, 0, "adding %s: '%s' component", path, name);
	return 0;
}

/* Checks that name may be added to parent; returns 0 or -1 with *err. */
int sq_may_add(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
	       const char *path, sb_error_t *err)
{
	if (w->finished)
		return sb_error_set(err, 0, "adding %s: image already finished", path);
	if (check_name(w, name, path, err) < 0)
		return -1;
	if (!S_ISDIR(parent->inode->mode))
		return sb_error_set(err, ENOTDIR, "adding %s", path);
	if (!w->o.unsafe_names && lookup(w, parent, name) != NULL)
		return sb_error_set(err, EEXIST, "adding %s", path);
	return 0;
}

/* --------------------------------------------------------- node-level adds */

struct sq_node *sq_add_dir(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			   const struct sif_sqfs_attr *a, const char *path, sb_error_t *err)
{
	struct sq_node *n = parent == NULL ? w->root : lookup(w, parent, name);
	if (n != NULL && S_ISDIR(n->inode->mode) && !w->o.unsafe_names) {
		sq_set_attrs(w, n->inode, S_IFDIR, a, path);
		n->implicit = false;
		return n;
	}
	if (sq_may_add(w, parent, name, path, err) < 0)
		return NULL;
	struct sq_inode *ino = sq_new_inode(w);
	sq_set_attrs(w, ino, S_IFDIR, a, path);
	return sq_link_node(w, parent, name, ino);
}

struct sq_node *sq_add_symlink(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, const char *target, const char *path,
			       sb_error_t *err)
{
	size_t len = strlen(target);
	if (len == 0 || len > MAX_TARGET)
		return sb_error_set_status(err, 2, 0, "adding %s: symlink target of %zu bytes",
					   path, len),
		       NULL;
	if (sq_may_add(w, parent, name, path, err) < 0)
		return NULL;
	struct sq_inode *ino = sq_new_inode(w);
	struct sif_sqfs_attr la = *a;
	la.mode = 0777; /* what Linux reports for every symlink */
	sq_set_attrs(w, ino, S_IFLNK, &la, path);
	ino->target = sb_strdup(target);
	return sq_link_node(w, parent, name, ino);
}

static int encode_devno(dev_t rdev, uint32_t *out)
{
	unsigned long maj = major(rdev), min = minor(rdev);
	if (maj > 0xfff || min > 0xfffff)
		return -1;
	*out = (uint32_t)((min & 0xff) | (maj << 8) | ((min & ~0xfful) << 12));
	return 0;
}

struct sq_node *sq_add_node(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			    const struct sif_sqfs_attr *a, const char *path, sb_error_t *err)
{
	uint32_t type = a->mode & S_IFMT, devno = 0;
	if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
		return sb_error_set_status(err, 2, 0,
					   "adding %s: mode %o is not a device, "
					   "fifo or socket",
					   path, (unsigned)a->mode),
		       NULL;
	if ((type == S_IFCHR || type == S_IFBLK) && encode_devno(a->rdev, &devno) < 0)
		return sb_error_set_status(err, 2, 0,
					   "adding %s: device %u:%u cannot be stored "
					   "(major < 4096, minor < 1048576)",
					   path, major(a->rdev), minor(a->rdev)),
		       NULL;
	if (sq_may_add(w, parent, name, path, err) < 0)
		return NULL;
	struct sq_inode *ino = sq_new_inode(w);
	sq_set_attrs(w, ino, type, a, path);
	ino->devno = devno;
	return sq_link_node(w, parent, name, ino);
}

struct sq_node *sq_add_hardlink(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
				struct sq_node *target, const char *path, sb_error_t *err)
{
	if (S_ISDIR(target->inode->mode))
		return sb_error_set(err, EPERM, "adding %s: hard link to a directory", path), NULL;
	if (sq_may_add(w, parent, name, path, err) < 0)
		return NULL;
	return sq_link_node(w, parent, name, target->inode);
}

/* ------------------------------------------------------- path-level adds */

/* Where a path goes: its parent directory node and last name. */
struct target {
	struct sq_node *parent;
	char name[MAX_NAME + 1];
};

/* Splits path into the parent directory node (created implicitly when create
 * is set) and the last name. Returns 1 for the root, 0 for another path, -1
 * with *err. */
static int resolve(struct sif_sqfs_writer *w, const char *path, bool create, struct target *t,
		   sb_error_t *err)
{
	struct sq_node *dir = w->root;
	const char *p = path;
	size_t depth = 0;
	while (*p == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
		p++;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len > MAX_NAME)
			return sb_error_set_status(err, 2, 0, "%s: a name is longer than %d bytes",
						   path, MAX_NAME);
		if (++depth > MAX_DEPTH)
			return sb_error_set_status(err, 2, 0, "%s: deeper than %d levels", path,
						   MAX_DEPTH);
		memcpy(t->name, p, len);
		t->name[len] = '\0';
		const char *rest = end;
		while (*rest == '/')
			rest++;
		if (*rest == '\0') {
			t->parent = dir;
			return 0;
		}
		if (check_name(w, t->name, path, err) < 0)
			return -1;
		struct sq_node *next = lookup(w, dir, t->name);
		if (next == NULL) {
			if (!create)
				return sb_error_set(err, ENOENT, "%s", path);
			struct sq_inode *ino = sq_new_inode(w);
			ino->mode = S_IFDIR | 0755;
			ino->mtime = w->default_mtime;
			next = sq_link_node(w, dir, t->name, ino);
			next->implicit = true;
		} else if (!S_ISDIR(next->inode->mode)) {
			return sb_error_set(err, ENOTDIR, "adding %s", path);
		}
		dir = next;
		p = rest;
	}
	t->parent = NULL;
	return 1;
}

int sif_sqfs_writer_add_dir(struct sif_sqfs_writer *w, const char *path,
			    const struct sif_sqfs_attr *a, sb_error_t *err)
{
	struct target t;
	if (resolve(w, path, true, &t, err) < 0)
		return -1;
	return sq_add_dir(w, t.parent, t.name, a, path, err) ? 0 : -1;
}

/* resolve() for a path that must not be the root. */
static int resolve_entry(struct sif_sqfs_writer *w, const char *path, struct target *t,
			 sb_error_t *err)
{
	int kind = resolve(w, path, true, t, err);
	if (kind == 1)
		return sb_error_set_status(err, 2, 0, "adding '%s': the root must be a directory",
					   path);
	return kind;
}

int sif_sqfs_writer_add_file(struct sif_sqfs_writer *w, const char *path,
			     const struct sif_sqfs_attr *a, sif_sqfs_read_fn read, void *ctx,
			     sb_error_t *err)
{
	struct target t;
	if (resolve_entry(w, path, &t, err) < 0)
		return -1;
	return sq_add_file_cb(w, t.parent, t.name, a, read, ctx, path, err) ? 0 : -1;
}

int sif_sqfs_writer_add_file_fd(struct sif_sqfs_writer *w, const char *path,
				const struct sif_sqfs_attr *a, int fd, uint64_t size,
				sb_error_t *err)
{
	struct target t;
	if (resolve_entry(w, path, &t, err) < 0)
		return -1;
	return sq_add_file_fd(w, t.parent, t.name, a, fd, size, true, path, err) ? 0 : -1;
}

int sif_sqfs_writer_add_symlink(struct sif_sqfs_writer *w, const char *path,
				const struct sif_sqfs_attr *a, const char *target, sb_error_t *err)
{
	struct target t;
	if (resolve_entry(w, path, &t, err) < 0)
		return -1;
	return sq_add_symlink(w, t.parent, t.name, a, target, path, err) ? 0 : -1;
}

int sif_sqfs_writer_add_node(struct sif_sqfs_writer *w, const char *path,
			     const struct sif_sqfs_attr *a, sb_error_t *err)
{
	struct target t;
	if (resolve_entry(w, path, &t, err) < 0)
		return -1;
	return sq_add_node(w, t.parent, t.name, a, path, err) ? 0 : -1;
}

static struct sq_node *find(struct sif_sqfs_writer *w, const char *path, sb_error_t *err)
{
	struct target t;
	int kind = resolve(w, path, false, &t, err);
	if (kind < 0)
		return NULL;
	if (kind == 1)
		return w->root;
	struct sq_node *n = lookup(w, t.parent, t.name);
	if (n == NULL)
		sb_error_set(err, ENOENT, "%s", path);
	return n;
}

int sif_sqfs_writer_add_hardlink(struct sif_sqfs_writer *w, const char *path, const char *target,
				 sb_error_t *err)
{
	struct sq_node *t = find(w, target, err);
	if (t == NULL)
		return sb_error_wrap(err, "adding hard link %s", path);
	struct target at;
	if (resolve_entry(w, path, &at, err) < 0)
		return -1;
	return sq_add_hardlink(w, at.parent, at.name, t, path, err) ? 0 : -1;
}

bool sif_sqfs_writer_exists(struct sif_sqfs_writer *w, const char *path)
{
	return find(w, path, NULL) != NULL;
}

/* Unlinks n and everything below it. */
static void drop_node(struct sif_sqfs_writer *w, struct sq_node *n)
{
	for (size_t i = 0; i < n->n_kids; i++)
		drop_node(w, n->kids[i]);
	free(n->kids);
	if (n->parent != NULL) {
		unsigned char key[sizeof(n) + MAX_NAME + 1];
		size_t klen = make_key(key, n->parent, n->name, n->name_len);
		if (sq_map_get(&w->names, key, klen) == n)
			sq_map_del(&w->names, key, klen);
	}
	n->inode->nlink--;
	free(n);
}

int sif_sqfs_writer_remove(struct sif_sqfs_writer *w, const char *path, sb_error_t *err)
{
	struct sq_node *n = find(w, path, err);
	if (n == NULL)
		return sb_error_wrap(err, "removing");
	if (n == w->root)
		return sb_error_set_status(err, 2, 0, "removing '%s': the root cannot be removed",
					   path);
	struct sq_node *p = n->parent;
	for (size_t i = 0; i < p->n_kids; i++) {
		if (p->kids[i] != n)
			continue;
		memmove(&p->kids[i], &p->kids[i + 1], (p->n_kids - i - 1) * sizeof(*p->kids));
		p->n_kids--;
		break;
	}
	if (S_ISDIR(n->inode->mode))
		p->n_subdirs--;
	drop_node(w, n);
	return 0;
}

/* ------------------------------------------------------------ open, finish */

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

static int check_options(const struct sif_sqfs_options *o, sb_error_t *err)
{
	uint32_t bs = o->block_size;
	if (bs < SQFS_MIN_BLOCK_SIZE || bs > SQFS_MAX_BLOCK_SIZE || (bs & (bs - 1)) != 0)
		return sb_error_set_status(err, 2, 0,
					   "block size %u: not a power of two "
					   "between 4 KiB and 1 MiB",
					   bs);
	if (o->deterministic && (o->epoch < 0 || o->epoch > (int64_t)UINT32_MAX))
		return sb_error_set_status(err, 2, 0, "epoch %lld: outside 0..4294967295",
					   (long long)o->epoch);
	if (o->jobs > 1024)
		return sb_error_set_status(err, 2, 0, "%u jobs: too many", o->jobs);
	return 0;
}

static const char *comp_name(enum sif_sqfs_compressor c)
{
	const char *n = sqfs_compressor_name_from_id((SQFS_COMPRESSOR)c);
	return n ? n : "unknown";
}

static int make_compressors(struct sif_sqfs_writer *w, sb_error_t *err)
{
	sqfs_compressor_config_t cfg;
	int ret = sqfs_compressor_config_init(&cfg, (SQFS_COMPRESSOR)w->o.compressor,
					      w->o.block_size, 0);
	if (ret == 0 && w->o.level != 0)
		cfg.level = (sqfs_u32)w->o.level;
	if (ret == 0)
		ret = sqfs_compressor_create(&cfg, &w->cmp);
	if (ret == SQFS_ERROR_UNSUPPORTED)
		return sb_error_set_status(err, 2, 0,
					   "compression %s: not supported by this "
					   "libsquashfs",
					   comp_name(w->o.compressor));
	if (ret != 0)
		return sq_fail(err, ret, 0, "creating compressor", comp_name(w->o.compressor));
	sqfs_compressor_t *guarded = sq_guard_compressor(w->cmp);
	if (guarded == NULL)
		return sb_error_set(err, ENOMEM, "creating compressor");
	w->cmp = guarded;
	cfg.flags |= SQFS_COMP_FLAG_UNCOMPRESS;
	ret = sqfs_compressor_create(&cfg, &w->uncmp);
	if (ret != 0)
		return sq_fail(err, ret, 0, "creating decompressor", comp_name(w->o.compressor));
	return 0;
}

static int start_image(struct sif_sqfs_writer *w, sb_error_t *err)
{
	uint32_t mtime = w->default_mtime;
	int ret = sqfs_super_init(&w->super, w->o.block_size, mtime,
				  (SQFS_COMPRESSOR)w->o.compressor);
	if (ret == 0)
		ret = sqfs_super_write(&w->super, w->file);
	if (ret != 0)
		return sq_fail(err, ret, sq_file_last_errno(w->file), "writing superblock", NULL);
	ret = w->cmp->write_options(w->cmp, w->file);
	if (ret < 0)
		return sq_fail(err, ret, sq_file_last_errno(w->file), "writing compressor options",
			       NULL);
	if (ret > 0)
		w->super.flags |= SQFS_FLAG_COMPRESSOR_OPTIONS;
	return 0;
}

static int make_pipeline(struct sif_sqfs_writer *w, sb_error_t *err)
{
	w->frags = sq_frags_create(w->file, w->uncmp, w->o.block_size);
	sqfs_block_writer_t *inner = sqfs_block_writer_create(w->file, SIF_SQFS_IMAGE_ALIGN, 0);
	w->blkwr = inner && w->frags ? sq_frags_writer(w->frags, inner) : NULL;
	if (w->blkwr == NULL) {
		sqfs_destroy(inner);
		return sb_error_set(err, ENOMEM, "creating SquashFS block writer");
	}
	unsigned jobs = w->o.jobs ? w->o.jobs : online_cpus();
	sqfs_block_processor_desc_t d;
	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.max_block_size = w->o.block_size;
	d.num_workers = jobs;
	d.max_backlog = BACKLOG_PER_JOB * jobs;
	d.cmp = w->cmp;
	d.wr = w->blkwr;
	/* No fragment table: the processor never sees a file tail (small files
	 * go to sqfs_frag.c, bigger ones end with a short block). */
	int ret = sqfs_block_processor_create_ex(&d, &w->proc);
	if (ret != 0)
		return sq_fail(err, ret, 0, "starting compression threads", NULL);
	sq_frags_set_processor(w->frags, w->proc);
	return 0;
}

struct sif_sqfs_writer *sif_sqfs_writer_open(int fd, uint64_t base_offset,
					     const struct sif_sqfs_options *o, sb_error_t *err)
{
	if (check_options(o, err) < 0)
		return NULL;
	struct sif_sqfs_writer *w = sb_xcalloc(1, sizeof(*w));
	w->o = *o;
	w->default_mtime = o->deterministic ? (uint32_t)o->epoch : (uint32_t)time(NULL);
	w->buf_len = o->block_size;
	w->buf = sb_xmalloc(w->buf_len);
	w->file = sq_file_create(fd, base_offset, true, 0, err);
	if (w->file == NULL || make_compressors(w, err) < 0 || start_image(w, err) < 0 ||
	    make_pipeline(w, err) < 0) {
		sif_sqfs_writer_free(w);
		return NULL;
	}
	struct sq_inode *ino = sq_new_inode(w);
	ino->mode = S_IFDIR | 0755;
	ino->mtime = w->default_mtime;
	ino->nlink = 1;
	w->root = sb_xcalloc(1, sizeof(*w->root) + 1);
	w->root->inode = ino;
	w->root->implicit = true;
	return w;
}

static int pad_image(struct sif_sqfs_writer *w, uint64_t *size, sb_error_t *err)
{
	static const unsigned char zeros[SIF_SQFS_IMAGE_ALIGN];
	uint64_t used = w->file->get_size(w->file);
	uint64_t rem = used % SIF_SQFS_IMAGE_ALIGN;
	if (rem != 0) {
		int ret = w->file->write_at(w->file, used, zeros, SIF_SQFS_IMAGE_ALIGN - rem);
		if (ret != 0)
			return sq_fail(err, ret, sq_file_last_errno(w->file), "padding image",
				       NULL);
	}
	uint64_t total = w->file->get_size(w->file);
	if (size != NULL)
		*size = total;
	return 0;
}

static int write_tables(struct sif_sqfs_writer *w, sqfs_xattr_writer_t *xwr, sqfs_id_table_t *ids,
			sb_error_t *err)
{
	struct sq_serial s = {w->file, &w->super, w->cmp, w->root};
	if (sq_serialize_tree(&s, xwr, ids, err) < 0)
		return -1;
	int ioe = 0,
	    ret = sqfs_frag_table_write(sq_frags_table(w->frags), w->file, &w->super, w->cmp);
	const char *what = "writing fragment table";
	w->super.flags &= (sqfs_u16)~SQFS_FLAG_ALWAYS_FRAGMENTS;
	if (ret == 0) {
		what = "writing ID table";
		ret = sqfs_id_table_write(ids, w->file, &w->super, w->cmp);
	}
	if (ret == 0) {
		what = "writing xattr table";
		ret = sqfs_xattr_writer_flush(xwr, w->file, &w->super, w->cmp);
	}
	if (ret == 0) {
		what = "writing superblock";
		w->super.bytes_used = w->file->get_size(w->file);
		ret = sqfs_super_write(&w->super, w->file);
	}
	ioe = sq_file_last_errno(w->file);
	return ret ? sq_fail(err, ret, ioe, what, NULL) : 0;
}

int sif_sqfs_writer_finish(struct sif_sqfs_writer *w, uint64_t *size, sb_error_t *err)
{
	if (w->broken || w->finished)
		return sb_error_set(err, 0, "finishing SquashFS image: %s",
				    w->broken ? "an earlier error broke the image"
					      : "already finished");
	w->finished = true;
	int ret = sq_frags_flush(w->frags);
	if (ret == 0)
		ret = sqfs_block_processor_finish(w->proc);
	if (ret != 0)
		return sq_fail(err, ret, sq_file_last_errno(w->file), "writing file data", NULL);
	sqfs_xattr_writer_t *xwr = sqfs_xattr_writer_create(0);
	sqfs_id_table_t *ids = sqfs_id_table_create(0);
	if (xwr == NULL || ids == NULL)
		ret = sb_error_set(err, ENOMEM, "finishing SquashFS image");
	else
		ret = write_tables(w, xwr, ids, err);
	sqfs_destroy(xwr);
	sqfs_destroy(ids);
	if (ret < 0 || pad_image(w, size, err) < 0)
		return -1;
	if (sq_file_set_length(w->file) != 0)
		return sb_error_set(err, errno, "setting the length of the SquashFS image file");
	return 0;
}

static void free_tree(struct sq_node *n)
{
	for (size_t i = 0; i < n->n_kids; i++)
		free_tree(n->kids[i]);
	free(n->kids);
	free(n);
}

void sif_sqfs_writer_free(struct sif_sqfs_writer *w)
{
	if (w == NULL)
		return;
	/* The processor first: it stops the threads that may still touch inodes. */
	sqfs_destroy(w->proc);
	sqfs_destroy(w->blkwr);
	sq_frags_free(w->frags);
	sqfs_destroy(w->cmp);
	sqfs_destroy(w->uncmp);
	sqfs_destroy(w->file);
	if (w->root != NULL)
		free_tree(w->root);
	for (size_t i = 0; i < w->n_inodes; i++) {
		free(w->inodes[i]->file);
		free(w->inodes[i]->target);
		free_xattrs(w->inodes[i]);
		free(w->inodes[i]);
	}
	free(w->inodes);
	sq_map_clear(&w->names, NULL);
	free(w->buf);
	free(w);
}
