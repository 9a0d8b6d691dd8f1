/* builder/scripts.c: the build's scriptlets through the sandbox library:
 * %pre/%setup on the host (3.5), %post inside the rootfs (3.8), %test in the
 * read-only rootfs (3.11), and the helpers that let the rest of the pipeline
 * reach files owned by subordinate IDs (subuid mode). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/defbuild.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

extern char **environ;

static int base_plan(struct defbuild *b, struct stage_state *s, struct sb_plan **out,
		     sb_error_t *err)
{
	struct sb_plan *p = sb_plan_new(s->rootfs);
	int r = sb_plan_add_standard(p, err);
	for (size_t i = 0; r == 0 && i < b->o->n_binds; i++)
		r = sb_plan_add_bind_spec(p, b->o->binds[i], err);
	if (r < 0) {
		sb_plan_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int scripts_sandbox(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	if (b->sb)
		return 0;
	struct sb_plan *p;
	if (base_plan(b, s, &p, err) < 0)
		return -1;
	int r = sb_sandbox_select(&b->o->mode, p, &b->sb, err);
	sb_plan_free(p);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < sb_sandbox_note_count(b->sb); i++)
		if (b->o->warn && b->o->verbosity >= 0)
			b->o->warn(b->o->warn_ctx, sb_sandbox_note(b->sb, i));
	defbuild_log(b, "%s", sb_sandbox_info(b->sb));
	return 0;
}

/* Writes the script body to path (exclusive, 0755). */
static int write_script(const char *path, const char *body, sb_error_t *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return sb_error_set(err, errno, "creating %s", path);
	size_t len = strlen(body);
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, body + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return sb_error_set(err, errno, "writing %s", path);
		off += (size_t)w;
	}
	return fchmod(fd, 0755) < 0 ? sb_error_set(err, errno, "%s", path) : 0;
}

static int script_failed(struct defbuild *b, const struct defparse_script *sc, const char *what,
			 int status, sb_error_t *err)
{
	return sb_error_set_status(err, 1, 0, "%s:%d: %s failed with exit status %d",
				   b->def->path, sc->line, what, status);
}

int scripts_host(struct defbuild *b, struct stage_state *s, int id, sb_error_t *err)
{
	const struct defparse_script *sc = &s->ds->scripts[id];
	const char *name = defparse_script_name((enum defparse_script_id)id);
	cleanup_free char *what = sb_asprintf("%%%s", name);
	if (scripts_sandbox(b, s, err) < 0)
		return -1;
	defbuild_log(b, "Running %s scriptlet on the host", what);
	cleanup_free char *path = sb_asprintf("%s/%s", s->dir, name);
	if (write_script(path, sc->script, err) < 0)
		return -1;
	int argc, status = 0;
	char **argv = sb_script_argv(what, sc->args, path, &argc, err);
	int r = argv ? sb_script_run_host(b->sb, argv, s->rootfs, &status, err) : -1;
	sb_strv_free(argv);
	unlink(path);
	if (r < 0)
		return sb_error_wrap(err, "%s:%d: %s", b->def->path, sc->line, what);
	return status ? script_failed(b, sc, what, status, err) : 0;
}

/* APPTAINERENV_X / SINGULARITYENV_X from the host set X inside (the
 * APPTAINER_ form wins), as Apptainer's --cleanenv runs still do. */
