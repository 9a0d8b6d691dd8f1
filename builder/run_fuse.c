/* builder/run_fuse.c: a SIF's SquashFS partition mounted read-only in place
 * with squashfuse (-o offset=, as Apptainer's unprivileged FUSE path), so
 * `sifbuild run` need not extract it. Unmounted with fusermount3/fusermount
 * (or umount2 as root). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

/* name in $PATH, /usr/bin or /bin (new string), or NULL. */
static char *find_program(const char *name)
{
	return sb_find_program(name, "/usr/bin:/bin");
}

static char *find_fusermount(void)
{
	char *p = find_program("fusermount3");
	return p ? p : find_program("fusermount");
}

bool run_fuse_usable(void)
{
	const char *off = getenv("SIFBUILD_NO_FUSE");
	if (off && *off && strcmp(off, "0") != 0)
		return false;
	cleanup_free char *sq = find_program("squashfuse");
	cleanup_free char *fm = find_fusermount();
	if (sq == NULL || (fm == NULL && geteuid() != 0))
		return false;
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Runs argv with stdout and stderr captured into msg (first line). Returns
 * the exit status, or -1 when it could not be started. */
static int run_quiet(char *const argv[], bool own_session, char *msg, size_t len)
{
	int pfd[2];
	msg[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* The daemon must not get the terminal's ^C before we are done. */
		if (own_session)
			setsid();
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t got = 0;
	ssize_t n;
	while ((n = read(pfd[0], msg + got, len - 1 - got)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && (got += (size_t)n) >= len - 1)
			break;
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	close(pfd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_fuse_mount(const char *sif, int64_t offset, const char *mnt, sb_error_t *err)
{
	cleanup_free char *sq = find_program("squashfuse");
	if (sq == NULL)
		return sb_error_set(err, ENOENT, "squashfuse not found");
	cleanup_free char *opt = sb_asprintf("ro,offset=%lld", (long long)offset);
	char *const argv[] = { sq, "-o", opt, (char *)sif, (char *)mnt, NULL };
	char msg[512];
	/* squashfuse returns once the mount is in place (it daemonizes). */
	int st = run_quiet(argv, true, msg, sizeof(msg));
	if (st != 0)
		return sb_error_set(err, 0, "squashfuse %s failed (status %d): %s", sif, st,
				    msg[0] ? msg : "no message");
	return 0;
}

int run_fuse_unmount(const char *mnt, sb_error_t *err)
{
	cleanup_free char *fm = find_fusermount();
	char msg[512] = "";
	if (fm != NULL) {
		char *const argv[] = { fm, "-u", "-q", (char *)mnt, NULL };
		if (run_quiet(argv, false, msg, sizeof(msg)) == 0)
			return 0;
	}
	if (geteuid() == 0 && umount2(mnt, 0) == 0)
		return 0;
	/* Still busy: detach it, the daemon exits when the last user goes. */
	if (fm != NULL) {
		char *const argv[] = { fm, "-u", "-z", "-q", (char *)mnt, NULL };
		if (run_quiet(argv, false, msg, sizeof(msg)) == 0)
			return 0;
	}
	if (geteuid() == 0 && umount2(mnt, MNT_DETACH) == 0)
		return 0;
	return sb_error_set(err, 0, "unmounting %s: %s", mnt, msg[0] ? msg : "failed");
}
