/* builder/stream.c: an image reference -> SIF with no root filesystem on
 * disk (issue 5, streaming conversion). The agent's streaming form feeds the
 * merged layers straight into the SquashFS writer; Apptainer's OCI metadata
 * and the skeleton go in as extra entries. Only the metadata files (the
 * image's own /.singularity.d and SCIF app metadata, and the OCI ones; a few
 * KB, read for inspect-metadata.json) are written to the build directory.
 * SIFBUILD_NO_STREAM=1 selects the rootfs path of convert.c instead. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "sif/sqfs.h"

struct meta_file {
	const char *path;
	const char *text;
	unsigned mode;
};

struct fill {
	struct bootstrap_stream *bs;
	struct meta_file files[3];
	size_t n_files;
	int64_t mtime;
};

struct mem_src {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	(void)err;
	struct mem_src *m = ctx;
	size_t n = len < m->left ? len : m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

/* The image's tree, then the metadata over it (as convert.c writes it into
 * the rootfs: directories kept when present, files replaced). */
static int fill_writer(void *ctx, struct sif_sqfs_writer *w, sb_error_t *err)
{
	struct fill *f = ctx;
	if (bootstrap_stream_fill(f->bs, w, err) < 0)
		return -1;
	const char *dirs[] = { ".singularity.d", ".singularity.d/env" };
	struct sif_sqfs_attr a = { .mode = 0755, .mtime = f->mtime };
	for (size_t k = 0; k < 2; k++)
		if (!sif_sqfs_writer_exists(w, dirs[k]) &&
		    sif_sqfs_writer_add_dir(w, dirs[k], &a, err) < 0)
			return -1;
	for (size_t i = 0; i < f->n_files; i++) {
		if (sif_sqfs_writer_exists(w, f->files[i].path) &&
		    sif_sqfs_writer_remove(w, f->files[i].path, err) < 0)
			return -1;
		struct mem_src m = { f->files[i].text, strlen(f->files[i].text) };
		a.mode = f->files[i].mode;
		if (sif_sqfs_writer_add_file(w, f->files[i].path, &a, mem_read, &m, err) < 0)
			return -1;
	}
	return 0;
}

/* What image_inspect_json (builder/image/inspect.c) reads from a tree: the
 * image's own metadata, exported from the layers into the metadata dir so
 * inspect-metadata.json says what it would say for the unpacked image. */
static const char *const inspect_globs[] = {
	".singularity.d/*", ".singularity.d/env/*", "scif/apps/*", "scif/apps/*/scif/*",
	"scif/apps/*/scif/env/*",
};
#define MAX_META (16u << 20) /* inspect.c's limit: larger files are not read */

/* The image's metadata into dir, the OCI metadata files over it (as
 * convert.c writes them into a rootfs). */
static int meta_files(struct fill *f, const struct bootstrap_oci_meta *m, const char *dir,
		      sb_error_t *err)
{
	f->files[f->n_files++] = (struct meta_file){ ".singularity.d/env/10-docker2singularity.sh",
						     m->env_script, 0755 };
	f->files[f->n_files++] = (struct meta_file){ ".singularity.d/runscript", m->runscript, 0755 };
	if (strcmp(m->labels_json, "null") != 0)
		f->files[f->n_files++] =
			(struct meta_file){ ".singularity.d/labels.json", m->labels_json, 0644 };
	if (mkdir(dir, 0755) < 0)
		return sb_error_set(err, errno, "%s", dir);
	if (bootstrap_stream_export(f->bs, dir, inspect_globs,
				    sizeof(inspect_globs) / sizeof(inspect_globs[0]), MAX_META,
				    err) < 0)
		return -1;
	cleanup_close int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set(err, errno, "%s", dir);
	if (sb_mkdir_in_root(rootfd, ".singularity.d/env", 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < f->n_files; i++)
		if (sb_write_in_root(rootfd, f->files[i].path, f->files[i].text,
				     strlen(f->files[i].text), f->files[i].mode, 0, err) < 0)
			return -1;
	return 0;
}

/* The config's architecture (Go name), NULL when absent. */
static char *config_arch(const char *config, size_t len)
{
	json_t *j = json_loadb(config, len, 0, NULL);
	const char *a = json_string_value(json_object_get(j, "architecture"));
	char *r = a && *a ? sb_strdup(a) : NULL;
	json_decref(j);
	return r;
}

int convert_stream(const struct build_options *o, const char *agent,
		   const struct bootstrap_request *rq, const char *workdir, const char *def,
		   sb_error_t *err)
{
	const char *no = getenv("SIFBUILD_NO_STREAM");
	if (no && strcmp(no, "1") == 0)
		return 1;
	const struct bootstrap_agent *ag = bootstrap_find(agent);
	if (ag == NULL || ag->ops == NULL)
		return 1;
	if (ag->ops->validate(rq, err) < 0)
		return -1;
	struct bootstrap_result res = { 0 };
	struct fill f = { .mtime = o->reproducible ? o->epoch : (int64_t)time(NULL) };
	f.bs = bootstrap_stream_open(agent, rq, &res, err);
	if (f.bs == NULL)
		return err && *err ? -1 : 1;
	struct bootstrap_oci_meta m = { 0 };
	cleanup_free char *dir = sb_asprintf("%s/meta", workdir);
	cleanup_free char *arch = config_arch(res.oci_config, res.oci_config_len);
	int r = bootstrap_oci_meta(res.oci_config, res.oci_config_len, o->warn, o->warn_ctx, &m,
				   err);
	if (r == 0)
		r = meta_files(&f, &m, dir, err);
	if (r == 0) {
		struct assemble_input ai = { .rootfs = dir, .def = def, .oci_config = m.oci_config,
					     .fill = fill_writer, .fill_ctx = &f, .arch = arch };
		r = assemble_sif(o, &ai, err);
	}
	bootstrap_stream_close(f.bs);
	bootstrap_oci_meta_release(&m);
	bootstrap_result_release(&res);
	return r;
}
