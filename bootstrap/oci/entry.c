/* bootstrap/oci/entry.c: one tar entry of a layer onto the root filesystem.
 *
 * Rules (oci-notes.md section 6): names are cleaned ("./" and leading "/"
 * dropped) and refused when they hold ".."; parents are resolved inside the
 * root (unpack_walk) and created 0755 when missing; whiteouts remove what
 * lower layers left; anything in the way of a new non-directory is removed
 * first (never written through: it may be a hard link); hard links resolve
 * their target inside the root. As a plain user, owners, device nodes and
 * xattrs the kernel refuses go to the ownership map, and directories keep
 * owner rwx on disk (their real mode goes to the map). */
#include "bootstrap/oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/ownership.h"

int oci_apply_entry(struct oci_unpacker *u, struct archive *a, struct archive_entry *e,
		    sb_error_t *err);

/* What one entry becomes. */
struct target {
	const char *name;   /* tar name, for messages */
	char *path;         /* canonical relative path of the entry */
	char *base;         /* its last component */
	int dirfd;          /* its parent (O_PATH) */
};

/* Link targets, also when not convertible to the locale's charset. */
const char *oci_entry_hardlink(struct archive_entry *e)
{
	const char *l = archive_entry_hardlink(e);
	return l ? l : archive_entry_hardlink_utf8(e);
}

const char *oci_entry_symlink(struct archive_entry *e)
{
	const char *l = archive_entry_symlink(e);
	return l ? l : archive_entry_symlink_utf8(e);
}

static void target_clear(struct target *t)
{
	free(t->path);
	free(t->base);
	if (t->dirfd >= 0)
		close(t->dirfd);
}

static int bad_name(struct oci_unpacker *u, const char *name, const char *why, sb_error_t *err)
{
	return sb_error_set_status(err, 2, 0, "%s: entry \"%s\": %s", u->label, name, why);
}

/* Resolves the parent of clean path rel (creating it when create). */
static int resolve(struct oci_unpacker *u, const char *name, const char *rel, bool create,
		   struct target *t, sb_error_t *err)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->dirfd = -1;
	const char *sl = strrchr(rel, '/');
	cleanup_free char *parent = sl ? sb_strndup(rel, (size_t)(sl - rel)) : sb_strdup("");
	t->base = sb_strdup(sl ? sl + 1 : rel);
	struct sb_strbuf canon = SB_STRBUF_INIT;
	t->dirfd = unpack_walk(u, parent, create, &canon);
	if (t->dirfd < 0) {
		int e = errno;
		sb_strbuf_release(&canon);
		if (!create && (e == ENOENT || e == ENOTDIR))
			return 1; /* nothing there */
		return sb_error_set_status(err, 2, e, "%s: entry \"%s\": parent directory", u->label,
					   name);
	}
	t->path = canon.len ? sb_asprintf("%s/%s", canon.buf, t->base) : sb_strdup(t->base);
	sb_strbuf_release(&canon);
	return 0;
}

/* A whiteout (victim = DIR/NAME) or an opaque marker (victim = DIR). */
static int whiteout(struct oci_unpacker *u, const char *name, const char *victim, bool opaque,
		    sb_error_t *err)
{
	/* Resolve the parent of what goes: for an opaque DIR, DIR itself. */
	cleanup_free char *vrel = opaque ? (*victim ? sb_asprintf("%s/x", victim) : sb_strdup("x"))
					 : sb_strdup(victim);
	struct target t;
	int r = resolve(u, name, vrel, false, &t, err);
	if (r != 0) {
		target_clear(&t);
		return r < 0 ? -1 : 0;
	}
	if (opaque) {
		char *sl = strrchr(t.path, '/');
		cleanup_free char *dir = sl ? sb_strndup(t.path, (size_t)(sl - t.path)) : sb_strdup("");
		unpack_touch(u, dir); /* the directory itself stays */
		r = unpack_opaque(u, t.dirfd, dir);
	} else {
		r = unpack_remove_lower(u, t.dirfd, t.base, t.path);
	}
	if (r < 0)
		sb_error_set_status(err, 2, errno, "%s: whiteout \"%s\"", u->label, name);
	target_clear(&t);
	return r;
}

