/* builder/sandbox/sandbox.h: run a program inside an unpacked root filesystem
 * as (real or namespaced) root, without privilege when possible.
 *
 * This is the only module that may unshare, mount, pivot_root, write ID maps
 * or load seccomp filters. It works in two steps (plan, then execute):
 *
 *  1. The caller describes the run as a plan: the rootfs directory, an ordered
 *     list of setup operations (binds, tmpfs, proc, sys, dev, files), the
 *     environment, the working directory, argv and the stdio descriptors.
 *     Building a plan has no side effects; it is unit-testable.
 *  2. sb_sandbox_select() chooses a privilege mode once per build (probing in
 *     forked children), and sb_sandbox_run() carries a plan out in a child.
 *
 * Modes (docs: rootless-modes.md, letters as there):
 *   SB_MODE_ROOT      real root: mount + PID namespaces, no user namespace;
 *   SB_MODE_SUBUID    (b) caller -> 0 plus 65536 subordinate IDs written by
 *                     newuidmap/newgidmap: real multi-owner files;
 *   SB_MODE_SECCOMP   (d) caller -> 0 only, plus a seccomp filter that makes
 *                     the chown/set*id/setgroups/capset/device-mknod calls
 *                     report success, and APT_CONFIG disabling apt's sandbox;
 *   SB_MODE_FAKEROOT  (c) caller -> 0 only, the program runs under the host's
 *                     fakeroot(1) bound at a private path (/.sifbuild);
 *   SB_MODE_ROOTMAP   (a) caller -> 0 only; chown to other IDs fails;
 *   SB_MODE_JOURNAL   caller -> 0 only, plus a seccomp user-notification
 *                     filter served by a supervisor outside the filtered
 *                     tree: chown/device mknod are recorded in the plan's
 *                     ownership map (ownership-journal.md), stat answers
 *                     from it, set*id/setgroups/capset report success and
 *                     APT_CONFIG disables apt's sandbox, as in seccomp mode.
 *
 * Errors: every function that can fail takes an sb_error_t *err, returns -1
 * (or NULL) and fills *err; nothing here prints or exits in the caller.
 */
#ifndef SB_BUILDER_SANDBOX_H
#define SB_BUILDER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* ------------------------------------------------------------------ plan */

struct sb_plan;

/* Flags of sb_plan_add_bind(). */
#define SB_BIND_RO 0x1u /* read-only (recursive when the kernel allows) */
#define SB_BIND_OPTIONAL 0x2u /* skip silently when the source does not exist */

/* Creates an empty plan for the root filesystem directory rootfs (borrowed,
 * copied). Defaults: argv empty (must be set), cwd "/", empty environment,
 * stdio inherited (-1). Never returns NULL. */
struct sb_plan *sb_plan_new(const char *rootfs);
void sb_plan_free(struct sb_plan *plan);
/* Deep copy. */
struct sb_plan *sb_plan_copy(const struct sb_plan *plan);

/* Operations run in the order added. Destinations are absolute paths inside
 * the rootfs; they are resolved inside it (symlinks cannot leave it). A
 * missing destination is created before the run (an empty directory, or an
 * empty file when the source is not a directory) and removed afterwards, so
 * the image is left as it was. Sources are host paths. */
int sb_plan_add_bind(struct sb_plan *plan, const char *src, const char *dst, unsigned flags,
		     sb_error_t *err);
/* Parses Apptainer's --bind syntax SRC[:DST[:ro|rw]] (DST defaults to SRC)
 * and adds the bind. Errors name the spec. */
int sb_plan_add_bind_spec(struct sb_plan *plan, const char *spec, sb_error_t *err);
int sb_plan_add_tmpfs(struct sb_plan *plan, const char *dst, sb_error_t *err);
/* A fresh proc for the sandbox's PID namespace (falls back to a recursive
 * bind of the host's /proc when the kernel refuses a new instance). */
