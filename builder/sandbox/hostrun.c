/* builder/sandbox/hostrun.c: a host program as the sandbox's root (see
 * hostrun.h). Built on sb_sandbox_enter: inside the entered namespace the
 * callback adds mount and PID namespaces, and PID 1 (the reaper) starts the
 * program with the mode's root emulation. Setup errors travel back on a
 * pipe, so they are told apart from the program's own exit status. In
 * journal mode with an ownership map the namespace holder is the journal's
 * supervisor, as in exec.c. */
#include "builder/sandbox/hostrun.h"
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct hostrun {
	const struct sb_sandbox *sb;
	const char *rootfs;
	char **argv; /* final vector (fakeroot prefix included) */
	char **envp;
	int errfd;	/* write end of the error pipe */
	char *bind_dir; /* fakeroot: host library directory to bind, or NULL */
	/* journal mode with an ownership map (else NULL / -1) */
	struct sb_jtable *jt; /* the table as loaded; the holder serves its copy */
	int jlog;	      /* append-only log the holder writes, the caller replays */
	int jsock;	      /* the program sends its notification listener here */
};

static __attribute__((format(printf, 3, 4), noreturn)) void
hr_fail(const struct hostrun *h, int errnum, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
	(void)!write(h->errfd, msg, strlen(msg));
	_exit(127);
}

static void start_program(void *arg)
{
	const struct hostrun *h = arg;
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* Journal mode without a map to record into: the seccomp fakes. */
	if (h->sb->mode == SB_MODE_SECCOMP || (h->sb->mode == SB_MODE_JOURNAL && !h->jt)) {
		sb_error_t err = NULL;
		if (sb_seccomp_install(&err) < 0)
			hr_fail(h, 0, "%s", sb_error_message(err));
	}
	if (h->jt != NULL) {
		sb_error_t err = NULL;
		int listener;
		if (sb_journal_filter_load(&listener, &err) < 0)
			hr_fail(h, 0, "%s", sb_error_message(err));
		if (sb_send_fd(h->jsock, listener) < 0)
			hr_fail(h, errno, "passing the notification listener");
		close(listener);
		close(h->jsock);
	}
	execve(h->argv[0], h->argv, h->envp);
	hr_fail(h, errno, "executing %s", h->argv[0]);
}

