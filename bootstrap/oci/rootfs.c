/* bootstrap/oci/rootfs.c: tree operations of layer application that must
 * never leave the root filesystem: the path walk (symlinks resolved inside
 * the root, by hand, one component at a time with O_NOFOLLOW), recursive
 * removal, whiteouts and opaque directories.
 *
 * Security reasoning: every kernel call takes a directory fd we obtained by
 * walking from the root fd with O_NOFOLLOW and a single component name, so no
 * symlink is ever followed by the kernel; symlinks met on the way are read
 * and their targets resolved against the root, with ".." stopping at the root
 * (the semantics of openat2 RESOLVE_IN_ROOT). The tree is private to the build
 * (no other writer), and the walk re-checks each component's type anyway. */
#include "bootstrap/oci/unpack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/ownership.h"

static size_t touch_hash(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static struct touch_node *touch_find(const struct oci_unpacker *u, const char *path)
{
	if (u->n_touch_buckets == 0)
		return NULL;
	struct touch_node *n = u->touch[touch_hash(path) % u->n_touch_buckets];
	for (; n; n = n->next)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static void touch_grow(struct oci_unpacker *u)
{
	size_t nb = u->n_touch_buckets ? u->n_touch_buckets * 2 : 256;
	struct touch_node **b = sb_xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < u->n_touch_buckets; i++) {
		struct touch_node *n = u->touch[i], *next;
		for (; n; n = next) {
			next = n->next;
			size_t h = touch_hash(n->path) % nb;
			n->next = b[h];
			b[h] = n;
		}
	}
	free(u->touch);
	u->touch = b;
	u->n_touch_buckets = nb;
}

static bool touch_add(struct oci_unpacker *u, const char *path, unsigned flags)
{
	struct touch_node *n = touch_find(u, path);
	if (n) {
		bool had = (n->flags & flags) == flags;
		n->flags |= flags;
		return had;
	}
	if (u->n_touch >= u->n_touch_buckets)
		touch_grow(u);
	n = sb_xcalloc(1, sizeof(*n));
	n->path = sb_strdup(path);
	n->flags = flags;
	size_t h = touch_hash(path) % u->n_touch_buckets;
	n->next = u->touch[h];
	u->touch[h] = n;
	u->n_touch++;
	return false;
}

void unpack_touch(struct oci_unpacker *u, const char *path)
{
	touch_add(u, path, TOUCH_ENTRY);
	char *p = sb_strdup(path), *sl;
	while ((sl = strrchr(p, '/')) != NULL) {
		*sl = '\0';
		if (touch_add(u, p, TOUCH_ANCESTOR))
			break; /* its parents are marked already */
	}
	if (*path)
		touch_add(u, "", TOUCH_ANCESTOR);
	free(p);
}

unsigned unpack_touched(const struct oci_unpacker *u, const char *path)
{
	struct touch_node *n = touch_find(u, path);
	return n ? n->flags : 0;
}

void unpack_touch_reset(struct oci_unpacker *u)
{
	for (size_t i = 0; i < u->n_touch_buckets; i++) {
		struct touch_node *n = u->touch[i], *next;
		for (; n; n = next) {
			next = n->next;
			free(n->path);
			free(n);
		}
	}
	free(u->touch);
	u->touch = NULL;
	u->n_touch_buckets = u->n_touch = 0;
}

/* Re-opens the symlink-free directory path canon from the root. */
static int reopen(struct oci_unpacker *u, const char *canon)
{
	return sb_open_in_root(u->rootfd, *canon ? canon : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW);
}

static void canon_pop(struct sb_strbuf *canon)
{
	char *sl = canon->len ? strrchr(canon->buf, '/') : NULL;
	canon->len = sl ? (size_t)(sl - canon->buf) : 0;
	if (canon->buf)
		canon->buf[canon->len] = '\0';
}

/* One step of the walk: opens component c below cur (creating it as a
 * directory when asked). Returns the fd or -1. */
static int step(struct oci_unpacker *u, int cur, const char *c, bool create,
		const struct sb_strbuf *canon)
{
	int fd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
		return -1;
	fchmodat(cur, c, 0755, 0); /* not the umask's choice: implied parents are 0755 */
	cleanup_free char *p = canon->len ? sb_asprintf("%s/%s", canon->buf, c) : sb_strdup(c);
	unpack_touch(u, p);
	return openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

int unpack_walk(struct oci_unpacker *u, const char *path, bool create, struct sb_strbuf *canon)
{
	struct sb_strbuf todo = SB_STRBUF_INIT;
	sb_strbuf_adds(&todo, path);
	sb_strbuf_release(canon);
	sb_strbuf_adds(canon, "");
	int cur = reopen(u, ""), hops = 0, err = 0;
	size_t pos = 0;
	while (cur >= 0 && err == 0) {
		while (todo.buf[pos] == '/')
			pos++;
		size_t n = strcspn(todo.buf + pos, "/");
		if (n == 0)
			break;
		char *c = sb_strndup(todo.buf + pos, n);
		pos += n;
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0) {
			if (c[1] == '.') {
				canon_pop(canon);
				close(cur);
				cur = reopen(u, canon->buf);
			}
			free(c);
			continue;
		}
		int fd = step(u, cur, c, create, canon);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			err = errno;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(fd, "", target, sizeof(target) - 1);
			if (tl < 0 || ++hops > 40) {
				err = tl < 0 ? errno : ELOOP;
			} else {
				target[tl] = '\0';
				char *rest = sb_asprintf("%s/%s", target, todo.buf + pos);
				sb_strbuf_release(&todo);
				sb_strbuf_adds(&todo, rest);
				free(rest);
				pos = 0;
				if (target[0] == '/') {
					sb_strbuf_release(canon);
					sb_strbuf_adds(canon, "");
					close(cur);
					cur = reopen(u, "");
				}
			}
		} else if (!S_ISDIR(st.st_mode)) {
			err = ENOTDIR;
		} else {
			if (canon->len)
				sb_strbuf_addc(canon, '/');
			sb_strbuf_adds(canon, c);
			close(cur);
			cur = fd;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
		free(c);
	}
	sb_strbuf_release(&todo);
	if (err) {
		if (cur >= 0)
			close(cur);
		errno = err;
		return -1;
	}
	return cur;
}

int unpack_rm_tree(int at, const char *name)
{
	struct stat st;
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(at, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if ((st.st_mode & 0700) != 0700)
		fchmodat(at, name, (st.st_mode & 07777) | 0700, 0);
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = unpack_rm_tree(dirfd(d), de->d_name);
	}
	closedir(d);
	if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -1;
	return r;
}

/* Children of the directory name in dirfd, or of dirfd itself (name NULL). */
static int lower_children(struct oci_unpacker *u, int at, const char *name, const char *path)
{
	int fd = openat(at, name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	/* Collect first: removing while reading a directory may skip entries. */
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = sb_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = sb_strdup(de->d_name);
	}
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *cp = *path ? sb_asprintf("%s/%s", path, names[i])
					      : sb_strdup(names[i]);
		if (r == 0)
			r = unpack_remove_lower(u, dirfd(d), names[i], cp);
		free(names[i]);
	}
	free(names);
	closedir(d);
	return r;
}