int sb_plan_add_proc(struct sb_plan *plan, const char *dst, sb_error_t *err);
/* The host's /sys, recursively bound read-only. */
int sb_plan_add_sys(struct sb_plan *plan, const char *dst, sb_error_t *err);
/* A minimal /dev over whatever the image has: tmpfs with null, zero, full,
 * random, urandom, tty bound from the host, devpts (ptmx), shm, fd links. */
int sb_plan_add_dev(struct sb_plan *plan, const char *dst, sb_error_t *err);
/* Writes a file with the given content (mode 0644) at dst, which must lie
 * under an earlier tmpfs operation (so the image never keeps it). */
int sb_plan_add_file(struct sb_plan *plan, const char *dst, const char *content, sb_error_t *err);

/* Adds what a build script needs, in this order: proc at /proc, sys at /sys,
 * dev at /dev, tmpfs at /tmp, and the host's /etc/resolv.conf and /etc/hosts
 * bound read-only (optional). */
int sb_plan_add_standard(struct sb_plan *plan, sb_error_t *err);

/* Sets (or replaces) NAME in the environment. The environment starts empty:
 * nothing leaks from the caller's unless set here. */
int sb_plan_setenv(struct sb_plan *plan, const char *name, const char *value, sb_error_t *err);
/* Value of NAME in the plan's environment, or NULL (borrowed). */
const char *sb_plan_getenv(const struct sb_plan *plan, const char *name);
/* argv is copied; argv[0] without a '/' is looked up in the plan's PATH
 * inside the rootfs. */
int sb_plan_set_argv(struct sb_plan *plan, int argc, const char *const *argv, sb_error_t *err);
int sb_plan_set_cwd(struct sb_plan *plan, const char *cwd, sb_error_t *err);
/* Descriptors (borrowed) for the program's stdin/stdout/stderr; -1 inherits. */
void sb_plan_set_stdio(struct sb_plan *plan, int in, int out, int errfd);

/* Makes the rootfs itself read-only for the run (the mounts on top, such as
 * /tmp and /dev, stay as they are): %test runs this way, as in Apptainer
 * where it is not --writable. Default: writable. */
void sb_plan_set_readonly_root(struct sb_plan *plan, bool readonly);

/* Who the program runs as. Default (false): root of the sandbox. With
 * keep_uid, in the user-namespace modes the caller's uid and gid are mapped
 * to themselves (nothing else is mapped), so the program runs as the caller,
 * without capabilities, as Apptainer's run/exec/shell do; the mode's root
 * emulation (seccomp filter, fakeroot, subordinate IDs) is left out. In root
 * mode the caller is root and stays root. */
void sb_plan_set_identity(struct sb_plan *plan, bool keep_uid);

/* Fakeroot mode only: a host directory (borrowed, copied; it must exist)
 * where fakeroot(1) keeps its database of faked owners and devices, so that
 * later runs with the same directory (%post, then %test) see the same lies.
 * Keyed by inode: valid only while the tree stays in place. */
int sb_plan_set_fakeroot_state(struct sb_plan *plan, const char *dir, sb_error_t *err);

struct sb_ownership;

/* Journal mode only: the build's ownership map (borrowed; must outlive the
 * runs). Before a run its records describing files of the rootfs are loaded
 * (identity: device, inode and file handle) so stat answers from them; what
 * the program records (chown, device mknod) is written back when the run
 * ends, keyed by every path of the tree that reaches a recorded inode (so
 * renames and hard links keep their owners, and an inode number reused by a
 * new file does not inherit them). NULL (default): the run's records are
 * dropped. */
void sb_plan_set_ownership(struct sb_plan *plan, struct sb_ownership *map);

/* Journal mode: the run appends its records ("C"/"N" lines: inode key and
 * owner or device) to the file path (borrowed, copied; created 0600) instead
 * of an anonymous memory file, so the build directory keeps the journal of
 * every run after a crash (see --no-cleanup); only the lines this run
 * appended are applied to the map. NULL (default): memory file. */
