/* builder/run.c: `sifbuild run|exec|shell|test` on a SIF or a directory,
 * through the build sandbox (builder/sandbox), the way Apptainer's runtime
 * sets up the environment and chooses the program. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/internal.h"
#include "builder/run.h"
#include "builder/sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "sif/sqfs.h"

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------------ the image */

const char *run_tmp_base(void)
{
	return sb_tmp_base(NULL);
}

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "sifbuild: warning: %s\n", msg);
}

/* A file that is no usable SIF is bad input (status 2). */
static int bad_input(sb_error_t *err)
{
	if (err != NULL && *err != NULL)
		(*err)->status = 2;
	return -1;
}

static int extract_image(const char *path, bool verbose, struct image_root *r, sb_error_t *err)
{
	int64_t off = 0, size = 0;
	if (extract_partition_range(path, &off, &size, err) < 0)
		return bad_input(err);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "%s", path);
	const char *base = run_tmp_base();
	cleanup_free char *tmpl = sb_asprintf("%s/sifbuild-run-XXXXXX", base);
	sb_cleanup_install();
	if (mkdtemp(tmpl) == NULL)
		return sb_error_set(err, errno, "creating a temporary directory in %s", base);
	r->tmp = steal_pointer(&tmpl);
	sb_cleanup_add(r->tmp, 1);
	r->rootfs = sb_asprintf("%s/root", r->tmp);
	struct sif_sqfs_extract_options eo = { .size = (uint64_t)size,
					       .warn = verbose ? warn_stderr : NULL };
	if (sif_sqfs_extract(fd, (uint64_t)off, r->rootfs, &eo, err) < 0)
		return sb_error_wrap(err, "extracting %s", path);
	if (verbose)
		fprintf(stderr, "sifbuild: %s extracted to %s\n", path, r->rootfs);
	return 0;
}

