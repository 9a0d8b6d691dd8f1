/* bootstrap/oci/stream.c: an OCI image straight into a SquashFS writer, with
 * no root filesystem on disk.
 *
 * Pass 1 reads every layer's tar headers (oci_layer_each, blobs verified) and
 * builds the merged tree in memory with the unpacker's rules (entry.c,
 * rootfs.c): parents resolved through symlinks inside the tree and implied
 * 0755 when missing, whiteouts and opaque markers removing only what lower
 * layers left, anything in the way of a new non-directory removed, hard links
 * sharing their target's inode. Each node keeps the header's type, mode,
 * owner, time, device number, link target and xattrs; a regular file keeps
 * where its data is (layer, entry number). Pass 2 reads the layers again and
 * hands the data of every surviving file straight to the writer, then adds
 * directories, symlinks and device nodes. Memory grows with the number of
 * entries, never with file sizes. Between the two, an export may copy a few
 * selected files (the image's own metadata) to a directory, reading only the
 * layers that hold them. */
#include "bootstrap/oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "sif/sqfs.h"

struct sino { /* one inode: shared by the hard links to it */
	uint32_t type, mode, uid, gid;
	int64_t mtime;
	dev_t rdev;
	char *link;
	struct sif_sqfs_xattr *xattrs;
	size_t n_xattrs;
	size_t layer;      /* regular files: where the data is */
	uint64_t ordinal;
	int64_t size;
	bool want_data;    /* export: wanted */
	unsigned refs;
	struct snode **paths; /* pass 2: the surviving names */
	size_t n_paths;
	bool emitted;
};

struct snode {
	char *name;
	struct snode *parent, *child, *next;
	struct sino *ino;
	size_t touch_layer; /* layer + 1 that touched it */
	unsigned touch;     /* TOUCH_ENTRY, TOUCH_ANCESTOR */
};

struct export;

struct oci_stream {
	struct oci_store *s;          /* borrowed */
	struct export *ex;            /* export: where captured files go */
	const struct oci_image *img;  /* borrowed */
	struct snode root;
	size_t layer;
	uint64_t ordinal;
	const char *label;
	int64_t now;
	oci_warn_fn warn;
	void *warn_ctx;
	/* pass 2 */
	struct sif_sqfs_writer *w;
	struct sino **want; /* this layer's files, by ordinal */
	size_t n_want, i_want;
};

/* ------------------------------------------------------------------ tree */

static void ino_unref(struct sino *i)
{
	if (i == NULL || --i->refs > 0)
		return;
	free(i->link);
	for (size_t k = 0; k < i->n_xattrs; k++) {
		free((char *)i->xattrs[k].key);
		free((void *)i->xattrs[k].value);
	}
	free(i->xattrs);
	free(i->paths);
	free(i);
}

static void node_free(struct snode *n)
{
	struct snode *c = n->child;
	while (c) {
		struct snode *next = c->next;
		node_free(c);
		c = next;
	}
	ino_unref(n->ino);
	free(n->name);
	free(n);
}

static void node_unlink(struct snode *n)
{
	struct snode **pp = &n->parent->child;
	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	node_free(n);
}

static struct snode *child_of(struct snode *d, const char *name, size_t len)
{
	for (struct snode *c = d->child; c; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

static bool is_dir(const struct snode *n)
{
	return n->ino->type == S_IFDIR;
}

static void touch(struct oci_stream *st, struct snode *n)
{
	size_t l = st->layer + 1;
	unsigned f = TOUCH_ENTRY;
	for (; n; n = n->parent, f = TOUCH_ANCESTOR) {
		if (n->touch_layer != l) {
			n->touch_layer = l;
			n->touch = 0;
		}
		n->touch |= f;
	}
}

static unsigned touched(const struct oci_stream *st, const struct snode *n)
{
	return n->touch_layer == st->layer + 1 ? n->touch : 0;
}

static struct sino *new_ino(uint32_t type)
{
	struct sino *i = sb_xcalloc(1, sizeof(*i));
	i->type = type;
	i->refs = 1;
	return i;
}

static struct snode *add_child(struct snode *d, const char *name, size_t len, struct sino *i)
{
	struct snode *n = sb_xcalloc(1, sizeof(*n));
	n->name = sb_strndup(name, len);
	n->parent = d;
	n->ino = i;
	n->next = d->child;
	d->child = n;
	return n;
}

/* Walks the directory path (relative to from, or the root when it starts
 * with '/') through symlinks inside the tree; with create, missing
 * directories are made (0755, touched). NULL with errno. */
static struct snode *walk(struct oci_stream *st, struct snode *from, const char *path, bool create,
			  int depth)
{
	struct snode *d = *path == '/' ? &st->root : from;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		size_t len = strcspn(p, "/");
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (d->parent)
				d = d->parent;
			p += len;
			continue;
		}
		struct snode *c = child_of(d, p, len);
		if (c == NULL) {
			if (!create)
				return errno = ENOENT, NULL;
			struct sino *i = new_ino(S_IFDIR);
			i->mode = 0755;
			i->mtime = st->now;
			c = add_child(d, p, len, i);
			touch(st, c);
		} else if (c->ino->type == S_IFLNK) {
			if (depth >= 40)
				return errno = ELOOP, NULL;
			c = walk(st, d, c->ino->link, create, depth + 1);
			if (c == NULL)
				return NULL;
		}
		if (!is_dir(c))
			return errno = ENOTDIR, NULL;
		d = c;
		p += len;
	}
	return d;
}

