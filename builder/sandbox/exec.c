/* builder/sandbox/exec.c: the executor.
 *
 * Processes (P = caller, C = namespace holder, R = PID 1, S = the program):
 *
 *   P --fork--> C: unshare(USER|NS|PID) ("U" to P, P writes the maps, "M")
 *               C --fork--> R (PID 1): mounts, pivot_root, reaper
 *                           R --fork--> S: stdio, seccomp, execve
 *
 * P and the children talk over one SOCK_SEQPACKET pair: children send
 * "U" (namespace created), "E<errno>:<message>" (setup failed) and
 * "S<wait status>" (the program's raw status, from R); P sends "M" (maps
 * written) or "X" (give up). P reads until every child has closed its end.
 * PR_SET_PDEATHSIG chains C to P and R to C, and the kernel kills the whole
 * PID namespace when R exits, so nothing outlives P. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct run_ctx {
	const struct sb_sandbox *sb;
	const struct sb_plan *plan;
	int sock;
	pid_t parent;
	/* journal mode (else NULL / -1) */
	struct sb_jtable *jt; /* the table as loaded; C serves its copy */
	int jlog; /* append-only log C writes, P replays */
	int jsock; /* S sends the notification listener to C */
};

static bool journaled(const struct run_ctx *ctx)
{
	return ctx->jt != NULL;
}

/* ------------------------------------------------- signal forwarding (P, C) */

static volatile sig_atomic_t fwd_pid;
static volatile sig_atomic_t fwd_signal;
static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define NFWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

static void forward_handler(int sig)
{
	int saved = errno;
	fwd_signal = sig;
	if (fwd_pid > 0)
		kill((pid_t)fwd_pid, sig);
	errno = saved;
}

static void install_forwarding(struct sigaction old[NFWD])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFWD; i++)
		sigaction(fwd_signals[i], &sa, old ? &old[i] : NULL);
}

static void restore_signals(const struct sigaction old[NFWD])
{
	for (size_t i = 0; i < NFWD; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
}

/* ---------------------------------------------------------------- messages */

void sb_child_fail(int sock, int errnum, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(msg, sizeof(msg), "E%d:", errnum);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	(void)!send(sock, msg, strlen(msg), MSG_NOSIGNAL);
	_exit(127);
}

static void child_fail_err(int sock, sb_error_t *err)
{
	sb_child_fail(sock, (*err)->errnum, "%s", sb_error_message(*err));
}

/* ------------------------------------------------------------- S: program */

/* argv[0] without '/' is searched in the plan's PATH, inside the new root. */
static const char *resolve_program(const struct sb_plan *plan, char *buf, size_t len)
{
	const char *prog = plan->argv[0];
	if (strchr(prog, '/') != NULL)
		return prog;
	const char *path = sb_plan_getenv(plan, "PATH");
	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		snprintf(buf, len, "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return buf;
		path += n + (path[n] == ':');
	}
	return prog;
}

static void start_program(void *arg)
{
	struct run_ctx *ctx = arg;
	const struct sb_plan *plan = ctx->plan;
	for (int i = 0; i < 3; i++)
		if (plan->stdio[i] >= 0 && dup2(plan->stdio[i], i) < 0)
			sb_child_fail(ctx->sock, errno, "redirecting descriptor %d", i);
	/* Nothing of ours leaks into the image's programs. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (size_t i = 0; i < NFWD; i++)
		signal(fwd_signals[i], SIG_DFL);
	if (ctx->sb->mode == SB_MODE_SECCOMP && !plan->keep_uid) {
		/* Last, so every setup error above stayed a real error. */
		sb_error_t err = NULL;
		if (sb_seccomp_install(&err) < 0)
			child_fail_err(ctx->sock, &err);
	}
	if (journaled(ctx)) {
		sb_error_t err = NULL;
		int listener;
		if (sb_journal_filter_load(&listener, &err) < 0)
			child_fail_err(ctx->sock, &err);
		if (sb_send_fd(ctx->jsock, listener) < 0)
			sb_child_fail(ctx->sock, errno, "passing the notification listener");
		close(listener);
		close(ctx->jsock);
	}
	char buf[4096];
	const char *prog = resolve_program(plan, buf, sizeof(buf));
	execve(prog, plan->argv, plan->env);
	sb_child_fail(ctx->sock, errno, "executing %s in the sandbox", plan->argv[0]);
}

/* ------------------------------------------------------------- R: PID 1 */

