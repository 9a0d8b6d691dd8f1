/* builder/agentrun.h: the builder's side of bootstrap_request.run, through
 * which package-manager agents (debootstrap, dnf, zypper) run host programs
 * in the build's privilege mode. */
#ifndef SB_BUILDER_AGENTRUN_H
#define SB_BUILDER_AGENTRUN_H

#include "common/error.h"

struct sb_sandbox;
struct sb_ownership;
struct bootstrap_request;

struct sb_agentrun {
	const struct sb_sandbox *sb; /* the build's sandbox (borrowed) */
	const char *rootfs;	     /* the stage's rootfs (borrowed) */
	struct sb_ownership *owners; /* the stage's ownership map (borrowed, may be NULL) */
};

/* bootstrap_request.run: ctx is a struct sb_agentrun. Runs argv with envp
 * as the sandbox's root on the host's filesystem view (see
 * sb_sandbox_run_host_owned, journaling into the stage's ownership map in
 * journal mode); output goes to the caller's stdout/stderr. */
int sb_agentrun(void *ctx, char *const argv[], char *const envp[], int *status, sb_error_t *err);

/* Points r->run and r->run_ctx at sb_agentrun with ar (which must outlive
 * r's use), filling ar from sb, r->rootfs and r->owners. */
void sb_agentrun_attach(struct bootstrap_request *r, struct sb_agentrun *ar,
			const struct sb_sandbox *sb);

#endif
