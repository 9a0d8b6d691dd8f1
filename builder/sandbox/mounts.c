/* builder/sandbox/mounts.c: carries out the plan's mount operations inside the
 * child's private mount namespace, then switches root. Runs in the sandbox's
 * PID 1 before anything from the image executes. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

/* Mount targets are opened with RESOLVE_IN_ROOT and handed to mount(2) as
 * /proc/self/fd/N, so an image symlink can never redirect a mount onto the
 * host. */
struct target {
	int fd;
	char path[64];
};

static int target_open(int rootfd, const char *dst, struct target *t)
{
	t->fd = sb_open_in_root(rootfd, dst, O_PATH);
	if (t->fd < 0)
		return -1;
	snprintf(t->path, sizeof(t->path), "/proc/self/fd/%d", t->fd);
	return 0;
}

static void target_close(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* Flags the kernel locks on a mount made in a less privileged namespace must
 * be repeated in a remount, or it fails with EPERM. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Makes the mount at path (and, where supported, every mount below it)
 * read-only. */
static int make_readonly(const char *path)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	unsigned long f = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path);
	return mount(NULL, path, NULL, f, NULL);
}

static int do_bind(int rootfd, const struct sb_op *op, sb_error_t *err)
{
	if ((op->flags & SB_BIND_OPTIONAL) && access(op->src, F_OK) != 0)
		return 0;
	struct target t;
	if (target_open(rootfd, op->dst, &t) < 0)
		return sb_error_set(err, errno, "bind %s: mount point %s", op->src, op->dst);
	int rc = mount(op->src, t.path, NULL, MS_BIND | MS_REC, NULL);
	if (rc < 0) {
		sb_error_set(err, errno, "bind %s to %s", op->src, op->dst);
	} else if (op->flags & SB_BIND_RO) {
		/* Re-open: the fd still names the covered directory. */
		target_close(&t);
		if (target_open(rootfd, op->dst, &t) < 0 || make_readonly(t.path) < 0)
			rc = sb_error_set(err, errno, "making %s read-only", op->dst);
	}
	target_close(&t);
	return rc;
}

static int mount_at(int rootfd, const char *dst, const char *src, const char *type,
		    unsigned long flags, const char *data)
{
	struct target t;
	if (target_open(rootfd, dst, &t) < 0)
		return -1;
	int rc = mount(src, t.path, type, flags, data);
	int saved = errno;
	target_close(&t);
	errno = saved;
	return rc;
}

