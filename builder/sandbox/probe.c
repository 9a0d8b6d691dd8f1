/* builder/sandbox/probe.c: choosing the privilege mode (rootless-modes.md 9.2).
 * Every probe runs in a forked child: ID maps are write-once and a seccomp
 * filter cannot be removed, so the caller must stay untouched. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

void sb_sandbox_add_note(struct sb_sandbox *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	sb->notes = sb_xrealloc(sb->notes, (sb->nnotes + 1) * sizeof(char *));
	sb->notes[sb->nnotes++] = s;
}

void sb_sandbox_free(struct sb_sandbox *sb)
{
	if (sb == NULL)
		return;
	free(sb->newuidmap);
	free(sb->newgidmap);
	sb_fakeroot_release(&sb->fr);
	free(sb->info);
	for (size_t i = 0; i < sb->nnotes; i++)
		free(sb->notes[i]);
	free(sb->notes);
	free(sb);
}

enum sb_mode sb_sandbox_mode(const struct sb_sandbox *sb)
{
	return sb->mode;
}

const char *sb_sandbox_info(const struct sb_sandbox *sb)
{
	return sb->info;
}

size_t sb_sandbox_note_count(const struct sb_sandbox *sb)
{
	return sb->nnotes;
}

const char *sb_sandbox_note(const struct sb_sandbox *sb, size_t i)
{
	return i < sb->nnotes ? sb->notes[i] : NULL;
}

/* ------------------------------------------------------- child reporting */

/* A probe child reports "<stage> <errno>" on a pipe; nothing means success. */
struct probe_report {
	int stage;
	int errnum;
};

static void report(int fd, int stage, int errnum)
{
	struct probe_report r = { stage, errnum };
	(void)!write(fd, &r, sizeof(r));
	_exit(1);
}

/* Forks fn(fd, arg) and collects its report. Returns 0 on success, or the
 * failing stage (>0) with *errnum set. */
static int run_probe(void (*fn)(int, void *), void *arg, int *errnum)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		*errnum = errno;
		return 99;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	struct probe_report r = { 0, 0 };
	ssize_t n;
	while ((n = read(p[0], &r, sizeof(r))) < 0 && errno == EINTR)
		;
	close(p[0]);
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid < 0) {
		*errnum = errno;
		return 99;
	}
	if (n == (ssize_t)sizeof(r) && r.stage != 0) {
		*errnum = r.errnum;
		return r.stage;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*errnum = 0;
		return 98;
	}
	return 0;
}

static int write_self_maps(uid_t uid, gid_t gid)
{
	sb_error_t err = NULL;
	int rc = sb_userns_map_self(getpid(), uid, gid, &err);
	int e = err ? err->errnum : 0;
	sb_error_free(&err);
	errno = e;
	return rc;
}

/* ------------------------------------------------- user namespaces usable? */

enum { ST_UNSHARE = 1, ST_MAPS, ST_FORK, ST_PRIVATE, ST_TMPFS };