static int inject_env(struct sb_plan *p, sb_error_t *err)
{
	static const char *const prefixes[] = { "SINGULARITYENV_", "APPTAINERENV_" };
	for (size_t k = 0; k < 2; k++) {
		size_t pl = strlen(prefixes[k]);
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, prefixes[k], pl) != 0)
				continue;
			const char *eq = strchr(*e, '=');
			if (eq == NULL || eq == *e + pl)
				continue;
			cleanup_free char *name = sb_strndup(*e + pl, (size_t)(eq - *e - pl));
			if (strcmp(name, "PATH") == 0 || strcmp(name, "HOME") == 0)
				continue;
			if (sb_plan_setenv(p, name, eq + 1, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Plan for a scriptlet inside the rootfs: standard mounts, --bind, the
 * documented environment, the image's env files sourced first, cwd /. */
static int script_plan(struct defbuild *b, struct stage_state *s, int argc, char **argv,
		       struct sb_plan **out, sb_error_t *err)
{
	struct sb_plan *p;
	if (base_plan(b, s, &p, err) < 0)
		return -1;
	const char *name = strrchr(b->o->target, '/');
	name = name ? name + 1 : b->o->target;
	int r = sb_script_post_env(p, name, err);
	if (r == 0)
		r = inject_env(p, err);
	if (r == 0)
		r = sb_plan_set_argv(p, argc, (const char *const *)argv, err);
	if (r == 0)
		r = sb_plan_source_image_env(p, err);
	if (r == 0)
		r = sb_plan_set_cwd(p, "/", err);
	if (r == 0 && sb_sandbox_mode(b->sb) == SB_MODE_FAKEROOT)
		r = sb_plan_set_fakeroot_state(p, s->dir, err);
	if (sb_sandbox_mode(b->sb) == SB_MODE_JOURNAL) {
		cleanup_free char *log = sb_asprintf("%s/ownership-journal.log", s->dir);
		sb_plan_set_ownership(p, s->owners);
		sb_plan_set_journal_log(p, log);
	}
	if (r < 0) {
		sb_plan_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

static int run_plan(struct defbuild *b, const struct defparse_script *sc, const char *what,
		    struct sb_plan *p, sb_error_t *err)
{
	struct sb_run_result res = { 0 };
	if (b->o->verbosity > 0) {
		cleanup_free char *d = sb_plan_describe(p);
		fprintf(stderr, "VERBOSE: %s sandbox:\n%s", what, d);
	}
	if (sb_sandbox_run(b->sb, p, &res, err) < 0)
		return sb_error_wrap(err, "%s:%d: %s", b->def->path, sc->line, what);
	if (res.interrupted)
		return sb_error_set_status(err, 1, 0, "%s:%d: %s interrupted by signal %d",
					   b->def->path, sc->line, what, res.interrupted);
	if (res.term_signal)
		return sb_error_set_status(err, 1, 0, "%s:%d: %s killed by signal %d",
					   b->def->path, sc->line, what, res.term_signal);
	return res.exit_code ? script_failed(b, sc, what, res.exit_code, err) : 0;
}

int scripts_post(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct defparse_script *sc = &s->ds->scripts[DEFPARSE_POST];
	if (scripts_sandbox(b, s, err) < 0)
		return -1;
	defbuild_log(b, "Running %%post scriptlet");
	cleanup_free char *body = sb_asprintf("%s%s", sc->script ? sc->script : "",
					      s->post_extra ? s->post_extra : "");
	cleanup_free char *path = sb_asprintf("%s/.post.script", s->rootfs);
	if (write_script(path, body, err) < 0)
		return -1;
	int argc;
	char **argv = sb_script_argv("%post", sc->args, "/.post.script", &argc, err);
	struct sb_plan *p = NULL;
	int r = argv ? script_plan(b, s, argc, argv, &p, err) : -1;
	sb_strv_free(argv);
	if (r == 0)
		r = run_plan(b, sc, "%post", p, err);
	sb_plan_free(p);
	unlink(path);
	return r;
}

int scripts_test(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct defparse_script *sc = &s->ds->scripts[DEFPARSE_TEST];
	cleanup_free char *path = sb_asprintf("%s/.singularity.d/test", s->rootfs);
	if (access(path, F_OK) != 0)
		return 0; /* --section left it out */
	if (scripts_sandbox(b, s, err) < 0)
		return -1;
	defbuild_log(b, "Running %%test scriptlet");
	char *argv[] = { (char *)"/.singularity.d/test", NULL };
	struct sb_plan *p = NULL;
	int r = script_plan(b, s, 1, argv, &p, err);
	if (r == 0) {
		sb_plan_set_readonly_root(p, true);
		r = run_plan(b, sc, "%test", p, err);
	}
	sb_plan_free(p);
	return r;
}

/* The user-namespace modes: fn runs in a child inside a namespace with the
 * build's mapping (files owned by subordinate IDs are reachable, file
 * capabilities set in the sandbox read back as plain v2 ones instead of v3
 * bound to the caller's UID); its error message comes back through a memfd. */
struct enter_args {
	int (*fn)(void *, sb_error_t *);
	void *arg;
	int msgfd;
};

static int enter_fn(void *p)
{
	struct enter_args *a = p;
	sb_error_t err = NULL;
	if (a->fn(a->arg, &err) == 0)
		return 0;
	const char *m = sb_error_message(err);
	if (write(a->msgfd, m, strlen(m)) < 0)
		return 2;
	return err && err->status ? err->status : 1;
}

bool scripts_enters(const struct defbuild *b)
{
	return b->sb != NULL && sb_sandbox_mode(b->sb) != SB_MODE_ROOT;
}

int scripts_as_root(struct defbuild *b, int (*fn)(void *arg, sb_error_t *err), void *arg,
		    sb_error_t *err)
{
	if (!scripts_enters(b))
		return fn(arg, err);
	cleanup_close int fd = memfd_create("sifbuild-msg", MFD_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "memfd_create");
	struct enter_args a = { fn, arg, fd };
	int status = 0;
	if (sb_sandbox_enter(b->sb, enter_fn, &a, &status, err) < 0)
		return -1;
	if (status == 0)
		return 0;
	char msg[4096];
	ssize_t n = pread(fd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	return sb_error_set_status(err, status == 2 ? 2 : 1, 0, "%s",
				   n > 0 ? msg : "failed in the build namespace");
}

void scripts_remove_tree(struct defbuild *b, const char *path)
{
	if (b->sb) {
		sb_error_t err = NULL;
		if (sb_sandbox_remove_tree(b->sb, path, &err) == 0)
			return;
		sb_error_free(&err);
	}
	sb_rm_rf(path, NULL);
}
