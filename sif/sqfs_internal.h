/* sif/sqfs_internal.h: shared by sif/sqfs_*.c only; the rest of sifbuild
 * uses sif/sqfs.h. */
#ifndef SB_SIF_SQFS_INTERNAL_H
#define SB_SIF_SQFS_INTERNAL_H

#include <sqfs/predef.h>
#include <sqfs/io.h>
#include <sqfs/super.h>

#include "common/error.h"

#include "sif/sqfs.h"

/* ------------------------------------------------ libsquashfs error codes */

/* Sets *err to "OP[ PATH]: text of code" (errnum from the code, or ioerr when
 * the code is SQFS_ERROR_IO and ioerr is not 0). Returns -1. */
int sq_fail(sb_error_t *err, int code, int ioerr, const char *op, const char *path);

/* Wraps a compressing backend (taken) so that output not smaller than its
 * input is reported as 0, "store uncompressed". NULL on allocation failure
 * (inner is then still the caller's). */
sqfs_compressor_t *sq_guard_compressor(sqfs_compressor_t *inner);

/* ---------------------------------------------------------- hash map */

/* Byte-string keys (copied) to borrowed values. Lookups never iterate, so
 * nothing written to an image depends on hash order. */
struct sq_mapent;
struct sq_map {
	struct sq_mapent **buckets;
	size_t nbuckets, count;
};

void *sq_map_get(const struct sq_map *m, const void *key, size_t klen);
/* Inserts or replaces; returns the previous value or NULL. */
void *sq_map_put(struct sq_map *m, const void *key, size_t klen, void *val);
/* Removes the key; returns its value or NULL. */
void *sq_map_del(struct sq_map *m, const void *key, size_t klen);
/* Frees the entries, and the values with free_val unless it is NULL; resets m. */
void sq_map_clear(struct sq_map *m, void (*free_val)(void *));
uint64_t sq_hash(const void *data, size_t len);

/* ------------------------------------------------ sqfs_file_t on an fd */

/* A sqfs_file_t over fd (borrowed) at base. Writable: starts empty, grows with
 * writes; truncate only moves the logical end. Read-only: size bytes (0 = up to
 * the end of fd at creation). last_errno() gives the errno of the last failed
 * call. */
sqfs_file_t *sq_file_create(int fd, uint64_t base, bool writable, uint64_t size, sb_error_t *err);
int sq_file_last_errno(const sqfs_file_t *f);
/* Writable files: truncates fd to base + logical size (drops bytes a
 * deduplicated copy left past the end). 0, or -1 with errno. */
int sq_file_set_length(sqfs_file_t *f);

/* ---------------------------------------------------- fragment packer */

struct sq_frags;
struct sq_frags *sq_frags_create(sqfs_file_t *file, sqfs_compressor_t *uncmp, size_t block_size);
/* The processor that compresses full fragment blocks (set once, after the
 * block writer from sq_frags_writer was given to it). */
void sq_frags_set_processor(struct sq_frags *f, sqfs_block_processor_t *proc);
/* Wraps inner (taken) to record where fragment blocks are written. */
sqfs_block_writer_t *sq_frags_writer(struct sq_frags *f, sqfs_block_writer_t *inner);
/* Stores len (1 .. block size) bytes as a fragment, or finds an identical one:
 * *index, *offset locate it. Returns 0 or a libsquashfs error code. */
int sq_frags_add(struct sq_frags *f, const void *data, size_t len, uint32_t *index,
		 uint32_t *offset);
/* Submits the open fragment block; call before finishing the processor. */
int sq_frags_flush(struct sq_frags *f);
sqfs_frag_table_t *sq_frags_table(struct sq_frags *f);
void sq_frags_free(struct sq_frags *f);

/* ------------------------------------------------------------- writer tree */

struct sq_kv {
	char *key;
	uint8_t *value;
	size_t size;
};

