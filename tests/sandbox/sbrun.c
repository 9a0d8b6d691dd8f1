/* tests/sandbox/sbrun.c: runs one sandbox plan from the command line, for
 * the integration tests (until `sifbuild build` drives the sandbox).
 *
 *   sbrun [options] ROOTFS [--] COMMAND [ARG...]
 *   sbrun [options] --post FILE [--post-args ARGS] ROOTFS
 *   sbrun [options] --rm=DIR             (remove a tree, in the namespace)
 *   sbrun [options] --setup=FILE ROOTFS  (%setup on the host side)
 *   sbrun [options] --getfcap=PATH       (file capability as seen inside)
 *   sbrun --getfcap-host=PATH            (... as stored on disk)
 *
 * Options: --mode=auto|root|subuid|seccomp|fakeroot|rootmap, --ignore-subuid,
 * --ignore-fakeroot-command, --ignore-userns, --ignore-seccomp, --subuid-file=F,
 * --subgid-file=F, --newuidmap=P, --newgidmap=P, --fakeroot=P, --bare (no
 * standard mounts), --bind=SPEC, --tmpfs=DST, --env=K=V, --cwd=DIR, --ro
 * (read-only rootfs, as for %test), --fakeroot-state=DIR, --image-env
 * (source the image's /.singularity.d/env files first),
 * --describe (print the plan and exit).
 * Prints "INFO: <mode line>" and notes on stderr; exits with the program's
 * status, 125 when the sandbox could not be set up, 2 on bad usage. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/sandbox/sandbox.h"
#include "common/strbuf.h"

struct opts {
	struct sb_mode_request req;
	bool bare, describe, ro, image_env;
	const char *post, *post_args, *rm, *setup, *getfcap, *getfcap_host;
	const char **binds, **tmpfs, **env;
	size_t nbinds, ntmpfs, nenv;
	const char *cwd, *frstate;
};

static void push(const char ***v, size_t *n, const char *s)
{
	*v = sb_xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

static const char *val(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int die(const char *what, sb_error_t *err, int code)
{
	fprintf(stderr, "sbrun: %s%s%s\n", what, err ? ": " : "",
		err ? sb_error_message(*err) : "");
	if (err)
		sb_error_free(err);
	return code;
}

/* Returns the index of the first non-option argument, or -1. */
static int parse(int argc, char **argv, struct opts *o)
{
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0'; i++) {
		const char *a = argv[i], *v;
		sb_error_t err = NULL;
		if ((v = val(a, "--mode")) != NULL) {
			if (strcmp(v, "root") == 0)
				o->req.mode = SB_MODE_ROOT;
			else if (sb_mode_parse(v, &o->req.mode, &err) < 0)
				return die("bad mode", &err, -1), -1;
		} else if (strcmp(a, "--ignore-subuid") == 0) {
			o->req.ignore_subuid = true;
		} else if (strcmp(a, "--ignore-fakeroot-command") == 0) {
			o->req.ignore_fakeroot_command = true;
		} else if (strcmp(a, "--ignore-seccomp") == 0) {
			o->req.ignore_seccomp = true;
		} else if (strcmp(a, "--ignore-userns") == 0) {
			o->req.ignore_userns = true;
		} else if ((v = val(a, "--subuid-file")) != NULL) {
			o->req.subuid_file = v;
		} else if ((v = val(a, "--subgid-file")) != NULL) {
			o->req.subgid_file = v;
		} else if ((v = val(a, "--newuidmap")) != NULL) {
			o->req.newuidmap = v;
		} else if ((v = val(a, "--newgidmap")) != NULL) {
			o->req.newgidmap = v;
		} else if ((v = val(a, "--fakeroot")) != NULL) {
			o->req.fakeroot = v;
		} else if (strcmp(a, "--bare") == 0) {
			o->bare = true;
		} else if (strcmp(a, "--image-env") == 0) {
			o->image_env = true;
		} else if (strcmp(a, "--ro") == 0) {
			o->ro = true;
		} else if (strcmp(a, "--describe") == 0) {
			o->describe = true;
		} else if ((v = val(a, "--bind")) != NULL) {
			push(&o->binds, &o->nbinds, v);
		} else if ((v = val(a, "--tmpfs")) != NULL) {
			push(&o->tmpfs, &o->ntmpfs, v);
		} else if ((v = val(a, "--env")) != NULL) {
			push(&o->env, &o->nenv, v);
		} else if ((v = val(a, "--fakeroot-state")) != NULL) {
			o->frstate = v;
		} else if ((v = val(a, "--cwd")) != NULL) {
			o->cwd = v;
		} else if ((v = val(a, "--post")) != NULL) {
			o->post = v;
		} else if ((v = val(a, "--post-args")) != NULL) {
			o->post_args = v;
		} else if ((v = val(a, "--setup")) != NULL) {
			o->setup = v;
		} else if ((v = val(a, "--getfcap-host")) != NULL) {
			o->getfcap_host = v;
		} else if ((v = val(a, "--getfcap")) != NULL) {
			o->getfcap = v;
		} else if ((v = val(a, "--rm")) != NULL) {
			o->rm = v;
		} else {
			fprintf(stderr, "sbrun: unknown option %s\n", a);
			return -1;
		}
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	return i;
}

