/* builder/sandbox/tree.c: removing a build tree, entering the subuid
 * namespace when its files belong to subordinate IDs. */
#include "builder/sandbox/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"

/* Empties directory dfd (owned by the caller), never following symlinks.
 * Directories get u+rwx first so read-only trees can be removed. */
static int empty_dir(int dfd)
{
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0 && errno == EACCES &&
			    fchmodat(dirfd(d), e->d_name, st.st_mode | S_IRWXU, 0) == 0)
				sub = openat(dirfd(d), e->d_name,
					     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				fchmod(sub, (st.st_mode & 07777) | S_IRWXU);
				if (empty_dir(sub) < 0)
					rc = -1;
			}
			if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				rc = -1;
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static int remove_here(const char *path, sb_error_t *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sb_error_set(err, errno, "removing %s", path);
	if (S_ISDIR(st.st_mode)) {
		chmod(path, (st.st_mode & 07777) | S_IRWXU);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || empty_dir(fd) < 0 || rmdir(path) < 0)
			return sb_error_set(err, errno, "removing %s", path);
		return 0;
	}
	if (unlink(path) < 0)
		return sb_error_set(err, errno, "removing %s", path);
	return 0;
}

/* Child: wait for the maps (written by the parent), then run fn. */
static void enter_child(const struct sb_sandbox *sb, int sock, int (*fn)(void *), void *arg)
{
	/* SIGTERM, not SIGKILL: the caller's cleanup handlers (inherited) then
	 * remove what fn was writing when the caller is killed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (sb_mode_uses_userns(sb->mode)) {
		if (unshare(CLONE_NEWUSER) < 0)
			sb_child_fail(sock, errno, "creating a user namespace");
		char c = 0;
		if (send(sock, "U", 1, MSG_NOSIGNAL) != 1 || recv(sock, &c, 1, 0) != 1 || c != 'M')
			_exit(127);
		/* Subuid mode allows setgroups: drop the host's groups. */
		if (sb->mode == SB_MODE_SUBUID)
			(void)!setgroups(0, NULL);
	}
	close(sock);
	_exit(fn(arg) & 0xff);
}

int sb_sandbox_enter(const struct sb_sandbox *sb, int (*fn)(void *), void *arg, int *status,
		     sb_error_t *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sb_error_set(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		enter_child(sb, sv[1], fn, arg);
	}
	close(sv[1]);
	int rc = pid < 0 ? sb_error_set(err, errno, "fork") : 0;
	char buf[1100];
	ssize_t n;
	while (pid > 0 && (n = recv(sv[0], buf, sizeof(buf) - 1, 0)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		buf[n] = '\0';
		if (buf[0] == 'U') {
			bool ok = rc == 0 && sb_userns_write_maps(sb, pid, false, err) == 0;
			if (!ok && rc == 0)
				rc = -1;
			(void)!send(sv[0], ok ? "M" : "X", 1, MSG_NOSIGNAL);
		} else if (buf[0] == 'E' && rc == 0) {
			char *colon = strchr(buf, ':');
			rc = sb_error_set(err, 0, "%s", colon ? colon + 1 : buf);
		}
	}
	close(sv[0]);
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !WIFEXITED(st))
		rc = sb_error_set(err, 0, "namespace helper killed by signal %d", WTERMSIG(st));
	if (rc == 0 && status != NULL)
		*status = WEXITSTATUS(st);
	return rc;
}

struct remove_arg {
	const char *path;
	int sock;
};

/* Runs in the entered child: errors travel back on a pipe. */
static int remove_cb(void *p)
{
	struct remove_arg *a = p;
	sb_error_t err = NULL;
	if (remove_here(a->path, &err) == 0)
		return 0;
	(void)!write(a->sock, sb_error_message(err), strlen(sb_error_message(err)));
	return 1;
}

int sb_sandbox_remove_tree(const struct sb_sandbox *sb, const char *path, sb_error_t *err)
{
	if (sb == NULL || sb->mode != SB_MODE_SUBUID)
		return remove_here(path, err);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe");
	struct remove_arg a = { path, p[1] };
	int status = 0;
	int rc = sb_sandbox_enter(sb, remove_cb, &a, &status, err);
	close(p[1]);
	char buf[1024];
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	if (rc == 0 && status != 0) {
		buf[n > 0 ? n : 0] = '\0';
		rc = sb_error_set(err, 0, "%s", n > 0 ? buf : "removal failed");
	}
	if (rc < 0)
		return sb_error_wrap(err, "removing %s in the build namespace", path);
	return 0;
}