static void userns_probe_child(int fd, void *arg)
{
	(void)arg;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
		report(fd, ST_UNSHARE, errno);
	if (write_self_maps(uid, gid) < 0)
		report(fd, ST_MAPS, errno);
	pid_t pid = fork();
	if (pid < 0)
		report(fd, ST_FORK, errno);
	if (pid == 0) {
		/* A capability probe must try a mount: Ubuntu's AppArmor
		 * restriction lets unshare succeed and refuses mounts. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			report(fd, ST_PRIVATE, errno);
		if (mount("tmpfs", "/tmp", "tmpfs", 0, NULL) < 0)
			report(fd, ST_TMPFS, errno);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static long read_sysctl(const char *path)
{
	cleanup_free char *s = sb_read_file(path, NULL);
	return s ? strtol(s, NULL, 10) : -1;
}

static int userns_unusable(int stage, int e, sb_error_t *err)
{
	if (stage == ST_UNSHARE) {
		if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
			return sb_error_set(err, e,
					    "user namespaces are disabled (sysctl "
					    "user.max_user_namespaces=0)");
		if (read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
			return sb_error_set(err, e,
					    "unprivileged user namespaces are disabled (sysctl "
					    "kernel.unprivileged_userns_clone=0)");
		return sb_error_set(err, e, "cannot create a user namespace");
	}
	if ((stage == ST_PRIVATE || stage == ST_TMPFS) &&
	    read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
		return sb_error_set(err, e,
				    "user namespaces are restricted by AppArmor (sysctl "
				    "kernel.apparmor_restrict_unprivileged_userns=1); mounting "
				    "failed");
	static const char *const what[] = {
		"",	"creating a user namespace", "writing ID maps",
		"fork", "making / private",	     "mounting a tmpfs"
	};
	return sb_error_set(err, e, "user namespaces unusable: %s failed",
			    stage > 0 && stage <= ST_TMPFS ? what[stage] : "probe");
}

static int probe_userns(sb_error_t *err)
{
	int e = 0;
	int stage = run_probe(userns_probe_child, NULL, &e);
	return stage == 0 ? 0 : userns_unusable(stage, e, err);
}

/* ----------------------------------------------------------------- subuid */

static int load_range(const char *file, const char *user, uid_t uid, struct sb_idrange *r,
		      sb_error_t *err)
{
	cleanup_free char *text = sb_read_file(file, NULL);
	if (text == NULL)
		return sb_error_set(err, errno, "%s", file);
	if (sb_subid_pick(text, user, uid, r, err) < 0)
		return sb_error_wrap(err, "%s", file);
	return 0;
}

/* Runs in the trial namespace: uid 0 with two map lines (the caller and the
 * subordinate range) means the helpers did their job. */
static int subuid_check(void *arg)
{
	(void)arg;
	cleanup_free char *map = sb_read_file("/proc/self/uid_map", NULL);
	int lines = 0;
	for (char *s = map; s && *s; s++)
		lines += *s == '\n';
	return getuid() == 0 && lines == 2 ? 0 : 1;
}

static int subuid_trial(struct sb_sandbox *sb, sb_error_t *err)
{
	enum sb_mode saved = sb->mode;
	sb->mode = SB_MODE_SUBUID;
	int status = 0;
	int rc = sb_sandbox_enter(sb, subuid_check, NULL, &status, err);
	sb->mode = saved;
	if (rc == 0 && status != 0)
		rc = sb_error_set(err, 0, "trial mapping did not give a full ID range");
	return rc;
}

static int try_subuid(struct sb_sandbox *sb, const struct sb_mode_request *req, sb_error_t *err)
{
	struct passwd *pw = getpwuid(sb->uid);
	const char *user = pw ? pw->pw_name : NULL;
	if (sb->uid == 0)
		return sb_error_set(err, 0, "not used as root");
	if (load_range(req->subuid_file ? req->subuid_file : "/etc/subuid", user, sb->uid,
		       &sb->subuid, err) < 0 ||
	    load_range(req->subgid_file ? req->subgid_file : "/etc/subgid", user, sb->uid,
		       &sb->subgid, err) < 0)
		return -1;
	if ((sb->newuidmap = sb_userns_find_helper("newuidmap", req->newuidmap, err)) == NULL ||
	    (sb->newgidmap = sb_userns_find_helper("newgidmap", req->newgidmap, err)) == NULL)
		return -1;
	return subuid_trial(sb, err);
}

/* ---------------------------------------------------------------- seccomp */

static void seccomp_probe_child(int fd, void *arg)
{
	(void)arg;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER) < 0)
		report(fd, 1, errno);
	if (write_self_maps(uid, gid) < 0)
		report(fd, 2, errno);
	sb_error_t err = NULL;
	if (sb_seccomp_install(&err) < 0)
		report(fd, 3, err->errnum);
	_exit(0);
}

static int try_seccomp(sb_error_t *err)
{
	int e = 0;
	int stage = run_probe(seccomp_probe_child, NULL, &e);
	if (stage == 0)
		return 0;
	if (stage == 3)
		return sb_error_set(err, e, "seccomp filter self-test failed");
	return sb_error_set(err, e, "seccomp trial failed (stage %d)", stage);
}

/* ---------------------------------------------------------------- journal */