static void run_init(struct run_ctx *ctx)
{
	sb_error_t err = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGCHLD, SIG_DFL);
	if (sb_mounts_setup(ctx->plan, &err) < 0 || sb_pivot(ctx->plan->rootfs, &err) < 0)
		child_fail_err(ctx->sock, &err);
	if (chdir(ctx->plan->cwd) < 0)
		sb_child_fail(ctx->sock, errno, "working directory %s", ctx->plan->cwd);
	/* Subuid mode: setgroups is allowed there, so drop the host's
	 * supplementary groups (they would show up as nogroup). */
	if (ctx->sb->mode == SB_MODE_SUBUID && !ctx->plan->keep_uid && setgroups(0, NULL) < 0)
		sb_child_fail(ctx->sock, errno, "setgroups");
	int status = 0;
	int code = sb_reaper_run(start_program, ctx, &status);
	char msg[32];
	snprintf(msg, sizeof(msg), "S%d", status);
	(void)!send(ctx->sock, msg, strlen(msg), MSG_NOSIGNAL);
	_exit(code);
}

/* ------------------------------------------------ C: namespace holder */

static int wait_code(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Journal mode: C is the supervisor. It waits for the listener from S,
 * then serves it until R exits. On a supervisor failure it kills the
 * sandbox and reports the failure to P, so the run fails. */
static void supervise(struct run_ctx *ctx, pid_t r, int procfd)
{
	sb_error_t err = NULL;
	int pidfd = (int)syscall(SYS_pidfd_open, r, 0);
	if (pidfd < 0) {
		sb_error_set(&err, errno, "ownership journal supervisor: pidfd_open");
	} else {
		struct pollfd p[2] = { { ctx->jsock, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
		while (poll(p, 2, -1) < 0 && errno == EINTR)
			;
		int listener = p[1].revents == 0 && p[0].revents ? sb_recv_fd(ctx->jsock) : -1;
		if (listener >= 0)
			sb_journal_serve(ctx->jt, procfd, ctx->jlog, listener, pidfd, &err);
	}
	if (err != NULL) {
		kill(r, SIGKILL);
		char msg[600];
		snprintf(msg, sizeof(msg), "E%d:%s", err->errnum, sb_error_message(err));
		(void)!send(ctx->sock, msg, strlen(msg), MSG_NOSIGNAL);
	}
	int code = wait_code(r);
	_exit(err != NULL ? 127 : code);
}

static void run_outer(struct run_ctx *ctx)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != ctx->parent)
		_exit(127);
	int flags = CLONE_NEWNS | CLONE_NEWPID;
	bool userns = sb_mode_uses_userns(ctx->sb->mode);
	if (userns)
		flags |= CLONE_NEWUSER;
	if (unshare(flags) < 0)
		sb_child_fail(ctx->sock, errno, "creating the sandbox namespaces");
	if (userns) {
		char c = 0;
		if (send(ctx->sock, "U", 1, MSG_NOSIGNAL) != 1)
			_exit(127);
		while (recv(ctx->sock, &c, 1, 0) < 0 && errno == EINTR)
			;
		if (c != 'M')
			_exit(127);
	}
	/* The supervisor's view of the caller's PID namespace, before R
	 * mounts anything (ownership-journal.md pitfall P2). */
	int procfd = -1, jsv[2] = { -1, -1 };
	if (journaled(ctx)) {
		procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (procfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, jsv) < 0)
			sb_child_fail(ctx->sock, errno, "ownership journal setup");
		ctx->jsock = jsv[1];
	}
	fwd_pid = 0;
	fwd_signal = 0;
	pid_t r = fork();
	if (r < 0)
		sb_child_fail(ctx->sock, errno, "fork");
	if (r == 0) {
		if (jsv[0] >= 0)
			close(jsv[0]);
		run_init(ctx);
	}
	fwd_pid = r;
	if (fwd_signal != 0)
		kill(r, fwd_signal);
	if (journaled(ctx)) {
		close(jsv[1]);
		ctx->jsock = jsv[0];
		supervise(ctx, r, procfd);
	}
	close(ctx->sock);
	_exit(wait_code(r));
}

/* ---------------------------------------------------------- P: caller */

struct outcome {
	int status; /* raw wait status of the program, -1 if unknown */
};

/* Serves the children until they all closed the socket. */
static int serve(const struct sb_sandbox *sb, bool keep_uid, int sock, pid_t child,
		 struct outcome *out, sb_error_t *err)
{
	char buf[1100];
	int rc = 0;
	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (buf[0] == 'U') {
			bool ok = sb_userns_write_maps(sb, child, keep_uid, err) == 0;
			if (!ok)
				rc = sb_error_wrap(err, "setting up the user namespace");
			(void)!send(sock, ok ? "M" : "X", 1, MSG_NOSIGNAL);
		} else if (buf[0] == 'E' && rc == 0) {
			/* The message already carries strerror; keep the number. */
			char *colon = strchr(buf, ':');
			rc = sb_error_set(err, 0, "sandbox: %s", colon ? colon + 1 : buf);
			if (err != NULL)
				(*err)->errnum = atoi(buf + 1);
		} else if (buf[0] == 'S') {
			out->status = atoi(buf + 1);
		}
	}
	return rc;
}

