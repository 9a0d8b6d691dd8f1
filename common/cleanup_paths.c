/* common/cleanup_paths.c: recursive removal, and removal on interruption. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/strbuf.h"

/* Opens up mode-000 directories on the way down, so they can be emptied. */
static int open_up(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	if (type == FTW_D || type == FTW_DNR)
		if ((st->st_mode & 0700) != 0700)
			chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	int r = (type == FTW_DP || type == FTW_D || type == FTW_DNR) ? rmdir(path) : unlink(path);
	return (r < 0 && errno != ENOENT) ? -1 : 0;
}

int sb_rm_rf(const char *path, sb_error_t *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : sb_error_set(err, errno, "removing %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return sb_error_set(err, errno, "removing %s", path);
		return 0;
	}
	nftw(path, open_up, 64, FTW_PHYS);
	if (nftw(path, remove_one, 64, FTW_PHYS | FTW_DEPTH) != 0)
		return sb_error_set(err, errno, "removing %s", path);
	return 0;
}

#define MAX_CLEANUP 16

static struct {
	char path[PATH_MAX];
	volatile sig_atomic_t used;
	int is_dir;
} registry[MAX_CLEANUP];

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_CLEANUP; i++) {
		if (!registry[i].used)
			continue;
		if (!registry[i].is_dir) {
			unlink(registry[i].path);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			char *const argv[] = { "rm", "-rf", "--", registry[i].path, NULL };
			char *const envp[] = { NULL };
			execve("/bin/rm", argv, envp);
			_exit(127);
		}
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void sb_cleanup_install(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int to_abs(const char *path, char out[PATH_MAX])
{
	char cwd[PATH_MAX];
	if (path[0] == '/')
		return (size_t)snprintf(out, PATH_MAX, "%s", path) < PATH_MAX ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	return (size_t)snprintf(out, PATH_MAX, "%s/%s", cwd, path) < PATH_MAX ? 0 : -1;
}

int sb_cleanup_add(const char *path, int is_dir)
{
	char abs[PATH_MAX];
	if (to_abs(path, abs) < 0)
		return -1;
	for (int i = 0; i < MAX_CLEANUP; i++) {
		if (registry[i].used)
			continue;
		memcpy(registry[i].path, abs, sizeof(abs));
		registry[i].is_dir = is_dir;
		registry[i].used = 1;
		return 0;
	}
	return -1;
}

void sb_cleanup_remove(const char *path)
{
	char abs[PATH_MAX];
	if (to_abs(path, abs) < 0)
		return;
	for (int i = 0; i < MAX_CLEANUP; i++)
		if (registry[i].used && strcmp(registry[i].path, abs) == 0)
			registry[i].used = 0;
}
