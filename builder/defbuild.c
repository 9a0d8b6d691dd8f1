/* builder/defbuild.c: `sifbuild build TARGET DEF` (apptainer-behaviour.md
 * 3.1, 3.2): parse the definition with the build arguments, run every stage
 * in file order in its own root filesystem under one build directory, then
 * pack the last stage into the SIF (or move it onto the sandbox TARGET).
 * The build directory and every partial output are removed on success, on
 * failure and on SIGINT/SIGTERM (unless --no-cleanup). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "builder/defbuild.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

void defbuild_log(const struct defbuild *b, const char *fmt, ...)
{
	if (b->o->verbosity < 0)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (double)(now.tv_sec - b->t0.tv_sec) + (now.tv_nsec - b->t0.tv_nsec) / 1e9;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "INFO:    [%6.1fs] ", t);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

bool defbuild_section(const struct defbuild *b, const char *name)
{
	if (b->sections_all)
		return true;
	for (size_t i = 0; i < b->n_sections; i++)
		if (strcmp(b->sections[i], name) == 0)
			return true;
	return false;
}

const char *defbuild_stage_label(const struct stage_state *s, char *buf, size_t len)
{
	const char *name = defparse_stage_name(s->ds);
	if (name && *name)
		snprintf(buf, len, "stage %s", name);
	else
		snprintf(buf, len, "stage %zu", s->index + 1);
	return buf;
}

/* --section: "all" (default), "none", or a comma list of the names
 * Apptainer checks (5.2). */
static int parse_sections(struct defbuild *b, const char *spec, sb_error_t *err)
{
	static const char *const known[] = { "pre", "setup", "files", "help", "labels",
					      "environment", "runscript", "startscript", "test",
					      "post", "all", "none", NULL };
	b->sections_all = spec == NULL || strcmp(spec, "all") == 0;
	if (b->sections_all)
		return 0;
	cleanup_free char *copy = sb_strdup(spec);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		const char *const *k = known;
		while (*k && strcmp(*k, w) != 0)
			k++;
		if (*k == NULL)
			return sb_error_set_status(err, 2, 0, "--section: unknown section '%s' (known: "
						   "pre, setup, files, help, labels, environment, "
						   "runscript, startscript, test, all, none)", w);
		if (strcmp(w, "all") == 0 || strcmp(w, "none") == 0) {
			if (strcmp(spec, w) != 0)
				return sb_error_set_status(err, 2, 0, "section specification error: "
							   "cannot have %s and any other option", w);
			continue;
		}
		b->sections = sb_xrealloc(b->sections, (b->n_sections + 1) * sizeof(char *));
		b->sections[b->n_sections++] = sb_strdup(w);
	}
	return 0;
}

static int check_unused_args(const struct defbuild *b, sb_error_t *err)
{
	const struct defparse_def *d = b->def;
	if (d->n_unused == 0)
		return 0;
	struct sb_strbuf sb = SB_STRBUF_INIT;
	for (size_t i = 0; i < d->n_unused; i++)
		sb_strbuf_addf(&sb, "%s%s", i ? " " : "", d->unused_args[i]);
	cleanup_free char *list = sb_strbuf_detach(&sb, NULL);
	if (b->o->warn_unused_args) {
		cleanup_free char *m = sb_asprintf("%s: unused build args: %s", d->path, list);
		if (b->o->warn)
			b->o->warn(b->o->warn_ctx, m);
		return 0;
	}
	return sb_error_set_status(err, 2, 0, "%s: unused build args: %s. Use option "
				   "--warn-unused-build-args to show a warning instead of a fatal "
				   "message", d->path, list);
}

/* --update: the target must be an existing sandbox directory (5.3). */
static int check_update(const struct build_options *o, sb_error_t *err)
{
	if (!o->update)
		return 0;
	if (!o->sandbox)
		return sb_error_set_status(err, 2, 0, "only sandbox update is supported: --sandbox "
					   "flag is missing");
	struct stat st;
	if (stat(o->target, &st) < 0)
		return sb_error_set_status(err, 2, errno, "could not update sandbox %s: doesn't "
					   "exist", o->target);
	if (!S_ISDIR(st.st_mode))
		return sb_error_set_status(err, 2, 0, "only sandbox update is supported: %s is not "
					   "a directory", o->target);
	return 0;
}

/* An existing target needs --force (or --update for a sandbox); a non-empty
 * directory that is not a sandbox is never replaced silently. */
static int check_target(const struct build_options *o, sb_error_t *err)
{
	struct stat st;
	if (lstat(o->target, &st) < 0)
		return 0;
	if (o->update)
		return 0;
	if (!o->force)
		return sb_error_set_status(err, 2, 0, "build target '%s' already exists. Use "
					   "--force if you want to overwrite it", o->target);
	if (o->sandbox != S_ISDIR(st.st_mode))
		return sb_error_set_status(err, 2, 0, "%s: %s", o->target, o->sandbox ?
					   "exists and is not a directory: refusing to replace "
					   "it with a sandbox" : "is a directory: use --sandbox "
					   "to build a sandbox, or give an image file name");
	return 0;
}