void sb_plan_set_journal_log(struct sb_plan *plan, const char *path);

/* Checks the plan is complete and consistent (argv set, absolute clean
 * destinations, files under a tmpfs). */
int sb_plan_validate(const struct sb_plan *plan, sb_error_t *err);

/* One line per operation, for tests and --debug output, e.g.
 * "bind ro /etc/hosts -> /etc/hosts", "tmpfs /tmp", "proc /proc". Caller
 * frees the result. */
char *sb_plan_describe(const struct sb_plan *plan);

/* ----------------------------------------------------------------- modes */

enum sb_mode {
	SB_MODE_AUTO = 0,
	SB_MODE_ROOT,
	SB_MODE_SUBUID,
	SB_MODE_SECCOMP,
	SB_MODE_FAKEROOT,
	SB_MODE_ROOTMAP,
	SB_MODE_JOURNAL,
};

/* "auto", "root", "subuid", "seccomp", "fakeroot", "rootmap", "journal". */
const char *sb_mode_name(enum sb_mode mode);
/* Parses --userns-mode values (the names above except "root"). */
int sb_mode_parse(const char *s, enum sb_mode *mode, sb_error_t *err);

struct sb_mode_request {
	enum sb_mode mode; /* SB_MODE_AUTO: the section-9 order */
	bool ignore_subuid; /* --ignore-subuid: no subuid in auto */
	bool ignore_fakeroot_command; /* --ignore-fakeroot-command */
	bool ignore_userns; /* --ignore-userns: no root-mapped modes */
	/* Test hooks (NULL/false: /etc/subuid, /etc/subgid, helpers from
	 * PATH, seccomp considered). */
	bool ignore_seccomp;
	const char *subuid_file;
	const char *subgid_file;
	const char *newuidmap;
	const char *newgidmap;
	const char *fakeroot; /* host fakeroot script */
};

struct sb_sandbox;

/* Chooses the mode for req (borrowed). base (borrowed, may be NULL) is a plan
 * for the prepared root filesystem (rootfs, mounts, binds, env): the in-image
 * fakeroot probe runs a short command with it; without it fakeroot is judged
 * on the host side only. Each probe runs in a forked child. On
 * success *out is a new sandbox (free with sb_sandbox_free). Fails with one
 * line naming the cause when no requested mode can work (e.g. user
 * namespaces disabled by a sysctl or AppArmor). */
int sb_sandbox_select(const struct sb_mode_request *req, const struct sb_plan *base,
		      struct sb_sandbox **out, sb_error_t *err);
void sb_sandbox_free(struct sb_sandbox *sb);

enum sb_mode sb_sandbox_mode(const struct sb_sandbox *sb);
/* The one info line describing the choice, e.g. "running %post in a
 * root-mapped user namespace with seccomp root emulation" (borrowed). */
const char *sb_sandbox_info(const struct sb_sandbox *sb);
/* Fallback notes and warnings gathered while choosing (borrowed, may be 0). */
size_t sb_sandbox_note_count(const struct sb_sandbox *sb);
const char *sb_sandbox_note(const struct sb_sandbox *sb, size_t i);

/* -------------------------------------------------------------- execution */

struct sb_run_result {
	int exit_code; /* the program's exit status, 128+N if killed by N */
	int term_signal; /* N when the program was killed by a signal, else 0 */
	int interrupted; /* SIGINT/SIGTERM/SIGHUP received by the caller and
			    forwarded while running, else 0 */
};

/* Runs plan (borrowed) in sb's mode and waits for it. PID 1 of the sandbox is
 * a reaper that forwards SIGINT/SIGTERM/SIGHUP, reaps orphans, and exits with
 * the program's status; when it exits every process left inside is killed.
 * While running, SIGINT/SIGTERM/SIGHUP delivered to the caller are forwarded
 * (the previous handlers are restored before returning) and reported in
 * res->interrupted: the caller should clean up and then exit. Returns 0 when
 * the program ran (whatever its status), -1 when the sandbox could not be set
 * up (message from inside the child). No mount and no process outlives the
 * call; mount points created in the rootfs are removed. */