struct sq_inode {
	uint32_t mode; /* with type bits */
	uint32_t uid, gid;
	uint32_t mtime;             /* already clamped */
	uint32_t devno;             /* encoded device number */
	uint32_t nlink;             /* names referring to it */
	uint32_t ino;               /* assigned by finish, 0 before */
	uint64_t ref;               /* inode table reference, set by finish */
	sqfs_inode_generic_t *file; /* regular files: filled by the block processor */
	char *target;               /* symlinks */
	struct sq_kv *xattrs;       /* sorted by key */
	size_t n_xattrs;
};

struct sq_node {
	struct sq_node *parent;
	struct sq_inode *inode;
	struct sq_node **kids; /* directories; sorted by finish */
	size_t n_kids, cap_kids;
	size_t n_subdirs;
	bool implicit; /* created as a parent, never added explicitly */
	size_t name_len;
	char name[];
};

/* The writer (sqfs_writer.c; file data in sqfs_data.c). */
struct sif_sqfs_writer {
	struct sif_sqfs_options o;
	sqfs_file_t *file;
	sqfs_compressor_t *cmp, *uncmp;
	sqfs_block_writer_t *blkwr;
	struct sq_frags *frags; /* small files: sqfs_frag.c */
	sqfs_block_processor_t *proc;
	sqfs_super_t super;
	struct sq_node *root;
	struct sq_map names;      /* (parent pointer, name) -> node */
	struct sq_inode **inodes; /* every inode ever made, removed ones too */
	size_t n_inodes, cap_inodes;
	uint32_t default_mtime;
	uint8_t *buf;
	size_t buf_len;
	uint64_t bytes_in, files_in; /* file data and files added, for o.progress */
	bool broken; /* a failure left the data stream inconsistent */
	bool finished;
};

/* Writer internals shared by sqfs_writer.c and sqfs_data.c. */
int sq_may_add(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
	       const char *path, sb_error_t *err);
struct sq_inode *sq_new_inode(struct sif_sqfs_writer *w);
void sq_set_attrs(struct sif_sqfs_writer *w, struct sq_inode *ino, uint32_t type,
		  const struct sif_sqfs_attr *a, const char *path);
struct sq_node *sq_link_node(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			     struct sq_inode *ino);
struct sq_node *sq_add_file_cb(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, sif_sqfs_read_fn read, void *ctx,
			       const char *path, sb_error_t *err);

/* Node-level interface used by the directory packer: parent is a directory
 * node of w, name one component. Each returns the new node or NULL with *err. */
struct sq_node *sq_writer_root(struct sif_sqfs_writer *w);
const struct sif_sqfs_options *sq_writer_options(const struct sif_sqfs_writer *w);
void sq_writer_warn(struct sif_sqfs_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct sq_node *sq_add_dir(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			   const struct sif_sqfs_attr *a, const char *path, sb_error_t *err);
/* holes: look for holes with SEEK_DATA/SEEK_HOLE (else read everything). */
struct sq_node *sq_add_file_fd(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, int fd, uint64_t size, bool holes,
			       const char *path, sb_error_t *err);
struct sq_node *sq_add_symlink(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, const char *target, const char *path,
			       sb_error_t *err);
struct sq_node *sq_add_node(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			    const struct sif_sqfs_attr *a, const char *path, sb_error_t *err);
struct sq_node *sq_add_hardlink(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
				struct sq_node *target, const char *path, sb_error_t *err);

/* ------------------------------------------------------ serialization */

/* What sif_sqfs_writer_finish needs from the writer, handed to
 * sq_serialize_tree (sqfs_serialize.c). */
struct sq_serial {
	sqfs_file_t *file;
	sqfs_super_t *super;
	sqfs_compressor_t *cmp;
	struct sq_node *root;
};

/* Numbers the inodes, writes the inode and directory tables and records the
 * xattrs and IDs, filling the counts and table positions of super. */
int sq_serialize_tree(struct sq_serial *s, sqfs_xattr_writer_t *xwr, sqfs_id_table_t *ids,
		      sb_error_t *err);

/* Byte-wise order of two nodes' names (what SquashFS lookups require). */
int sq_node_cmp(const void *a, const void *b);

#endif