static const char *tmp_base(const struct build_options *o)
{
	return sb_tmp_base(o->tmpdir);
}

static char *make_temp_dir(const char *pattern, sb_error_t *err)
{
	char *d = sb_strdup(pattern);
	if (mkdtemp(d) == NULL) {
		int e = errno;
		free(d);
		sb_error_set(err, e, "creating the build directory %s", pattern);
		return NULL;
	}
	sb_cleanup_add(d, 1);
	return d;
}

/* A directory beside path (same filesystem, so a rename can move it there). */
static char *temp_dir_beside(const char *path, sb_error_t *err)
{
	cleanup_free char *t = sb_temp_beside(path, err);
	if (t == NULL)
		return NULL;
	unlink(t);
	cleanup_free char *pat = sb_asprintf("%s-XXXXXX", t);
	return make_temp_dir(pat, err);
}

/* Bytes of a local base (file or tree size), 0 when unknown (registries). */
static unsigned long long local_size(const char *path)
{
	struct stat st;
	if (path == NULL || stat(path, &st) < 0)
		return 0;
	return S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0;
}

/* What the stages' bases unpack to, roughly: a compressed image (SIF,
 * SquashFS, OCI archive) about 3 times its size on disk. Registry and
 * package-manager bases are unknown before they are fetched. */
static unsigned long long estimate_bases(const struct defparse_def *def)
{
	unsigned long long total = 0;
	for (size_t i = 0; i < def->n_stages; i++) {
		const char *agent = defparse_header_get(&def->stages[i], "bootstrap");
		const char *from = defparse_header_get(&def->stages[i], "from");
		if (agent == NULL || from == NULL)
			continue;
		if (strcmp(agent, "oci-archive") == 0 || strcmp(agent, "docker-archive") == 0) {
			cleanup_free char *f = sb_strdup(from);
			char *colon = strchr(f, ':');
			if (colon && local_size(f) == 0)
				*colon = '\0';
			total += 3 * local_size(f);
		} else if (strcmp(agent, "localimage") == 0) {
			total += 3 * local_size(from);
		}
	}
	return total;
}

/* Free space in the build directory against the estimate (plus the output,
 * about half of it, and 64 MiB of slack): a clear error in seconds rather
 * than "No space left on device" an hour later. */
static int check_space(const char *dir, const struct defparse_def *def, sb_error_t *err)
{
	struct statvfs vf;
	if (statvfs(dir, &vf) < 0)
		return 0;
	unsigned long long avail = (unsigned long long)vf.f_bavail * vf.f_frsize;
	unsigned long long base = estimate_bases(def);
	unsigned long long need = base + base / 2 + (64ull << 20);
	if (avail >= need)
		return 0;
	cleanup_free char *why = base ? sb_asprintf(" (its base images unpack to ~%llu MiB)",
						    base >> 20) : sb_strdup("");
	return sb_error_set_status(err, 1, 0, "%s: %llu MiB free, the build needs about %llu MiB%s: "
				   "set --tmpdir or SIFBUILD_TMPDIR to a larger filesystem", dir,
				   avail >> 20, need >> 20, why);
	return 0;
}

static int make_stage_dirs(struct defbuild *b, sb_error_t *err)
{
	const struct build_options *o = b->o;
	b->n_stages = b->def->n_stages;
	b->stages = sb_xcalloc(b->n_stages, sizeof(*b->stages));
	for (size_t i = 0; i < b->n_stages; i++) {
		struct stage_state *s = &b->stages[i];
		s->ds = &b->def->stages[i];
		s->index = i;
		s->dir = sb_asprintf("%s/stage-%zu", b->workdir, i + 1);
		if (mkdir(s->dir, 0700) < 0)
			return sb_error_set(err, errno, "%s", s->dir);
		bool last = i + 1 == b->n_stages;
		if (last && o->sandbox) {
			/* renamed onto TARGET at the end: same filesystem */
			cleanup_free char *d = temp_dir_beside(o->target, err);
			if (d == NULL)
				return -1;
			s->rootfs = sb_asprintf("%s/rootfs", d);
			s->rootfs_beside_target = true;
		} else {
			s->rootfs = sb_asprintf("%s/rootfs", s->dir);
		}
		if (mkdir(s->rootfs, 0755) < 0)
			return sb_error_set(err, errno, "%s", s->rootfs);
		if (geteuid() != 0)
			s->owners = sb_ownership_new();
	}
	return 0;
}

/* The last stage's tree -> SIF; in subuid mode inside the namespace, where
 * files owned by subordinate IDs are readable and keep their owners. */
struct pack_args {
	const struct build_options *o;
	struct assemble_input ai;
};

static int pack_fn(void *arg, sb_error_t *err)
{
	struct pack_args *p = arg;
	return assemble_sif(p->o, &p->ai, err);
}