static void fill_result(struct sb_run_result *res, const struct outcome *o, int code)
{
	memset(res, 0, sizeof(*res));
	if (o->status >= 0 && WIFSIGNALED(o->status)) {
		res->term_signal = WTERMSIG(o->status);
		res->exit_code = 128 + res->term_signal;
	} else if (o->status >= 0) {
		res->exit_code = WEXITSTATUS(o->status);
	} else {
		res->exit_code = code;
	}
	res->interrupted = fwd_signal;
}

static int launch(const struct sb_sandbox *sb, const struct sb_plan *plan, struct sb_jtable *jt,
		  int jlog, struct sb_run_result *res, sb_error_t *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sb_error_set(err, errno, "socketpair");
	struct sigaction old[NFWD];
	fwd_pid = 0;
	fwd_signal = 0;
	install_forwarding(old);
	struct run_ctx ctx = { sb, plan, sv[1], getpid(), jt, jlog, -1 };
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		run_outer(&ctx);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		restore_signals(old);
		return sb_error_set(err, errno, "fork");
	}
	fwd_pid = pid;
	if (fwd_signal != 0)
		kill(pid, fwd_signal);
	struct outcome o = { -1 };
	int rc = serve(sb, plan->keep_uid, sv[0], pid, &o, err);
	close(sv[0]);
	int code = wait_code(pid);
	fwd_pid = 0;
	restore_signals(old);
	if (rc == 0 && o.status < 0 && jt != NULL && code > 128)
		rc = sb_error_set(err, 0, "the ownership journal supervisor was killed by signal %d",
				  code - 128);
	else if (rc == 0 && o.status < 0)
		rc = sb_error_set(err, 0, "sandbox ended unexpectedly (status %d)", code);
	fill_result(res, &o, code);
	return rc;
}

/* The table the supervisor starts from (the plan's map) and its log. */
static int journal_begin(const struct sb_plan *plan, struct sb_jtable **jt, int *jlog,
			 off_t *from, sb_error_t *err)
{
	if (plan->journal_log)
		*jlog = open(plan->journal_log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	else
		*jlog = memfd_create("sifbuild-journal", MFD_CLOEXEC);
	if (*jlog < 0)
		return sb_error_set(err, errno, "ownership journal log %s",
				    plan->journal_log ? plan->journal_log : "");
	*from = lseek(*jlog, 0, SEEK_END);
	if (*from < 0)
		return sb_error_set(err, errno, "ownership journal log");
	*jt = sb_jtable_new();
	if (sb_jtable_load(*jt, plan->owners, plan->rootfs, err) < 0)
		return sb_error_wrap(err, "loading the ownership map");
	return 0;
}

/* What the run recorded, into the plan's map. */
static int journal_end(const struct sb_plan *plan, struct sb_jtable *jt, int jlog, off_t from,
		       sb_error_t *err)
{
	if (sb_jtable_replay(jt, jlog, from, err) < 0)
		return -1;
	return sb_jtable_materialize(jt, plan->owners, plan->rootfs, err);
}

int sb_sandbox_run(const struct sb_sandbox *sb, const struct sb_plan *plan_in,
		   struct sb_run_result *res, sb_error_t *err)
{
	struct sb_plan *plan = sb_plan_copy(plan_in);
	struct sb_created made = { NULL, 0 };
	/* The caller's own identity gets none of the root emulation. */
	int rc = plan->keep_uid ? 0 : sb_plan_apply_mode(plan, sb, err);
	if (rc == 0)
		rc = sb_plan_validate(plan, err);
	if (rc == 0)
		rc = sb_mountpoints_prepare(plan, &made, err);
	struct sb_jtable *jt = NULL;
	int jlog = -1;
	off_t jfrom = 0;
	if (rc == 0 && sb->mode == SB_MODE_JOURNAL && !plan->keep_uid)
		rc = journal_begin(plan, &jt, &jlog, &jfrom, err);
	if (rc == 0)
		rc = launch(sb, plan, jt, jlog, res, err);
	sb_mountpoints_cleanup(plan->rootfs, &made);
	if (jt != NULL && rc == 0)
		rc = journal_end(plan, jt, jlog, jfrom, err);
	sb_jtable_free(jt);
	if (jlog >= 0)
		close(jlog);
	sb_plan_free(plan);
	return rc;
}
