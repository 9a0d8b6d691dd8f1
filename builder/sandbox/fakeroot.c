/* builder/sandbox/fakeroot.c: mode (c), the host's fakeroot(1) run inside the
 * image from a private tmpfs, so the image itself is never modified. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

#define FR_DIR SB_PRIVATE_DIR "/fakeroot"
#define FR_STATE SB_PRIVATE_DIR "/fakeroot-state"

/* Value of a "NAME=value" assignment at the start of a line of the script
 * (fakeroot's own configuration lines, e.g. FAKEROOT_LIB=libfakeroot-sysv.so). */
static char *script_var(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = text; l != NULL; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, name, n) == 0 && l[n] == '=') {
			const char *v = l + n + 1;
			return sb_strndup(v, strcspn(v, "\n"));
		}
	}
	return NULL;
}

/* Expands ${FAKEROOT_PREFIX} and ${FAKEROOT_BINDIR} in v. */
static char *expand(const char *v, const char *prefix, const char *bindir)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	while (*v != '\0') {
		if (strncmp(v, "${FAKEROOT_PREFIX}", 18) == 0) {
			sb_strbuf_adds(&sb, prefix);
			v += 18;
		} else if (strncmp(v, "${FAKEROOT_BINDIR}", 18) == 0) {
			sb_strbuf_adds(&sb, bindir);
			v += 18;
		} else {
			sb_strbuf_addc(&sb, *v++);
		}
	}
	return sb_strbuf_detach(&sb, NULL);
}

