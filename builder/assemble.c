/* builder/assemble.c: a root filesystem directory -> SIF (sif-format.md 6.1):
 * Def.FILE, inspect-metadata.json, then the SquashFS partition written in
 * place at its aligned offset. The image is built under a temporary name
 * beside the target and renamed when complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "builder/image/image.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "sif/sif.h"
#include "sif/sqfs.h"

/* The definition stored for a build with no definition file: Apptainer's
 * "localimage" form, without the host path (the image must not name it). */
static const char generated_def[] = "bootstrap: localimage\n\n";

struct mem_reader {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	(void)err;
	struct mem_reader *m = ctx;
	size_t n = len < m->left ? len : m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

/* The Apptainer skeleton, where the tree lacks it. Added before the tree:
 * its files with data all live under /.singularity.d, which sorts first at
 * the root, so the data lands where a walk of the finished tree puts it and
 * DIR -> SIF -> sandbox -> SIF gives the same bytes (for trees that have all
 * or none of /.singularity.d). */
static int add_skeleton(struct sif_sqfs_writer *w, int rootfd, int64_t mtime, sb_error_t *err)
{
	size_t n;
	const struct image_skel_entry *sk = image_skeleton(&n);
	for (size_t i = 0; i < n; i++) {
		/* rootfd -1: after a streamed tree, what the writer lacks */
		if (rootfd < 0 && sif_sqfs_writer_exists(w, sk[i].path))
			continue;
		int fd = rootfd < 0 ? -1 : sb_open_in_root(rootfd, sk[i].path, O_PATH | O_NOFOLLOW);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		struct sif_sqfs_attr a = { .mode = sk[i].mode, .mtime = mtime };
		int r;
		if (sk[i].type == 'd') {
			r = sif_sqfs_writer_add_dir(w, sk[i].path, &a, err);
		} else if (sk[i].type == 'l') {
			r = sif_sqfs_writer_add_symlink(w, sk[i].path, &a, sk[i].content, err);
		} else {
			struct mem_reader m = { sk[i].content, strlen(sk[i].content) };
			r = sif_sqfs_writer_add_file(w, sk[i].path, &a, mem_read, &m, err);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Packing progress on stderr: an updating line on a terminal (5 per
 * second), else a plain line every 5 seconds; nothing with -q. */
struct pack_progress {
	struct timespec start, last;
	bool tty, shown;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void pack_progress(void *ctx, uint64_t bytes, uint64_t files)
{
	struct pack_progress *p = ctx;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&p->last, &now) < (p->tty ? 0.2 : 5.0))
		return;
	p->last = now;
	double t = since(&p->start, &now), mib = (double)bytes / (1 << 20);
	fprintf(stderr, "%sPacking: %.1f MiB, %llu files, %.1f MiB/s%s", p->tty ? "\r" : "", mib,
		(unsigned long long)files, t > 0 ? mib / t : 0.0, p->tty ? "\033[K" : "\n");
	p->shown = true;
}

static void pack_progress_end(struct pack_progress *p)
{
	if (p->tty && p->shown)
		fputc('\n', stderr);
}

static int sqfs_options(const struct build_options *o, struct sif_sqfs_options *so,
			sb_error_t *err)
{
	sif_sqfs_options_init(so);
	if (o->compression && sif_sqfs_parse_compression(o->compression, so, err) < 0)
		return -1;
	if (o->block_size)
		so->block_size = o->block_size;
	so->jobs = o->jobs;
	so->deterministic = o->reproducible;
	so->epoch = o->epoch;
	so->all_root = geteuid() != 0;
	so->warn = o->warn;
	so->warn_ctx = o->warn_ctx;
	return 0;
}

static int add_partition(struct sif_image *img, const struct build_options *o,
			 const struct assemble_input *ai, int rootfd, int arch, sb_error_t *err)
{
	const char *dir = ai->rootfs;
	struct sif_sqfs_options so;
	if (sqfs_options(o, &so, err) < 0)
		return -1;
	struct pack_progress pp = { .tty = isatty(2) };
	clock_gettime(CLOCK_MONOTONIC, &pp.start);
	pp.last = pp.start;
	if (o->verbosity >= 0) {
		so.progress = pack_progress;
		so.progress_ctx = &pp;
	}
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_PARTITION);
	if (sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY, arch, err) < 0)
		return -1;
	int64_t start = sif_object_begin(img, &in, err);
	if (start < 0)
		return -1;
	uint64_t size = 0;
	struct bootstrap_owner_ctx oc = { .map = ai->owners };
	struct sif_sqfs_walk_options wo = { .owner_hook = ai->owners ? bootstrap_owner_hook : NULL,
					    .owner_ctx = &oc };
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(sif_object_fd(img), (uint64_t)start, &so, err);
	int64_t mtime = o->reproducible ? o->epoch : (int64_t)time(NULL);
	int r = (w == NULL ||
		 (ai->fill ? ai->fill(ai->fill_ctx, w, err) < 0 || add_skeleton(w, -1, mtime, err) < 0
			   : add_skeleton(w, rootfd, mtime, err) < 0 ||
				     sif_sqfs_pack_dir(w, dir, &wo, err) < 0) ||
		 sif_sqfs_writer_finish(w, &size, err) < 0 ||
		 sif_object_note_written(img, (int64_t)size, err) < 0)
		? -1 : 0;
	sif_sqfs_writer_free(w);
	pack_progress_end(&pp);
	bootstrap_owner_ctx_release(&oc);
	if (r < 0) {
		sif_object_abort(img);
		return ai->fill ? -1 : sb_error_wrap(err, "packing %s", dir);
	}
	return sif_object_commit(img, err) < 0 ? -1 : 0;
}

/* Def.FILE, then the JSON objects sorted by name, as Apptainer adds them. */
static int add_metadata(struct sif_image *img, int rootfd, const struct assemble_input *ai,
			sb_error_t *err)
{
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_DEFFILE);
	if (sif_add_object(img, &in, ai->def, strlen(ai->def), err) < 0)
		return -1;
	cleanup_free char *json = image_inspect_json(rootfd, ai->def, err);
	if (json == NULL)
		return -1;
	sif_object_input_init(&in, SIF_DATA_GENERIC_JSON);
	in.name = "inspect-metadata.json";
	if (sif_add_object(img, &in, json, strlen(json), err) < 0)
		return -1;
	if (ai->oci_config == NULL)
		return 0;
	sif_object_input_init(&in, SIF_DATA_GENERIC_JSON);
	in.name = "oci-config.json";
	return sif_add_object(img, &in, ai->oci_config, strlen(ai->oci_config), err) < 0 ? -1 : 0;
}