static int build_plan(struct sb_plan *plan, const struct opts *o, sb_error_t *err)
{
	if (!o->bare && sb_plan_add_standard(plan, err) < 0)
		return -1;
	for (size_t i = 0; i < o->ntmpfs; i++)
		if (sb_plan_add_tmpfs(plan, o->tmpfs[i], err) < 0)
			return -1;
	for (size_t i = 0; i < o->nbinds; i++)
		if (sb_plan_add_bind_spec(plan, o->binds[i], err) < 0)
			return -1;
	if (sb_script_post_env(plan, "sbrun", err) < 0)
		return -1;
	for (size_t i = 0; i < o->nenv; i++) {
		char *k = sb_strdup(o->env[i]);
		char *eq = strchr(k, '=');
		int rc = 0;
		if (eq != NULL) {
			*eq = '\0';
			rc = sb_plan_setenv(plan, k, eq + 1, err);
		}
		free(k);
		if (rc < 0)
			return -1;
	}
	sb_plan_set_readonly_root(plan, o->ro);
	if (o->frstate && sb_plan_set_fakeroot_state(plan, o->frstate, err) < 0)
		return -1;
	return o->cwd ? sb_plan_set_cwd(plan, o->cwd, err) : 0;
}

/* Copies the %post body into the rootfs as /.post.script (as Apptainer
 * does) and sets the Apptainer argv. */
static int setup_post(struct sb_plan *plan, const char *rootfs, const struct opts *o,
		      char **script_path, sb_error_t *err)
{
	size_t len;
	char *body = sb_read_file(o->post, &len);
	if (body == NULL)
		return sb_error_set(err, 0, "cannot read %s", o->post);
	*script_path = sb_asprintf("%s/.post.script", rootfs);
	FILE *f = fopen(*script_path, "wx");
	if (f == NULL) {
		free(body);
		return sb_error_set(err, 0, "cannot create %s", *script_path);
	}
	fwrite(body, 1, len, f);
	fclose(f);
	free(body);
	chmod(*script_path, 0755);
	int argc;
	char **v = sb_script_argv("%post", o->post_args, "/.post.script", &argc, err);
	if (v == NULL)
		return -1;
	int rc = sb_plan_set_argv(plan, argc, (const char *const *)v, err);
	sb_strv_free(v);
	return rc;
}

static void print_notes(const struct sb_sandbox *sb)
{
	fprintf(stderr, "INFO: %s\n", sb_sandbox_info(sb));
	for (size_t i = 0; i < sb_sandbox_note_count(sb); i++)
		fprintf(stderr, "INFO: %s\n", sb_sandbox_note(sb, i));
}

static int run(const struct opts *o, const char *rootfs_arg, int argc, char **argv)
{
	char rootfs[4096];
	if (realpath(rootfs_arg, rootfs) == NULL) {
		fprintf(stderr, "sbrun: %s: no such directory\n", rootfs_arg);
		return 2;
	}
	sb_error_t err = NULL;
	struct sb_plan *plan = sb_plan_new(rootfs);
	char *script = NULL;
	int code = 125;
	struct sb_sandbox *sb = NULL;
	if (build_plan(plan, o, &err) < 0 ||
	    (o->post ? setup_post(plan, rootfs, o, &script, &err)
		     : sb_plan_set_argv(plan, argc, (const char *const *)argv, &err)) < 0) {
		code = die("bad plan", &err, 2);
	} else if (o->image_env && sb_plan_source_image_env(plan, &err) < 0) {
		code = die("bad plan", &err, 2);
	} else if (o->describe) {
		char *d = sb_plan_describe(plan);
		fputs(d, stdout);
		free(d);
		code = 0;
	} else if (sb_sandbox_select(&o->req, plan, &sb, &err) < 0) {
		code = die("choosing a sandbox mode", &err, 125);
	} else {
		print_notes(sb);
		struct sb_run_result res;
		if (sb_sandbox_run(sb, plan, &res, &err) < 0) {
			code = die("run", &err, 125);
		} else {
			code = res.exit_code;
			if (o->post && code != 0)
				fprintf(stderr,
					"sbrun: while running %%post section: exit status %d\n",
					code);
			if (res.interrupted)
				fprintf(stderr, "sbrun: interrupted by signal %d\n",
					res.interrupted);
		}
		if (script)
			unlink(script);
		script = NULL;
		sb_sandbox_free(sb);
	}
	if (script)
		unlink(script);
	free(script);
	sb_plan_free(plan);
	return code;
}