static void journal_probe_child(int fd, void *arg)
{
	(void)arg;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER) < 0)
		report(fd, 1, errno);
	if (write_self_maps(uid, gid) < 0)
		report(fd, 2, errno);
	sb_error_t err = NULL;
	if (sb_journal_selftest(&err) < 0) {
		/* The message is lost here; the step number says where. */
		report(fd, 3, err->errnum);
	}
	_exit(0);
}

static int try_journal(sb_error_t *err)
{
	int e = 0;
	int stage = run_probe(journal_probe_child, NULL, &e);
	if (stage == 0)
		return 0;
	if (stage == 3)
		return sb_error_set(err, e, "seccomp user-notification self-test failed");
	return sb_error_set(err, e, "journal trial failed (stage %d)", stage);
}

/* --------------------------------------------------------------- fakeroot */

/* Runs the fakeroot command inside the prepared image: it must be able to
 * start its daemon and preload its library there (a static or musl image,
 * or an image libc older than the host's, cannot). The chown to an unmapped
 * ID succeeds only when the preload works. */
static int fakeroot_in_image(struct sb_sandbox *sb, const struct sb_plan *base, sb_error_t *err)
{
	static const char *const argv[] = {
		"/bin/sh",
		"-c",
		"f=/tmp/.sifbuild-fakeroot-probe; : >$f && chown 4242:4242 $f",
	};
	struct sb_plan *plan = sb_plan_copy(base);
	int memfd = memfd_create("sifbuild-probe", MFD_CLOEXEC);
	int rc = sb_plan_set_argv(plan, 3, argv, err);
	sb_plan_set_stdio(plan, -1, memfd, memfd);
	struct sb_run_result res;
	if (rc == 0)
		rc = sb_sandbox_run(sb, plan, &res, err);
	sb_plan_free(plan);
	if (rc == 0 && res.exit_code != 0) {
		char buf[256] = "";
		ssize_t n = memfd >= 0 ? pread(memfd, buf, sizeof(buf) - 1, 0) : -1;
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rc = sb_error_set(err, 0, "the fakeroot command does not work in this image%s%s",
				  buf[0] ? ": " : "", buf);
	}
	if (memfd >= 0)
		close(memfd);
	return rc;
}

/* The host's fakeroot bound in (as Apptainer does), else the image's own
 * fakeroot if it has one (rootless-modes.md 9.3). */
static int try_fakeroot(struct sb_sandbox *sb, const struct sb_mode_request *req,
			const struct sb_plan *base, sb_error_t *err)
{
	sb_error_t host_err = NULL;
	int found = sb_fakeroot_find(req->fakeroot, &sb->fr, &host_err);
	if (base == NULL) {
		if (found < 0)
			sb_error_set(err, 0, "%s", sb_error_message(host_err));
		sb_error_free(&host_err);
		return found;
	}
	enum sb_mode saved = sb->mode;
	sb->mode = SB_MODE_FAKEROOT;
	int rc = fakeroot_in_image(sb, base, err);
	sb->mode = saved;
	if (rc < 0 && host_err != NULL)
		sb_error_wrap(err, "%s; and the image's own", sb_error_message(host_err));
	sb_error_free(&host_err);
	return rc;
}

/* ------------------------------------------------------------- selection */

static void set_info(struct sb_sandbox *sb)
{
	switch (sb->mode) {
	case SB_MODE_ROOT:
		sb->info = sb_strdup("running as root: build scripts run in private mount and "
				     "PID namespaces");
		break;
	case SB_MODE_SUBUID:
		sb->info = sb_asprintf("using a user namespace with subordinate IDs "
				       "(uid 0 -> %lu, 1-%lu -> %lu-%lu)",
				       (unsigned long)sb->uid, sb->subuid.count, sb->subuid.start,
				       sb->subuid.start + sb->subuid.count - 1);
		break;
	case SB_MODE_SECCOMP:
		sb->info = sb_strdup("using a root-mapped user namespace with seccomp root "
				     "emulation (ownership changes are accepted and not stored)");
		break;
	case SB_MODE_JOURNAL:
		sb->info = sb_strdup("using a root-mapped user namespace with the ownership "
				     "journal (owners set by chown are recorded and stored in "
				     "the image)");
		break;
	case SB_MODE_FAKEROOT:
		sb->info = sb_asprintf("using a root-mapped user namespace; %%post runs under "
				       "the fakeroot command (%s)",
				       sb->fr.script ? sb->fr.script : "the image's own");
		break;
	default:
		sb->info = sb_strdup("using a root-mapped user namespace only");
		sb_sandbox_add_note(sb, "package installs that need other user or group IDs "
					"will fail (no subuid range, seccomp or fakeroot)");
		break;
	}
}