/* The parent directory of clean path rel and its last component. */
static struct snode *parent_of(struct oci_stream *st, const char *rel, bool create, const char **base)
{
	const char *sl = strrchr(rel, '/');
	*base = sl ? sl + 1 : rel;
	cleanup_free char *dir = sl ? sb_strndup(rel, (size_t)(sl - rel)) : sb_strdup("");
	return walk(st, &st->root, dir, create, 0);
}

static void remove_lower(struct oci_stream *st, struct snode *n)
{
	unsigned t = touched(st, n);
	if (t == 0) {
		node_unlink(n);
		return;
	}
	if (!is_dir(n))
		return; /* a file of this layer: spared */
	struct snode *c = n->child;
	while (c) {
		struct snode *next = c->next;
		remove_lower(st, c);
		c = next;
	}
}

static int whiteout(struct oci_stream *st, const char *name, const char *victim, bool opaque,
		    sb_error_t *err)
{
	const char *base;
	cleanup_free char *vrel = opaque ? (*victim ? sb_asprintf("%s/x", victim) : sb_strdup("x"))
					 : sb_strdup(victim);
	struct snode *d = parent_of(st, vrel, false, &base);
	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return sb_error_set_status(err, 2, errno, "%s: whiteout \"%s\"", st->label, name);
	}
	if (opaque) {
		touch(st, d);
		struct snode *c = d->child;
		while (c) {
			struct snode *next = c->next;
			remove_lower(st, c);
			c = next;
		}
		return 0;
	}
	struct snode *v = child_of(d, base, strlen(base));
	if (v)
		remove_lower(st, v);
	return 0;
}

/* Header attributes into i (type included). */
static void set_attrs(struct sino *i, struct archive_entry *e)
{
	i->mode = archive_entry_perm(e);
	i->uid = (uint32_t)archive_entry_uid(e);
	i->gid = (uint32_t)archive_entry_gid(e);
	i->mtime = archive_entry_mtime(e);
	i->rdev = archive_entry_rdev(e);
	i->size = archive_entry_size(e);
	for (size_t k = 0; k < i->n_xattrs; k++) {
		free((char *)i->xattrs[k].key);
		free((void *)i->xattrs[k].value);
	}
	free(i->xattrs);
	i->xattrs = NULL;
	i->n_xattrs = 0;
	size_t n = (size_t)archive_entry_xattr_reset(e);
	if (n == 0)
		return;
	i->xattrs = sb_xcalloc(n, sizeof(*i->xattrs));
	const char *k;
	const void *v;
	size_t len;
	while (i->n_xattrs < n && archive_entry_xattr_next(e, &k, &v, &len) == ARCHIVE_OK) {
		void *copy = sb_xcalloc(1, len + 1);
		memcpy(copy, v, len);
		i->xattrs[i->n_xattrs++] = (struct sif_sqfs_xattr){ sb_strdup(k), copy, len };
	}
}

static int bad(struct oci_stream *st, const char *name, const char *why, sb_error_t *err)
{
	return sb_error_set_status(err, 2, 0, "%s: entry \"%s\": %s", st->label, name, why);
}

