#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

static int openat2_in_root(int rootfd, const char *path, int flags)
{
#ifdef SYS_openat2
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
#else
	(void)rootfd;
	(void)path;
	(void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

/* Fallback for kernels without openat2: resolve lexically, one component at a
 * time, expanding symlinks by hand against the root (".." never leaves it).
 * Every prefix handed to the kernel is made of checked non-symlink parts. */
int sb_open_in_root_walk(int rootfd, const char *path, int flags)
{
	struct sb_strbuf todo = SB_STRBUF_INIT, done = SB_STRBUF_INIT;
	int hops = 0, fd = -1;
	sb_strbuf_adds(&todo, path);
	sb_strbuf_adds(&done, ".");
	while (todo.len > 0) {
		char *t = todo.buf;
		while (*t == '/')
			t++;
		size_t cl = strcspn(t, "/");
		char *comp = sb_strndup(t, cl);
		char *rest = sb_strdup(t + cl);
		sb_strbuf_release(&todo);
		sb_strbuf_adds(&todo, rest);
		free(rest);
		bool last = strspn(todo.buf ? todo.buf : "", "/") == todo.len;
		if (comp[0] == '\0' || strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			char *sl = strrchr(done.buf, '/');
			if (sl) {
				done.len = (size_t)(sl - done.buf);
				done.buf[done.len] = '\0';
			}
			free(comp);
			continue;
		}
		size_t keep = done.len;
		sb_strbuf_addc(&done, '/');
		sb_strbuf_adds(&done, comp);
		free(comp);
		struct stat st;
		if (fstatat(rootfd, done.buf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    !(last && (flags & O_NOFOLLOW))) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(rootfd, done.buf, target, sizeof(target) - 1);
			if (n < 0 || ++hops > 40) {
				if (n >= 0)
					errno = ELOOP;
				goto out;
			}
			target[n] = '\0';
			done.len = target[0] == '/' ? 1 : keep;
			done.buf[done.len] = '\0';
			char *nt = sb_asprintf("%s/%s", target, todo.buf ? todo.buf : "");
			sb_strbuf_release(&todo);
			sb_strbuf_adds(&todo, nt);
			free(nt);
		}
	}
	fd = openat(rootfd, done.buf, flags | O_NOFOLLOW | O_CLOEXEC);
out:
	sb_strbuf_release(&todo);
	sb_strbuf_release(&done);
	return fd;
}

int sb_open_in_root(int rootfd, const char *path, int flags)
{
	int fd = openat2_in_root(rootfd, path, flags);
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	return sb_open_in_root_walk(rootfd, path, flags);
}

char *sb_read_in_root(int rootfd, const char *path, size_t max, size_t *len)
{
	cleanup_close int fd = sb_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		return NULL;
	}
	struct sb_strbuf sb = SB_STRBUF_INIT;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sb_strbuf_add(&sb, buf, (size_t)n);
		if (sb.len > max) {
			sb_strbuf_release(&sb);
			errno = EFBIG;
			return NULL;
		}
	}
	if (n < 0) {
		int e = errno;
		sb_strbuf_release(&sb);
		errno = e;
		return NULL;
	}
	return sb_strbuf_detach(&sb, len);
}

static char *parent_of(const char *path, const char **base)
{
	while (*path == '/')
		path++;
	const char *sl = strrchr(path, '/');
	*base = sl ? sl + 1 : path;
	return sl ? sb_strndup(path, (size_t)(sl - path)) : sb_strdup(".");
}

int sb_mkdir_in_root(int rootfd, const char *path, unsigned mode, sb_error_t *err)
{
	struct sb_strbuf cur = SB_STRBUF_INIT;
	const char *p = path;
	int r = 0;
	while (*p) {
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		if (l == 0)
			break;
		if (cur.len)
			sb_strbuf_addc(&cur, '/');
		sb_strbuf_add(&cur, p, l);
		p += l;
		int fd = sb_open_in_root(rootfd, cur.buf, O_PATH | O_DIRECTORY);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		const char *base;
		cleanup_free char *parent = parent_of(cur.buf, &base);
		cleanup_close int pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
		if (pfd < 0 || (mkdirat(pfd, base, mode) < 0 && errno != EEXIST)) {
			r = sb_error_set(err, errno, "creating directory /%s in the image", cur.buf);
			break;
		}
	}
	sb_strbuf_release(&cur);
	return r;
}

int sb_write_in_root(int rootfd, const char *path, const void *data, size_t len, unsigned mode,
		     int append, sb_error_t *err)
{
	const char *base;
	cleanup_free char *parent = parent_of(path, &base);
	cleanup_close int pfd = sb_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return sb_error_set(err, errno, "writing /%s in the image", path);
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return sb_error_set(err, EISDIR, "writing /%s in the image", path);
		unlinkat(pfd, base, 0); /* a symlink or special file is replaced */
		append = 0;
	}
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
	cleanup_close int fd = openat(pfd, base, flags, mode);
	if (fd < 0)
		return sb_error_set(err, errno, "writing /%s in the image", path);
	const char *d = data;
	while (len > 0) {
		ssize_t n = write(fd, d, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_error_set(err, errno, "writing /%s in the image", path);
		d += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0)
		return sb_error_set(err, errno, "setting the mode of /%s in the image", path);
	return 0;
}

char *sb_temp_beside(const char *target, sb_error_t *err)
{
	const char *slash = strrchr(target, '/');
	char *p = slash ? sb_asprintf("%.*s/.%s.sifbuild-XXXXXX", (int)(slash - target), target,
				      slash + 1)
			: sb_asprintf(".%s.sifbuild-XXXXXX", target);
	int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		sb_error_set(err, errno, "creating a temporary file beside %s", target);
		free(p);
		return NULL;
	}
	close(fd);
	return p;
}

const char *sb_tmp_base(const char *dir)
{
	static const char *const vars[] = { "SIFBUILD_TMPDIR", "APPTAINER_TMPDIR",
					    "SINGULARITY_TMPDIR", "TMPDIR" };
	if (dir)
		return dir;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
}

char *sb_find_program(const char *name, const char *extra)
{
	const char *env = getenv("PATH");
	cleanup_free char *dirs = sb_asprintf("%s:%s", env ? env : "", extra ? extra : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		char *p = sb_asprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}
