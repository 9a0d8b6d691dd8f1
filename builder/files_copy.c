/* builder/files_copy.c: the recursive copier behind %files (cp -fLr and
 * tar-like modes) and the in-root secure join. Every destination entry is
 * reached through a directory fd that was opened inside the root, and every
 * name created in it is a single component opened with O_NOFOLLOW; a
 * destination symlink is only ever followed through sb_open_in_root. */
#include "builder/files_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

struct files_ancestor {
	dev_t sdev, ddev;
	ino_t sino, dino;
	struct files_ancestor *up;
};

struct files_link {
	dev_t dev;
	ino_t ino;
	char *rel;
};

void files_list_add(struct files_list *l, char *s)
{
	l->v = sb_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

void files_list_free(struct files_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Drops the last component of the clean relative path in sb. */
static void pop_component(struct sb_strbuf *sb)
{
	if (sb->len == 0)
		return;
	char *sl = strrchr(sb->buf, '/');
	sb->len = sl ? (size_t)(sl - sb->buf) : 0;
	sb->buf[sb->len] = '\0';
}

char *files_secure_join(int rootfd, const char *path)
{
	struct sb_strbuf done = SB_STRBUF_INIT;
	char *todo = sb_strdup(path);
	size_t pos = 0;
	int hops = 0;
	sb_strbuf_adds(&done, "");
	while (todo[pos]) {
		while (todo[pos] == '/')
			pos++;
		size_t cl = strcspn(todo + pos, "/");
		if (cl == 0)
			break;
		char *comp = sb_strndup(todo + pos, cl);
		pos += cl;
		if (strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			pop_component(&done);
			free(comp);
			continue;
		}
		size_t keep = done.len;
		if (done.len)
			sb_strbuf_addc(&done, '/');
		sb_strbuf_adds(&done, comp);
		free(comp);
		struct stat st;
		if (fstatat(rootfd, done.buf, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
			continue;
		char target[PATH_MAX];
		ssize_t n = readlinkat(rootfd, done.buf, target, sizeof(target) - 1);
		if (n < 0 || ++hops > 255) {
			int e = n < 0 ? errno : ELOOP;
			sb_strbuf_release(&done);
			free(todo);
			errno = e;
			return NULL;
		}
		target[n] = '\0';
		done.len = target[0] == '/' ? 0 : keep;
		done.buf[done.len] = '\0';
		char *nt = sb_asprintf("%s/%s", target, todo + pos);
		free(todo);
		todo = nt;
		pos = 0;
	}
	free(todo);
	return sb_strbuf_detach(&done, NULL);
}

void files_copier_release(struct files_copier *c)
{
	for (size_t i = 0; i < c->n_links; i++)
		free(c->links[i].rel);
	free(c->links);
	c->links = NULL;
	c->n_links = 0;
}

static int copy_at(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		   int dpfd, const char *dname, const char *rel, sb_error_t *err);

/* "<what> <source path>: why" (status 2 when the source is not there). */
static int fail(sb_error_t *err, int errnum, const char *what, const char *path)
{
	int status = errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP ? 2 : 1;
	return sb_error_set_status(err, status, errnum, "%s %s", what, path);
}

/* "<what> /<destination in the image>: why". */
static int fail_dst(sb_error_t *err, int errnum, const char *what, const char *rel)
{
	return sb_error_set(err, errnum, "%s /%s in the image", what, rel);
}

/* Removes dname in dpfd and everything under it, never following symlinks. */
static int rm_at(int dpfd, const char *dname)
{
	int fd = openat(dpfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return unlinkat(dpfd, dname, 0) < 0 && errno != ENOENT ? -1 : 0;
	fchmod(fd, 0700);
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	struct dirent *e;
	int r = 0;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			r = errno == EISDIR || errno == EPERM ? rm_at(dirfd(d), e->d_name) : -1;
	}
	closedir(d);
	if (r == 0 && unlinkat(dpfd, dname, AT_REMOVEDIR) < 0)
		r = -1;
	return r;
}

/* Makes room for a new non-directory at dname (tar mode: whatever is there
 * goes; cp mode: anything but a directory). */
static int clear_dest(struct files_copier *c, int dpfd, const char *dname, const char *rel,
		      sb_error_t *err)
{
	struct stat dst;
	if (fstatat(dpfd, dname, &dst, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail_dst(err, errno, "reading", rel);
	if (S_ISDIR(dst.st_mode)) {
		if (c->mode == FILES_CP || strcmp(dname, ".") == 0)
			return sb_error_set_status(err, 2, 0,
						   "cannot overwrite directory /%s with non-directory",
						   rel);
		if (rm_at(dpfd, dname) < 0)
			return fail_dst(err, errno, "removing", rel);
		return 0;
	}
	if (unlinkat(dpfd, dname, 0) < 0 && errno != ENOENT)
		return fail_dst(err, errno, "replacing", rel);
	return 0;
}

/* Ownership, mode and times of a tar-mode entry created at dname. */
static void apply_meta(struct files_copier *c, int fd, int dpfd, const char *dname,
		       const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	if (fd >= 0) {
		if (geteuid() == 0)
			(void)!fchown(fd, st->st_uid, st->st_gid);
		if (!S_ISLNK(st->st_mode))
			(void)!fchmod(fd, st->st_mode & 07777);
		futimens(fd, ts);
		return;
	}
	if (geteuid() == 0)
		(void)!fchownat(dpfd, dname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	if (!S_ISLNK(st->st_mode))
		(void)!fchmodat(dpfd, dname, st->st_mode & 07777, AT_SYMLINK_NOFOLLOW);
	utimensat(dpfd, dname, ts, AT_SYMLINK_NOFOLLOW);
	(void)c;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP &&
		    errno != EBADF)
			return -1;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			off += w;
		}
	}
}

/* cp mode: an existing regular file (or a symlink to one, inside the root) is
 * truncated and rewritten, keeping its mode; when that fails it is replaced. */
static int open_existing_cp(struct files_copier *c, int dpfd, const char *dname, const char *rel)
{
	struct stat dst;
	if (fstatat(dpfd, dname, &dst, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISREG(dst.st_mode))
		return openat(dpfd, dname, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (!S_ISLNK(dst.st_mode)) {
		errno = S_ISDIR(dst.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	int fd = sb_open_in_root(c->rootfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		errno = ENOENT; /* dangling: replaced */
		return -1;
	}
	if (fstat(fd, &dst) < 0 || !S_ISREG(dst.st_mode)) {
		close(fd);
		errno = S_ISDIR(dst.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	close(fd);
	return sb_open_in_root(c->rootfd, rel, O_WRONLY | O_TRUNC);
}

static bool link_known(struct files_copier *c, const struct stat *st, int dpfd, const char *dname)
{
	if (c->mode != FILES_TAR || st->st_nlink < 2)
		return false;
	for (size_t i = 0; i < c->n_links; i++) {
		struct files_link *l = &c->links[i];
		if (l->dev != st->st_dev || l->ino != st->st_ino)
			continue;
		const char *sl = strrchr(l->rel, '/');
		cleanup_free char *parent = sl ? sb_strndup(l->rel, (size_t)(sl - l->rel)) : NULL;
		cleanup_close int pfd = sb_open_in_root(c->rootfd, parent ? parent : ".",
							O_PATH | O_DIRECTORY);
		return pfd >= 0 && linkat(pfd, sl ? sl + 1 : l->rel, dpfd, dname, 0) == 0;
	}
	return false;
}

static void link_remember(struct files_copier *c, const struct stat *st, const char *rel)
{
	if (c->mode != FILES_TAR || st->st_nlink < 2)
		return;
	c->links = sb_xrealloc(c->links, (c->n_links + 1) * sizeof(*c->links));
	c->links[c->n_links++] = (struct files_link){ st->st_dev, st->st_ino, sb_strdup(rel) };
}

static int copy_reg(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		    const struct stat *st, int dpfd, const char *dname, const char *rel,
		    sb_error_t *err)
{
	int nf = c->mode == FILES_TAR ? O_NOFOLLOW : 0;
	cleanup_close int in = openat(sdirfd, sname, O_RDONLY | O_NONBLOCK | O_CLOEXEC | nf);
	if (in < 0)
		return fail(err, errno, "reading", spath);
	cleanup_close int out = -1;
	if (c->mode == FILES_CP) {
		out = open_existing_cp(c, dpfd, dname, rel);
		if (out < 0 && errno == EISDIR)
			return sb_error_set_status(err, 2, 0,
						   "cannot overwrite directory /%s with non-directory",
						   rel);
	}
	if (out < 0) {
		if (clear_dest(c, dpfd, dname, rel, err) < 0)
			return -1;
		if (link_known(c, st, dpfd, dname))
			return 0;
		mode_t m = c->mode == FILES_TAR ? 0600 : (st->st_mode & 01777);
		out = openat(dpfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m);
		if (out < 0)
			return fail_dst(err, errno, "writing", rel);
		link_remember(c, st, rel);
	}
	if (copy_data(in, out) < 0)
		return sb_error_set(err, errno, "copying %s to /%s", spath, rel);
	if (c->mode == FILES_TAR)
		apply_meta(c, out, dpfd, dname, st);
	return 0;
}

static int copy_symlink(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
			const struct stat *st, int dpfd, const char *dname, const char *rel,
			sb_error_t *err)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(sdirfd, sname, target, sizeof(target) - 1);
	if (n < 0)
		return fail(err, errno, "reading", spath);
	target[n] = '\0';
	if (clear_dest(c, dpfd, dname, rel, err) < 0)
		return -1;
	if (symlinkat(target, dpfd, dname) < 0)
		return fail_dst(err, errno, "writing", rel);
	apply_meta(c, -1, dpfd, dname, st);
	return 0;
}

static int copy_special(struct files_copier *c, const char *spath, const struct stat *st,
			int dpfd, const char *dname, const char *rel, sb_error_t *err)
{
	if (c->mode == FILES_TAR && S_ISSOCK(st->st_mode))
		return 0;
	if (clear_dest(c, dpfd, dname, rel, err) < 0)
		return -1;
	mode_t perm = c->mode == FILES_TAR ? 0600 : (st->st_mode & 01777);
	if (mknodat(dpfd, dname, (st->st_mode & S_IFMT) | perm, st->st_rdev) < 0) {
		if (c->mode == FILES_TAR && (errno == EPERM || errno == EACCES) &&
		    (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))) {
			sb_warnf(c->warn, c->warn_ctx, "skipping device node %s: %s", spath,
				 strerror(errno));
			return 0;
		}
		return fail_dst(err, errno, "creating", rel);
	}
	if (c->mode == FILES_TAR)
		apply_meta(c, -1, dpfd, dname, st);
	return 0;
}

/* The destination directory for a source directory: merged into when there
 * is one, created (0700 until its contents are in) otherwise. *created tells
 * which. */
static int open_dest_dir(struct files_copier *c, int dpfd, const char *dname, const char *rel,
			 bool *created, sb_error_t *err)
{
	struct stat dst;
	*created = false;
	if (fstatat(dpfd, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(dst.st_mode))
			return openat(dpfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (c->mode == FILES_CP) {
			int fd = S_ISLNK(dst.st_mode)
					 ? sb_open_in_root(c->rootfd, rel, O_RDONLY | O_DIRECTORY)
					 : -1;
			if (fd < 0)
				sb_error_set_status(err, 2, 0,
						    "cannot overwrite non-directory /%s with directory",
						    rel);
			return fd;
		}
		if (unlinkat(dpfd, dname, 0) < 0)
			return fail_dst(err, errno, "replacing", rel);
	}
	if (mkdirat(dpfd, dname, 0700) < 0)
		return fail_dst(err, errno, "creating", rel);
	*created = true;
	int fd = openat(dpfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fail_dst(err, errno, "opening", rel);
	return fd;
}

static int check_cycle(struct files_copier *c, const struct stat *st, const char *spath,
		       sb_error_t *err)
{
	if (st->st_dev == c->root_dev && st->st_ino == c->root_ino)
		return sb_error_set_status(err, 2, 0,
					   "cannot copy %s: it contains the image being built", spath);
	for (struct files_ancestor *a = c->stack; a; a = a->up) {
		if ((a->sdev == st->st_dev && a->sino == st->st_ino) ||
		    (a->ddev == st->st_dev && a->dino == st->st_ino))
			return sb_error_set_status(err, 2, 0,
						   "cannot copy %s: directory loop (a directory into itself)",
						   spath);
	}
	return 0;
}

static int copy_entries(struct files_copier *c, DIR *sd, const char *spath, int dfd,
			const char *rel, sb_error_t *err)
{
	struct dirent *e;
	errno = 0;
	while ((e = readdir(sd)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		cleanup_free char *sp = sb_asprintf("%s/%s", spath, e->d_name);
		cleanup_free char *dr = *rel ? sb_asprintf("%s/%s", rel, e->d_name)
					     : sb_strdup(e->d_name);
		if (copy_at(c, dirfd(sd), e->d_name, sp, dfd, e->d_name, dr, err) < 0)
			return -1;
		errno = 0;
	}
	return errno ? fail(err, errno, "reading", spath) : 0;
}

static int copy_dir(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		    const struct stat *st, int dpfd, const char *dname, const char *rel,
		    sb_error_t *err)
{
	if (check_cycle(c, st, spath, err) < 0)
		return -1;
	int nf = c->mode == FILES_TAR ? O_NOFOLLOW : 0;
	int sfd = openat(sdirfd, sname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nf);
	if (sfd < 0)
		return fail(err, errno, "reading", spath);
	DIR *sd = fdopendir(sfd);
	if (sd == NULL) {
		close(sfd);
		return fail(err, errno, "reading", spath);
	}
	bool created;
	cleanup_close int dfd = open_dest_dir(c, dpfd, dname, rel, &created, err);
	struct stat dst;
	if (dfd < 0 || fstat(dfd, &dst) < 0) {
		closedir(sd);
		return dfd < 0 ? -1 : fail_dst(err, errno, "opening", rel);
	}
	struct files_ancestor frame = { st->st_dev, dst.st_dev, st->st_ino, dst.st_ino, c->stack };
	c->stack = &frame;
	int r = copy_entries(c, sd, spath, dfd, rel, err);
	c->stack = frame.up;
	closedir(sd);
	if (r < 0)
		return -1;
	if (c->mode == FILES_TAR)
		apply_meta(c, dfd, dpfd, dname, st);
	else if (created && fchmod(dfd, (st->st_mode & 01777) & ~c->umask) < 0)
		return fail_dst(err, errno, "setting the mode of", rel);
	return 0;
}

static int copy_at(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		   int dpfd, const char *dname, const char *rel, sb_error_t *err)
{
	struct stat st;
	int fl = c->mode == FILES_TAR ? AT_SYMLINK_NOFOLLOW : 0;
	if (fstatat(sdirfd, sname, &st, fl) < 0)
		return fail(err, errno, "reading", spath);
	if (S_ISDIR(st.st_mode))
		return copy_dir(c, sdirfd, sname, spath, &st, dpfd, dname, rel, err);
	if (S_ISREG(st.st_mode))
		return copy_reg(c, sdirfd, sname, spath, &st, dpfd, dname, rel, err);
	if (S_ISLNK(st.st_mode))
		return copy_symlink(c, sdirfd, sname, spath, &st, dpfd, dname, rel, err);
	return copy_special(c, spath, &st, dpfd, dname, rel, err);
}

int files_copy_tree(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		    const char *rel, sb_error_t *err)
{
	struct stat rs;
	if (fstat(c->rootfd, &rs) < 0)
		return sb_error_set(err, errno, "opening the image root");
	c->root_dev = rs.st_dev;
	c->root_ino = rs.st_ino;
	const char *sl = strrchr(rel, '/');
	cleanup_free char *parent = sl ? sb_strndup(rel, (size_t)(sl - rel)) : sb_strdup(".");
	const char *dname = *rel == '\0' ? "." : sl ? sl + 1 : rel;
	cleanup_close int dpfd = sb_open_in_root(c->rootfd, parent, O_RDONLY | O_DIRECTORY);
	if (dpfd < 0)
		return fail_dst(err, errno, "opening the destination directory of", rel);
	return copy_at(c, sdirfd, sname, spath, dpfd, dname, rel, err);
}