static int link_entry(struct oci_stream *st, struct archive_entry *e, const char *name,
		      struct snode *d, const char *base, struct snode *old, sb_error_t *err)
{
	cleanup_free char *rel = oci_clean_name(oci_entry_hardlink(e));
	if (rel == NULL || *rel == '\0')
		return bad(st, name, "hard link target outside the root filesystem", err);
	const char *tbase;
	struct snode *td = parent_of(st, rel, false, &tbase);
	struct snode *t = td ? child_of(td, tbase, strlen(tbase)) : NULL;
	if (t == NULL || is_dir(t))
		return sb_error_set_status(err, 2, 0, "%s: hard link \"%s\": target \"%s\" not "
					   "found in the root filesystem", st->label, name,
					   oci_entry_hardlink(e));
	if (t == old)
		return 0; /* a link to itself */
	struct sino *i = t->ino;
	i->refs++;
	if (old)
		node_unlink(old);
	touch(st, add_child(d, base, strlen(base), i));
	return 0;
}

static int pass1_entry(void *ctx, struct archive *a, struct archive_entry *e, sb_error_t *err)
{
	(void)a;
	struct oci_stream *st = ctx;
	st->ordinal++;
	const char *name = archive_entry_pathname(e);
	if (name == NULL)
		name = archive_entry_pathname_utf8(e);
	if (name == NULL)
		return bad(st, "", "entry without a name", err);
	enum oci_name_kind kind;
	cleanup_free char *rel = NULL;
	if (oci_layer_name(name, &kind, &rel, err) < 0)
		return sb_error_wrap(err, "%s", st->label);
	mode_t type = archive_entry_filetype(e);
	if (kind == OCI_NAME_ROOT) {
		if (type == AE_IFDIR)
			set_attrs(st->root.ino, e);
		return 0;
	}
	if (kind == OCI_NAME_SKIP)
		return 0;
	if (kind == OCI_NAME_WHITEOUT || kind == OCI_NAME_OPAQUE)
		return whiteout(st, name, rel, kind == OCI_NAME_OPAQUE, err);
	const char *base;
	struct snode *d = parent_of(st, rel, true, &base);
	if (d == NULL)
		return sb_error_set_status(err, 2, errno, "%s: entry \"%s\": parent directory",
					   st->label, name);
	struct snode *old = child_of(d, base, strlen(base));
	bool hardlink = oci_entry_hardlink(e) != NULL;
	if (hardlink)
		return link_entry(st, e, name, d, base, old, err);
	if (old && type == AE_IFDIR && is_dir(old)) {
		set_attrs(old->ino, e);
		touch(st, old);
		return 0;
	}
	if (old)
		node_unlink(old);
	if (type == AE_IFSOCK) {
		oci_warnf(st->warn, st->warn_ctx, "%s: socket %s skipped", st->label, rel);
		return 0;
	}
	if (type == AE_IFLNK && oci_entry_symlink(e) == NULL)
		return bad(st, name, "symbolic link without a target", err);
	struct sino *i = new_ino(type);
	set_attrs(i, e);
	if (type == AE_IFLNK) {
		i->link = sb_strdup(oci_entry_symlink(e));
		i->mode = 0777;
	}
	i->layer = st->layer;
	i->ordinal = st->ordinal;
	touch(st, add_child(d, base, strlen(base), i));
	return 0;
}

/* ---------------------------------------------------------------- pass 2 */

static char *path_of(const struct snode *n)
{
	if (n->parent == NULL)
		return sb_strdup("");
	cleanup_free char *p = path_of(n->parent);
	return *p ? sb_asprintf("%s/%s", p, n->name) : sb_strdup(n->name);
}

static void attr_of(const struct sino *i, struct sif_sqfs_attr *a)
{
	*a = (struct sif_sqfs_attr){ .mode = i->mode, .uid = i->uid, .gid = i->gid,
				     .mtime = i->mtime, .rdev = i->rdev, .xattrs = i->xattrs,
				     .n_xattrs = i->n_xattrs };
}

/* Collects each inode's names (tree order), and the files, for pass 2. */
static void collect(struct snode *n, struct sino ***files, size_t *nf, size_t *cap)
{
	for (struct snode *c = n->child; c; c = c->next) {
		struct sino *i = c->ino;
		if (i->type == S_IFDIR) {
			collect(c, files, nf, cap);
			continue;
		}
		i->paths = sb_xrealloc(i->paths, (i->n_paths + 1) * sizeof(*i->paths));
		i->paths[i->n_paths++] = c;
		if (i->type == S_IFREG && i->n_paths == 1) {
			if (*nf == *cap) {
				*cap = *cap ? *cap * 2 : 256;
				*files = sb_xrealloc(*files, *cap * sizeof(**files));
			}
			(*files)[(*nf)++] = i;
		}
	}
}

