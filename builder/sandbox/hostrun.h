/* builder/sandbox/hostrun.h: run a host program as the sandbox's root, for
 * package-manager bootstrap agents (debootstrap, dnf, zypper) that install
 * into a root filesystem from outside it. */
#ifndef SB_BUILDER_SANDBOX_HOSTRUN_H
#define SB_BUILDER_SANDBOX_HOSTRUN_H

#include "builder/sandbox/sandbox.h"

/* Runs argv (argv[0] an absolute host path) with exactly envp on the host's
 * filesystem view, as uid 0 of sb's mode: in the user-namespace modes
 * inside a namespace with the build's ID mapping, plus a private mount
 * namespace (so the program may mount, e.g. debootstrap's /proc and /dev
 * binds into rootfs) and a PID namespace whose PID 1 reaps and takes every
 * leftover process down. Root emulation as for %post: seccomp mode loads
 * the filter; fakeroot mode runs argv under the host's fakeroot(1) with
 * FAKEROOTDONTTRYCHOWN=1, and binds fakeroot's library directory into
 * rootfs (may be NULL) at the same path, so programs that chroot into the
 * new tree keep the preload (the empty mount point is removed afterwards).
 * stdio is inherited. *status is the program's exit code (128+N when killed
 * by signal N). Returns -1 only when the sandbox could not be set up. */
int sb_sandbox_run_host(const struct sb_sandbox *sb, const char *rootfs, char *const argv[],
			char *const envp[], int *status, sb_error_t *err);

struct sb_ownership;

/* sb_sandbox_run_host, and in journal mode with owners and rootfs given,
 * the program's chown family, device mknod and stat family are journaled
 * as for %post (ownership-journal.md 8): the namespace holder supervises
 * them, and what the run recorded for files of rootfs lands in owners
 * (records of files outside rootfs are dropped). Without owners, journal
 * mode runs the program under the seccomp fakes. */
int sb_sandbox_run_host_owned(const struct sb_sandbox *sb, const char *rootfs,
			      struct sb_ownership *owners, char *const argv[], char *const envp[],
			      int *status, sb_error_t *err);

#endif