/* Removes whatever is at t unless keep_dir and it is a directory. */
static int clear_way(struct oci_unpacker *u, const struct target *t, bool keep_dir,
		     bool *is_dir, sb_error_t *err)
{
	struct stat st;
	*is_dir = false;
	if (fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (keep_dir && S_ISDIR(st.st_mode)) {
		*is_dir = true;
		return 0;
	}
	if (u->o.owners)
		sb_ownership_remove_tree(u->o.owners, t->path);
	if (unpack_rm_tree(t->dirfd, t->base) < 0)
		return sb_error_set(err, errno, "%s: removing %s before replacing it", u->label,
				    t->path);
	return 0;
}

/* Records (or stores) owner, mode and xattrs of the new inode at t. fd may
 * be -1 (then the name is used, without following). */
static int set_meta(struct oci_unpacker *u, const struct target *t, int fd,
		    struct archive_entry *e, mode_t disk_mode, sb_error_t *err);

static int write_data(struct oci_unpacker *u, struct archive *a, int fd, int64_t size,
		      const char *name, sb_error_t *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *p = buf;
		while (len > 0) {
			ssize_t w = pwrite(fd, p, len, off);
			if (w < 0)
				return sb_error_set(err, errno, "%s: writing %s", u->label, name);
			p += w;
			len -= (size_t)w;
			off += w;
		}
	}
	if (r != ARCHIVE_EOF) {
		if (u->read_err) {
			*err = u->read_err;
			u->read_err = NULL;
			return sb_error_wrap(err, "%s: %s", u->label, name);
		}
		const char *m = archive_error_string(a);
		return sb_error_set_status(err, 2, 0, "%s: reading the data of \"%s\": %s", u->label,
					   name, m ? m : "truncated layer");
	}
	/* Holes at the end (sparse entries) take no space. */
	if (size >= 0 && ftruncate(fd, size) < 0)
		return sb_error_set(err, errno, "%s: sizing %s", u->label, name);
	return 0;
}