static int by_place(const void *a, const void *b)
{
	const struct sino *x = *(struct sino *const *)a, *y = *(struct sino *const *)b;
	if (x->layer != y->layer)
		return x->layer < y->layer ? -1 : 1;
	return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

struct data_src {
	struct archive *a;
	struct oci_stream *st;
};

static ssize_t data_read(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	struct data_src *d = ctx;
	la_ssize_t n = archive_read_data(d->a, buf, len);
	if (n >= 0)
		return n;
	const char *m = archive_error_string(d->a);
	return sb_error_set_status(err, 2, 0, "%s: reading file data: %s", d->st->label,
				   m ? m : "truncated layer");
}

/* The first name gets the data, the others are hard links to it. */
static int emit(struct oci_stream *st, struct sino *i, struct archive *a, sb_error_t *err)
{
	cleanup_free char *first = path_of(i->paths[0]);
	struct sif_sqfs_attr at;
	attr_of(i, &at);
	int r;
	if (i->type == S_IFREG) {
		struct data_src d = { a, st };
		r = sif_sqfs_writer_add_file(st->w, first, &at, data_read, &d, err);
	} else if (i->type == S_IFLNK) {
		r = sif_sqfs_writer_add_symlink(st->w, first, &at, i->link, err);
	} else {
		at.mode |= i->type;
		r = sif_sqfs_writer_add_node(st->w, first, &at, err);
	}
	for (size_t k = 1; r == 0 && k < i->n_paths; k++) {
		cleanup_free char *p = path_of(i->paths[k]);
		r = sif_sqfs_writer_add_hardlink(st->w, p, first, err);
	}
	i->emitted = true;
	return r;
}

static int export_file(struct export *ex, const struct sino *i, const char *data, size_t len,
		       sb_error_t *err);

/* The whole data of the current entry, to the export's files of i. */
static int capture(struct oci_stream *st, struct sino *i, struct archive *a, sb_error_t *err)
{
	size_t cap = i->size > 0 ? (size_t)i->size : 0, len = 0;
	char *buf = sb_xcalloc(1, cap + 1);
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = sb_xrealloc(buf, cap + 1);
		}
		la_ssize_t n = archive_read_data(a, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			const char *m = archive_error_string(a);
			return sb_error_set_status(err, 2, 0, "%s: reading file data: %s", st->label,
						   m ? m : "truncated layer");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	int r = export_file(st->ex, i, buf, len, err);
	free(buf);
	return r;
}

static int pass2_entry(void *ctx, struct archive *a, struct archive_entry *e, sb_error_t *err)
{
	(void)e;
	struct oci_stream *st = ctx;
	st->ordinal++;
	if (st->i_want < st->n_want && st->want[st->i_want]->ordinal == st->ordinal) {
		struct sino *i = st->want[st->i_want++];
		return st->w ? emit(st, i, a, err) : capture(st, i, a, err);
	}
	return 0;
}

static int add_rest(struct oci_stream *st, struct snode *n, sb_error_t *err)
{
	struct sif_sqfs_attr at;
	attr_of(n->ino, &at);
	cleanup_free char *p = path_of(n);
	if (sif_sqfs_writer_add_dir(st->w, p, &at, err) < 0)
		return -1;
	for (struct snode *c = n->child; c; c = c->next) {
		int r = is_dir(c) ? add_rest(st, c, err) : c->ino->emitted ? 0 : emit(st, c->ino, NULL, err);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the layers */

static int each_layer(struct oci_stream *st, size_t i, oci_entry_fn fn, sb_error_t *err)
{
	const struct oci_image *img = st->img;
	struct oci_blob *b = oci_image_open_layer(st->s, img, i, err);
	if (b == NULL)
		return -1;
	cleanup_free char *label = img->layers[i].digest
					   ? sb_asprintf("layer %s", img->layers[i].digest)
					   : sb_asprintf("layer %s", img->layer_members[i]);
	const char *diff = img->n_diff_ids == img->n_layers ? img->diff_ids[i] : NULL;
	if (diff && img->layers[i].digest && strcmp(diff, img->layers[i].digest) == 0)
		diff = NULL; /* an uncompressed layer: the blob's own check hashes the same bytes */
	st->label = label;
	st->layer = i;
	st->ordinal = 0;
	int r = oci_layer_each(oci_blob_read, b, label, diff, fn, st, err);
	if (r == 0 && oci_blob_finish(b, err) < 0)
		r = -1;
	sb_error_t derr = NULL;
	if (r < 0 && oci_blob_finish(b, &derr) < 0 && strstr(sb_error_message(derr), "digest")) {
		sb_error_free(err); /* a damaged stream is reported as what it is */
		*err = derr;
		derr = NULL;
	}
	sb_error_free(&derr);
	oci_blob_close(b);
	st->label = NULL;
	return r;
}

/* Reads the layers again for files (sorted by place): their data goes to
 * the writer (st->w set) or into memory (export). */
static int read_wanted(struct oci_stream *st, struct sino **files, size_t nf, sb_error_t *err)
{
	size_t at = 0;
	int r = 0;
	for (size_t i = 0; i < st->img->n_layers && r == 0; i++) {
		size_t end = at;
		while (end < nf && files[end]->layer == i)
			end++;
		st->want = files + at;
		st->n_want = end - at;
		st->i_want = 0;
		if (st->n_want)
			r = each_layer(st, i, pass2_entry, err);
		if (r == 0 && st->i_want != st->n_want)
			r = sb_error_set_status(err, 2, 0, "layer %zu changed between two reads", i);
		at = end;
	}
	st->want = NULL;
	st->n_want = st->i_want = 0;
	return r;
}

struct oci_stream *oci_stream_scan(struct oci_store *s, const struct oci_image *img,
				   oci_warn_fn warn, void *warn_ctx, sb_error_t *err)
{
	struct oci_stream *st = sb_xcalloc(1, sizeof(*st));
	*st = (struct oci_stream){ .s = s, .img = img, .now = (int64_t)time(NULL), .warn = warn,
				   .warn_ctx = warn_ctx };
	st->root.name = sb_strdup("");
	st->root.ino = new_ino(S_IFDIR);
	st->root.ino->mode = 0755;
	st->root.ino->mtime = st->now;
	for (size_t i = 0; i < img->n_layers; i++) {
		if (each_layer(st, i, pass1_entry, err) < 0) {
			oci_stream_free(st);
			return NULL;
		}
	}
	return st;
}

int oci_stream_emit(struct oci_stream *st, struct sif_sqfs_writer *w, sb_error_t *err)
{
	struct sino **files = NULL;
	size_t nf = 0, cap = 0;
	collect(&st->root, &files, &nf, &cap);
	qsort(files, nf, sizeof(*files), by_place);
	st->w = w;
	int r = read_wanted(st, files, nf, err);
	if (r == 0)
		r = add_rest(st, &st->root, err);
	st->w = NULL;
	free(files);
	return r;
}

/* ---------------------------------------------------------------- export */

/* The node target names from directory from, symlinks followed inside the
 * tree (the final one too); NULL when it does not resolve. */
static struct snode *lookup(struct oci_stream *st, struct snode *from, const char *target, int depth)
{
	if (depth >= 40)
		return NULL;
	cleanup_free char *t = sb_strdup(target);
	size_t n = strlen(t);
	while (n > 1 && t[n - 1] == '/')
		t[--n] = '\0';
	char *sl = strrchr(t, '/');
	const char *base = sl ? sl + 1 : t;
	struct snode *d = from;
	if (sl == t) {
		d = &st->root;
	} else if (sl) {
		*sl = '\0';
		d = walk(st, from, t, false, depth);
	}
	if (d == NULL)
		return NULL;
	if (*base == '\0' || strcmp(base, ".") == 0)
		return d;
	if (strcmp(base, "..") == 0)
		return d->parent ? d->parent : d;
	struct snode *c = child_of(d, base, strlen(base));
	if (c && c->ino->type == S_IFLNK)
		return lookup(st, d, c->ino->link, depth + 1);
	return c;
}

struct export_item {
	char *path;
	struct sino *ino; /* NULL: a directory */
};

struct export {
	const char *const *globs;
	size_t n_globs, max;
	int rootfd;
	struct export_item *items;
	size_t n, cap;
};

static size_t components(const char *p)
{
	size_t k = 1;
	for (; *p; p++)
		k += *p == '/';
	return k;
}

/* Whether path matches a glob (full) or the leading components of a longer
 * one (below it, something may match). */
static void match(const struct export *ex, const char *path, bool *full, bool *below)
{
	size_t k = components(path);
	*full = *below = false;
	for (size_t g = 0; g < ex->n_globs; g++) {
		const char *gl = ex->globs[g];
		if (fnmatch(gl, path, FNM_PATHNAME) == 0)
			*full = true;
		if (components(gl) <= k)
			continue;
		const char *e = gl;
		for (size_t c = 0; c < k; c++)
			e = strchr(e, '/') + 1;
		cleanup_free char *head = sb_strndup(gl, (size_t)(e - gl - 1));
		if (fnmatch(head, path, FNM_PATHNAME) == 0)
			*below = true;
	}
}

static void add_item(struct export *ex, const char *path, struct sino *i)
{
	if (ex->n == ex->cap) {
		ex->cap = ex->cap ? ex->cap * 2 : 32;
		ex->items = sb_xrealloc(ex->items, ex->cap * sizeof(*ex->items));
	}
	ex->items[ex->n++] = (struct export_item){ sb_strdup(path), i };
}

/* The paths under d that the globs select, resolved like a walk of the real
 * tree would (symlinks followed inside it), in pre-order. */
static void export_walk(struct oci_stream *st, struct export *ex, struct snode *d, const char *path)
{
	for (struct snode *c = d->child; c; c = c->next) {
		cleanup_free char *p = *path ? sb_asprintf("%s/%s", path, c->name) : sb_strdup(c->name);
		bool full, below;
		match(ex, p, &full, &below);
		if (!full && !below)
			continue;
		struct snode *r = c->ino->type == S_IFLNK ? lookup(st, d, c->ino->link, 0) : c;
		if (r == NULL)
			continue;
		if (is_dir(r)) {
			add_item(ex, p, NULL);
			if (below)
				export_walk(st, ex, r, p);
		} else if (full && r->ino->type == S_IFREG && r->ino->size >= 0 &&
			   (uint64_t)r->ino->size <= ex->max) {
			add_item(ex, p, r->ino);
		}
	}
}

/* The directories first, so that files can go in as they are read. */
static int export_dirs(const struct export *ex, sb_error_t *err)
{
	for (size_t k = 0; k < ex->n; k++)
		if (ex->items[k].ino == NULL &&
		    sb_mkdir_in_root(ex->rootfd, ex->items[k].path, 0755, err) < 0)
			return -1;
	return 0;
}

/* Every exported name of i gets data (one file in memory at a time). */
static int export_file(struct export *ex, const struct sino *i, const char *data, size_t len,
		       sb_error_t *err)
{
	for (size_t k = 0; k < ex->n; k++)
		if (ex->items[k].ino == i &&
		    sb_write_in_root(ex->rootfd, ex->items[k].path, data, len, i->mode & 07777, 0,
				     err) < 0)
			return -1;
	return 0;
}

int oci_stream_export(struct oci_stream *st, const char *dir, const char *const *globs,
		      size_t n_globs, size_t max, sb_error_t *err)
{
	struct export ex = { .globs = globs, .n_globs = n_globs, .max = max };
	ex.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ex.rootfd < 0)
		return sb_error_set(err, errno, "%s", dir);
	export_walk(st, &ex, &st->root, "");
	struct sino **files = sb_xcalloc(ex.n + 1, sizeof(*files));
	size_t nf = 0;
	for (size_t k = 0; k < ex.n; k++) {
		struct sino *i = ex.items[k].ino;
		if (i && !i->want_data) {
			i->want_data = true;
			files[nf++] = i;
		}
	}
	qsort(files, nf, sizeof(*files), by_place);
	st->ex = &ex;
	int r = export_dirs(&ex, err);
	if (r == 0)
		r = read_wanted(st, files, nf, err);
	st->ex = NULL;
	for (size_t k = 0; k < nf; k++)
		files[k]->want_data = false;
	for (size_t k = 0; k < ex.n; k++)
		free(ex.items[k].path);
	free(ex.items);
	free(files);
	close(ex.rootfd);
	return r;
}

void oci_stream_free(struct oci_stream *st)
{
	if (st == NULL)
		return;
	struct snode *c = st->root.child;
	while (c) {
		struct snode *next = c->next;
		node_free(c);
		c = next;
	}
	ino_unref(st->root.ino);
	free(st->root.name);
	free(st);
}