static int choose(struct sb_sandbox *sb, const struct sb_mode_request *req,
		  const struct sb_plan *base, sb_error_t *err)
{
	sb_error_t why = NULL;
	if (req->ignore_userns && req->mode != SB_MODE_AUTO && req->mode != SB_MODE_SUBUID)
		return sb_error_set(err, 0, "--ignore-userns excludes the root-mapped %s mode",
				    sb_mode_name(req->mode));
	switch (req->mode) {
	case SB_MODE_SUBUID:
		return try_subuid(sb, req, err) < 0 ? sb_error_wrap(err, "subuid mode") : 0;
	case SB_MODE_SECCOMP:
		return try_seccomp(err) < 0 ? sb_error_wrap(err, "seccomp mode") : 0;
	case SB_MODE_JOURNAL:
		return try_journal(err) < 0 ? sb_error_wrap(err, "journal mode") : 0;
	case SB_MODE_FAKEROOT:
		return try_fakeroot(sb, req, base, err) < 0 ? sb_error_wrap(err, "fakeroot mode")
							    : 0;
	case SB_MODE_ROOTMAP:
		return 0;
	default:
		break;
	}
	if (!req->ignore_subuid) {
		if (try_subuid(sb, req, &why) == 0) {
			sb->mode = SB_MODE_SUBUID;
			return 0;
		}
		sb_sandbox_add_note(sb,
				    "subuid mapping unavailable: %s; falling back to a "
				    "root-mapped namespace",
				    sb_error_message(why));
		sb_error_free(&why);
	}
	if (req->ignore_userns)
		return sb_error_set(err, 0,
				    "no subuid mapping and --ignore-userns excludes the "
				    "root-mapped modes");
	if (!req->ignore_seccomp) {
		if (try_journal(&why) == 0) {
			sb->mode = SB_MODE_JOURNAL;
			return 0;
		}
		sb_sandbox_add_note(sb, "ownership journal unavailable: %s",
				    sb_error_message(why));
		sb_error_free(&why);
		if (try_seccomp(&why) == 0) {
			sb->mode = SB_MODE_SECCOMP;
			return 0;
		}
		sb_sandbox_add_note(sb, "seccomp root emulation unavailable: %s",
				    sb_error_message(why));
		sb_error_free(&why);
	}
	if (!req->ignore_fakeroot_command) {
		if (try_fakeroot(sb, req, base, &why) == 0) {
			sb->mode = SB_MODE_FAKEROOT;
			return 0;
		}
		sb_sandbox_add_note(sb, "%s; not using it", sb_error_message(why));
		sb_error_free(&why);
		sb_fakeroot_release(&sb->fr);
	}
	sb->mode = SB_MODE_ROOTMAP;
	return 0;
}

int sb_sandbox_select(const struct sb_mode_request *req, const struct sb_plan *base,
		      struct sb_sandbox **out, sb_error_t *err)
{
	struct sb_sandbox *sb = sb_xcalloc(1, sizeof(*sb));
	sb->uid = geteuid();
	sb->gid = getegid();
	sb->mode = req->mode;
	int rc = 0;
	if (req->mode == SB_MODE_AUTO && sb->uid == 0) {
		sb->mode = SB_MODE_ROOT;
	} else if (req->mode == SB_MODE_ROOT) {
		if (sb->uid != 0)
			rc = sb_error_set(err, EPERM, "root mode needs root");
	} else {
		rc = probe_userns(err);
		if (rc == 0)
			rc = choose(sb, req, base, err);
	}
	if (rc < 0) {
		sb_sandbox_free(sb);
		return -1;
	}
	set_info(sb);
	*out = sb;
	return 0;
}
