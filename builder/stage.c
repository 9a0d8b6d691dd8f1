/* builder/stage.c: the steps of one stage, in Apptainer's order
 * (apptainer-behaviour.md 3.2): %pre, bootstrap (or the --update copy),
 * base environment and the agent's metadata, SCIF apps, %files from earlier
 * stages, %setup, %files from the host, %post, metadata, %test. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/registry/registry.h"
#include "builder/agentrun.h"
#include "builder/defbuild.h"
#include "builder/image/image.h"
#include "builder/files.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

extern char **environ;

static int header_line(const struct defparse_stage *ds, const char *key)
{
	for (size_t i = 0; i < ds->n_header; i++)
		if (strcmp(ds->header[i].key, key) == 0)
			return ds->header[i].line;
	return ds->first_line;
}

static int open_root(const struct stage_state *s, sb_error_t *err)
{
	int fd = open(s->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		sb_error_set(err, errno, "%s", s->rootfs);
	return fd;
}

/* --update: the existing sandbox copied into the new rootfs (3.2 step 2). */
struct copy_args {
	const char *from, *to;
};

static int copy_tree_fn(void *arg, sb_error_t *err)
{
	struct copy_args *c = arg;
	cleanup_free char *src = sb_asprintf("%s/.", c->from);
	char *argv[] = { (char *)"cp", (char *)"-a", src, (char *)c->to, NULL };
	pid_t pid;
	int e = posix_spawnp(&pid, "cp", NULL, NULL, argv, environ);
	if (e != 0)
		return sb_error_set(err, e, "running cp");
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return sb_error_set(err, 0, "copying %s into the build failed (cp -a)", c->from);
	return 0;
}

static int fix_perm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	mode_t add = S_IRUSR | S_IWUSR;
	if (type == FTW_D || type == FTW_DNR || (st->st_mode & S_IXUSR))
		add |= S_IXUSR;
	if (type != FTW_SL && (st->st_mode & add) != add)
		chmod(path, (st->st_mode & 07777) | add);
	return 0;
}

/* The stage's agent and a request for it (rq borrows ro and the stage). */
static int agent_request(struct defbuild *b, struct stage_state *s, struct sb_registry_options *ro,
			 struct bootstrap_request *rq, const struct bootstrap_agent **agent,
			 sb_error_t *err)
{
	const struct defparse_stage *ds = s->ds;
	const char *path = b->def->path;
	const char *name = defparse_header_get(ds, "bootstrap");
	int line = header_line(ds, "bootstrap");
	if (name == NULL)
		return sb_error_set_status(err, 2, 0, "%s:%d: the stage has no Bootstrap: header",
					   path, ds->first_line);
	const struct bootstrap_agent *a = bootstrap_find(name);
	if (a == NULL || a->ops == NULL)
		return sb_error_set_status(err, 2, 0, "%s:%d: Bootstrap: %s is %s", path, line, name,
					   a == NULL ? "not a bootstrap agent Apptainer knows"
					   : a->unsupported ? a->unsupported
					   : "not supported by this version of sifbuild yet");
	build_registry_options(b->o, ro);
	*rq = (struct bootstrap_request){
		.header = ds->header, .n_header = ds->n_header, .rootfs = s->rootfs,
		.arch = b->o->arch, .arch_variant = b->o->arch_variant,
		.privileged = geteuid() == 0, .owners = s->owners, .warn = b->o->warn,
		.warn_ctx = b->o->warn_ctx, .registry = ro, .def_path = path,
	};
	*agent = a;
	return 0;
}

static bool is_last(const struct defbuild *b, const struct stage_state *s)
{
	return s->index + 1 == b->n_stages;
}

static bool uses_agent(const struct defbuild *b, const struct stage_state *s)
{
	return !(b->o->update && !b->o->force && is_last(b, s));
}

/* Agents that run host package tools in the build's privilege mode. */
static bool runs_tools(const char *agent)
{
	static const char *const v[] = { "debootstrap", "yum", "dnf", "zypper", NULL };
	for (const char *const *p = v; *p; p++)
		if (strcmp(agent, *p) == 0)
			return true;
	return false;
}

/* "FILE:LINE: " in front of an agent's error unless it names the file already. */
static int wrap_at(sb_error_t *err, const char *path, int line)
{
	const char *m = sb_error_message(*err);
	if (strncmp(m, path, strlen(path)) == 0 && m[strlen(path)] == ':')
		return -1;
	return sb_error_wrap(err, "%s:%d", path, line);
}

int stage_validate(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	if (!uses_agent(b, s))
		return 0;
	struct sb_registry_options ro;
	struct bootstrap_request rq;
	const struct bootstrap_agent *a;
	if (agent_request(b, s, &ro, &rq, &a, err) < 0)
		return -1;
	if (a->ops->validate(&rq, err) < 0)
		return wrap_at(err, b->def->path, header_line(s->ds, "bootstrap"));
	return 0;
}

