/* builder/sandbox/journal.c: the ownership journal's supervisor
 * (ownership-journal.md 2.2 and 8).
 *
 * It runs outside the filtered tree, in the sandbox's user namespace (so it
 * may chroot) but in the caller's PID namespace (notification pids are
 * valid in its /proc, opened before any mount). For each notification it
 * reads the path from /proc/PID/mem, checking that the notification is still
 * valid after each open and read, resolves it inside the target's root
 * against its cwd or dirfd, and then:
 *   chown family: does a real chown to unchanged owners (so the kernel
 *     clears setuid/setgid/capabilities as a real chown would), records
 *     the requested owners for the inode and reports success;
 *   device mknod: creates an empty placeholder (target's umask), records
 *     type and device number;
 *   stat family: for a journaled inode, runs the stat itself, patches the
 *     owners (and type/rdev of placeholders) and writes the result into the
 *     target's buffer; otherwise lets the kernel run the call (CONTINUE).
 * Errors are the kernel's: ENOENT, ENOTDIR, ELOOP, EFAULT, ENAMETOOLONG,
 * EBADF, EINVAL for unknown flags. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define CONTINUE 1 /* handler result: let the kernel run the call */

struct sup {
	struct sb_jtable *t;
	int procfd, logfd, listener;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	char fatal[256];
	unsigned long n_chown, n_mknod, n_stat, n_continue; /* statistics */
};

/* One notification being handled. */
struct call {
	struct sup *s;
	const struct seccomp_notif *req;
	int memfd;
	char path[PATH_MAX];
};