int sb_sandbox_run(const struct sb_sandbox *sb, const struct sb_plan *plan,
		   struct sb_run_result *res, sb_error_t *err);

/* Calls fn(arg) in a forked child that sees files as the sandbox's root
 * does: in the user-namespace modes it enters a user namespace with the same
 * ID mapping (no mount or PID namespace: the caller's view of the
 * filesystem). There, in subuid mode, files owned by subordinate IDs can be
 * read, changed and removed, and in every such mode file capabilities set
 * inside the sandbox read back as plain v2 capabilities (on disk they are v3
 * and bound to the caller's UID). In root mode fn runs as the caller. fn's
 * return value (0-255) is stored in *status. fn may write to descriptors it
 * finds in arg; the caller reads them after the call returns (use a file or
 * memfd for more than a pipe buffer). */
int sb_sandbox_enter(const struct sb_sandbox *sb, int (*fn)(void *arg), void *arg, int *status,
		     sb_error_t *err);

/* Removes the tree at path (like rm -rf). In subuid mode files owned by
 * subordinate IDs can only be removed from inside a namespace with the same
 * mapping, so this enters one; in other modes it runs in the caller. A
 * missing path is not an error. */
int sb_sandbox_remove_tree(const struct sb_sandbox *sb, const char *path, sb_error_t *err);

/* --------------------------------------------------------- build scripts */

/* The argv Apptainer uses for a scriptlet (apptainer-behaviour.md 3.5/3.8):
 * "/bin/sh -ex [args] SCRIPT", or with "-c INTERP..." in args
 * "/bin/sh -ex -c 'INTERP... SCRIPT'". args is the section's argument text
 * (may be NULL). Returns a NULL-terminated vector (free with
 * sb_strv_free) and its length in *argc. section names the section in
 * errors ("%post"). */
char **sb_script_argv(const char *section, const char *args, const char *script, int *argc,
		      sb_error_t *err);
void sb_strv_free(char **v);

/* Runs a host scriptlet (%setup, %pre) as Apptainer does: argv (borrowed;
 * see sb_script_argv) on the host, in the caller's working directory, with
 * the caller's environment plus APPTAINER_ROOTFS/SINGULARITY_ROOTFS=rootfs
 * and APPTAINER_ENVIRONMENT/SINGULARITY_ENVIRONMENT. In the user-namespace
 * modes it runs as uid 0 of a namespace with the build's mapping (so it can
 * write into a rootfs owned by subordinate IDs), never under fakeroot(1).
 * *status is the script's exit status (127 when it could not be started). */
int sb_script_run_host(const struct sb_sandbox *sb, char *const argv[], const char *rootfs,
		       int *status, sb_error_t *err);

/* Fills plan's environment as Apptainer's --cleanenv build does for %post
 * and %test: PATH, HOME=/root, LANG=C, TERM and *_proxy from the host
 * environment, APPTAINER_ENVIRONMENT/SINGULARITY_ENVIRONMENT,
 * APPTAINER_LABELS/SINGULARITY_LABELS, APPTAINER_CONTAINER/NAME. name is the
 * container name (borrowed). */
int sb_script_post_env(struct sb_plan *plan, const char *name, sb_error_t *err);

/* Makes the plan's command run after sourcing the image's environment files
 * (the *.sh files in /.singularity.d/env, in glob order), as Apptainer does
 * before %post and %test (so an OCI base's ENV and %environment from an
 * earlier stage are visible): argv becomes
 * /bin/sh -c '<source each>; exec "$@"' sifbuild-env ARGV... . Call after
 * sb_plan_set_argv. */
int sb_plan_source_image_env(struct sb_plan *plan, sb_error_t *err);

#endif