/* mkdir -p of rel below rootfs; records each directory it made in *made. */
static int make_dirs(int rootfd, const char *rel, char ***made, size_t *n)
{
	cleanup_free char *copy = sb_strdup(rel);
	for (char *p = copy;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdirat(rootfd, copy, 0755) == 0) {
			*made = sb_xrealloc(*made, (*n + 1) * sizeof(char *));
			(*made)[(*n)++] = sb_strdup(copy);
		} else if (errno != EEXIST) {
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/* PID 1 of the new PID namespace. */
static void run_init(struct hostrun *h)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		hr_fail(h, errno, "making the mounts private");
	/* A /proc for this PID namespace; the host's stays when refused. */
	(void)!mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	char **made = NULL;
	size_t nmade = 0;
	cleanup_close int rootfd = -1;
	if (h->bind_dir != NULL) {
		rootfd = open(h->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		cleanup_free char *dst = sb_asprintf("%s%s", h->rootfs, h->bind_dir);
		if (rootfd < 0 || make_dirs(rootfd, h->bind_dir + 1, &made, &nmade) < 0 ||
		    mount(h->bind_dir, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
			hr_fail(h, errno, "binding %s into %s", h->bind_dir, h->rootfs);
	}
	int raw = 0;
	int code = sb_reaper_run(start_program, h, &raw);
	if (h->bind_dir != NULL) {
		cleanup_free char *dst = sb_asprintf("%s%s", h->rootfs, h->bind_dir);
		umount2(dst, MNT_DETACH);
		while (nmade > 0 && unlinkat(rootfd, made[nmade - 1], AT_REMOVEDIR) == 0)
			nmade--;
	}
	_exit(code);
}

static int wait_code(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Journal mode: the namespace holder supervises the program (as exec.c's
 * holder does for %post) until PID 1 exits. A supervisor failure kills the
 * sandbox and is reported on the error pipe, so the run fails. */
static int supervise(struct hostrun *h, pid_t init, int procfd)
{
	sb_error_t err = NULL;
	int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	if (pidfd < 0) {
		sb_error_set(&err, errno, "ownership journal supervisor: pidfd_open");
	} else {
		struct pollfd p[2] = { { h->jsock, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		while (poll(p, 2, -1) < 0 && errno == EINTR)
			;
		int listener = p[1].revents == 0 && p[0].revents ? sb_recv_fd(h->jsock) : -1;
		if (listener >= 0)
			sb_journal_serve(h->jt, procfd, h->jlog, listener, pidfd, &err);
	}
	if (err != NULL) {
		kill(init, SIGKILL);
		const char *m = sb_error_message(err);
		(void)!write(h->errfd, m, strlen(m));
	}
	int code = wait_code(init);
	return err != NULL ? 127 : code;
}

/* Runs in the namespace sb_sandbox_enter made (or as the caller in root
 * mode): new mount and PID namespaces, then PID 1. */
static int enter_cb(void *arg)
{
	struct hostrun *h = arg;
	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0)
		hr_fail(h, errno, "creating mount and PID namespaces");
	/* The supervisor's /proc of the caller's PID namespace, before PID 1
	 * mounts its own (ownership-journal.md pitfall P2). */
	int procfd = -1, jsv[2] = { -1, -1 };
	if (h->jt != NULL) {
		procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (procfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, jsv) < 0)
			hr_fail(h, errno, "ownership journal setup");
		h->jsock = jsv[1];
	}
	pid_t pid = fork();
	if (pid < 0)
		hr_fail(h, errno, "fork");
	if (pid == 0) {
		if (jsv[0] >= 0)
			close(jsv[0]);
		run_init(h);
	}
	if (h->jt == NULL)
		return wait_code(pid);
	close(jsv[1]);
	h->jsock = jsv[0];
	return supervise(h, pid, procfd);
}

static char **strv_join(char *const *a, size_t na, char *const *b)
{
	size_t nb = 0;
	while (b[nb] != NULL)
		nb++;
	char **v = sb_xcalloc(na + nb + 1, sizeof(char *));
	for (size_t i = 0; i < na; i++)
		v[i] = sb_strdup(a[i]);
	for (size_t i = 0; i < nb; i++)
		v[na + i] = sb_strdup(b[i]);
	return v;
}

/* Fakeroot mode: argv under the host's fakeroot(1), FAKEROOTDONTTRYCHOWN=1. */
static int wrap_fakeroot(struct hostrun *h, char *const argv[], char *const envp[], sb_error_t *err)
{
	const struct sb_fakeroot_host *fr = &h->sb->fr;
	if (fr->script == NULL)
		return sb_error_set(err, 0,
				    "fakeroot mode without the host's fakeroot(1) cannot "
				    "run host programs (Debian package fakeroot)");
	char *prefix[] = {
		fr->script, (char *)"-f", fr->faked, (char *)"-l", fr->lib, (char *)"--"
	};
	h->argv = strv_join(prefix, sizeof(prefix) / sizeof(prefix[0]), argv);
	char *extra[] = { (char *)"FAKEROOTDONTTRYCHOWN=1" };
	h->envp = strv_join(extra, 1, envp);
	if (h->rootfs != NULL) {
		cleanup_free char *lib = sb_strdup(fr->lib);
		h->bind_dir = sb_strdup(dirname(lib));
	}
	return 0;
}

/* Journal mode: the table the supervisor starts from (owners' records of
 * files in rootfs) and its log. */
static int journal_begin(struct hostrun *h, struct sb_ownership *owners, sb_error_t *err)
{
	h->jlog = memfd_create("sifbuild-journal", MFD_CLOEXEC);
	if (h->jlog < 0)
		return sb_error_set(err, errno, "ownership journal log");
	h->jt = sb_jtable_new();
	if (sb_jtable_load(h->jt, owners, h->rootfs, err) < 0)
		return sb_error_wrap(err, "loading the ownership map");
	return 0;
}

int sb_sandbox_run_host(const struct sb_sandbox *sb, const char *rootfs, char *const argv[],
			char *const envp[], int *status, sb_error_t *err)
{
	return sb_sandbox_run_host_owned(sb, rootfs, NULL, argv, envp, status, err);
}

int sb_sandbox_run_host_owned(const struct sb_sandbox *sb, const char *rootfs,
			      struct sb_ownership *owners, char *const argv[], char *const envp[],
			      int *status, sb_error_t *err)
{
	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/')
		return sb_error_set_status(err, 2, 0, "host program must be an absolute path");
	if (rootfs != NULL && rootfs[0] != '/')
		return sb_error_set_status(err, 2, 0, "rootfs %s must be an absolute path", rootfs);
	struct hostrun h = { .sb = sb, .rootfs = rootfs, .errfd = -1, .jlog = -1, .jsock = -1 };
	bool journal = sb->mode == SB_MODE_JOURNAL && owners != NULL && rootfs != NULL;
	if (journal && journal_begin(&h, owners, err) < 0) {
		sb_jtable_free(h.jt);
		if (h.jlog >= 0)
			close(h.jlog);
		return -1;
	}
	char *none[] = { NULL };
	if (sb->mode == SB_MODE_FAKEROOT) {
		if (wrap_fakeroot(&h, argv, envp ? envp : none, err) < 0)
			return -1;
	} else {
		h.argv = strv_join(NULL, 0, argv);
		h.envp = strv_join(NULL, 0, envp ? envp : none);
	}
	int p[2];
	int rc = pipe2(p, O_CLOEXEC);
	if (rc < 0) {
		rc = sb_error_set(err, errno, "pipe");
	} else {
		h.errfd = p[1];
		int st = 0;
		rc = sb_sandbox_enter(sb, enter_cb, &h, &st, err);
		close(p[1]);
		char buf[1100];
		ssize_t n = read(p[0], buf, sizeof(buf) - 1);
		close(p[0]);
		if (rc == 0 && n > 0) {
			buf[n] = '\0';
			rc = sb_error_set(err, 0, "sandbox: %s", buf);
		}
		if (rc == 0)
			*status = st;
	}
	/* What the run recorded for files of rootfs, into the map. */
	if (h.jt != NULL && rc == 0 && (sb_jtable_replay(h.jt, h.jlog, 0, err) < 0 ||
					sb_jtable_materialize(h.jt, owners, rootfs, err) < 0))
		rc = -1;
	sb_jtable_free(h.jt);
	if (h.jlog >= 0)
		close(h.jlog);
	sb_strv_free(h.argv);
	sb_strv_free(h.envp);
	free(h.bind_dir);
	return rc;
}