static bool id_valid(struct call *c)
{
	__u64 id = c->req->id;
	return ioctl(c->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static int proc_open(struct call *c, const char *what, int flags)
{
	char p[64];
	snprintf(p, sizeof(p), "%u/%s", c->req->pid, what);
	return openat(c->s->procfd, p, flags | O_CLOEXEC);
}

static int open_mem(struct call *c)
{
	if (c->memfd >= 0)
		return 0;
	c->memfd = proc_open(c, "mem", O_RDWR);
	if (c->memfd < 0)
		return -ESRCH;
	return id_valid(c) ? 0 : -ESRCH;
}

/* Reads the NUL-terminated string at addr, in chunks that never cross a
 * page (the next page may be unmapped). */
static int read_path(struct call *c, uint64_t addr)
{
	int r = open_mem(c);
	if (r < 0)
		return r;
	size_t got = 0;
	const size_t page = 4096;
	while (got < sizeof(c->path)) {
		size_t chunk = page - (size_t)((addr + got) % page);
		if (chunk > sizeof(c->path) - got)
			chunk = sizeof(c->path) - got;
		ssize_t n = pread(c->memfd, c->path + got, chunk, (off_t)(addr + got));
		if (n <= 0)
			return -EFAULT;
		char *nul = memchr(c->path + got, '\0', (size_t)n);
		got += (size_t)n;
		if (nul != NULL)
			return id_valid(c) ? 0 : -ESRCH;
	}
	return -ENAMETOOLONG;
}

/* The target's descriptor n (O_PATH), or -EBADF. */
static int target_fd(struct call *c, int n)
{
	char w[32];
	snprintf(w, sizeof(w), "fd/%d", n);
	int fd = n >= 0 ? proc_open(c, w, O_PATH) : -1;
	if (fd < 0)
		return -EBADF;
	if (!id_valid(c)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* Paths naming one of the target's own descriptors, which would resolve
 * against the supervisor (pitfall P7). Returns the descriptor or -1. */
static int fd_link(const char *p)
{
	static const char *const pre[] = { "/proc/self/fd/", "/proc/thread-self/fd/", "/dev/fd/" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(pre[i]);
		if (strncmp(p, pre[i], n) == 0 && p[n] >= '0' && p[n] <= '9') {
			char *end;
			long v = strtol(p + n, &end, 10);
			return *end == '\0' && v < 1 << 20 ? (int)v : -1;
		}
	}
	static const char *const std[] = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };
	for (int i = 0; i < 3; i++)
		if (strcmp(p, std[i]) == 0)
			return i;
	return -1;
}

/* Enters the target's root and returns the base for c->path (AT_FDCWD for
 * an absolute path, else an O_PATH descriptor of its cwd or dirfd). */
static int enter_base(struct call *c, int dirfd, int *base)
{
	*base = AT_FDCWD;
	if (c->path[0] != '/') {
		*base = dirfd == AT_FDCWD ? proc_open(c, "cwd", O_PATH) : target_fd(c, dirfd);
		if (*base == -ESRCH || (*base < 0 && dirfd == AT_FDCWD))
			return -ESRCH;
		if (*base < 0)
			return -EBADF;
	}
	int root = proc_open(c, "root", O_PATH);
	int r = root >= 0 && id_valid(c) ? 0 : -ESRCH;
	if (r == 0 && (fchdir(root) < 0 || chroot(".") < 0)) {
		snprintf(c->s->fatal, sizeof(c->s->fatal), "entering the build's root: %s",
			 strerror(errno));
		r = -EIO;
	}
	if (root >= 0)
		close(root);
	if (r < 0 && *base >= 0)
		close(*base);
	return r;
}

/* O_PATH descriptor of the object (dirfd, path at addr, AT_* flags), or
 * -errno. */
static int resolve(struct call *c, int dirfd, uint64_t addr, unsigned flags, bool nofollow)
{
	int r = read_path(c, addr);
	if (r < 0)
		return r;
	if (c->path[0] == '\0') {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		if (dirfd != AT_FDCWD)
			return target_fd(c, dirfd);
		int fd = proc_open(c, "cwd", O_PATH);
		if (fd >= 0 && id_valid(c))
			return fd;
		if (fd >= 0)
			close(fd);
		return -ESRCH;
	}
	int n = nofollow ? -1 : fd_link(c->path);
	if (n >= 0)
		return target_fd(c, n);
	int base;
	if ((r = enter_base(c, dirfd, &base)) < 0)
		return r;
	int fd = openat(base, c->path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	r = fd >= 0 ? fd : -errno;
	if (base >= 0)
		close(base);
	return r;
}

static void set_fatal_log(struct call *c)
{
	snprintf(c->s->fatal, sizeof(c->s->fatal), "writing the ownership journal log: %s",
		 strerror(errno));
}

/* ------------------------------------------------------------------ chown */

static bool fd_is_opath(struct call *c, int n)
{
	char w[32], buf[256];
	snprintf(w, sizeof(w), "fdinfo/%d", n);
	int fd = proc_open(c, w, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	const char *f = strstr(buf, "flags:");
	return f && (strtoul(f + 6, NULL, 8) & O_PATH);
}

static uint32_t id_arg(uint64_t v, bool id16)
{
	if (id16) {
		v &= 0xFFFF;
		return v == 0xFFFF ? SB_OWNER_UNSET : (uint32_t)v;
	}
	return (uint32_t)v;
}

static int do_chown(struct call *c, enum sb_jop op, bool id16)
{
	const __u64 *a = c->req->data.args;
	int fd;
	uint32_t uid, gid;
	if (op == SB_JOP_FCHOWN) {
		fd = target_fd(c, (int)a[0]);
		if (fd >= 0 && fd_is_opath(c, (int)a[0])) {
			close(fd);
			return -EBADF;
		}
		uid = id_arg(a[1], id16);
		gid = id_arg(a[2], id16);
	} else if (op == SB_JOP_FCHOWNAT) {
		unsigned flags = (unsigned)a[4];
		if (flags & ~(unsigned)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
			return -EINVAL;
		fd = resolve(c, (int)a[0], a[1], flags, flags & AT_SYMLINK_NOFOLLOW);
		uid = id_arg(a[2], false);
		gid = id_arg(a[3], false);
	} else {
		fd = resolve(c, AT_FDCWD, a[0], 0, op == SB_JOP_LCHOWN);
		uid = id_arg(a[1], id16);
		gid = id_arg(a[2], id16);
	}
	if (fd < 0)
		return fd;
	struct stat st;
	int r = 0;
	/* The real chown the kernel would do, minus the owner change. */
	if (fchownat(fd, "", (uid_t)-1, (gid_t)-1, AT_EMPTY_PATH) < 0 ||
	    fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		r = -errno;
	if (r == 0 && (uid != SB_OWNER_UNSET || gid != SB_OWNER_UNSET)) {
		struct sb_jkey k;
		sb_jkey_of_fd(fd, &st, &k);
		if (sb_jtable_chown(c->s->t, &k, uid, gid, c->s->logfd) < 0) {
			set_fatal_log(c);
			r = -EIO;
		}
	}
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ mknod */

static mode_t target_umask(struct call *c)
{
	char buf[2048];
	int fd = proc_open(c, "status", O_RDONLY);
	if (fd < 0)
		return 022;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *u = strstr(buf, "Umask:");
	return u ? (mode_t)strtoul(u + 6, NULL, 8) & 0777 : 022;
}

/* The syscall's dev argument is the kernel's 32-bit encoding. */
static dev_t decode_dev(uint64_t v)
{
	uint32_t d = (uint32_t)v;
	return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}

static int do_mknod(struct call *c, enum sb_jop op)
{
	const __u64 *a = c->req->data.args;
	int dirfd = op == SB_JOP_MKNODAT ? (int)a[0] : AT_FDCWD;
	const __u64 *p = op == SB_JOP_MKNODAT ? a + 1 : a;
	mode_t mode = (mode_t)p[1];
	int r = read_path(c, p[0]);
	if (r < 0)
		return r;
	if (c->path[0] == '\0')
		return -ENOENT;
	int base;
	if ((r = enter_base(c, dirfd, &base)) < 0)
		return r;
	mode_t old = umask(target_umask(c));
	int fd = openat(base, c->path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			mode & 07777);
	r = fd >= 0 ? 0 : -errno;
	umask(old);
	if (base >= 0)
		close(base);
	struct stat st;
	if (r == 0 && fstat(fd, &st) == 0) {
		struct sb_jkey k;
		sb_jkey_of_fd(fd, &st, &k);
		if (sb_jtable_mknod(c->s->t, &k, (mode & S_IFMT) | (st.st_mode & 07777),
				    decode_dev(p[2]), c->s->logfd) < 0) {
			set_fatal_log(c);
			r = -EIO;
		}
	}
	if (fd >= 0)
		close(fd);
	return r;
}

/* ------------------------------------------------------------------- stat */

static void patch(const struct sb_jentry *e, uint32_t *uid, uint32_t *gid, uint32_t *mode)
{
	if (e->uid != SB_OWNER_UNSET)
		*uid = e->uid;
	if (e->gid != SB_OWNER_UNSET)
		*gid = e->gid;
	if ((S_ISCHR(e->mode) || S_ISBLK(e->mode)) && S_ISREG(*mode))
		*mode = (e->mode & S_IFMT) | (*mode & 07777);
}

static bool is_dev(const struct sb_jentry *e)
{
	return S_ISCHR(e->mode) || S_ISBLK(e->mode);
}

static int write_mem(struct call *c, uint64_t addr, const void *buf, size_t len)
{
	if (open_mem(c) < 0)
		return -ESRCH;
	if (pwrite(c->memfd, buf, len, (off_t)addr) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

static int do_stat(struct call *c, enum sb_jop op)
{
	const __u64 *a = c->req->data.args;
	int fd;
	unsigned flags = 0;
	uint64_t buf;
	if (sb_jtable_count(c->s->t) == 0)
		return CONTINUE; /* nothing to answer from */
	switch (op) {
	case SB_JOP_FSTAT:
		fd = target_fd(c, (int)a[0]);
		buf = a[1];
		break;
	case SB_JOP_FSTATAT:
		flags = (unsigned)a[3];
		fd = resolve(c, (int)a[0], a[1], flags, flags & AT_SYMLINK_NOFOLLOW);
		buf = a[2];
		break;
	case SB_JOP_STATX:
		flags = (unsigned)a[2];
		fd = resolve(c, (int)a[0], a[1], flags, flags & AT_SYMLINK_NOFOLLOW);
		buf = a[4];
		break;
	default:
		fd = resolve(c, AT_FDCWD, a[0], 0, op == SB_JOP_LSTAT);
		buf = a[1];
		break;
	}
	if (fd < 0)
		return CONTINUE; /* the kernel gives the exact error */
	struct stat st;
	struct sb_jentry *e = NULL;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 &&
	    sb_jtable_has_inode(c->s->t, st.st_dev, st.st_ino)) {
		struct sb_jkey k;
		sb_jkey_of_fd(fd, &st, &k);
		e = sb_jtable_find(c->s->t, &k);
	}
	int r = CONTINUE;
	if (e != NULL && op == SB_JOP_STATX) {
		struct statx sx;
		unsigned sync = flags & AT_STATX_SYNC_TYPE;
		if (statx(fd, "", AT_EMPTY_PATH | sync, (unsigned)a[3], &sx) == 0) {
			uint32_t mode = sx.stx_mode;
			patch(e, &sx.stx_uid, &sx.stx_gid, &mode);
			sx.stx_mode = (uint16_t)mode;
			if (is_dev(e)) {
				sx.stx_rdev_major = major(e->rdev);
				sx.stx_rdev_minor = minor(e->rdev);
			}
			r = write_mem(c, buf, &sx, sizeof(sx));
		}
	} else if (e != NULL) {
		uint32_t uid = st.st_uid, gid = st.st_gid, mode = st.st_mode;
		patch(e, &uid, &gid, &mode);
		st.st_uid = uid;
		st.st_gid = gid;
		st.st_mode = mode;
		if (is_dev(e))
			st.st_rdev = e->rdev;
		r = write_mem(c, buf, &st, sizeof(st));
	}
	close(fd);
	return r;
}

/* ------------------------------------------------------------------- loop */

static void respond(struct sup *s, int r)
{
	struct seccomp_notif_resp *resp = s->resp;
	memset(resp, 0, s->resp_size);
	resp->id = s->req->id;
	if (r == CONTINUE)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else
		resp->error = r < 0 ? r : 0;
	/* ENOENT: the target is gone (killed, or its call interrupted). */
	while (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno == EINTR)
		;
}

static void handle_one(struct sup *s)
{
	/* The kernel rejects a receive buffer that is not zeroed. */
	memset(s->req, 0, s->req_size);
	if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, s->req) < 0) {
		if (errno != EINTR && errno != ENOENT)
			snprintf(s->fatal, sizeof(s->fatal), "receiving a notification: %s",
				 strerror(errno));
		return;
	}
	struct call c = { .s = s, .req = s->req, .memfd = -1 };
	bool id16;
	enum sb_jop op = sb_journal_decode(s->req->data.arch, s->req->data.nr, &id16);
	int r;
	switch (op) {
	case SB_JOP_CHOWN:
	case SB_JOP_LCHOWN:
	case SB_JOP_FCHOWN:
	case SB_JOP_FCHOWNAT:
		r = do_chown(&c, op, id16);
		break;
	case SB_JOP_MKNOD:
	case SB_JOP_MKNODAT:
		r = do_mknod(&c, op);
		break;
	case SB_JOP_NONE:
		r = CONTINUE;
		break;
	default:
		r = do_stat(&c, op);
		break;
	}
	if (c.memfd >= 0)
		close(c.memfd);
	if (r == -ESRCH)
		return; /* the notification died with its target */
	if (r == CONTINUE)
		s->n_continue++;
	else if (op == SB_JOP_CHOWN || op == SB_JOP_LCHOWN || op == SB_JOP_FCHOWN ||
		 op == SB_JOP_FCHOWNAT)
		s->n_chown++;
	else if (op == SB_JOP_MKNOD || op == SB_JOP_MKNODAT)
		s->n_mknod++;
	else
		s->n_stat++;
	respond(s, r);
}

int sb_journal_serve(struct sb_jtable *t, int procfd, int logfd, int listener, int pidfd,
		     sb_error_t *err)
{
	struct seccomp_notif_sizes sz;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return sb_error_set(err, errno, "seccomp notification sizes");
	struct sup s = { .t = t, .procfd = procfd, .logfd = logfd, .listener = listener };
	s.req_size = sz.seccomp_notif > sizeof(*s.req) ? sz.seccomp_notif : sizeof(*s.req);
	s.resp_size = sz.seccomp_notif_resp > sizeof(*s.resp) ? sz.seccomp_notif_resp
								: sizeof(*s.resp);
	s.req = sb_xcalloc(1, s.req_size);
	s.resp = sb_xcalloc(1, s.resp_size);
	/* Optional (6.6+): wake the target on this CPU, 3x faster round trips. */
	(void)!ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	struct pollfd p[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	int rc = 0;
	while (rc == 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				rc = sb_error_set(err, errno, "ownership journal: poll");
			continue;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			handle_one(&s);
		else if (p[0].revents)
			p[0].fd = -1; /* no filtered process left */
		if (s.fatal[0])
			rc = sb_error_set(err, 0, "ownership journal supervisor: %s", s.fatal);
	}
	free(s.req);
	free(s.resp);
	/* For measurements: SIFBUILD_JOURNAL_STATS=1 prints one line. */
	const char *st = getenv("SIFBUILD_JOURNAL_STATS");
	if (st != NULL && strcmp(st, "1") == 0 && logfd >= 0) { /* not the self-test */
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
			"ownership journal: %lu chown, %lu mknod, %lu stat answered, %lu passed "
			"on; supervisor CPU %.2f s\n",
			s.n_chown, s.n_mknod, s.n_stat, s.n_continue,
			(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	return rc;
}

/* ------------------------------------------------------- fd passing, test */

int sb_send_fd(int sock, int fd)
{
	char dummy = 'L';
	struct iovec iov = { &dummy, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int sb_recv_fd(int sock)
{
	char dummy;
	struct iovec iov = { &dummy, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS) {
		errno = n == 0 ? EPIPE : EPROTO;
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The filtered side of the self-test: exit 0 when every answer is right. */
static void selftest_child(int sock)
{
	sb_error_t err = NULL;
	int listener;
	if (sb_journal_filter_load(&listener, &err) < 0)
		_exit(10);
	if (sb_send_fd(sock, listener) < 0)
		_exit(11);
	close(listener);
	close(sock);
	int m = memfd_create("sifbuild-journal-probe", MFD_CLOEXEC);
	struct stat st;
	struct statx sx;
	if (m < 0 || fchown(m, 4242, 4243) != 0)
		_exit(12);
	if (fstat(m, &st) != 0 || st.st_uid != 4242 || st.st_gid != 4243)
		_exit(13);
	if (statx(m, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) != 0 || sx.stx_uid != 4242)
		_exit(14);
	if (chown("/nonexistent/sifbuild", 1, 1) == 0 || errno != ENOENT)
		_exit(15);
	_exit(0);
}

int sb_journal_selftest(sb_error_t *err)
{
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int sv[2];
	if (procfd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sb_error_set(err, errno, "journal self-test setup");
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		selftest_child(sv[1]);
	}
	close(sv[1]);
	int listener = pid > 0 ? sb_recv_fd(sv[0]) : -1;
	int pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	int rc = 0;
	if (listener >= 0 && pidfd >= 0) {
		struct sb_jtable *t = sb_jtable_new();
		rc = sb_journal_serve(t, procfd, -1, listener, pidfd, err);
		sb_jtable_free(t);
	}
	int status = -1;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (listener < 0 || pidfd < 0))
		rc = sb_error_set(err, errno, "receiving the notification listener");
	else if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = sb_error_set(err, 0, "journal self-test failed (step %d)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	close(procfd);
	close(sv[0]);
	if (listener >= 0)
		close(listener);
	if (pidfd >= 0)
		close(pidfd);
	return rc;
}
