/* tests/sandbox/jcalls.c: the system-call cases of ownership-journal.md 3.1
 * that busybox cannot make, run inside a journaled %post: kernel errors
 * mirrored (EINVAL, EBADF, EFAULT, ENOTDIR, ENAMETOOLONG, EEXIST), dirfd and
 * AT_EMPTY_PATH (also on O_PATH descriptors), ".." clamped at the root,
 * absolute symlinks resolved inside it, /proc/self/fd paths, a second
 * thread, device mknod, and the stat family (stat, fstat, statx) answered
 * from the journal. Works in /jc, which it creates. Prints "ok NAME" or
 * "FAIL NAME ..." per case; exits 0 when all pass. Static, so it runs in a
 * busybox image. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *detail)
{
	printf("%s %s%s%s\n", ok ? "ok" : "FAIL", name, ok ? "" : " ", ok ? "" : detail);
	failures += !ok;
}

/* rc == want_rc and, when it failed, errno == want_errno */
static void expect(const char *name, int rc, int want_rc, int want_errno)
{
	char d[128];
	int e = errno;
	snprintf(d, sizeof(d), "(rc %d errno %s, want %d %s)", rc, strerror(e), want_rc,
		 strerror(want_errno));
	check(name, rc == want_rc && (rc == 0 || e == want_errno), d);
}

static void expect_owner(const char *name, const char *path, int nofollow, unsigned uid)
{
	struct stat st;
	char d[128];
	int rc = nofollow ? lstat(path, &st) : stat(path, &st);
	snprintf(d, sizeof(d), "(rc %d uid %u, want %u)", rc, rc == 0 ? st.st_uid : 0, uid);
	check(name, rc == 0 && st.st_uid == uid && st.st_gid == uid, d);
}

static void *thread_chown(void *arg)
{
	(void)arg;
	return (void *)(long)chown("/jc/t", 18, 18);
}

static void touch(const char *p)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void errors(void)
{
	expect("unknown AT_ flag gives EINVAL", fchownat(AT_FDCWD, "/jc/f", 1, 1, 0x4000), -1,
	       EINVAL);
	expect("bad dirfd gives EBADF", fchownat(12345, "f", 1, 1, 0), -1, EBADF);
	expect("bad pointer gives EFAULT", (int)syscall(SYS_chown, (char *)8, 1, 1), -1, EFAULT);
	int file = open("/jc/f", O_RDONLY | O_CLOEXEC);
	expect("a file as dirfd gives ENOTDIR", fchownat(file, "x", 1, 1, 0), -1, ENOTDIR);
	close(file);
	expect("missing file gives ENOENT", chown("/jc/nope", 1, 1), -1, ENOENT);
	expect("through a file gives ENOTDIR", chown("/jc/f/x", 1, 1), -1, ENOTDIR);
	static char lng[5000];
	memset(lng, 'a', sizeof(lng) - 1);
	expect("an over-long path gives ENAMETOOLONG", chown(lng, 1, 1), -1, ENAMETOOLONG);
	expect("empty path without AT_EMPTY_PATH gives ENOENT", chown("", 1, 1), -1, ENOENT);
}

static void descriptors(void)
{
	int opath = open("/jc/f", O_PATH | O_CLOEXEC);
	expect("fchown on an O_PATH fd gives EBADF", fchown(opath, 1, 1), -1, EBADF);
	expect("fchownat(O_PATH fd, \"\", AT_EMPTY_PATH) works",
	       fchownat(opath, "", 11, 11, AT_EMPTY_PATH), 0, 0);
	expect_owner("... and stat shows 11", "/jc/f", 0, 11);
	close(opath);
	int d = open("/jc/d", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	expect("fchownat(dirfd, \"g\")", fchownat(d, "g", 12, 12, 0), 0, 0);
	expect_owner("... reaches /jc/d/g", "/jc/d/g", 0, 12);
	expect("fchownat(dirfd, \"\", AT_EMPTY_PATH)", fchownat(d, "", 13, 13, AT_EMPTY_PATH), 0,
	       0);
	expect_owner("... reaches the directory", "/jc/d", 0, 13);
	close(d);
	int g = open("/jc/d/g", O_RDONLY | O_CLOEXEC);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", g);
	expect("chown /proc/self/fd/N", chown(p, 17, 17), 0, 0);
	expect_owner("... reaches the file", "/jc/d/g", 0, 17);
	struct stat st;
	expect("fstat answers from the journal", fstat(g, &st) == 0 && st.st_uid == 17 ? 0 : -1,
	       0, 0);
	close(g);
}

static void paths(void)
{
	if (chdir("/jc/d") != 0)
		return check("chdir /jc/d", 0, "");
	expect("\"..\" is clamped at the root", chown("../../../../../jc/f", 14, 14), 0, 0);
	expect_owner("... reaching /jc/f", "/jc/f", 0, 14);
	if (chdir("/jc") != 0)
		return check("chdir /jc", 0, "");
	expect("chown through an absolute symlink", chown("abs", 15, 15), 0, 0);
	expect_owner("... reaches its target inside the root", "/jc/f", 0, 15);
	expect("lchown of the symlink", lchown("abs", 16, 16), 0, 0);
	expect_owner("... changes the link", "/jc/abs", 1, 16);
	expect_owner("... not the target", "/jc/f", 0, 15);
	struct statx sx;
	int rc = statx(AT_FDCWD, "abs", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
	expect("statx(AT_SYMLINK_NOFOLLOW) answers for the link",
	       rc == 0 && sx.stx_uid == 16 ? 0 : -1, 0, 0);
	pthread_t t;
	void *ret = (void *)1L;
	touch("/jc/t");
	if (pthread_create(&t, NULL, thread_chown, NULL) == 0)
		pthread_join(t, &ret);
	expect("chown from a second thread", (int)(long)ret, 0, 0);
	expect_owner("... is recorded", "/jc/t", 0, 18);
}

static void devices(void)
{
	umask(022);
	expect("mknod c 1 3", mknod("/jc/n", S_IFCHR | 0666, makedev(1, 3)), 0, 0);
	expect("mknod over it gives EEXIST", mknod("/jc/n", S_IFCHR | 0666, makedev(1, 3)), -1,
	       EEXIST);
	struct stat st;
	int ok = stat("/jc/n", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
		 (st.st_mode & 07777) == 0644;
	check("stat shows a 1:3 character device, umask applied", ok, "");
	expect("mknod b 300:70000", mknod("/jc/b", S_IFBLK | 0600, makedev(300, 70000)), 0, 0);
	ok = lstat("/jc/b", &st) == 0 && S_ISBLK(st.st_mode) && major(st.st_rdev) == 300 &&
	     minor(st.st_rdev) == 70000;
	check("large device numbers survive", ok, "");
	/* unsquashfs -lln shows minors above 255 oddly: this one it shows. */
	expect("mknod b 259:7", mknod("/jc/b2", S_IFBLK | 0640, makedev(259, 7)), 0, 0);
	expect("mknod of a FIFO goes to the kernel", mknod("/jc/p", S_IFIFO | 0644, 0), 0, 0);
	check("... and is a real FIFO", lstat("/jc/p", &st) == 0 && S_ISFIFO(st.st_mode), "");
}

int main(void)
{
	if (mkdir("/jc", 0755) != 0 || mkdir("/jc/d", 0755) != 0) {
		perror("/jc");
		return 1;
	}
	touch("/jc/f");
	touch("/jc/d/g");
	if (symlink("/jc/f", "/jc/abs") != 0)
		perror("symlink");
	errors();
	descriptors();
	paths();
	devices();
	return failures ? 1 : 0;
}