static int make_file(struct oci_unpacker *u, struct archive *a, struct archive_entry *e,
		     const struct target *t, sb_error_t *err)
{
	int fd = openat(t->dirfd, t->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return sb_error_set(err, errno, "%s: creating %s", u->label, t->path);
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	int r = write_data(u, a, fd, size, t->name, err);
	if (r == 0)
		r = set_meta(u, t, fd, e, archive_entry_perm(e), err);
	close(fd);
	return r;
}

static int make_dir(struct oci_unpacker *u, struct archive_entry *e, const struct target *t,
		    bool exists, sb_error_t *err)
{
	if (!exists && mkdirat(t->dirfd, t->base, 0700) < 0)
		return sb_error_set(err, errno, "%s: creating directory %s", u->label, t->path);
	int fd = openat(t->dirfd, t->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "%s: opening directory %s", u->label, t->path);
	mode_t m = archive_entry_perm(e);
	/* As a user, every directory stays owner-rwx (removable, writable by
	 * later layers); the real mode goes to the map. */
	int r = set_meta(u, t, fd, e, u->chown_ok ? m : (m | 0700), err);
	close(fd);
	if (r == 0)
		unpack_dir_time(u, t->path,
				(struct timespec){ archive_entry_mtime(e), archive_entry_mtime_nsec(e) });
	return r;
}

static int make_link(struct oci_unpacker *u, struct archive_entry *e, const struct target *t,
		     sb_error_t *err)
{
	cleanup_free char *rel = oci_clean_name(oci_entry_hardlink(e));
	if (rel == NULL || *rel == '\0')
		return bad_name(u, t->name, "hard link target outside the root filesystem", err);
	struct target src;
	int r = resolve(u, t->name, rel, false, &src, err);
	struct stat st;
	if (r == 0 && (fstatat(src.dirfd, src.base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		       S_ISDIR(st.st_mode)))
		r = 1;
	if (r == 0 && strcmp(src.path, t->path) == 0) {
		target_clear(&src);
		return 0; /* a link to itself: already there */
	}
	if (r == 0 && linkat(src.dirfd, src.base, t->dirfd, t->base, 0) < 0)
		r = sb_error_set(err, errno, "%s: hard link %s -> %s", u->label, t->path, src.path);
	else if (r > 0)
		r = sb_error_set_status(err, 2, 0, "%s: hard link \"%s\": target \"%s\" not found "
					"in the root filesystem", u->label, t->name,
					oci_entry_hardlink(e));
	else if (u->o.owners)
		sb_ownership_link(u->o.owners, t->path, src.path);
	target_clear(&src);
	return r;
}

static int make_node(struct oci_unpacker *u, struct archive_entry *e, const struct target *t,
		     sb_error_t *err)
{
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e);
	dev_t rdev = archive_entry_rdev(e);
	if (type == AE_IFSOCK) {
		oci_warnf(u->o.warn, u->o.warn_ctx, "%s: socket %s skipped", u->label, t->path);
		return 0;
	}
	int r = type == AE_IFIFO ? mkfifoat(t->dirfd, t->base, 0600)
		: u->chown_ok ? mknodat(t->dirfd, t->base, type | 0600, rdev) : (errno = EPERM, -1);
	if (r == 0)
		return set_meta(u, t, -1, e, perm, err);
	if (type == AE_IFIFO || (errno != EPERM && errno != EACCES))
		return sb_error_set(err, errno, "%s: creating %s", u->label, t->path);
	/* A plain user cannot mknod: an empty placeholder, typed in the map. */
	int fd = openat(t->dirfd, t->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return sb_error_set(err, errno, "%s: creating %s", u->label, t->path);
	r = set_meta(u, t, fd, e, perm, err);
	struct stat st;
	if (r == 0 && fstat(fd, &st) == 0) {
		struct sb_owner_entry ne = { .uid = SB_OWNER_UNSET, .gid = SB_OWNER_UNSET };
		const struct sb_owner_entry *old =
			u->o.owners ? sb_ownership_get(u->o.owners, t->path) : NULL;
		if (old)
			ne = *old;
		ne.mode = type | perm;
		ne.rdev = rdev;
		ne.dev = st.st_dev;
		ne.ino = st.st_ino;
		if (u->o.owners)
			sb_ownership_set(u->o.owners, t->path, &ne);
		u->n_placeholders++;
	}
	close(fd);
	return r;
}

static int make_symlink(struct oci_unpacker *u, struct archive_entry *e, const struct target *t,
			sb_error_t *err)
{
	const char *target = oci_entry_symlink(e);
	if (target == NULL)
		return bad_name(u, t->name, "symbolic link without a target", err);
	if (symlinkat(target, t->dirfd, t->base) < 0)
		return sb_error_set(err, errno, "%s: symbolic link %s", u->label, t->path);
	return set_meta(u, t, -1, e, 0777, err);
}

static int apply_root(struct oci_unpacker *u, struct archive_entry *e, sb_error_t *err)
{
	if (archive_entry_filetype(e) != AE_IFDIR)
		return 0;
	struct target t = { .name = "./", .path = sb_strdup(""), .base = sb_strdup("."),
			    .dirfd = dup(u->rootfd) };
	int r = make_dir(u, e, &t, true, err);
	target_clear(&t);
	return r;
}

int oci_apply_entry(struct oci_unpacker *u, struct archive *a, struct archive_entry *e,
		    sb_error_t *err)
{
	const char *name = archive_entry_pathname(e);
	if (name == NULL) /* not convertible to the locale's charset */
		name = archive_entry_pathname_utf8(e);
	if (name == NULL)
		return bad_name(u, "", "entry without a name", err);
	enum oci_name_kind kind;
	cleanup_free char *rel = NULL;
	if (oci_layer_name(name, &kind, &rel, err) < 0)
		return sb_error_wrap(err, "%s", u->label);
	if (kind == OCI_NAME_ROOT)
		return apply_root(u, e, err);
	if (kind == OCI_NAME_SKIP)
		return 0;
	if (kind == OCI_NAME_WHITEOUT || kind == OCI_NAME_OPAQUE)
		return whiteout(u, name, rel, kind == OCI_NAME_OPAQUE, err);
	struct target t;
	if (resolve(u, name, rel, true, &t, err) < 0) {
		target_clear(&t);
		return -1;
	}
	bool hardlink = oci_entry_hardlink(e) != NULL;
	mode_t type = archive_entry_filetype(e);
	bool exists_dir;
	int r = clear_way(u, &t, !hardlink && type == AE_IFDIR, &exists_dir, err);
	/* The entry's header replaces what was recorded for the path (a
	 * directory keeps its children's records). */
	if (r == 0 && u->o.owners)
		sb_ownership_remove(u->o.owners, t.path);
	if (r < 0)
		;
	else if (hardlink)
		r = make_link(u, e, &t, err);
	else if (type == AE_IFDIR)
		r = make_dir(u, e, &t, exists_dir, err);
	else if (type == AE_IFREG)
		r = make_file(u, a, e, &t, err);
	else if (type == AE_IFLNK)
		r = make_symlink(u, e, &t, err);
	else
		r = make_node(u, e, &t, err);
	if (r == 0)
		unpack_touch(u, t.path);
	target_clear(&t);
	return r;
}

/* ----------------------------------------------------------------- metadata */

static void record_xattr(struct oci_unpacker *u, const struct target *t, const char *k,
			 const void *v, size_t n)
{
	if (u->o.owners)
		sb_ownership_add_xattr(u->o.owners, t->path, k, v, n);
	else
		u->n_dropped_xattrs++;
}

static void set_xattrs(struct oci_unpacker *u, const struct target *t, int fd,
		       struct archive_entry *e)
{
	const char *k;
	const void *v;
	size_t n;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &k, &v, &n) == ARCHIVE_OK) {
		bool user = strncmp(k, "user.", 5) == 0;
		int r = -1;
		if (u->chown_ok || user) {
			if (fd >= 0) {
				r = fsetxattr(fd, k, v, n, 0);
			} else {
				cleanup_free char *p = sb_asprintf("/proc/self/fd/%d/%s", t->dirfd, t->base);
				r = lsetxattr(p, k, v, n, 0);
			}
		}
		if (r < 0)
			record_xattr(u, t, k, v, n);
	}
}

