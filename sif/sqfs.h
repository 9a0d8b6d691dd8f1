/* sif/sqfs.h: the SquashFS half of sif/: a streaming SquashFS writer, a
 * directory packer built on it, and a safe extractor.
 *
 * Every libsquashfs call of sifbuild lives behind this header (squashfs-tools-ng
 * 1.2.x, Debian 12). Nothing here prints or exits: failures fill
 * `sb_error_t *err` (the message names the operation and the image path
 * involved) and return -1 or NULL; warnings go to the caller's warning sink.
 *
 * Writer life cycle:
 *
 *   sif_sqfs_options_init(&o);              then set fields, or parse them
 *   w = sif_sqfs_writer_open(fd, base, &o, &err);
 *   sif_sqfs_writer_add_*(w, path, ...);     any number, any order (below)
 *   sif_sqfs_pack_dir(w, dir, NULL, &err);   optional: adds a whole tree
 *   sif_sqfs_writer_finish(w, &size, &err);  writes tables and superblock
 *   sif_sqfs_writer_free(w);                 always, also after errors
 *
 * Ordering rule: entries may arrive in any order. A path whose parents have
 * not been added yet gets implicit parent directories (0755, root, the default
 * time) that a later sif_sqfs_writer_add_dir of the same path fills in. File
 * data is compressed and written as it is added (so file contents are never
 * held in memory); the tree itself is kept in memory and written, sorted
 * byte-wise, by sif_sqfs_writer_finish. The only ordering constraint is that a
 * hard link names a target that was added before it.
 *
 * Data layout (as mksquashfs by default): files smaller than a block share
 * fragment blocks, identical ones stored once; larger files are cut into
 * blocks, compressed by `jobs` threads, the tail being a short last block;
 * identical block runs, zero blocks (sparse) are stored once / not at all.
 * Extended inodes are used where needed: more than one name, xattrs, sparse
 * blocks, size or data start past 4 GiB.
 *
 * Output: the image is written to fd at base_offset + position (pwrite), so a
 * SIF partition can be written in place at its aligned offset. The writer owns
 * the bytes from base_offset to the end of the file; finish sets the file
 * length to base_offset + image size. The image size reported is padded to a
 * multiple of 4096, as mksquashfs and gensquashfs do.
 *
 * Determinism: with options.deterministic the superblock time is the epoch and
 * every inode time is clamped to it; directories are sorted byte-wise, inode
 * numbers, xattr and ID tables follow the sorted tree, and the data layout
 * follows the order of the add calls only (not the number of jobs). So the same
 * sequence of calls gives the same bytes.
 */
#ifndef SB_SIF_SQFS_H
#define SB_SIF_SQFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

/* SquashFS compressor ids (the superblock values). */
enum sif_sqfs_compressor {
	SIF_SQFS_GZIP = 1,
	SIF_SQFS_LZO = 3, /* not in Debian's libsquashfs: open fails with a clear error */
	SIF_SQFS_XZ = 4,
	SIF_SQFS_LZ4 = 5,
	SIF_SQFS_ZSTD = 6,
};

#define SIF_SQFS_DEFAULT_BLOCK_SIZE (128u * 1024u)
#define SIF_SQFS_IMAGE_ALIGN 4096u

/* Warning sink: msg is borrowed for the duration of the call. */
typedef void (*sif_sqfs_warn_fn)(void *ctx, const char *msg);

struct sif_sqfs_options {
	enum sif_sqfs_compressor compressor; /* default gzip, as Apptainer */
	int level;           /* 0 = the compressor's default (gzip 9, zstd 15, xz 6) */
	uint32_t block_size; /* power of two, 4 KiB .. 1 MiB; default 128 KiB */
	unsigned jobs;       /* compression threads; 0 = online CPUs */
	bool deterministic;  /* SOURCE_DATE_EPOCH mode */
	int64_t epoch;       /* with deterministic: superblock time, inode time ceiling */
	/* sif_sqfs_pack_dir only: the packing user's own uid/gid become 0:0, other
	 * owners are kept (Apptainer's -all-root for unprivileged builds); see
	 * sif_sqfs_map_owner. Entries added directly carry the owners given. */
	bool all_root;
	/* Tests only: accept "." and ".." path components and duplicate names
	 * verbatim, to craft hostile images. Never set this elsewhere. */
	bool unsafe_names;
	sif_sqfs_warn_fn warn; /* may be NULL: warnings are dropped */
	void *warn_ctx;
	/* Called as each regular file starts and as each block of file data is
	 * added (may be NULL), with the bytes of file data and the number of
	 * files added so far: for progress output; the callee throttles. */
	void (*progress)(void *ctx, uint64_t bytes, uint64_t files);
	void *progress_ctx;
};

/* Fills o with the defaults above (no environment is read). */
void sif_sqfs_options_init(struct sif_sqfs_options *o);

