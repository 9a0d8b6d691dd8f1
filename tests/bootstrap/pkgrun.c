/* tests/bootstrap/pkgrun.c: drives a package-manager bootstrap agent the
 * way a definition-file build will (until `sifbuild build` does), for the
 * integration tests:
 *
 *   pkgrun [options] DEF ROOTFS [-- COMMAND [ARG...]]
 *   pkgrun [options] --rm=DIR        (remove a tree, in the namespace)
 *   pkgrun [options] --post-only ROOTFS -- COMMAND [ARG...]
 *
 * Parses DEF, checks the first stage's header with the agent's validate
 * (before choosing a sandbox), chooses the privilege mode, materialises the
 * agent into ROOTFS (an existing empty directory) with the builder's
 * bootstrap_request.run, then runs COMMAND inside ROOTFS in the sandbox as
 * %post runs (standard mounts, Apptainer's %post environment).
 *
 * Options: --userns-mode=auto|root|subuid|seccomp|fakeroot|rootmap (root
 * when real root and not given), --arch=A, --validate-only.
 * Messages: "pkgrun: <error>" on stderr (one line), "WARNING: <msg>",
 * "INFO: <mode line>". Exit: COMMAND's status; 0 after materialising when
 * no COMMAND; 1 when the agent failed, 2 bad input/header, 125 when the
 * sandbox failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "builder/agentrun.h"
#include "builder/sandbox/sandbox.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static int die(const char *what, sb_error_t *err, int code)
{
	fprintf(stderr, "pkgrun: %s%s\n", what ? what : "", err ? sb_error_message(*err) : "");
	if (err && *err && (*err)->status == 2 && code == 1)
		code = 2;
	if (err)
		sb_error_free(err);
	return code;
}

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "WARNING: %s\n", msg);
}

static int run_command(const struct sb_sandbox *sb, const char *rootfs, int argc, char **argv)
{
	sb_error_t err = NULL;
	struct sb_plan *plan = sb_plan_new(rootfs);
	struct sb_run_result res;
	int rc = sb_plan_add_standard(plan, &err);
	if (rc == 0)
		rc = sb_script_post_env(plan, "pkgrun", &err);
	if (rc == 0)
		rc = sb_plan_set_argv(plan, argc, (const char *const *)argv, &err);
	if (rc == 0)
		rc = sb_sandbox_run(sb, plan, &res, &err);
	sb_plan_free(plan);
	if (rc < 0)
		return die("running the command: ", &err, 125);
	return res.exit_code;
}

struct opts {
	struct sb_mode_request req;
	const char *arch, *rm;
	bool validate_only, mode_given, post_only;
};

static int parse_opts(int argc, char **argv, struct opts *o, int *i)
{
	sb_error_t err = NULL;
	for (*i = 1; *i < argc && strncmp(argv[*i], "--", 2) == 0 && argv[*i][2]; (*i)++) {
		const char *a = argv[*i];
		if (strncmp(a, "--userns-mode=", 14) == 0) {
			if (strcmp(a + 14, "root") == 0)
				o->req.mode = SB_MODE_ROOT;
			else if (sb_mode_parse(a + 14, &o->req.mode, &err) < 0)
				return die(NULL, &err, 2);
			o->mode_given = true;
		} else if (strncmp(a, "--arch=", 7) == 0) {
			o->arch = a + 7;
		} else if (strncmp(a, "--rm=", 5) == 0) {
			o->rm = a + 5;
		} else if (strcmp(a, "--post-only") == 0) {
			o->post_only = true;
		} else if (strcmp(a, "--validate-only") == 0) {
			o->validate_only = true;
		} else {
			fprintf(stderr, "pkgrun: unknown option %s\n", a);
			return 2;
		}
	}
	return 0;
}

static int select_mode(struct opts *o, struct sb_sandbox **sb)
{
	sb_error_t err = NULL;
	if (!o->mode_given && geteuid() == 0)
		o->req.mode = SB_MODE_ROOT;
	if (sb_sandbox_select(&o->req, NULL, sb, &err) < 0)
		return die("choosing the sandbox: ", &err, 125);
	fprintf(stderr, "INFO: %s\n", sb_sandbox_info(*sb));
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int i, rc;
	if ((rc = parse_opts(argc, argv, &o, &i)) != 0)
		return rc;
	struct sb_sandbox *sb = NULL;
	sb_error_t err = NULL;
	if (o.rm != NULL) {
		if ((rc = select_mode(&o, &sb)) != 0)
			return rc;
		rc = sb_sandbox_remove_tree(sb, o.rm, &err) < 0 ? die(NULL, &err, 1) : 0;
		sb_sandbox_free(sb);
		return rc;
	}
	if (o.post_only) {
		if (argc - i < 3 || strcmp(argv[i + 1], "--") != 0)
			return die("usage: pkgrun --post-only ROOTFS -- COMMAND...", NULL, 2);
		char *root = realpath(argv[i], NULL);
		if (root == NULL || (rc = select_mode(&o, &sb)) != 0)
			return free(root), root ? rc : die("rootfs does not exist", NULL, 2);
		rc = run_command(sb, root, argc - i - 2, argv + i + 2);
		sb_sandbox_free(sb);
		free(root);
		return rc;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: pkgrun [options] DEF ROOTFS [-- COMMAND...]\n");
		return 2;
	}
	const char *def_path = argv[i];
	char *rootfs = realpath(argv[i + 1], NULL);
	if (rootfs == NULL)
		return die("rootfs does not exist: ", NULL, 2);
	struct defparse_def *def = defparse_parse_file(def_path, NULL, &err);
	if (def == NULL)
		return free(rootfs), die(NULL, &err, 2);
	const struct defparse_stage *st = &def->stages[0];
	const char *name = defparse_header_get(st, "bootstrap");
	const struct bootstrap_agent *a = name ? bootstrap_find(name) : NULL;
	if (a == NULL || a->ops == NULL) {
		fprintf(stderr, "pkgrun: no implemented agent '%s'\n", name ? name : "");
		return 2;
	}
	struct bootstrap_request rq = {
		.header = st->header,
		.n_header = st->n_header,
		.rootfs = rootfs,
		.arch = o.arch,
		.warn = warn,
		.def_path = def_path,
	};
	struct bootstrap_result res = { 0 };
	struct sb_agentrun ar;
	rc = 0;
	if (a->ops->validate(&rq, &err) < 0)
		rc = die(NULL, &err, 1);
	else if (!o.validate_only && (rc = select_mode(&o, &sb)) == 0) {
		sb_agentrun_attach(&rq, &ar, sb);
		if (a->ops->materialise(&rq, &res, &err) < 0)
			rc = die(NULL, &err, 1);
		else if (i + 2 < argc && strcmp(argv[i + 2], "--") == 0 && i + 3 < argc)
			rc = run_command(sb, rootfs, argc - i - 3, argv + i + 3);
	}
	bootstrap_result_release(&res);
	sb_sandbox_free(sb);
	defparse_def_free(def);
	free(rootfs);
	return rc;
}
