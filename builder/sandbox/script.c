/* builder/sandbox/script.c: how Apptainer runs a scriptlet
 * (apptainer-behaviour.md 3.5, 3.8, 3.11). */
#include "builder/sandbox/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

/* Whitespace-split words of args up to the first '#'. */
static char **split_args(const char *args, size_t *n)
{
	char **v = sb_xcalloc(1, sizeof(char *));
	*n = 0;
	const char *s = args ? args : "";
	size_t end = strcspn(s, "#");
	size_t i = 0;
	while (i < end) {
		while (i < end && isspace((unsigned char)s[i]))
			i++;
		size_t j = i;
		while (j < end && !isspace((unsigned char)s[j]))
			j++;
		if (j > i) {
			v = sb_xrealloc(v, (*n + 2) * sizeof(char *));
			v[(*n)++] = sb_strndup(s + i, j - i);
			v[*n] = NULL;
		}
		i = j;
	}
	return v;
}

char **sb_script_argv(const char *section, const char *args, const char *script, int *argc,
		      sb_error_t *err)
{
	size_t n;
	char **words = split_args(args, &n);
	char **v = sb_xcalloc(n + 5, sizeof(char *));
	size_t k = 0;
	v[k++] = sb_strdup("/bin/sh");
	v[k++] = sb_strdup("-ex");
	size_t i = 0;
	for (; i < n && strcmp(words[i], "-c") != 0; i++)
		v[k++] = sb_strdup(words[i]);
	if (i < n) {
		/* "-c INTERP ARGS..." becomes one -c command with the script last. */
		if (i + 1 == n) {
			sb_strv_free(words);
			sb_strv_free(v);
			return sb_error_set_status(
				       err, 2, 0,
				       "bad %s section '-c' parameter: missing arguments",
				       section + (section[0] == '%')),
			       NULL;
		}
		struct sb_strbuf cmd = SB_STRBUF_INIT;
		for (size_t j = i + 1; j < n; j++)
			sb_strbuf_addf(&cmd, "%s ", words[j]);
		sb_strbuf_adds(&cmd, script);
		v[k++] = sb_strdup("-c");
		v[k++] = sb_strbuf_detach(&cmd, NULL);
	} else {
		v[k++] = sb_strdup(script);
	}
	v[k] = NULL;
	sb_strv_free(words);
	*argc = (int)k;
	return v;
}

int sb_script_post_env(struct sb_plan *plan, const char *name, sb_error_t *err)
{
	static const char *const fixed[][2] = {
		{ "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
		{ "HOME", "/root" },
		{ "LANG", "C" },
		{ "PS1", "Apptainer> " },
		{ "APPTAINER_ENVIRONMENT", "/.singularity.d/env/91-environment.sh" },
		{ "SINGULARITY_ENVIRONMENT", "/.singularity.d/env/91-environment.sh" },
		{ "APPTAINER_LABELS", "/.build.labels" },
		{ "SINGULARITY_LABELS", "/.build.labels" },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (sb_plan_setenv(plan, fixed[i][0], fixed[i][1], err) < 0)
			return -1;
	const char *n = name ? name : "";
	if (sb_plan_setenv(plan, "APPTAINER_CONTAINER", n, err) < 0 ||
	    sb_plan_setenv(plan, "SINGULARITY_CONTAINER", n, err) < 0 ||
	    sb_plan_setenv(plan, "APPTAINER_NAME", n, err) < 0 ||
	    sb_plan_setenv(plan, "SINGULARITY_NAME", n, err) < 0)
		return -1;
	/* --cleanenv passes only these through from the host. */
	static const char *const pass[] = { "TERM",	 "http_proxy", "https_proxy", "ftp_proxy",
					    "no_proxy",	 "all_proxy",  "HTTP_PROXY",  "HTTPS_PROXY",
					    "FTP_PROXY", "NO_PROXY",   "ALL_PROXY" };
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		const char *v = getenv(pass[i]);
		if (v != NULL && sb_plan_setenv(plan, pass[i], v, err) < 0)
			return -1;
	}
	return 0;
}

struct host_script {
	char *const *argv;
	const char *rootfs;
};

static int exec_host_script(void *p)
{
	const struct host_script *h = p;
	const char *envfile = "/.singularity.d/env/91-environment.sh";
	if (setenv("APPTAINER_ROOTFS", h->rootfs, 1) < 0 ||
	    setenv("SINGULARITY_ROOTFS", h->rootfs, 1) < 0 ||
	    setenv("APPTAINER_ENVIRONMENT", envfile, 1) < 0 ||
	    setenv("SINGULARITY_ENVIRONMENT", envfile, 1) < 0)
		return 127;
	execv(h->argv[0], h->argv);
	return 127;
}

int sb_script_run_host(const struct sb_sandbox *sb, char *const argv[], const char *rootfs,
		       int *status, sb_error_t *err)
{
	struct host_script h = { argv, rootfs };
	return sb_sandbox_enter(sb, exec_host_script, &h, status, err);
}

int sb_plan_source_image_env(struct sb_plan *plan, sb_error_t *err)
{
	static const char *const prefix[] = {
		"/bin/sh",
		"-c",
		"for f in /.singularity.d/env/*.sh; do if [ -f \"$f\" ]; then . \"$f\"; fi; done; "
		"exec \"$@\"",
		"sifbuild-env",
	};
	const int np = (int)(sizeof(prefix) / sizeof(prefix[0]));
	if (plan->argv == NULL)
		return sb_error_set(err, 0, "sandbox command is not set");
	int argc = np + plan->argc;
	const char **argv = sb_xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < np; i++)
		argv[i] = prefix[i];
	for (int i = 0; i < plan->argc; i++)
		argv[np + i] = plan->argv[i];
	int rc = sb_plan_set_argv(plan, argc, argv, err);
	free(argv);
	return rc;
}