/* Parses `NAME[:LEVEL]` (gzip, zstd, xz, lz4, lzo) into o->compressor and
 * o->level, checking the level range. Availability in the linked libsquashfs
 * is checked by sif_sqfs_writer_open. Returns 0, or -1 with *err (status 2). */
int sif_sqfs_parse_compression(const char *spec, struct sif_sqfs_options *o, sb_error_t *err);

/* Parses a SOURCE_DATE_EPOCH value (decimal seconds, 0 .. 2^32-1, the range of
 * SquashFS times) and sets o->deterministic and o->epoch. -1 with *err (status 2). */
int sif_sqfs_parse_epoch(const char *value, struct sif_sqfs_options *o, sb_error_t *err);

/* The one place where on-disk owners become image owners (later: --owner-map
 * rules). With o->all_root, self_uid/self_gid (the packing user) map to 0;
 * every other id is kept. */
void sif_sqfs_map_owner(const struct sif_sqfs_options *o, uint32_t self_uid, uint32_t self_gid,
			uint32_t *uid, uint32_t *gid);

/* ------------------------------------------------------------------ writer */

struct sif_sqfs_xattr {
	const char *key; /* full name: "user.x", "security.capability", ... */
	const void *value;
	size_t size;
};

/* Attributes of one entry. All pointers are borrowed for the call; the writer
 * copies what it keeps. */
struct sif_sqfs_attr {
	uint32_t mode; /* permission bits (07777); sif_sqfs_writer_add_node also reads
			* the type bits (S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK) */
	uint32_t uid, gid;
	int64_t mtime; /* seconds; outside 0 .. 2^32-1 it is clamped, with a warning */
	dev_t rdev;    /* char/block devices: makedev(major, minor); major < 4096,
			* minor < 2^20 (the SquashFS device number encoding) */
	const struct sif_sqfs_xattr *xattrs; /* kept: user., trusted., security.;
					      * others skipped with a warning */
	size_t n_xattrs;
};

/* Pull-style data source for regular files: fills buf with up to len bytes and
 * returns how many (0 at the end of the data), or -1 with *err set (if the
 * callback leaves *err NULL the writer reports a generic read error). */
typedef ssize_t (*sif_sqfs_read_fn)(void *ctx, void *buf, size_t len, sb_error_t *err);

struct sif_sqfs_writer;

/* Starts an image on fd (borrowed: not closed; must be a seekable file open
 * for reading and writing) at base_offset. Writes the superblock placeholder.
 * Returns NULL with *err on a bad option, an unavailable compressor or an I/O
 * error. */
struct sif_sqfs_writer *sif_sqfs_writer_open(int fd, uint64_t base_offset,
					     const struct sif_sqfs_options *o, sb_error_t *err);

/* Paths: '/'-separated, relative to the image root; a leading "/", "./",
 * repeated and trailing slashes are ignored; "" or "/" is the root. Components
 * must be 1..255 bytes and not "." or "..". Adding a path that exists is an
 * error (EEXIST) except for directories: add_dir on an existing directory
 * (the root included) sets its attributes. A component that exists and is not
 * a directory makes the add fail with ENOTDIR. */
int sif_sqfs_writer_add_dir(struct sif_sqfs_writer *w, const char *path,
			    const struct sif_sqfs_attr *a, sb_error_t *err);

/* Regular file whose data comes from read(ctx, ...) until it returns 0. Data is
 * compressed by the worker threads while the next calls proceed. A read
 * failure fails this call and leaves the writer unusable (finish fails). */
int sif_sqfs_writer_add_file(struct sif_sqfs_writer *w, const char *path,
			     const struct sif_sqfs_attr *a, sif_sqfs_read_fn read, void *ctx,
			     sb_error_t *err);

/* Regular file of size bytes read from fd (borrowed) with pread from offset 0;
 * holes (SEEK_DATA/SEEK_HOLE) are not read and become sparse blocks. A file
 * that ends before size bytes is an error; bytes past size are ignored. */
int sif_sqfs_writer_add_file_fd(struct sif_sqfs_writer *w, const char *path,
				const struct sif_sqfs_attr *a, int fd, uint64_t size,
				sb_error_t *err);

int sif_sqfs_writer_add_symlink(struct sif_sqfs_writer *w, const char *path,
				const struct sif_sqfs_attr *a, const char *target, sb_error_t *err);

/* Character or block device, fifo or socket, chosen by the type bits of a->mode. */
int sif_sqfs_writer_add_node(struct sif_sqfs_writer *w, const char *path,
			     const struct sif_sqfs_attr *a, sb_error_t *err);

/* A new name for the inode at target (added before; not a directory). The
 * link shares the target's inode: attributes, data and link count. */
int sif_sqfs_writer_add_hardlink(struct sif_sqfs_writer *w, const char *path, const char *target,
				 sb_error_t *err);