int unpack_remove_lower(struct oci_unpacker *u, int dirfd, const char *name, const char *path)
{
	unsigned t = unpack_touched(u, path);
	if (t == 0) {
		if (u->o.owners)
			sb_ownership_remove_tree(u->o.owners, path);
		return unpack_rm_tree(dirfd, name);
	}
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0; /* a file of this layer: spared */
	return lower_children(u, dirfd, name, path);
}

int unpack_opaque(struct oci_unpacker *u, int dirfd, const char *path)
{
	return lower_children(u, dirfd, NULL, path);
}

void unpack_dir_time(struct oci_unpacker *u, const char *path, struct timespec t)
{
	if (u->n_dirs == u->cap_dirs) {
		u->cap_dirs = u->cap_dirs ? u->cap_dirs * 2 : 64;
		u->dirs = sb_xrealloc(u->dirs, u->cap_dirs * sizeof(*u->dirs));
	}
	u->dirs[u->n_dirs].path = sb_strdup(path);
	u->dirs[u->n_dirs].mtime = t;
	u->n_dirs++;
}

void unpack_dir_times(struct oci_unpacker *u)
{
	/* Deepest first does not matter: setting a directory's times does not
	 * change its parent's. */
	for (size_t i = 0; i < u->n_dirs; i++) {
		int fd = sb_open_in_root(u->rootfd, *u->dirs[i].path ? u->dirs[i].path : ".",
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		if (fd >= 0) {
			struct timespec ts[2] = { u->dirs[i].mtime, u->dirs[i].mtime };
			futimens(fd, ts);
			close(fd);
		}
		free(u->dirs[i].path);
	}
	u->n_dirs = 0;
}