static int do_proc(int rootfd, const struct sb_op *op, sb_error_t *err)
{
	if (mount_at(rootfd, op->dst, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		return 0;
	/* Refused when the current /proc has over-mounted parts (containers):
	 * bind the existing one instead, as Charliecloud always does. */
	if (mount_at(rootfd, op->dst, "/proc", NULL, MS_BIND | MS_REC, NULL) == 0)
		return 0;
	return sb_error_set(err, errno, "mounting proc on %s", op->dst);
}

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

/* Inside the fresh /dev tmpfs: empty files as mount points for the host's
 * nodes (mknod of devices is impossible in a user namespace), devpts, shm
 * and the usual symlinks. */
static int populate_dev(int rootfd, const char *dst, sb_error_t *err)
{
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		cleanup_free char *p = sb_asprintf("%s/%s", dst, dev_nodes[i]);
		cleanup_free char *host = sb_asprintf("/dev/%s", dev_nodes[i]);
		if (sb_mountpoint_make(rootfd, p, false) < 0 ||
		    mount_at(rootfd, p, host, NULL, MS_BIND, NULL) < 0)
			return sb_error_set(err, errno, "binding %s into %s", host, dst);
	}
	cleanup_free char *pts = sb_asprintf("%s/pts", dst);
	cleanup_free char *shm = sb_asprintf("%s/shm", dst);
	if (sb_mountpoint_make(rootfd, pts, true) < 0 ||
	    mount_at(rootfd, pts, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620") < 0)
		return sb_error_set(err, errno, "mounting devpts on %s", pts);
	if (sb_mountpoint_make(rootfd, shm, true) < 0 ||
	    mount_at(rootfd, shm, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return sb_error_set(err, errno, "mounting tmpfs on %s", shm);
	static const char *const links[][2] = {
		{ "ptmx", "pts/ptmx" },		 { "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },	 { "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	cleanup_close int dfd = sb_open_in_root(rootfd, dst, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return sb_error_set(err, errno, "opening %s", dst);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dfd, links[i][0]) < 0)
			return sb_error_set(err, errno, "creating %s/%s", dst, links[i][0]);
	return 0;
}

static int do_dev(int rootfd, const struct sb_op *op, sb_error_t *err)
{
	/* No MS_NODEV: the bound host nodes keep their own mount's flags, but
	 * keep the tmpfs itself from holding anything executable. */
	if (mount_at(rootfd, op->dst, "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
		     "mode=0755,size=65536k") < 0)
		return sb_error_set(err, errno, "mounting tmpfs on %s", op->dst);
	return populate_dev(rootfd, op->dst, err);
}

static int do_file(int rootfd, const struct sb_op *op, sb_error_t *err)
{
	if (sb_mountpoint_make(rootfd, op->dst, false) < 0)
		return sb_error_set(err, errno, "creating %s", op->dst);
	cleanup_close int fd = sb_open_in_root(rootfd, op->dst, O_WRONLY | O_TRUNC | O_NOFOLLOW);
	size_t len = strlen(op->data);
	if (fd < 0 || write(fd, op->data, len) != (ssize_t)len)
		return sb_error_set(err, errno, "writing %s", op->dst);
	return 0;
}

static int apply_op(int rootfd, const struct sb_plan *plan, size_t i, sb_error_t *err)
{
	const struct sb_op *op = &plan->ops[i];
	if (op->kind != SB_OP_FILE && sb_plan_dst_in_fresh_fs(plan, i)) {
		bool dir = true;
		struct stat st;
		if (op->kind == SB_OP_BIND && stat(op->src, &st) == 0)
			dir = S_ISDIR(st.st_mode);
		if (sb_mountpoint_make(rootfd, op->dst, dir) < 0)
			return sb_error_set(err, errno, "creating mount point %s", op->dst);
	}
	switch (op->kind) {
	case SB_OP_BIND:
	case SB_OP_SYS:
		return do_bind(rootfd, op, err);
	case SB_OP_TMPFS:
		if (mount_at(rootfd, op->dst, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") <
		    0)
			return sb_error_set(err, errno, "mounting tmpfs on %s", op->dst);
		return 0;
	case SB_OP_PROC:
		return do_proc(rootfd, op, err);
	case SB_OP_DEV:
		return do_dev(rootfd, op, err);
	case SB_OP_FILE:
		return do_file(rootfd, op, err);
	}
	return 0;
}

int sb_mounts_setup(const struct sb_plan *plan, sb_error_t *err)
{
	/* Nothing done below may propagate back to the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sb_error_set(err, errno, "making / private");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sb_error_set(err, errno, "binding rootfs %s", plan->rootfs);
	cleanup_close int rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set(err, errno, "opening rootfs %s", plan->rootfs);
	for (size_t i = 0; i < plan->nops; i++)
		if (apply_op(rootfd, plan, i, err) < 0)
			return -1;
	/* Last: the mount points above had to be created first. Not recursive,
	 * so /tmp, /dev and binds keep their own flags. */
	if (plan->readonly_root &&
	    mount(NULL, plan->rootfs, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(plan->rootfs), NULL) < 0)
		return sb_error_set(err, errno, "making the rootfs read-only");
	return 0;
}

int sb_pivot(const char *rootfs, sb_error_t *err)
{
	cleanup_close int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0 || chdir(rootfs) < 0)
		return sb_error_set(err, errno, "entering %s", rootfs);
	/* pivot_root(".", "."): the old root ends up stacked on the new one and
	 * is detached at once; no directory in the image is needed for it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return sb_error_set(err, errno, "switching root to %s", rootfs);
		return chdir("/") < 0 ? sb_error_set(err, errno, "chdir /") : 0;
	}
	if (fchdir(oldroot) < 0)
		return sb_error_set(err, errno, "fchdir to old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0)
		return sb_error_set(err, errno, "detaching the old root");
	if (chdir("/") < 0)
		return sb_error_set(err, errno, "chdir /");
	return 0;
}
