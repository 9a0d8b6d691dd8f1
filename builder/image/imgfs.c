/* builder/image/imgfs.c: writes into an image tree that never leave it
 * (see internal.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

#define MAX_HOPS 40

/* Splits path into its parent ("." at the top) and last component. */
static char *split_path(const char *path, char **base)
{
	while (*path == '/')
		path++;
	size_t n = strlen(path);
	while (n > 0 && path[n - 1] == '/')
		n--;
	const char *sl = memrchr(path, '/', n);
	*base = sl ? sb_strndup(sl + 1, n - (size_t)(sl + 1 - path)) : sb_strndup(path, n);
	return sl ? sb_strndup(path, (size_t)(sl - path)) : sb_strdup(".");
}

/* The entry a write to path reaches: *dirfd (O_PATH) and *name, where name is
 * absent or not a symlink, or (*replace) a link to give up on. */
struct img_target {
	int dirfd;
	char *name;
	bool replace;
};

static void target_release(struct img_target *t)
{
	if (t->dirfd >= 0)
		close(t->dirfd);
	free(t->name);
	t->dirfd = -1;
	t->name = NULL;
}

static int resolve(int rootfd, const char *path, struct img_target *t)
{
	cleanup_free char *cur = sb_strdup(path);
	t->dirfd = -1;
	t->name = NULL;
	t->replace = false;
	for (int hop = 0; hop <= MAX_HOPS; hop++) {
		char *base;
		cleanup_free char *parent = split_path(cur, &base);
		if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
			free(base); /* the path or link names a directory */
			target_release(t);
			errno = EISDIR;
			return -1;
		}
		int pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
		if (pfd < 0) {
			free(base);
			goto give_up;
		}
		struct stat st;
		if (hop == MAX_HOPS || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISLNK(st.st_mode)) {
			target_release(t);
			t->dirfd = pfd;
			t->name = base;
			t->replace = hop == MAX_HOPS;
			return 0;
		}
		char link[PATH_MAX];
		ssize_t n = readlinkat(pfd, base, link, sizeof(link) - 1);
		if (n < 0) {
			close(pfd);
			free(base);
			goto give_up;
		}
		link[n] = '\0';
		target_release(t);
		t->dirfd = pfd;
		t->name = base;
		free(cur);
		cur = link[0] == '/' ? sb_strdup(link) : sb_asprintf("%s/%s", parent, link);
	}
	errno = ELOOP;
give_up:
	/* a link that leads nowhere usable is replaced; no link: an error */
	if (t->dirfd < 0)
		return -1;
	t->replace = true;
	return 0;
}

int img_stat(int rootfd, const char *path, struct stat *st)
{
	struct stat tmp;
	cleanup_close int fd = sb_open_in_root(rootfd, path, O_PATH);
	if (fd < 0)
		return -1;
	return fstat(fd, st ? st : &tmp);
}

bool img_lexists(int rootfd, const char *path)
{
	int fd = sb_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int write_all(int fd, const char *d, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, d, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		d += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens the resolved entry for writing, creating it; an existing file without
 * owner write gets it for the time of the write (*restore = its mode). */
static int open_target(struct img_target *t, int flags, unsigned mode, bool *existing,
		       int *restore)
{
	struct stat st;
	*existing = false;
	*restore = -1;
	if (t->replace || (fstatat(t->dirfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			   !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
		if (unlinkat(t->dirfd, t->name, 0) < 0 && errno != ENOENT)
			return -1;
	} else if (fstatat(t->dirfd, t->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		*existing = true;
	}
	int of = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | flags;
	int fd = openat(t->dirfd, t->name, of, mode);
	if (fd < 0 && errno == EACCES && *existing) {
		*restore = (int)(st.st_mode & 07777);
		if (fchmodat(t->dirfd, t->name, (unsigned)*restore | 0600, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		fd = openat(t->dirfd, t->name, of, mode);
	}
	return fd;
}

int img_put(int rootfd, const char *path, const void *data, size_t len, unsigned mode, int flags,
	    sb_error_t *err)
{
	struct img_target t;
	while (*path == '/')
		path++;
	if (resolve(rootfd, path, &t) < 0)
		return sb_error_set(err, errno, "writing /%s in the image", path);
	struct stat st;
	if ((flags & IMG_KEEP_EXISTING) && !t.replace &&
	    fstatat(t.dirfd, t.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		int r = 0;
		if ((flags & IMG_SET_MODE) && fchmodat(t.dirfd, t.name, mode, AT_SYMLINK_NOFOLLOW) < 0)
			r = sb_error_set(err, errno, "setting the mode of /%s in the image", path);
		target_release(&t);
		return r;
	}
	bool existing;
	int restore;
	int fd = open_target(&t, (flags & IMG_APPEND) ? O_APPEND : O_TRUNC, mode, &existing, &restore);
	target_release(&t);
	if (fd < 0)
		return sb_error_set(err, errno, "writing /%s in the image", path);
	int r = 0;
	if (write_all(fd, data, len) < 0)
		r = sb_error_set(err, errno, "writing /%s in the image", path);
	bool chmod_it = !existing || (flags & IMG_SET_MODE) || restore >= 0;
	unsigned final = (!existing || (flags & IMG_SET_MODE)) ? mode : (unsigned)restore;
	if (chmod_it && fchmod(fd, final) < 0 && r == 0)
		r = sb_error_set(err, errno, "setting the mode of /%s in the image", path);
	close(fd);
	return r;
}

int img_mkdirs(int rootfd, const char *path, unsigned mode, sb_error_t *err)
{
	struct sb_strbuf cur = SB_STRBUF_INIT;
	const char *p = path;
	int r = 0;
	while (r == 0 && *p) {
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		if (l == 0)
			break;
		if (cur.len)
			sb_strbuf_addc(&cur, '/');
		sb_strbuf_add(&cur, p, l);
		p += l;
		struct stat st;
		bool there = img_stat(rootfd, cur.buf, &st) == 0;
		if (there && S_ISDIR(st.st_mode))
			continue;
		if (there) {
			r = sb_error_set(err, ENOTDIR, "creating directory /%s in the image", cur.buf);
			break;
		}
		if (sb_mkdir_in_root(rootfd, cur.buf, mode, err) < 0) {
			r = -1;
			break;
		}
		/* mkdirat does not follow a dangling link that is in the way */
		int fd = sb_open_in_root(rootfd, cur.buf, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			r = sb_error_set(err, errno, "creating directory /%s in the image", cur.buf);
		else if (fchmod(fd, mode) < 0)
			r = sb_error_set(err, errno, "setting the mode of /%s in the image", cur.buf);
		if (fd >= 0)
			close(fd);
	}
	sb_strbuf_release(&cur);
	return r;
}