int image_root_open(const char *path, bool verbose, struct image_root *r, sb_error_t *err)
{
	memset(r, 0, sizeof(*r));
	struct stat st;
	if (stat(path, &st) < 0)
		return sb_error_set_status(err, 2, errno, "image %s", path);
	if (S_ISDIR(st.st_mode)) {
		r->rootfs = realpath(path, NULL);
		if (r->rootfs == NULL)
			return sb_error_set(err, errno, "image %s", path);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return sb_error_set_status(err, 2, 0, "image %s: not a SIF file or a directory",
					   path);
	r->is_sif = true;
	if (extract_image(path, verbose, r, err) < 0) {
		image_root_close(r);
		return -1;
	}
	return 0;
}

void image_root_close(struct image_root *r)
{
	sb_error_t err = NULL;
	if (r->mounted && run_fuse_unmount(r->rootfs, &err) < 0) {
		/* Never rm -rf through a live mount. */
		fprintf(stderr, "sifbuild: warning: %s; left %s\n", sb_error_message(err), r->tmp);
		sb_error_free(&err);
		sb_cleanup_remove(r->tmp);
	} else if (r->tmp != NULL) {
		sb_rm_rf(r->tmp, NULL);
		sb_cleanup_remove(r->tmp);
	}
	free(r->tmp);
	free(r->rootfs);
	memset(r, 0, sizeof(*r));
}

/* The SIF's partition mounted with squashfuse in a new temporary directory.
 * Not registered for removal on signals: run_image holds them meanwhile. */
static int mount_image(const char *path, bool verbose, struct image_root *r, sb_error_t *err)
{
	memset(r, 0, sizeof(*r));
	int64_t off = 0, size = 0;
	if (extract_partition_range(path, &off, &size, err) < 0)
		return -1;
	const char *base = run_tmp_base();
	char *tmp = sb_asprintf("%s/sifbuild-run-XXXXXX", base);
	if (mkdtemp(tmp) == NULL) {
		free(tmp);
		return sb_error_set(err, errno, "creating a temporary directory in %s", base);
	}
	r->tmp = tmp;
	r->is_sif = true;
	r->rootfs = sb_asprintf("%s/root", tmp);
	int rc = mkdir(r->rootfs, 0700) < 0 ? sb_error_set(err, errno, "creating %s", r->rootfs)
					      : run_fuse_mount(path, off, r->rootfs, err);
	if (rc < 0) {
		image_root_close(r);
		return -1;
	}
	r->mounted = true;
	if (verbose)
		fprintf(stderr, "sifbuild: %s mounted with squashfuse on %s\n", path, r->rootfs);
	return 0;
}

/* ------------------------------------------------------ the environment */

/* Apptainer passes these from the host even with --cleanenv. */
static const char *const always_pass[] = { "TERM",	  "http_proxy", "HTTP_PROXY",
					   "https_proxy", "HTTPS_PROXY", "no_proxy",
					   "NO_PROXY",	  "all_proxy",	"ALL_PROXY",
					   "ftp_proxy",	  "FTP_PROXY",	NULL };

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Never taken from the host; the first four not even through APPTAINERENV_. */
static const char *const never_set[] = { "HOME", "PATH", "APPTAINER_SHELL", "APPTAINER_APPNAME",
					 NULL };

struct user_env {
	char **kv; /* "NAME=value" from APPTAINERENV_/SINGULARITYENV_ */
	size_t n;
};

static const char *user_env_get(const struct user_env *u, const char *name, size_t len)
{
	for (size_t i = 0; i < u->n; i++)
		if (strncmp(u->kv[i], name, len) == 0 && u->kv[i][len] == '=')
			return u->kv[i] + len + 1;
	return NULL;
}

static void user_env_put(struct user_env *u, const char *name, size_t len, const char *value)
{
	for (size_t i = 0; i < u->n; i++) {
		if (strncmp(u->kv[i], name, len) == 0 && u->kv[i][len] == '=') {
			free(u->kv[i]);
			u->kv[i] = sb_asprintf("%.*s=%s", (int)len, name, value);
			return;
		}
	}
	u->kv = sb_xrealloc(u->kv, (u->n + 1) * sizeof(char *));
	u->kv[u->n++] = sb_asprintf("%.*s=%s", (int)len, name, value);
}

/* APPTAINERENV_X / SINGULARITYENV_X -> X (APPTAINERENV_ wins). PATH goes
 * through SING_USER_DEFINED_PATH (and PREPEND_PATH, APPEND_PATH), applied by
 * the image's 99-runtimevars.sh. */
static void collect_user_env(struct user_env *u)
{
	const char *prefixes[] = { "SINGULARITYENV_", "APPTAINERENV_" };
	for (size_t p = 0; p < 2; p++) {
		size_t pl = strlen(prefixes[p]);
		for (char **e = environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (eq == NULL || strncmp(*e, prefixes[p], pl) != 0)
				continue;
			const char *key = *e + pl;
			size_t klen = (size_t)(eq - key);
			cleanup_free char *k = sb_strndup(key, klen);
			if (klen == 0)
				continue;
			if (strcmp(k, "PATH") == 0 || strcmp(k, "PREPEND_PATH") == 0 ||
			    strcmp(k, "APPEND_PATH") == 0) {
				cleanup_free char *s = sb_asprintf(
					"SING_USER_DEFINED_%s", k);
				user_env_put(u, s, strlen(s), eq + 1);
				continue;
			}
			if (in_list(never_set, k)) {
				fprintf(stderr,
					"sifbuild: warning: overriding %s with %.*s is not "
					"permitted\n",
					k, (int)(eq - *e), *e);
				continue;
			}
			user_env_put(u, key, klen, eq + 1);
		}
	}
}

static void user_env_free(struct user_env *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->kv[i]);
	free(u->kv);
}

static bool is_runtime_var(const char *kv)
{
	return strncmp(kv, "APPTAINER_", 10) == 0 || strncmp(kv, "SINGULARITY_", 12) == 0 ||
	       strncmp(kv, "APPTAINERENV_", 13) == 0 || strncmp(kv, "SINGULARITYENV_", 15) == 0;
}

static int setenv_kv(struct sb_plan *plan, const char *kv, sb_error_t *err)
{
	const char *eq = strchr(kv, '=');
	cleanup_free char *name = sb_strndup(kv, (size_t)(eq - kv));
	return sb_plan_setenv(plan, name, eq + 1, err);
}

/* The host's variables Apptainer passes (all but its own and HOME, PATH,
 * LD_LIBRARY_PATH; with cleanenv only always_pass). */
static int host_env(struct sb_plan *plan, const struct user_env *u, bool cleanenv,
		    sb_error_t *err)
{
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL || eq == *e || is_runtime_var(*e))
			continue;
		size_t len = (size_t)(eq - *e);
		cleanup_free char *name = sb_strndup(*e, len);
		if (user_env_get(u, name, len) != NULL)
			continue;
		bool pass = in_list(always_pass, name) ||
			    (!cleanenv && !in_list(never_set, name) &&
			     strcmp(name, "LD_LIBRARY_PATH") != 0);
		if (pass && sb_plan_setenv(plan, name, eq + 1, err) < 0)
			return -1;
	}
	return 0;
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	return h && h[0] == '/' ? h : (geteuid() == 0 ? "/root" : "/");
}