/* Bootstrap: the agent named by the header lays the base down. */
static int bootstrap(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct defparse_stage *ds = s->ds;
	const char *path = b->def->path;
	const char *name = defparse_header_get(ds, "bootstrap");
	int line = header_line(ds, "bootstrap");
	struct sb_registry_options ro;
	struct bootstrap_request rq;
	const struct bootstrap_agent *a;
	if (agent_request(b, s, &ro, &rq, &a, err) < 0)
		return -1;
	defbuild_log(b, "Bootstrap: %s (%s)", name, defparse_header_get(ds, "from") ?
		     defparse_header_get(ds, "from") : "no From");
	struct bootstrap_result res = { 0 };
	struct bootstrap_oci_meta meta = { 0 };
	cleanup_close int rootfd = -1;
	int r = -1;
	struct sb_agentrun ar;
	if (runs_tools(name)) {
		if (scripts_sandbox(b, s, err) < 0)
			goto out;
		sb_agentrun_attach(&rq, &ar, b->sb);
	}
	if (a->ops->validate(&rq, err) < 0 || a->ops->materialise(&rq, &res, err) < 0) {
		wrap_at(err, path, line);
		goto out;
	}
	if (b->o->fix_perms)
		nftw(s->rootfs, fix_perm_one, 64, FTW_PHYS);
	rootfd = open_root(s, err);
	if (rootfd < 0 || image_base_env(rootfd, !res.keep_metadata, err) < 0 ||
	    build_agent_metadata(s->rootfs, &res, b->o, &meta, err) < 0)
		goto out;
	s->oci_config = meta.oci_config	      ? sb_strdup(meta.oci_config)
			: res.oci_config_json ? sb_strdup(res.oci_config_json)
					      : NULL;
	if (strcmp(name, "docker") == 0 && res.image_digest) {
		struct sb_registry_ref ref;
		if (sb_registry_ref_from_header(defparse_header_get(ds, "from"),
						defparse_header_get(ds, "registry"),
						defparse_header_get(ds, "namespace"), &ref,
						NULL) == 0) {
			s->base_name = sb_asprintf("%s/%s:%s", ref.registry, ref.repository,
						   ref.tag ? ref.tag : "latest");
			sb_registry_ref_release(&ref);
		}
		s->base_digest = sb_strdup(res.image_digest);
	}
	r = 0;
out:
	bootstrap_result_release(&res);
	bootstrap_oci_meta_release(&meta);
	return r;
}

static int lay_base(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	if (!uses_agent(b, s)) {
		defbuild_log(b, "Copying the existing sandbox %s", b->o->target);
		struct copy_args c = { b->o->target, s->rootfs };
		if (scripts_as_root(b, copy_tree_fn, &c, err) < 0)
			return -1;
		cleanup_close int rootfd = open_root(s, err);
		return rootfd < 0 ? -1 : image_base_env(rootfd, false, err);
	}
	return bootstrap(b, s, err);
}

static void files_ctx_init(const struct defbuild *b, struct files_ctx *c)
{
	static char cwd[4096];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strcpy(cwd, ".");
	c->deffile = b->def->path;
	c->cwd = cwd;
	c->warn = b->o->warn;
	c->warn_ctx = b->o->warn_ctx;
}

/* SCIF apps (3.7), then each app's %appfiles. */
static int apps(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct defparse_stage *ds = s->ds;
	cleanup_close int rootfd = open_root(s, err);
	if (rootfd < 0 || image_apps(rootfd, ds, &s->post_extra, err) < 0)
		return -1;
	struct files_ctx fc;
	files_ctx_init(b, &fc);
	for (size_t i = 0; i < ds->n_custom; i++) {
		const struct defparse_kv *kv = &ds->custom[i];
		if (strncmp(kv->key, "appfiles ", 9) != 0)
			continue;
		if (files_copy_app(&fc, s->rootfs, kv->key + 9, kv->value, kv->line + 1, err) < 0)
			return -1;
	}
	return 0;
}

/* "from NAME" in a %files section's arguments: the stage NAME, or NULL. */
static char *files_from(const struct defparse_files *f)
{
	const char *a = f->args ? f->args : "";
	char word[16], name[256];
	if (sscanf(a, "%15s %255s", word, name) == 2 && strcmp(word, "from") == 0)
		return sb_strdup(name);
	return NULL;
}

static struct stage_state *find_stage(struct defbuild *b, struct stage_state *s, const char *name)
{
	for (size_t i = 0; i < s->index; i++) {
		const char *n = defparse_stage_name(b->stages[i].ds);
		if (n && strcmp(n, name) == 0)
			return &b->stages[i];
	}
	return NULL;
}

struct copy_files_args {
	struct defbuild *b;
	struct stage_state *s;
	bool from_stages;
	const char *carry_file; /* set when the copy runs in a namespace child */
};

