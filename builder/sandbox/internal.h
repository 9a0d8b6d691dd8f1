/* builder/sandbox/internal.h: shared between the sandbox's files and its unit
 * test; not for the rest of sifbuild. */
#ifndef SB_BUILDER_SANDBOX_INTERNAL_H
#define SB_BUILDER_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "builder/sandbox/sandbox.h"
#include "common/fs.h"
#include "common/ownership.h"

enum sb_op_kind {
	SB_OP_BIND,
	SB_OP_TMPFS,
	SB_OP_PROC,
	SB_OP_SYS,
	SB_OP_DEV,
	SB_OP_FILE,
};

struct sb_op {
	enum sb_op_kind kind;
	char *src; /* BIND: host path */
	char *dst; /* absolute, normalised path inside the rootfs */
	char *data; /* FILE: content */
	unsigned flags;
};

struct sb_plan {
	char *rootfs;
	struct sb_op *ops;
	size_t nops, capops;
	char **env; /* "NAME=value", NULL-terminated */
	size_t nenv;
	char **argv; /* NULL-terminated */
	int argc;
	char *cwd;
	int stdio[3];
	bool readonly_root;
	bool keep_uid; /* sb_plan_set_identity */
	char *fakeroot_state; /* host directory, or NULL */
	struct sb_ownership *owners; /* journal mode: borrowed, or NULL */
	char *journal_log; /* journal mode: on-disk log file, or NULL (memfd) */
};

/* Private directory (a tmpfs) the sandbox adds inside the rootfs for its own
 * files: fakeroot binaries, the apt configuration. */
#define SB_PRIVATE_DIR "/.sifbuild"

struct sb_idrange {
	unsigned long start;
	unsigned long count;
};

struct sb_fakeroot_host {
	char *script; /* host fakeroot(1) script; NULL: the image's own fakeroot */
	char *faked; /* matching daemon */
	char *lib; /* matching preload library */
	char *getopt; /* may be NULL */
};

struct sb_sandbox {
	enum sb_mode mode;
	uid_t uid;
	gid_t gid;
	struct sb_idrange subuid, subgid;
	char *newuidmap, *newgidmap;
	struct sb_fakeroot_host fr;
	char *info;
	char **notes;
	size_t nnotes;
};

/* plan.c */
/* True when dst equals prefix or lies below it. */
bool sb_path_under(const char *dst, const char *prefix);
/* Normalises an absolute in-rootfs path ("//a/./b/" -> "/a/b"); rejects
 * relative paths and "..". Returns a new string or NULL. */
char *sb_path_clean(const char *path);
/* Adds the operations, environment and argv changes that mode needs
 * (seccomp: APT_CONFIG file; fakeroot: binds and argv prefix). */
int sb_plan_apply_mode(struct sb_plan *plan, const struct sb_sandbox *sb, sb_error_t *err);
/* True when an earlier op (index < i) mounts a tmpfs/dev/proc/sys that
 * contains op i's destination (then the executor creates the mount point
 * inside that fresh filesystem, not in the image). */
bool sb_plan_dst_in_fresh_fs(const struct sb_plan *plan, size_t i);

/* rootpath.c: mount points in the image, resolved inside the rootfs. */
struct sb_created {
	char **paths; /* created, in creation order (in-rootfs paths) */
	size_t n;
};
/* sb_open_in_root (common/fs.h) opens the paths below. */
/* Creates each missing mount point of plan in the image (directory, or an
 * empty file when the bind source is not a directory). */
int sb_mountpoints_prepare(const struct sb_plan *plan, struct sb_created *made, sb_error_t *err);
/* Removes what prepare created (only if still empty), newest first. */
void sb_mountpoints_cleanup(const char *rootfs, struct sb_created *made);
/* Creates dst (and missing parents) below rootfd, no bookkeeping. Returns 1
 * when created, 0 when something already existed there, -1 on error. */
int sb_mountpoint_make(int rootfd, const char *dst, bool dir);

/* mounts.c: run inside the child, in its private mount namespace. */
int sb_mounts_setup(const struct sb_plan *plan, sb_error_t *err);
int sb_pivot(const char *rootfs, sb_error_t *err);

/* userns.c */
/* Parses /etc/subuid-style text for user (name) or its numeric uid and picks
 * a range: count exactly 65536 wins, else the largest above 65536. Returns 0
 * and fills *r, or -1 with a reason in err. */
int sb_subid_pick(const char *text, const char *user, uid_t uid, struct sb_idrange *r,
		  sb_error_t *err);
/* Writes pid's single-ID maps (0 -> uid, 0 -> gid, setgroups deny). */
int sb_userns_map_self(pid_t pid, uid_t uid, gid_t gid, sb_error_t *err);
/* The same with the given IDs inside (in_uid -> uid, in_gid -> gid). */
int sb_userns_map_one(pid_t pid, uid_t in_uid, uid_t uid, gid_t in_gid, gid_t gid,
		      sb_error_t *err);
/* Runs newgidmap then newuidmap on pid with the subordinate ranges. */
int sb_userns_map_subid(const struct sb_sandbox *sb, pid_t pid, sb_error_t *err);
/* First executable name in $PATH, /usr/sbin or /sbin (new string), or NULL. */
char *sb_find_in_path(const char *name);
/* Finds a setuid (or file-capability) helper by name in PATH, or checks the
 * given path. Returns a new string or NULL with the reason in err. */
char *sb_userns_find_helper(const char *name, const char *given, sb_error_t *err);
/* Writes the maps for sb's mode on pid (keep_uid: the caller to itself). */
int sb_userns_write_maps(const struct sb_sandbox *sb, pid_t pid, bool keep_uid, sb_error_t *err);
bool sb_mode_uses_userns(enum sb_mode mode);