static int pack_sif(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	defbuild_log(b, "Creating SIF file %s", b->o->target);
	struct pack_args p = { .o = b->o };
	p.ai.rootfs = s->rootfs;
	p.ai.def = b->def->fullraw;
	p.ai.oci_config = s->oci_config;
	p.ai.owners = s->owners;
	return scripts_as_root(b, pack_fn, &p, err);
}

/* Sandbox output: the rootfs directory beside TARGET renamed onto it (an
 * existing TARGET, with --force or --update, is moved aside and removed). */
static int place_sandbox(struct defbuild *b, struct stage_state *s, sb_error_t *err)
{
	const char *target = b->o->target;
	struct stat st;
	char *old = NULL;
	if (lstat(target, &st) == 0) {
		old = sb_asprintf("%s.old", s->rootfs);
		if (rename(target, old) < 0) {
			int e = errno;
			free(old);
			return sb_error_set(err, e, "moving the old %s aside", target);
		}
	}
	if (rename(s->rootfs, target) < 0) {
		int e = errno;
		if (old)
			rename(old, target);
		free(old);
		return sb_error_set(err, e, "renaming %s to %s", s->rootfs, target);
	}
	if (old)
		scripts_remove_tree(b, old);
	free(old);
	return 0;
}

static void release(struct defbuild *b)
{
	for (size_t i = 0; i < b->n_stages; i++) {
		struct stage_state *s = &b->stages[i];
		if (s->owners)
			sb_ownership_free(s->owners);
		free(s->dir);
		free(s->rootfs);
		free(s->oci_config);
		free(s->post_extra);
		free(s->base_name);
		free(s->base_digest);
	}
	free(b->stages);
	for (size_t i = 0; i < b->n_sections; i++)
		free(b->sections[i]);
	free(b->sections);
	if (b->sb)
		sb_sandbox_free(b->sb);
	defparse_def_free(b->def);
	free(b->workdir);
}

/* Removes the build directory and the sandbox rootfs beside the target
 * (or, with --no-cleanup, says where they are). */
static void cleanup(struct defbuild *b)
{
	for (size_t i = 0; i < b->n_stages; i++) {
		struct stage_state *s = &b->stages[i];
		if (!s->rootfs_beside_target)
			continue;
		cleanup_free char *d = sb_strdup(s->rootfs);
		*strrchr(d, '/') = '\0';
		if (b->o->no_cleanup) {
			defbuild_log(b, "Build sandbox kept at %s", d);
		} else {
			scripts_remove_tree(b, d);
		}
		sb_cleanup_remove(d);
	}
	if (b->workdir == NULL)
		return;
	if (b->o->no_cleanup)
		defbuild_log(b, "Build directory kept at %s", b->workdir);
	else
		scripts_remove_tree(b, b->workdir);
	sb_cleanup_remove(b->workdir);
}

static int validate_stages(const struct build_options *o, struct defparse_def *def,
			   sb_error_t *err)
{
	struct defbuild b = { .o = o, .def = def };
	for (size_t i = 0; i < def->n_stages; i++) {
		struct stage_state s = { .ds = &def->stages[i], .index = i,
					 .rootfs = (char *)"/nonexistent" };
		b.n_stages = def->n_stages;
		if (stage_validate(&b, &s, err) < 0)
			return -1;
	}
	return 0;
}

static int run_stages(struct defbuild *b, sb_error_t *err)
{
	for (size_t i = 0; i < b->n_stages; i++)
		if (stage_run(b, &b->stages[i], err) < 0)
			return -1;
	struct stage_state *last = &b->stages[b->n_stages - 1];
	if (b->o->sandbox)
		return place_sandbox(b, last, err);
	return pack_sif(b, last, err);
}

int build_definition(const struct build_options *o, sb_error_t *err)
{
	struct defbuild b = { .o = o };
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	struct defparse_options po = { .args = o->build_args };
	cleanup_free char *pat = NULL;
	b.def = defparse_parse_file(o->source, &po, err);
	if (b.def == NULL)
		return -1;
	int r = -1;
	if (parse_sections(&b, o->section, err) < 0 || check_unused_args(&b, err) < 0 ||
	    check_update(o, err) < 0 || check_target(o, err) < 0)
		goto out;
	if (b.def->n_stages == 0) {
		sb_error_set_status(err, 2, 0, "%s: no stages to build", o->source);
		goto out;
	}
	if (validate_stages(o, b.def, err) < 0)
		goto out;
	sb_cleanup_install();
	const char *base = tmp_base(o);
	pat = sb_asprintf("%s/sifbuild-build-XXXXXX", base);
	if (check_space(base, b.def, err) < 0 || (b.workdir = make_temp_dir(pat, err)) == NULL)
		goto out;
	defbuild_log(&b, "Starting build of %s from %s", o->target, o->source);
	r = make_stage_dirs(&b, err) < 0 ? -1 : run_stages(&b, err);
	if (r == 0)
		defbuild_log(&b, "Build complete: %s", o->target);
	cleanup(&b);
out:
	release(&b);
	return r;
}