static int copy_files_fn(void *arg, sb_error_t *err)
{
	struct copy_files_args *c = arg;
	const struct defparse_stage *ds = c->s->ds;
	struct files_ctx fc;
	files_ctx_init(c->b, &fc);
	for (size_t i = 0; i < ds->n_files; i++) {
		const struct defparse_files *f = &ds->files[i];
		cleanup_free char *from = files_from(f);
		if ((from != NULL) != c->from_stages)
			continue;
		struct stage_state *src = from ? find_stage(c->b, c->s, from) : NULL;
		if (from && src == NULL)
			return sb_error_set_status(err, 2, 0, "%s:%d: %%files from %s: stage %s was "
						   "not found", c->b->def->path, f->line, from,
						   from);
		fc.src_owners = src ? src->owners : NULL;
		fc.dst_owners = c->s->owners;
		for (size_t j = 0; j < f->n; j++) {
			int r = src ? files_copy_from_stage(&fc, src->rootfs, c->s->rootfs, &f->v[j],
							    err)
				    : files_copy_from_host(&fc, c->s->rootfs, &f->v[j], err);
			if (r < 0)
				return -1;
		}
	}
	/* In a namespace child the records carried to this stage's map go back
	 * to the builder through a file. */
	if (c->carry_file && c->s->owners)
		return sb_ownership_save(c->s->owners, c->carry_file, err);
	return 0;
}

static int copy_files(struct defbuild *b, struct stage_state *s, bool from_stages,
		      sb_error_t *err)
{
	bool any = false;
	for (size_t i = 0; i < s->ds->n_files; i++) {
		cleanup_free char *from = files_from(&s->ds->files[i]);
		any |= (from != NULL) == from_stages && s->ds->files[i].n > 0;
	}
	if (!any || !defbuild_section(b, "files"))
		return 0;
	defbuild_log(b, from_stages ? "Copying files from earlier stages" :
		     "Copying files from the host");
	cleanup_free char *carry = NULL;
	if (from_stages && s->owners && scripts_enters(b))
		carry = sb_asprintf("%s/owners.carry", s->dir);
	struct copy_files_args c = { b, s, from_stages, carry };
	if (scripts_as_root(b, copy_files_fn, &c, err) < 0)
		return -1;
	if (carry == NULL)
		return 0;
	int r = sb_ownership_load(s->owners, carry, err);
	unlink(carry);
	return r;
}

static bool section_cb(void *ctx, const char *name)
{
	return defbuild_section(ctx, name);
}

static int metadata(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct build_options *o = b->o;
	struct image_label extra[2];
	size_t n_extra = 0;
	if (s->base_name)
		extra[n_extra++] = (struct image_label){ "org.opencontainers.image.base.name",
							 s->base_name };
	if (s->base_digest)
		extra[n_extra++] = (struct image_label){ "org.opencontainers.image.base.digest",
							 s->base_digest };
	struct image_meta_options mo = {
		.force = o->force, .update = o->update && !o->force,
		.section = section_cb, .section_ctx = b,
		.build_time = o->reproducible ? o->epoch : (int64_t)time(NULL),
		.utc = o->reproducible, .arch = o->arch ? o->arch : image_host_arch(),
		.variant = o->arch_variant, .version = PACKAGE_VERSION,
		.extra = extra, .n_extra = n_extra, .warn = o->warn, .warn_ctx = o->warn_ctx,
	};
	defbuild_log(b, "Adding metadata (/.singularity.d)");
	cleanup_close int rootfd = open_root(s, err);
	return rootfd < 0 ? -1 : image_insert_metadata(rootfd, b->def, s->ds, &mo, err);
}

static int steps(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const struct defparse_script *sc = s->ds->scripts;
	if (sc[DEFPARSE_PRE].script && *sc[DEFPARSE_PRE].script && defbuild_section(b, "pre") &&
	    scripts_host(b, s, DEFPARSE_PRE, err) < 0)
		return -1;
	if (lay_base(b, s, err) < 0 || apps(b, s, err) < 0 || copy_files(b, s, true, err) < 0)
		return -1;
	if (sc[DEFPARSE_SETUP].script && *sc[DEFPARSE_SETUP].script &&
	    defbuild_section(b, "setup") && scripts_host(b, s, DEFPARSE_SETUP, err) < 0)
		return -1;
	if (copy_files(b, s, false, err) < 0)
		return -1;
	bool post = (sc[DEFPARSE_POST].script && *sc[DEFPARSE_POST].script) ||
		    (s->post_extra && *s->post_extra);
	if (post && scripts_post(b, s, err) < 0)
		return -1;
	if (metadata(b, s, err) < 0)
		return -1;
	if (!b->o->notest && sc[DEFPARSE_TEST].script && *sc[DEFPARSE_TEST].script)
		return scripts_test(b, s, err);
	return 0;
}

int stage_run(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	char label[300];
	if (b->n_stages > 1)
		defbuild_log(b, "Building %s", defbuild_stage_label(s, label, sizeof(label)));
	if (steps(b, s, err) == 0)
		return 0;
	if (b->n_stages > 1)
		sb_error_wrap(err, "%s", defbuild_stage_label(s, label, sizeof(label)));
	return -1;
}
