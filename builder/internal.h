/* builder/internal.h: shared by the files of builder/ (not the CLI). */
#ifndef SB_BUILDER_INTERNAL_H
#define SB_BUILDER_INTERNAL_H

#include "builder/build.h"

enum source_kind { SOURCE_DIR, SOURCE_SIF, SOURCE_DEF, SOURCE_URI };
enum source_kind build_source_kind(const char *source);

struct sb_ownership;
struct sif_sqfs_writer;

/* Fills a SquashFS writer (streaming builds): 0, or -1 with *err. */
typedef int (*assemble_fill_fn)(void *ctx, struct sif_sqfs_writer *w, sb_error_t *err);

/* What goes into a SIF: the root filesystem on disk, the definition text
 * stored as Def.FILE, the OCI image config (oci-config.json, may be NULL) and
 * the ownership map applied while packing (may be NULL). All borrowed. */
struct assemble_input {
	const char *rootfs;
	const char *def;
	const char *oci_config;
	struct sb_ownership *owners;
	/* Streaming: when fill is set, the partition's tree comes from
	 * fill(fill_ctx) instead of rootfs, which then holds only the
	 * metadata read for inspect-metadata.json; arch (Go name, may be NULL)
	 * names the image architecture. */
	assemble_fill_fn fill;
	void *fill_ctx;
	const char *arch;
};
int assemble_sif(const struct build_options *o, const struct assemble_input *ai, sb_error_t *err);

/* convert.c: an image reference (oci:, oci-archive:, docker-archive:, a local SIF
 * or SquashFS file (localimage),
 * docker://) -> SIF, streamed (stream.c), or with SIFBUILD_NO_STREAM=1
 * through a root filesystem in the build's temp dir. */
int convert_reference(const struct build_options *o, sb_error_t *err);
/* stream.c: the same without a root filesystem on disk (issue 5); returns
 * 1 without doing anything when the reference cannot be streamed. */
struct bootstrap_request;
int convert_stream(const struct build_options *o, const char *agent,
		   const struct bootstrap_request *rq, const char *workdir, const char *def,
		   sb_error_t *err);
/* The registry options of a build (transport, auth, cache, progress). */
struct sb_registry_options;
void build_registry_options(const struct build_options *o, struct sb_registry_options *ro);
/* What an agent's result puts into /.singularity.d of rootfs: for OCI
 * sources 10-docker2singularity.sh, the generated runscript and labels.json
 * (*m filled, m->oci_config the SIF object); otherwise the agent's runscript. */
struct bootstrap_result;
struct bootstrap_oci_meta;
int build_agent_metadata(const char *rootfs, const struct bootstrap_result *res,
			 const struct build_options *o, struct bootstrap_oci_meta *m, sb_error_t *err);
/* defbuild.c: a definition-file build (issue 6). */
int build_definition(const struct build_options *o, sb_error_t *err);
/* oras://REF: the SIF artifact pulled to the target. */
int convert_oras(const struct build_options *o, sb_error_t *err);

/* assemble.c: DIR -> SIF (temp file beside the target, renamed at the end). */
int assemble_sif_from_dir(const struct build_options *o, const char *dir, sb_error_t *err);
/* extract.c: SIF -> sandbox directory (temp dir beside the target). */
int extract_sif_to_dir(const struct build_options *o, const char *sif, sb_error_t *err);
/* Offset and size of the SIF's primary SquashFS partition (status 2 when
 * there is none or it is another file system). */
int extract_partition_range(const char *sif, int64_t *off, int64_t *size, sb_error_t *err);

/* run_fuse.c: squashfuse mounts for `sifbuild run`. Usable when squashfuse
 * and fusermount are installed, /dev/fuse opens and SIFBUILD_NO_FUSE is not
 * set. */
bool run_fuse_usable(void);
/* Mounts the SquashFS at offset of sif read-only on mnt (an empty dir). */
int run_fuse_mount(const char *sif, int64_t offset, const char *mnt, sb_error_t *err);
int run_fuse_unmount(const char *mnt, sb_error_t *err);

#endif