static int plan_env(struct sb_plan *plan, const char *image, const struct run_options *o,
		    const struct user_env *u, sb_error_t *err)
{
	if (host_env(plan, u, o->cleanenv, err) < 0)
		return -1;
	if (o->cleanenv && sb_plan_setenv(plan, "LANG", "C", err) < 0)
		return -1;
	for (size_t i = 0; i < u->n; i++)
		if (setenv_kv(plan, u->kv[i], err) < 0)
			return -1;
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	cleanup_free char *abs = realpath(image, NULL);
	const char *pairs[][2] = {
		{ "HOME", home_dir() },
		{ "PATH", DEFAULT_PATH },
		{ "APPTAINER_CONTAINER", abs ? abs : image },
		{ "SINGULARITY_CONTAINER", abs ? abs : image },
		{ "APPTAINER_NAME", base },
		{ "SINGULARITY_NAME", base },
		{ "APPTAINER_APPNAME", o->app },
		{ "SINGULARITY_APPNAME", o->app },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (pairs[i][1] && sb_plan_setenv(plan, pairs[i][0], pairs[i][1], err) < 0)
			return -1;
	/* As Apptainer's shell action: an explicit shell for the container. */
	const char *sh = getenv("APPTAINER_SHELL");
	if (sh == NULL)
		sh = getenv("SINGULARITY_SHELL");
	if (sh && sh[0] == '/' && sb_plan_setenv(plan, "SINGULARITY_SHELL", sh, err) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------- the program */

static void add_quoted(struct sb_strbuf *sb, const char *s)
{
	sb_strbuf_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_strbuf_adds(sb, "'\\''");
		else
			sb_strbuf_addc(sb, *s);
	}
	sb_strbuf_addc(sb, '\'');
}

/* A name the shell can export: [A-Za-z_][A-Za-z0-9_]*. */
static bool shell_name(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return false;
	}
	return len > 0;
}

/* The script given to the image's /bin/sh: source the environment, restore
 * the user's APPTAINERENV_ values (they win over %environment), then the
 * action with "$@". */
static char *action_script(const char *action, const char *app, const struct user_env *u)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "for __sifbuild_env in /.singularity.d/env/*.sh; do\n"
			    "    if [ -f \"$__sifbuild_env\" ]; then . \"$__sifbuild_env\"; fi\n"
			    "done\n"
			    "unset __sifbuild_env\n");
	for (size_t i = 0; i < u->n; i++) {
		const char *eq = strchr(u->kv[i], '=');
		if (strncmp(u->kv[i], "SING_USER_DEFINED_", 18) == 0 ||
		    !shell_name(u->kv[i], (size_t)(eq - u->kv[i])))
			continue;
		sb_strbuf_addf(&sb, "export %.*s=", (int)(eq - u->kv[i]), u->kv[i]);
		add_quoted(&sb, eq + 1);
		sb_strbuf_addc(&sb, '\n');
	}
	bool run = strcmp(action, "run") == 0;
	if (strcmp(action, "exec") == 0) {
		sb_strbuf_adds(&sb, "exec \"$@\"\n");
	} else if (strcmp(action, "shell") == 0) {
		sb_strbuf_adds(&sb,
			       "if [ -n \"${SINGULARITY_SHELL:-}\" ] && [ -x \"$SINGULARITY_SHELL\" ]; "
			       "then\n    exec \"$SINGULARITY_SHELL\" \"$@\"\nfi\n"
			       "if [ -x /bin/bash ]; then\n"
			       "    PS1=\"Apptainer> \"; export PS1\n"
			       "    exec /bin/bash --norc \"$@\"\nfi\n"
			       "exec /bin/sh \"$@\"\n");
	} else if (app != NULL) {
		const char *file = run ? "runscript" : "test";
		cleanup_free char *p = sb_asprintf("/scif/apps/%s/scif/%s", app, file);
		sb_strbuf_adds(&sb, "if [ -x ");
		add_quoted(&sb, p);
		sb_strbuf_adds(&sb, " ]; then\n    exec ");
		add_quoted(&sb, p);
		sb_strbuf_addf(&sb, " \"$@\"\nfi\necho ");
		cleanup_free char *msg = sb_asprintf("No %s for contained app: %s",
						     run ? "runscript" : "tests", app);
		add_quoted(&sb, msg);
		sb_strbuf_adds(&sb, " >&2\nexit 1\n");
	} else if (run) {
		sb_strbuf_adds(&sb, "if [ -x /.singularity.d/runscript ]; then\n"
				    "    exec /.singularity.d/runscript \"$@\"\nfi\n"
				    "echo 'No run script found in container, executing /bin/sh' >&2\n"
				    "exec /bin/sh \"$@\"\n");
	} else {
		sb_strbuf_adds(&sb, "if [ -x /.singularity.d/test ]; then\n"
				    "    exec /.singularity.d/test \"$@\"\nfi\n"
				    "echo 'No test script found in container, exiting' >&2\n"
				    "exit 0\n");
	}
	return sb_strbuf_detach(&sb, NULL);
}