static int chown_or_record(struct oci_unpacker *u, const struct target *t, int fd, uid_t uid,
			   gid_t gid, struct sb_owner_entry *rec)
{
	if (u->chown_ok) {
		int r = fd >= 0 ? fchown(fd, uid, gid)
				: fchownat(t->dirfd, t->base, uid, gid, AT_SYMLINK_NOFOLLOW);
		if (r == 0)
			return 0;
		if (errno != EPERM && errno != EINVAL)
			return -1;
		u->chown_ok = false; /* e.g. a single-id user namespace */
		if (!u->warned_chown)
			oci_warnf(u->o.warn, u->o.warn_ctx, "%s: cannot change owners here (%s); "
				  "owners are recorded for the image instead", u->label,
				  strerror(errno));
		u->warned_chown = true;
	}
	if (uid != 0)
		rec->uid = uid;
	if (gid != 0)
		rec->gid = gid;
	return 0;
}

static int set_meta(struct oci_unpacker *u, const struct target *t, int fd,
		    struct archive_entry *e, mode_t disk_mode, sb_error_t *err)
{
	struct sb_owner_entry rec = { .uid = SB_OWNER_UNSET, .gid = SB_OWNER_UNSET };
	mode_t perm = archive_entry_perm(e), type = archive_entry_filetype(e);
	if (chown_or_record(u, t, fd, archive_entry_uid(e), archive_entry_gid(e), &rec) < 0)
		return sb_error_set(err, errno, "%s: owner of %s", u->label, t->path);
	/* chmod after chown: chown clears setuid/setgid. */
	if (type != AE_IFLNK) {
		int r = fd >= 0 ? fchmod(fd, disk_mode) : fchmodat(t->dirfd, t->base, disk_mode, 0);
		if (r < 0)
			return sb_error_set(err, errno, "%s: mode of %s", u->label, t->path);
	}
	if (disk_mode != perm && type != AE_IFLNK)
		rec.mode = type | perm;
	set_xattrs(u, t, fd, e);
	struct timespec ts[2] = { { archive_entry_mtime(e), archive_entry_mtime_nsec(e) },
				  { archive_entry_mtime(e), archive_entry_mtime_nsec(e) } };
	if (type != AE_IFDIR) {
		if (fd >= 0)
			futimens(fd, ts);
		else
			utimensat(t->dirfd, t->base, ts, AT_SYMLINK_NOFOLLOW);
	}
	if (u->o.owners == NULL || (rec.uid == SB_OWNER_UNSET && rec.gid == SB_OWNER_UNSET &&
				    rec.mode == 0))
		return 0;
	struct stat st;
	if ((fd >= 0 ? fstat(fd, &st) : fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW)) == 0) {
		rec.dev = st.st_dev;
		rec.ino = st.st_ino;
	}
	const struct sb_owner_entry *old = sb_ownership_get(u->o.owners, t->path);
	if (old) { /* keep xattrs recorded just before */
		rec.xattrs = old->xattrs;
		rec.n_xattrs = old->n_xattrs;
	}
	sb_ownership_set(u->o.owners, t->path, &rec);
	return 0;
}
