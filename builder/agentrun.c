/* builder/agentrun.c: bootstrap_request.run on top of the sandbox library. */
#include "builder/agentrun.h"

#include "bootstrap/bootstrap.h"
#include "builder/sandbox/hostrun.h"

int sb_agentrun(void *ctx, char *const argv[], char *const envp[], int *status, sb_error_t *err)
{
	const struct sb_agentrun *ar = ctx;
	return sb_sandbox_run_host_owned(ar->sb, ar->rootfs, ar->owners, argv, envp, status, err);
}

void sb_agentrun_attach(struct bootstrap_request *r, struct sb_agentrun *ar,
			const struct sb_sandbox *sb)
{
	ar->sb = sb;
	ar->rootfs = r->rootfs;
	ar->owners = r->owners;
	r->run = sb_agentrun;
	r->run_ctx = ar;
}
