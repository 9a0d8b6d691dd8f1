/* builder/image/basenv.c: the base environment every definition-file build
 * puts into its tree (apptainer-behaviour.md 3.4), from the skeleton table. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "builder/image/internal.h"
#include "common/fs.h"

/* fchmod, also for an O_PATH descriptor (through its /proc/self/fd link). */
static int chmod_fd(int fd, unsigned mode)
{
	if (fchmod(fd, mode) == 0)
		return 0;
	if (errno != EBADF)
		return -1;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return chmod(p, mode);
}

static int top_writable(int rootfd, sb_error_t *err)
{
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return sb_error_set(err, errno, "reading the mode of the image's top directory");
	if ((st.st_mode & S_IWUSR) == 0 && chmod_fd(rootfd, (st.st_mode & 07777) | S_IWUSR) < 0)
		return sb_error_set(err, errno, "adding owner write to the image's top directory");
	return 0;
}

/* A directory is made only where nothing is (an existing symlink, even to a
 * directory elsewhere in the tree, is accepted as Apptainer does). */
static int make_dir(int rootfd, const char *path, unsigned mode, sb_error_t *err)
{
	if (img_lexists(rootfd, path))
		return 0;
	return img_mkdirs(rootfd, path, mode, err);
}

/* A top-level symlink: made when absent, replaced when it points elsewhere,
 * and a non-symlink there is left alone. */
static int make_link(int rootfd, const char *name, const char *target, sb_error_t *err)
{
	struct stat st;
	if (strchr(name, '/') != NULL) /* only top-level links: no parent to resolve */
		return sb_error_set(err, EINVAL, "creating the symlink /%s in the image", name);
	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISLNK(st.st_mode))
			return 0;
		char cur[PATH_MAX];
		ssize_t n = readlinkat(rootfd, name, cur, sizeof(cur) - 1);
		if (n >= 0 && (size_t)n == strlen(target) && memcmp(cur, target, (size_t)n) == 0)
			return 0;
		if (unlinkat(rootfd, name, 0) < 0)
			return sb_error_set(err, errno, "replacing the symlink /%s in the image", name);
	} else if (errno != ENOENT) {
		return sb_error_set(err, errno, "creating the symlink /%s in the image", name);
	}
	if (symlinkat(target, rootfd, name) < 0)
		return sb_error_set(err, errno, "creating the symlink /%s in the image", name);
	return 0;
}

int image_base_env(int rootfd, bool overwrite, sb_error_t *err)
{
	if (top_writable(rootfd, err) < 0)
		return -1;
	size_t n;
	const struct image_skel_entry *sk = image_skeleton(&n);
	/* Apptainer's order: directories, then symlinks, then files */
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct image_skel_entry *e = &sk[i];
			int r = 0;
			if (pass == 0 && e->type == 'd')
				r = make_dir(rootfd, e->path, e->mode, err);
			else if (pass == 1 && e->type == 'l')
				r = make_link(rootfd, e->path, e->content, err);
			else if (pass == 2 && e->type == 'f')
				r = img_put(rootfd, e->path, e->content, strlen(e->content), e->mode,
					    IMG_SET_MODE | (overwrite ? 0 : IMG_KEEP_EXISTING), err);
			if (r < 0)
				return -1;
		}
	}
	return 0;
}
