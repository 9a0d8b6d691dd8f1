/* bootstrap/oci/unpack.h: internals of layer application, shared by
 * layers.c (tar stream, entry dispatch) and rootfs.c (safe tree operations). */
#ifndef SB_BOOTSTRAP_OCI_UNPACK_H
#define SB_BOOTSTRAP_OCI_UNPACK_H

#include <sys/stat.h>
#include <time.h>

#include "bootstrap/oci/internal.h"
#include "common/strbuf.h"

/* Paths touched by the layer being applied (whiteouts spare them). */
#define TOUCH_ENTRY 1u    /* an entry of this layer, or a parent it created */
#define TOUCH_ANCESTOR 2u /* has a touched descendant */

struct touch_node {
	char *path;
	unsigned flags;
	struct touch_node *next;
};

struct dir_time {
	char *path;
	struct timespec mtime;
};

struct archive;
struct archive_entry;

/* Hard-link and symlink targets of a tar entry, also when they cannot be
 * converted to the locale's charset (borrowed; NULL when none). */
const char *oci_entry_hardlink(struct archive_entry *e);
const char *oci_entry_symlink(struct archive_entry *e);

/* Called for each tar entry of a layer read with oci_layer_each. */
typedef int (*oci_entry_fn)(void *ctx, struct archive *tar, struct archive_entry *e,
			    sb_error_t *err);

/* Reads one layer (tar, gzip or zstd, sniffed; checked against diff_id when
 * not NULL) and hands every entry to fn, without touching any filesystem. */
int oci_layer_each(oci_read_fn read, void *rctx, const char *label, const char *diff_id,
		   oci_entry_fn fn, void *fctx, sb_error_t *err);

struct oci_unpacker {
	oci_entry_fn each;     /* oci_layer_each: entries go here, not to a rootfs */
	void *each_ctx;
	int rootfd;
	char *rootfs;
	struct oci_apply_options o;
	bool chown_ok;         /* owners go to disk */
	const char *label;     /* current layer, for messages */
	struct touch_node **touch;
	size_t n_touch_buckets, n_touch;
	struct dir_time *dirs; /* directory mtimes, set at the end of the layer */
	size_t n_dirs, cap_dirs;
	unsigned long n_placeholders, n_skipped, n_dropped_xattrs;
	bool warned_chown;
	sb_error_t read_err;   /* error of the byte source, preferred over libarchive's */
};

/* Marks path (canonical, relative) as touched in this layer, its parents as
 * ancestors. */
void unpack_touch(struct oci_unpacker *u, const char *path);
unsigned unpack_touched(const struct oci_unpacker *u, const char *path);
/* Forgets the layer's touched set. */
void unpack_touch_reset(struct oci_unpacker *u);

/* Opens the directory at the clean relative path inside the root, following
 * symlinks inside the root (never outside it). With create, missing
 * directories are made (0755, and touched). canon receives the real path
 * (no symlinks). Returns an O_PATH fd, or -1 with errno (ENOENT, ENOTDIR,
 * ELOOP, ...). */
int unpack_walk(struct oci_unpacker *u, const char *path, bool create, struct sb_strbuf *canon);

/* Removes name in dirfd and everything below it, never following symlinks;
 * directories without owner write permission are opened up first. */
int unpack_rm_tree(int dirfd, const char *name);

/* Whiteout semantics: removes what lower layers left at name in dirfd
 * (canonical path path), sparing what this layer touched. */
int unpack_remove_lower(struct oci_unpacker *u, int dirfd, const char *name, const char *path);

/* Opaque directory: every child of the directory at dirfd (path) that came
 * from lower layers. */
int unpack_opaque(struct oci_unpacker *u, int dirfd, const char *path);

/* Remembers a directory's mtime; unpack_dir_times applies and forgets them. */
void unpack_dir_time(struct oci_unpacker *u, const char *path, struct timespec t);
void unpack_dir_times(struct oci_unpacker *u);

#endif