static int plan_argv(struct sb_plan *plan, const char *action, const char *app, int argc,
		     char *const argv[], const struct user_env *u, sb_error_t *err)
{
	cleanup_free char *script = action_script(action, app, u);
	cleanup_free char *zero = sb_asprintf("/.singularity.d/actions/%s", action);
	const char **v = sb_xcalloc((size_t)argc + 5, sizeof(char *));
	int n = 0;
	v[n++] = "/bin/sh";
	v[n++] = "-c";
	v[n++] = script;
	v[n++] = zero;
	for (int i = 0; i < argc; i++)
		v[n++] = argv[i];
	int rc = sb_plan_set_argv(plan, n, v, err);
	free(v);
	return rc;
}

/* ----------------------------------------------------------- the mounts */

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directories Apptainer never binds as the working directory. */
static bool system_dir(const char *d)
{
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
					   "/etc", "/proc", "/sys", "/dev", "/boot", "/run",
					   "/var", NULL };
	if (strcmp(d, "/") == 0)
		return true;
	for (const char *const *s = sys; *s; s++) {
		size_t n = strlen(*s);
		if (strncmp(d, *s, n) == 0 && (d[n] == '\0' || d[n] == '/'))
			return true;
	}
	return false;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Whether dst exists in the image; always true when rootfd < 0 (mount
 * points can be created: a directory image or an extracted SIF). */
static bool has_dst(int rootfd, const char *dst)
{
	if (rootfd < 0)
		return true;
	int fd = sb_open_in_root(rootfd, dst, O_PATH);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Destination of a --bind spec SRC[:DST[:OPT]] (new string). */
static char *bind_dst(const char *spec)
{
	const char *c = strchr(spec, ':');
	if (c == NULL || c[1] == '\0' || c[1] == ':')
		return sb_strndup(spec, c ? (size_t)(c - spec) : strlen(spec));
	return sb_strndup(c + 1, strcspn(c + 1, ":"));
}

/* A read-only mounted image cannot get new mount points: every --bind
 * destination must exist in it. */
static bool binds_fit(const char *rootfs, const struct run_options *o)
{
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; rootfd >= 0 && i < o->n_binds; i++) {
		cleanup_free char *dst = bind_dst(o->binds[i]);
		if (!has_dst(rootfd, dst))
			return false;
	}
	return rootfd >= 0;
}

/* Binds a host path at the same place when both exist. */
static int bind_same(struct sb_plan *plan, int rootfd, const char *path, unsigned flags,
		     bool *bound, sb_error_t *err)
{
	*bound = access(path, F_OK) == 0 && has_dst(rootfd, path);
	return *bound ? sb_plan_add_bind(plan, path, path, flags, err) : 0;
}

/* Apptainer's default mounts: /proc, /sys, /dev, the host's /tmp, /var/tmp,
 * /etc/hosts, /etc/localtime, /etc/resolv.conf, home and working directory;
 * then the user's binds. On a mounted image (fixed) those whose destination
 * is missing are left out, as Apptainer does without an underlay. */