/* Removes path and everything below it (for whiteouts of merged layers). Data
 * already written for removed files stays in the image, unreferenced. The
 * root cannot be removed. ENOENT when path does not exist. */
int sif_sqfs_writer_remove(struct sif_sqfs_writer *w, const char *path, sb_error_t *err);

/* True when path names an entry (explicit or implicit). */
bool sif_sqfs_writer_exists(struct sif_sqfs_writer *w, const char *path);

/* Waits for the data blocks, writes inodes, directories, fragment, ID and
 * xattr tables and the superblock, pads to 4096 bytes and sets the file
 * length. *size (may be NULL) receives the padded image size. */
int sif_sqfs_writer_finish(struct sif_sqfs_writer *w, uint64_t *size, sb_error_t *err);

/* Stops the worker threads and frees w (NULL is fine). Does not close fd. */
void sif_sqfs_writer_free(struct sif_sqfs_writer *w);

/* ----------------------------------------------------------- directory packer */

/* Ownership-map hook (ownership-journal.md section 7): called once per entry
 * after the default owner mapping (sif_sqfs_map_owner) and before the entry is
 * added. dirfd is the entry's parent directory and name its name (for the root:
 * the root's own fd and "."); path is relative to the packed root ("" for the
 * root); st is the lstat result. The hook may change a->uid, a->gid, a->mode
 * (permission bits, and the type of a regular placeholder file into S_IFCHR
 * or S_IFBLK) and a->rdev, and may set a->xattrs (empty when it is called):
 * xattrs added to those read from disk, a name given here replacing the
 * on-disk one (kept valid by the hook until its next call). Returns 0, or -1
 * with *err to stop the pack. */
typedef int (*sif_sqfs_owner_hook_fn)(void *ctx, int dirfd, const char *name, const char *path,
				      const struct stat *st, struct sif_sqfs_attr *a,
				      sb_error_t *err);

struct sif_sqfs_walk_options {
	sif_sqfs_owner_hook_fn owner_hook; /* NULL: owners as mapped */
	void *owner_ctx;
	/* Do not descend into directories on another filesystem (mount points
	 * are added empty; other non-directories on another device are skipped
	 * with a warning). */
	bool one_file_system;
};

/* Adds the tree at dir (its root becomes the image root, with dir's own
 * attributes) to w, walking in byte-wise sorted order without following
 * symlinks. Hard links (same device and inode) become hard links; holes become
 * sparse blocks; xattrs are read as the kernel shows them to this user. When
 * not root, entries the user owns but cannot read (mode 000 and the like) are
 * made readable by their owner while they are read, and put back right after.
 * wo may be NULL. */
int sif_sqfs_pack_dir(struct sif_sqfs_writer *w, const char *dir,
		      const struct sif_sqfs_walk_options *wo, sb_error_t *err);

/* ----------------------------------------------------------------- extractor */

struct sb_ownership;

struct sif_sqfs_extract_options {
	uint64_t size;         /* bytes of image after base_offset; 0 = up to the end of fd */
	sif_sqfs_warn_fn warn; /* may be NULL */
	void *warn_ctx;
	/* The build's ownership map (common/ownership.h; borrowed, may be NULL).
	 * When set, what cannot be stored on disk is recorded here, keyed by the
	 * path relative to outdir, the way bootstrap/oci's layer unpacker does:
	 * owners other than 0 (an entry owned by root stays the user's own file),
	 * permission bits the disk did not keep, device nodes (an empty
	 * placeholder file, 0600 until chmod, plus type and rdev), xattrs the
	 * kernel refused; directories keep owner rwx on disk (real mode in the
	 * map); a hard link shares its target's record. Records carry the inode
	 * identity. As root owners and devices are stored for real (a refused
	 * chown, as in a user namespace, falls back to the map). */
	struct sb_ownership *owners;
	/* Behave as a plain user even as root (a request that is not
	 * privileged): no chown, devices as placeholders (with owners). */
	bool unprivileged;
};

/* Recreates the image stored in fd (borrowed) at base_offset under outdir,
 * which must not exist or be an empty directory; outdir receives the root's
 * attributes. Never follows a symlink: every entry is created relative to a
 * directory fd it created itself. Names that are empty, ".", "..", contain '/'
 * or repeat within a directory, directory loops and hard links to directories
 * fail the extraction (status 2). As a non-root user without eo->owners,
 * owners are not changed (one summary warning) and device nodes are skipped
 * with a warning; xattrs that cannot be set are warned about (with
 * eo->owners all of these are recorded instead). On failure what was
 * extracted stays; callers extract into a temporary directory. eo may be
 * NULL. */
int sif_sqfs_extract(int fd, uint64_t base_offset, const char *outdir,
		     const struct sif_sqfs_extract_options *eo, sb_error_t *err);

#endif