/* seccomp.c */
/* Loads the root-emulation filter into the calling process and runs the
 * self-test. */
int sb_seccomp_install(sb_error_t *err);
/* Number of syscalls faked (for tests). */
int sb_seccomp_fake_count(void);

/* jtable.c: the ownership journal's inode table (ownership-journal.md 2.2,
 * 7). Keyed by (device, inode); each entry carries the file handle seen when
 * it was made (inode number plus generation), so an inode number reused by a
 * new file never matches an old entry. */
#define SB_JHANDLE_MAX 64
struct sb_jkey {
	dev_t dev;
	ino_t ino;
	int htype;
	unsigned hlen; /* 0: the filesystem gives no handles */
	unsigned char h[SB_JHANDLE_MAX];
};
struct sb_jentry {
	struct sb_jkey k;
	uint32_t uid, gid; /* SB_OWNER_UNSET: the on-disk owner */
	uint32_t mode; /* 0, or type|perms as in struct sb_owner_entry */
	dev_t rdev;
	char *src; /* path of the map record it was loaded from, or NULL */
};
struct sb_jtable;
struct sb_jtable *sb_jtable_new(void);
void sb_jtable_free(struct sb_jtable *t);
size_t sb_jtable_count(const struct sb_jtable *t);
/* Fills k for the open descriptor fd (O_PATH is fine) whose fstat is st. */
void sb_jkey_of_fd(int fd, const struct stat *st, struct sb_jkey *k);
/* True when some entry has this (dev, ino), whatever its handle. */
bool sb_jtable_has_inode(const struct sb_jtable *t, dev_t dev, ino_t ino);
/* The entry of k's inode when its handle matches k's, else NULL. */
struct sb_jentry *sb_jtable_find(struct sb_jtable *t, const struct sb_jkey *k);
/* Records an owner change (SB_OWNER_UNSET: field unchanged) or a device
 * placeholder (mode = S_IFCHR/S_IFBLK | perms) for k, and appends the change
 * to the log logfd (when >= 0). An entry of the same inode with another
 * handle is replaced. Returns 0 or -1 with errno (log write failed). */
int sb_jtable_chown(struct sb_jtable *t, const struct sb_jkey *k, uint32_t uid, uint32_t gid,
		    int logfd);
int sb_jtable_mknod(struct sb_jtable *t, const struct sb_jkey *k, uint32_t mode, dev_t rdev,
		    int logfd);
/* Applies the log written by the supervisor, from offset from (where this
 * run's lines start) to its end, to t. */
int sb_jtable_replay(struct sb_jtable *t, int logfd, off_t from, sb_error_t *err);
/* Loads the records of map (may be NULL) whose file exists in rootfs. */
int sb_jtable_load(struct sb_jtable *t, struct sb_ownership *map, const char *rootfs,
		   sb_error_t *err);
/* Writes t back into map: every path of rootfs whose inode has a valid entry
 * gets a record; records of paths whose inode has none are dropped. */
int sb_jtable_materialize(struct sb_jtable *t, struct sb_ownership *map, const char *rootfs,
			  sb_error_t *err);

/* jfilter.c */
enum sb_jop {
	SB_JOP_NONE,
	SB_JOP_CHOWN,
	SB_JOP_LCHOWN,
	SB_JOP_FCHOWN,
	SB_JOP_FCHOWNAT,
	SB_JOP_MKNOD,
	SB_JOP_MKNODAT,
	SB_JOP_STAT,
	SB_JOP_LSTAT,
	SB_JOP_FSTAT,
	SB_JOP_FSTATAT,
	SB_JOP_STATX,
};
/* Loads the journal filter into the calling process (ERRNO(0) for the
 * set*id family as in seccomp mode, NOTIFY for the chown family, device
 * mknod and the stat family) and returns its listener descriptor. */
int sb_journal_filter_load(int *listener, sb_error_t *err);
/* What (arch, nr) of a notification is; *id16 for the 16-bit ID calls. */
enum sb_jop sb_journal_decode(uint32_t arch, int nr, bool *id16);

/* journal.c: the supervisor. Serves listener until pidfd (the sandbox's
 * PID 1, or the probe's child) becomes readable. procfd is a /proc of the
 * caller's PID namespace opened before any mount. Records go to t and logfd.
 * Returns 0, or -1 with *err on a failure that makes the journal unreliable
 * (the caller must then kill the sandbox). Changes the caller's root. */
int sb_journal_serve(struct sb_jtable *t, int procfd, int logfd, int listener, int pidfd,
		     sb_error_t *err);
/* Passes one descriptor over a unix socket; returns 0 or -1 (errno). */
int sb_send_fd(int sock, int fd);
/* Receives one (close-on-exec); returns it or -1 (errno). */
int sb_recv_fd(int sock);
/* The self-test of journal mode, run in a child that holds CAP_SYS_CHROOT
 * in a root-mapped user namespace: a filtered grandchild chowns and stats a
 * memfd through the supervisor. */
int sb_journal_selftest(sb_error_t *err);

/* fakeroot.c */
int sb_fakeroot_find(const char *given, struct sb_fakeroot_host *fr, sb_error_t *err);
void sb_fakeroot_release(struct sb_fakeroot_host *fr);
int sb_fakeroot_apply(struct sb_plan *plan, const struct sb_fakeroot_host *fr, sb_error_t *err);

/* reaper.c: PID 1. Forks the program (via start(arg) in the child) and
 * waits; stores its raw wait status in *raw and returns the exit code to use
 * (128+N when killed by signal N). */
int sb_reaper_run(void (*start)(void *), void *arg, int *raw);

/* exec.c: the child side reports errors to the parent through this socket. */
void sb_child_fail(int sock, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* probe.c */
void sb_sandbox_add_note(struct sb_sandbox *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