static int plan_mounts(struct sb_plan *plan, const char *rootfs, bool fixed,
		       const struct run_options *o, sb_error_t *err)
{
	cleanup_close int rootfd = fixed ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	bool b[5], home_bound = false, cwd_bound = false;
	if ((has_dst(rootfd, "/proc") && sb_plan_add_proc(plan, "/proc", err) < 0) ||
	    (has_dst(rootfd, "/sys") && sb_plan_add_sys(plan, "/sys", err) < 0) ||
	    (has_dst(rootfd, "/dev") && sb_plan_add_dev(plan, "/dev", err) < 0) ||
	    bind_same(plan, rootfd, "/tmp", 0, &b[0], err) < 0 ||
	    bind_same(plan, rootfd, "/var/tmp", 0, &b[1], err) < 0 ||
	    bind_same(plan, rootfd, "/etc/hosts", SB_BIND_RO, &b[2], err) < 0 ||
	    bind_same(plan, rootfd, "/etc/localtime", SB_BIND_RO, &b[3], err) < 0 ||
	    bind_same(plan, rootfd, "/etc/resolv.conf", SB_BIND_RO, &b[4], err) < 0)
		return -1;
	const char *home = home_dir();
	if (strcmp(home, "/") != 0 && is_dir(home) &&
	    bind_same(plan, rootfd, home, 0, &home_bound, err) < 0)
		return -1;
	char cwd[PATH_MAX];
	const char *wd = "/";
	if (getcwd(cwd, sizeof(cwd)) != NULL) {
		if ((home_bound && under(cwd, home)) || (b[0] && under(cwd, "/tmp")) ||
		    (b[1] && under(cwd, "/var/tmp")))
			wd = cwd;
		else if (!system_dir(cwd) && !under(cwd, rootfs) &&
			 bind_same(plan, rootfd, cwd, 0, &cwd_bound, err) < 0)
			return -1;
		if (cwd_bound)
			wd = cwd;
	}
	for (size_t i = 0; i < o->n_binds; i++)
		if (sb_plan_add_bind_spec(plan, o->binds[i], err) < 0)
			return -1;
	return sb_plan_set_cwd(plan, wd, err);
}

/* ------------------------------------------------------------- running */

static bool valid_app(const char *app)
{
	return app[0] != '\0' && strchr(app, '/') == NULL && strcmp(app, ".") != 0 &&
	       strcmp(app, "..") != 0;
}

static int check_request(const char *path, const char *action, int argc,
			 const struct run_options *o, sb_error_t *err)
{
	static const char *const actions[] = { "run", "exec", "shell", "test", NULL };
	if (action == NULL || !in_list(actions, action))
		return sb_error_set_status(err, 2, 0, "unknown action '%s' (run, exec, shell, test)",
					   action ? action : "");
	if (strcmp(action, "exec") == 0 && argc < 1)
		return sb_error_set_status(err, 2, 0, "exec needs a command to run in %s", path);
	if (o->app != NULL && !valid_app(o->app))
		return sb_error_set_status(err, 2, 0, "invalid app name '%s'", o->app);
	for (size_t i = 0; i < o->n_binds; i++) {
		cleanup_free char *src = sb_strndup(o->binds[i], strcspn(o->binds[i], ":"));
		if (src[0] == '/' && access(src, F_OK) != 0)
			return sb_error_set_status(err, 2, errno, "bind %s: source %s", o->binds[i],
						   src);
	}
	return 0;
}

/* The app must exist in the image (Apptainer refuses to start otherwise). */
static int check_app(const char *rootfs, const char *path, const char *app, sb_error_t *err)
{
	cleanup_close int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *p = sb_asprintf("scif/apps/%s", app);
	cleanup_close int afd = rfd < 0 ? -1 : sb_open_in_root(rfd, p, O_PATH | O_DIRECTORY);
	if (afd < 0)
		return sb_error_set_status(err, 2, 0,
					   "%s: no app '%s' in the image (see 'sifbuild inspect "
					   "--list-apps')",
					   path, app);
	return 0;
}

static struct sb_plan *make_plan(const char *path, const char *rootfs, bool fixed,
				 const char *action, int argc, char *const argv[],
				 const struct run_options *o, sb_error_t *err)
{
	struct sb_plan *plan = sb_plan_new(rootfs);
	struct user_env u = { NULL, 0 };
	collect_user_env(&u);
	int rc = plan_mounts(plan, rootfs, fixed, o, err);
	if (rc == 0)
		rc = plan_env(plan, path, o, &u, err);
	if (rc == 0)
		rc = plan_argv(plan, action, o->app, argc, argv, &u, err);
	user_env_free(&u);
	if (rc < 0) {
		sb_plan_free(plan);
		return NULL;
	}
	sb_plan_set_readonly_root(plan, true);
	/* Our own sandbox: the caller's identity, as Apptainer without
	 * --fakeroot. A sandbox passed in keeps its build identity. */
	sb_plan_set_identity(plan, o->sandbox == NULL);
	return plan;
}

