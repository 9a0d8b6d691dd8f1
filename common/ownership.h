/* common/ownership.h: the build's ownership map.
 *
 * What each path of the image tree should look like in the SIF when the
 * kernel could not store it on disk: owner, permission bits, device type and
 * number, and xattrs an unprivileged user cannot set (security.*, trusted.*).
 * See ownership-journal.md section 7 and architecture.md.
 *
 * Who uses it, in order:
 *   1. the layer unpacker (bootstrap/oci) seeds it while it writes a rootfs
 *      as a plain user: a tar entry owned by 1000:1000 is written as the user's
 *      own file and recorded here; a device node becomes an empty placeholder
 *      regular file plus a record with its type and rdev; a directory the
 *      unpacker keeps owner-writable records its real mode;
 *   2. the sandbox updates it (chown journal of %post): in journal mode
 *      (builder/sandbox, sb_plan_set_ownership) a run loads the records
 *      whose file exists, and afterwards writes back one record per path
 *      that reaches an inode the run recorded (renames and hard links
 *      included), with that inode's identity, and drops the records of
 *      paths whose file is no longer the one described;
 *   3. the SquashFS packer applies it while it walks the tree: for every
 *      entry it calls sb_ownership_lookup() then sb_ownership_resolve().
 *
 * Keys are paths relative to the tree root, normalised: no leading "/" or
 * "./", no empty or "." components, no trailing "/"; the root is "". ".."
 * components are refused (EINVAL): callers resolve paths inside the root
 * first (common/fs.h).
 *
 * Each record may also carry the identity (st_dev, st_ino) of the on-disk
 * inode it describes. A record whose identity no longer matches the file at
 * its path is stale (the file was replaced, e.g. by dpkg's rename over it)
 * and is ignored at lookup. Lookups never fall back to "the record of this
 * inode under another path": inode numbers are reused after unlink, so only
 * a caller that can tell (the sandbox journal, with file handles) may use
 * sb_ownership_find_inode to follow renames and new hard links.
 *
 * Not thread-safe: one map per build, used by one thread at a time.
 */
#ifndef SB_COMMON_OWNERSHIP_H
#define SB_COMMON_OWNERSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

/* uid/gid value meaning "not recorded: use the on-disk owner". */
#define SB_OWNER_UNSET ((uint32_t)-1)

struct sb_owner_xattr {
	char *name;  /* full name, "security.capability" */
	void *value;
	size_t size;
};

struct sb_owner_entry {
	uint32_t uid, gid; /* SB_OWNER_UNSET: keep the on-disk owner */
	/* 0: keep the on-disk mode. Otherwise the permission bits (07777) to use,
	 * and, when the type bits say S_IFCHR, S_IFBLK, S_IFIFO or S_IFSOCK, the
	 * type the on-disk placeholder (an empty regular file) really has. Other
	 * type bits are ignored (the on-disk type wins). */
	uint32_t mode;
	dev_t rdev;        /* with S_IFCHR/S_IFBLK */
	dev_t dev;         /* identity of the described inode; dev 0 and ino 0 */
	ino_t ino;         /* mean "not checked" */
	struct sb_owner_xattr *xattrs; /* extra xattrs, added to the on-disk ones */
	size_t n_xattrs;
};

struct sb_ownership;

/* A new empty map. Never NULL (allocation failure aborts). */
struct sb_ownership *sb_ownership_new(void);
/* Frees m and every record. NULL is fine. */
void sb_ownership_free(struct sb_ownership *m);

/* Number of records. */
size_t sb_ownership_count(const struct sb_ownership *m);

/* Writes path's normalised form into a new string (see above), or returns
 * NULL with errno EINVAL for a path with a ".." component. */
char *sb_ownership_normalise(const char *path);

/* Records e for path, replacing any record it had. e and its xattrs are
 * borrowed: the map copies them. Returns 0, or -1 with errno EINVAL (bad
 * path). */
int sb_ownership_set(struct sb_ownership *m, const char *path, const struct sb_owner_entry *e);

/* The record stored under path (no identity check), or NULL. Borrowed: valid
 * until the next change of m. */
const struct sb_owner_entry *sb_ownership_get(const struct sb_ownership *m, const char *path);

/* Adds (or replaces) one xattr of path's record, creating a record with
 * nothing else set when there is none. Returns 0 or -1 (EINVAL). */
int sb_ownership_add_xattr(struct sb_ownership *m, const char *path, const char *name,
			   const void *value, size_t size);

/* Removes path's record. Returns true when there was one. */
bool sb_ownership_remove(struct sb_ownership *m, const char *path);

/* Removes the records of path and of everything below it (a whiteout, an
 * rm -rf). Returns how many were removed. */
size_t sb_ownership_remove_tree(struct sb_ownership *m, const char *path);

/* Hard link: newpath gets a copy of target's record (or loses its own when
 * target has none). Returns 0 or -1 (EINVAL). */
int sb_ownership_link(struct sb_ownership *m, const char *newpath, const char *target);

/* Moves the records of from and everything below it to to (rename). Records
 * under to are dropped first. Returns 0 or -1 (EINVAL). */
int sb_ownership_rename(struct sb_ownership *m, const char *from, const char *to);

/* The record that applies to the file at path whose lstat result is st:
 * path's own record when its identity matches st (or is unchecked), else
 * NULL. Borrowed. */
const struct sb_owner_entry *sb_ownership_lookup(struct sb_ownership *m, const char *path,
						 const struct stat *st);

/* A record whose identity is (dev, ino), whatever its path (*path, borrowed,
 * when path is not NULL), or NULL. See the note on inode reuse above. */
const struct sb_owner_entry *sb_ownership_find_inode(struct sb_ownership *m, dev_t dev, ino_t ino,
						     const char **path);

/* Applies e (may be NULL: nothing changes) to attributes the packer already
 * derived from st: *uid and *gid when recorded, the permission bits of *mode
 * when recorded, and for a regular file whose record says device/fifo/socket
 * the type bits of *mode and *rdev. *mode holds type and permission bits. */
void sb_ownership_resolve(const struct sb_owner_entry *e, const struct stat *st, uint32_t *uid,
			  uint32_t *gid, uint32_t *mode, dev_t *rdev);

/* Calls fn for every record in byte-wise path order; stops when fn returns
 * non-zero and returns that value. */
typedef int (*sb_ownership_fn)(void *ctx, const char *path, const struct sb_owner_entry *e);
int sb_ownership_foreach(const struct sb_ownership *m, sb_ownership_fn fn, void *ctx);

/* Refreshes the recorded identity of every record from the tree at rootfd
 * (after the tree was copied); records whose path is gone are dropped.
 * Returns the number dropped, or -1 with *err. */
long sb_ownership_rekey(struct sb_ownership *m, int rootfd, sb_error_t *err);

/* Saves m to file (a text format, written to a temporary name and renamed)
 * and loads such a file into m (records are added; existing ones with the same
 * path replaced). Both return 0, or -1 with *err. */
int sb_ownership_save(const struct sb_ownership *m, const char *file, sb_error_t *err);
int sb_ownership_load(struct sb_ownership *m, const char *file, sb_error_t *err);

#endif
