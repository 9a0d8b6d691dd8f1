/* builder/sandbox/reaper.c: PID 1 of the sandbox's PID namespace.
 *
 * The kernel gives PID 1 no default signal actions and re-parents every
 * orphan to it. This loop forks the program, forwards SIGINT/SIGTERM/SIGHUP/
 * SIGQUIT to every process in the namespace (as a terminal's Ctrl-C reaches
 * the whole foreground group: a shell waiting for a child only stops once
 * the child does), reaps everything, and returns the program's status once the
 * program itself has exited; when PID 1 then exits the kernel kills whatever
 * is left in the namespace (daemons started by %post). */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* Reaps every exited child; returns true when pid was among them. */
static bool reap_all(pid_t pid, int *raw)
{
	bool done = false;
	int status;
	pid_t p;
	while ((p = waitpid(-1, &status, WNOHANG)) > 0 || (p < 0 && errno == EINTR)) {
		if (p == pid) {
			*raw = status;
			done = true;
		}
	}
	return done;
}

int sb_reaper_run(void (*start)(void *), void *arg, int *raw)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	/* Blocked before the fork so no signal can slip between fork and wait. */
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	if (pid < 0) {
		*raw = 127 << 8;
		return 127;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		start(arg); /* does not return */
		_exit(127);
	}
	*raw = 255 << 8;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			if (reap_all(pid, raw))
				return status_code(*raw);
			continue;
		}
		/* From PID 1, -1 means every other process of this namespace. */
		if (kill(-1, sig) < 0)
			kill(pid, sig);
	}
}