static int select_sandbox(const struct run_options *o, struct sb_sandbox **own,
			  const struct sb_sandbox **sb, sb_error_t *err)
{
	*own = NULL;
	*sb = o->sandbox;
	if (*sb != NULL)
		return 0;
	struct sb_mode_request req;
	memset(&req, 0, sizeof(req));
	req.mode = SB_MODE_AUTO;
	req.ignore_subuid = true;
	req.ignore_seccomp = true;
	req.ignore_fakeroot_command = true;
	if (sb_sandbox_select(&req, NULL, own, err) < 0)
		return -1;
	*sb = *own;
	return 0;
}

/* While a squashfuse mount exists outside the sandbox's run, an
 * interruption is only noted: the mount goes before the signal is raised. */
static volatile sig_atomic_t caught_signal;
static const int guarded[] = { SIGINT, SIGTERM, SIGHUP };
#define NGUARD (sizeof(guarded) / sizeof(guarded[0]))

static void note_signal(int sig)
{
	caught_signal = sig;
}

static void guard_signals(struct sigaction old[NGUARD])
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	sigemptyset(&sa.sa_mask);
	caught_signal = 0;
	for (size_t i = 0; i < NGUARD; i++)
		sigaction(guarded[i], &sa, &old[i]);
}

static void unguard_signals(const struct sigaction old[NGUARD])
{
	for (size_t i = 0; i < NGUARD; i++)
		sigaction(guarded[i], &old[i], NULL);
}

/* squashfuse when it can be used and the binds fit the read-only image,
 * else extraction. */
static int open_for_run(const char *path, const struct run_options *o, struct image_root *r,
			struct sigaction old[NGUARD], bool *guarding, sb_error_t *err)
{
	struct stat st;
	*guarding = false;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_fuse_usable()) {
		sb_error_t why = NULL;
		guard_signals(old);
		*guarding = true;
		if (mount_image(path, o->verbose, r, &why) == 0 && binds_fit(r->rootfs, o))
			return 0;
		if (o->verbose)
			fprintf(stderr, "sifbuild: not mounting %s: %s; extracting it\n", path,
				why ? sb_error_message(why) : "a --bind destination is missing in it");
		sb_error_free(&why);
		image_root_close(r);
		unguard_signals(old);
		*guarding = false;
		if (caught_signal)
			raise(caught_signal);
	}
	return image_root_open(path, o->verbose, r, err);
}

int run_image(const char *path, const char *action, int argc, char *const argv[],
	      const struct run_options *o, int *status, sb_error_t *err)
{
	if (check_request(path, action, argc, o, err) < 0)
		return -1;
	struct sb_sandbox *own = NULL;
	const struct sb_sandbox *sb = NULL;
	if (select_sandbox(o, &own, &sb, err) < 0)
		return sb_error_wrap(err, "running %s", path);
	if (o->verbose)
		fprintf(stderr, "sifbuild: %s%s\n", sb_sandbox_info(sb),
			o->sandbox == NULL && geteuid() != 0 ? "; the program runs as the calling user"
							      : "");
	struct image_root r;
	struct sigaction old[NGUARD];
	bool guarding = false;
	int rc = open_for_run(path, o, &r, old, &guarding, err);
	struct sb_plan *plan = NULL;
	if (rc == 0 && o->app != NULL)
		rc = check_app(r.rootfs, path, o->app, err);
	if (rc == 0) {
		/* A mounted image, or a directory the caller cannot change, gets
		 * no new mount points. */
		bool fixed = r.mounted || access(r.rootfs, W_OK) != 0;
		plan = make_plan(path, r.rootfs, fixed, action, argc, argv, o, err);
		rc = plan ? 0 : -1;
	}
	struct sb_run_result res = { 0, 0, 0 };
	if (rc == 0 && guarding && caught_signal)
		rc = sb_error_set(err, EINTR, "running %s: interrupted", path);
	if (rc == 0) {
		rc = sb_sandbox_run(sb, plan, &res, err);
		if (rc < 0)
			sb_error_wrap(err, "running %s", path);
		*status = res.exit_code;
	}
	sb_plan_free(plan);
	image_root_close(&r);
	sb_sandbox_free(own);
	int sig = res.interrupted;
	if (guarding) {
		unguard_signals(old);
		if (caught_signal)
			sig = caught_signal;
	}
	/* Interrupted: clean up first, then let the caller's handling (or the
	 * default action) see the signal. */
	if (sig)
		raise(sig);
	return rc;
}