static int image_arch(int rootfd, const char *arch)
{
	const char *a = arch ? arch : image_elf_arch(rootfd, "/bin/sh");
	int code = a ? sif_arch_from_name(a) : 0;
	return code ? code : sif_arch_from_name(image_host_arch());
}

static int write_image(const struct build_options *o, const struct assemble_input *ai,
		       const char *tmp, sb_error_t *err)
{
	const char *dir = ai->rootfs;
	cleanup_close int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set_status(err, 2, errno, "%s: cannot open the source directory", dir);
	struct sif_create_options co = {
		.launch_script = SIF_APPTAINER_LAUNCH_SCRIPT,
		.deterministic = o->reproducible,
	};
	struct sif_image *img = sif_create(tmp, &co, err);
	if (img == NULL)
		return -1;
	int r = add_metadata(img, rootfd, ai, err);
	if (r == 0)
		r = add_partition(img, o, ai, rootfd, image_arch(rootfd, ai->arch), err);
	if (sif_close(img, r == 0 ? err : NULL) < 0)
		r = -1;
	return r;
}

int assemble_sif_from_dir(const struct build_options *o, const char *dir, sb_error_t *err)
{
	struct assemble_input ai = { .rootfs = dir, .def = generated_def };
	return assemble_sif(o, &ai, err);
}

int assemble_sif(const struct build_options *o, const struct assemble_input *ai, sb_error_t *err)
{
	sb_cleanup_install();
	cleanup_free char *tmp = sb_temp_beside(o->target, err);
	if (tmp == NULL)
		return -1;
	sb_cleanup_add(tmp, 0);
	int r = write_image(o, ai, tmp, err);
	mode_t mask = umask(0);
	umask(mask);
	/* SIF files are executable (their launch script), as Apptainer makes them */
	if (r == 0 && chmod(tmp, 0755 & ~mask) < 0)
		r = sb_error_set(err, errno, "setting the mode of %s", tmp);
	if (r == 0 && rename(tmp, o->target) < 0)
		r = sb_error_set(err, errno, "renaming %s to %s", tmp, o->target);
	if (r < 0)
		unlink(tmp);
	sb_cleanup_remove(tmp);
	return r;
}