static char *find_lib(const char *paths, const char *lib)
{
	cleanup_free char *copy = sb_strdup(paths);
	for (char *save, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = sb_asprintf("%s/%s", d, lib);
		if (access(p, R_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Reads the script's configuration lines to find its daemon and library
 * (the script, daemon and library must come from the same build). */
static int inspect_script(struct sb_fakeroot_host *fr, sb_error_t *err)
{
	cleanup_free char *text = sb_read_file(fr->script, NULL);
	if (text == NULL)
		return sb_error_set(err, errno, "reading %s", fr->script);
	cleanup_free char *prefix = script_var(text, "FAKEROOT_PREFIX");
	cleanup_free char *bindir = script_var(text, "FAKEROOT_BINDIR");
	cleanup_free char *lib = script_var(text, "FAKEROOT_LIB");
	cleanup_free char *paths_raw = script_var(text, "PATHS");
	cleanup_free char *faked_raw = script_var(text, "FAKED");
	if (lib == NULL || paths_raw == NULL || faked_raw == NULL)
		return sb_error_set(err, 0, "%s does not look like fakeroot(1)", fr->script);
	cleanup_free char *paths =
		expand(paths_raw, prefix ? prefix : "/usr", bindir ? bindir : "/usr/bin");
	fr->faked = expand(faked_raw, prefix ? prefix : "/usr", bindir ? bindir : "/usr/bin");
	fr->lib = find_lib(paths, lib);
	if (fr->lib == NULL)
		return sb_error_set(err, 0, "fakeroot library %s not found in %s", lib, paths);
	if (access(fr->faked, X_OK) != 0)
		return sb_error_set(err, errno, "fakeroot daemon %s", fr->faked);
	return 0;
}

int sb_fakeroot_find(const char *given, struct sb_fakeroot_host *fr, sb_error_t *err)
{
	memset(fr, 0, sizeof(*fr));
	if (given != NULL)
		fr->script = sb_strdup(given);
	else if ((fr->script = sb_find_in_path("fakeroot-sysv")) == NULL &&
		 (fr->script = sb_find_in_path("fakeroot")) == NULL)
		return sb_error_set(err, 0, "fakeroot(1) not found (Debian package fakeroot)");
	if (inspect_script(fr, err) < 0) {
		sb_fakeroot_release(fr);
		return -1;
	}
	fr->getopt = sb_find_in_path("getopt");
	return 0;
}

void sb_fakeroot_release(struct sb_fakeroot_host *fr)
{
	free(fr->script);
	free(fr->faked);
	free(fr->lib);
	free(fr->getopt);
	memset(fr, 0, sizeof(*fr));
}

/* The private tmpfs and its binds; idempotent with seccomp's use of it. */
static int ensure_private_dir(struct sb_plan *plan, sb_error_t *err)
{
	for (size_t i = 0; i < plan->nops; i++)
		if (plan->ops[i].kind == SB_OP_TMPFS &&
		    strcmp(plan->ops[i].dst, SB_PRIVATE_DIR) == 0)
			return 0;
	return sb_plan_add_tmpfs(plan, SB_PRIVATE_DIR, err);
}

static int bind_host_fakeroot(struct sb_plan *plan, const struct sb_fakeroot_host *fr,
			      sb_error_t *err)
{
	if (sb_plan_add_bind(plan, fr->script, FR_DIR "/fakeroot", SB_BIND_RO, err) < 0 ||
	    sb_plan_add_bind(plan, fr->faked, FR_DIR "/faked", SB_BIND_RO, err) < 0 ||
	    sb_plan_add_bind(plan, fr->lib, FR_DIR "/libfakeroot.so", SB_BIND_RO, err) < 0)
		return -1;
	if (fr->getopt != NULL &&
	    sb_plan_add_bind(plan, fr->getopt, FR_DIR "/getopt", SB_BIND_RO, err) < 0)
		return -1;
	/* The script needs getopt, which some images (EL10) no longer have. */
	const char *path = sb_plan_getenv(plan, "PATH");
	cleanup_free char *newpath = sb_asprintf(
		"%s:" FR_DIR,
		path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	return sb_plan_setenv(plan, "PATH", newpath, err);
}

/* Prefixes plan's argv with the n words of prefix. */
static int prefix_argv(struct sb_plan *plan, const char *const *prefix, int n, sb_error_t *err)
{
	int argc = n + plan->argc;
	const char **argv = sb_xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
		argv[i] = prefix[i];
	for (int i = 0; i < plan->argc; i++)
		argv[n + i] = plan->argv[i];
	int rc = sb_plan_set_argv(plan, argc, argv, err);
	free(argv);
	return rc;
}

int sb_fakeroot_apply(struct sb_plan *plan, const struct sb_fakeroot_host *fr, sb_error_t *err)
{
	bool host = fr->script != NULL;
	if (ensure_private_dir(plan, err) < 0 || (host && bind_host_fakeroot(plan, fr, err) < 0))
		return -1;
	/* Inside a user namespace the kernel answers EINVAL (not EPERM) for
	 * unmapped IDs, which fakeroot would pass on unless told never to try
	 * the real chown. */
	if (sb_plan_setenv(plan, "FAKEROOTDONTTRYCHOWN", "1", err) < 0)
		return -1;
	const char *prefix[10] = { "fakeroot" };
	int np = 1;
	if (host) {
		const char *h[] = { FR_DIR "/fakeroot", "-f", FR_DIR "/faked", "-l",
				    FR_DIR "/libfakeroot.so" };
		memcpy(prefix, h, sizeof(h));
		np = 5;
	}
	if (plan->fakeroot_state != NULL) {
		/* -i loads the previous run's database, -s saves it on exit. */
		if (sb_plan_add_bind(plan, plan->fakeroot_state, FR_STATE, 0, err) < 0)
			return -1;
		cleanup_free char *db = sb_asprintf("%s/faked.db", plan->fakeroot_state);
		if (access(db, F_OK) == 0) {
			prefix[np++] = "-i";
			prefix[np++] = FR_STATE "/faked.db";
		}
		prefix[np++] = "-s";
		prefix[np++] = FR_STATE "/faked.db";
	}
	prefix[np++] = "--";
	return prefix_argv(plan, prefix, np, err);
}
