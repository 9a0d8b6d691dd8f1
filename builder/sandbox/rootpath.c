/* builder/sandbox/rootpath.c: creating and removing mount points in the image
 * without following the image's symlinks out of it. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

/* Fallback when openat2 is missing (Linux < 5.6): walk component by component
 * with O_NOFOLLOW, refusing symlinks altogether (safe, less permissive). */
static int open_walk_nofollow(int rootfd, const char *path, int flags)
{
	int fd = dup(rootfd);
	const char *s = path;
	while (fd >= 0) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n == 0)
			return fd;
		cleanup_free char *name = sb_strndup(s, n);
		s += n;
		bool last = strspn(s, "/") == strlen(s);
		int f = last ? flags : O_PATH | O_DIRECTORY;
		int nfd = openat(fd, name, f | O_NOFOLLOW | O_CLOEXEC);
		int saved = errno;
		close(fd);
		errno = saved;
		fd = nfd;
	}
	return -1;
}

int sb_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { 0 };
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return open_walk_nofollow(rootfd, rel, flags);
	return (int)fd;
}

/* Splits "/a/b/c" into parent "/a/b" and name "c". */
static void split(const char *path, char **parent, const char **name)
{
	const char *slash = strrchr(path, '/');
	*parent = slash == path ? sb_strdup("/") : sb_strndup(path, (size_t)(slash - path));
	*name = slash + 1;
}

int sb_mountpoint_make(int rootfd, const char *dst, bool dir)
{
	cleanup_free char *parent = NULL;
	const char *name;
	split(dst, &parent, &name);
	cleanup_close int pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0) {
		if (errno != ENOENT || strcmp(parent, "/") == 0)
			return -1;
		if (sb_mountpoint_make(rootfd, parent, true) < 0)
			return -1;
		pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
		if (pfd < 0)
			return -1;
	}
	if (dir) {
		if (mkdirat(pfd, name, 0755) == 0)
			return 1;
		return errno == EEXIST ? 0 : -1;
	}
	/* O_PATH fds cannot be used as the dirfd of openat with O_CREAT on
	 * every kernel; reopen the parent as a real directory. */
	cleanup_close int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 1;
}

static void record(struct sb_created *made, const char *dst)
{
	made->paths = sb_xrealloc(made->paths, (made->n + 1) * sizeof(char *));
	made->paths[made->n++] = sb_strdup(dst);
}

/* Creates the missing ancestors of dst and dst itself, recording each one. */
static int make_recorded(int rootfd, const char *dst, bool dir, struct sb_created *made)
{
	cleanup_close int fd = sb_open_in_root(rootfd, dst, O_PATH);
	if (fd >= 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	cleanup_free char *parent = NULL;
	const char *name;
	split(dst, &parent, &name);
	if (strcmp(parent, "/") != 0 && make_recorded(rootfd, parent, true, made) < 0)
		return -1;
	/* A dangling symlink in the image answers ENOENT above and "exists"
	 * here: nothing is created or recorded, and the mount fails clearly. */
	int rc = sb_mountpoint_make(rootfd, dst, dir);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		errno = ENOENT;
		return -1;
	}
	record(made, dst);
	return 0;
}

static bool src_is_dir(const struct sb_op *op)
{
	struct stat st;
	if (op->kind != SB_OP_BIND)
		return true;
	return stat(op->src, &st) == 0 && S_ISDIR(st.st_mode);
}

int sb_mountpoints_prepare(const struct sb_plan *plan, struct sb_created *made, sb_error_t *err)
{
	cleanup_close int rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set(err, errno, "opening rootfs %s", plan->rootfs);
	for (size_t i = 0; i < plan->nops; i++) {
		const struct sb_op *op = &plan->ops[i];
		if (op->kind == SB_OP_FILE || sb_plan_dst_in_fresh_fs(plan, i))
			continue;
		if (op->kind == SB_OP_BIND && access(op->src, F_OK) != 0) {
			if (op->flags & SB_BIND_OPTIONAL)
				continue;
			return sb_error_set(err, errno, "bind source %s", op->src);
		}
		if (make_recorded(rootfd, op->dst, src_is_dir(op), made) < 0)
			return sb_error_set(err, errno, "creating mount point %s in %s", op->dst,
					    plan->rootfs);
	}
	return 0;
}

/* Removes one recorded mount point through the rootfs (the script may have
 * replaced a parent directory with a symlink: never follow it out). */
static void remove_one(int rootfd, const char *dst)
{
	cleanup_free char *parent = NULL;
	const char *name;
	split(dst, &parent, &name);
	cleanup_close int pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
	struct stat st;
	if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		unlinkat(pfd, name, AT_REMOVEDIR); /* fails, harmlessly, when not empty */
	else if (S_ISREG(st.st_mode) && st.st_size == 0)
		unlinkat(pfd, name, 0);
}

void sb_mountpoints_cleanup(const char *rootfs, struct sb_created *made)
{
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = made->n; i-- > 0;) {
		if (rootfd >= 0)
			remove_one(rootfd, made->paths[i]);
		free(made->paths[i]);
	}
	free(made->paths);
	made->paths = NULL;
	made->n = 0;
}
