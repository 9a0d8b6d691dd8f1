/* builder/sandbox/modes.c: mode names and what each mode adds to a plan. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {
	[SB_MODE_AUTO] = "auto",	 [SB_MODE_ROOT] = "root",
	[SB_MODE_SUBUID] = "subuid",	 [SB_MODE_SECCOMP] = "seccomp",
	[SB_MODE_FAKEROOT] = "fakeroot", [SB_MODE_ROOTMAP] = "rootmap", [SB_MODE_JOURNAL] = "journal",
};

const char *sb_mode_name(enum sb_mode mode)
{
	if ((size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]))
		return mode_names[mode];
	return "?";
}

int sb_mode_parse(const char *s, enum sb_mode *mode, sb_error_t *err)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (i != SB_MODE_ROOT && s != NULL && strcmp(s, mode_names[i]) == 0) {
			*mode = (enum sb_mode)i;
			return 0;
		}
	}
	return sb_error_set_status(err, 2, 0,
				   "invalid --userns-mode '%s' (auto, subuid, journal, seccomp, "
				   "fakeroot or rootmap)",
				   s ? s : "");
}

/* apt verifies that it really dropped privileges to _apt, which the seccomp
 * lies cannot make true: tell it not to try. APT_CONFIG is read in addition
 * to the image's own configuration, which stays untouched. */
#define APT_CONF SB_PRIVATE_DIR "/apt.conf"

static int apply_seccomp(struct sb_plan *plan, sb_error_t *err)
{
	if (sb_plan_add_tmpfs(plan, SB_PRIVATE_DIR, err) < 0 ||
	    sb_plan_add_file(plan, APT_CONF, "APT::Sandbox::User \"root\";\n", err) < 0)
		return -1;
	if (sb_plan_getenv(plan, "APT_CONFIG") != NULL)
		return 0; /* the caller's choice wins */
	return sb_plan_setenv(plan, "APT_CONFIG", APT_CONF, err);
}

int sb_plan_apply_mode(struct sb_plan *plan, const struct sb_sandbox *sb, sb_error_t *err)
{
	switch (sb->mode) {
	case SB_MODE_SECCOMP:
	case SB_MODE_JOURNAL:
		return apply_seccomp(plan, err);
	case SB_MODE_FAKEROOT:
		return sb_fakeroot_apply(plan, &sb->fr, err);
	default:
		return 0;
	}
}