static struct sb_sandbox *select_plain(const struct opts *o)
{
	sb_error_t err = NULL;
	struct sb_sandbox *sb = NULL;
	struct sb_mode_request req = o->req;
	req.ignore_fakeroot_command = true;
	if (sb_sandbox_select(&req, NULL, &sb, &err) < 0)
		die("choosing a sandbox mode", &err, 125);
	return sb;
}

static int remove_tree(const struct opts *o)
{
	sb_error_t err = NULL;
	struct sb_sandbox *sb = select_plain(o);
	if (sb == NULL)
		return 125;
	int rc = sb_sandbox_remove_tree(sb, o->rm, &err);
	sb_sandbox_free(sb);
	return rc < 0 ? die("removing", &err, 1) : 0;
}

static int run_setup(const struct opts *o, const char *rootfs)
{
	sb_error_t err = NULL;
	struct sb_sandbox *sb = select_plain(o);
	if (sb == NULL)
		return 125;
	int argc, status = 0, rc = -1;
	char **v = sb_script_argv("%setup", o->post_args, o->setup, &argc, &err);
	if (v != NULL)
		rc = sb_script_run_host(sb, v, rootfs, &status, &err);
	sb_strv_free(v);
	sb_sandbox_free(sb);
	if (rc < 0)
		return die("%setup", &err, 125);
	if (status != 0)
		fprintf(stderr, "sbrun: failed to run %%setup script: exit status %d\n", status);
	return status;
}

/* Prints the revision of path's security.capability as read inside the
 * build namespace: "none", "v2" or "v3 rootid=N". */
static int print_fcap(void *arg)
{
	const char *path = arg;
	unsigned char buf[64];
	ssize_t n = getxattr(path, "security.capability", buf, sizeof(buf));
	if (n < 0) {
		printf("none\n");
	} else {
		unsigned magic = (unsigned)buf[0] | (unsigned)buf[1] << 8 | (unsigned)buf[2] << 16 |
				 (unsigned)buf[3] << 24;
		unsigned rev = magic >> 24;
		if (rev == 3 && n >= 24)
			printf("v3 rootid=%u\n", (unsigned)buf[20] | (unsigned)buf[21] << 8 |
							 (unsigned)buf[22] << 16 |
							 (unsigned)buf[23] << 24);
		else
			printf("v%u\n", rev);
	}
	fflush(stdout);
	return 0;
}

static int get_fcap(const struct opts *o)
{
	sb_error_t err = NULL;
	struct sb_sandbox *sb = select_plain(o);
	if (sb == NULL)
		return 125;
	fflush(stdout);
	int status = 0;
	int rc = sb_sandbox_enter(sb, print_fcap, (void *)o->getfcap, &status, &err);
	sb_sandbox_free(sb);
	return rc < 0 ? die("entering the namespace", &err, 125) : status;
}

int main(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	int i = parse(argc, argv, &o);
	int code;
	if (i < 0)
		code = 2;
	else if (o.rm)
		code = remove_tree(&o);
	else if (o.getfcap)
		code = get_fcap(&o);
	else if (o.getfcap_host)
		code = print_fcap((void *)o.getfcap_host);
	else if (o.setup && i < argc)
		code = run_setup(&o, argv[i]);
	else if (i >= argc || (!o.post && i + 1 >= argc))
		code = (fprintf(stderr, "usage: sbrun [options] ROOTFS [--] COMMAND...\n"), 2);
	else if (i + 1 < argc && strcmp(argv[i + 1], "--") == 0)
		code = run(&o, argv[i], argc - i - 2, argv + i + 2);
	else
		code = run(&o, argv[i], argc - i - 1, argv + i + 1);
	free(o.binds);
	free(o.tmpfs);
	free(o.env);
	return code;
}
