/* bootstrap/bootstrap.h: the table of bootstrap agents.
 *
 * One file per agent exports a struct bootstrap_ops; the table in
 * bootstrap.c names every agent Apptainer knows and points at the ops of
 * those sifbuild implements. An agent lays down the root filesystem of a
 * stage:
 *
 *   const struct bootstrap_agent *a = bootstrap_find("oci-archive");
 *   struct bootstrap_request rq = { header, n, rootfs, ... };
 *   a->ops->validate(&rq, &err);              cheap checks, before any work
 *   a->ops->materialise(&rq, &res, &err);     fills rq.rootfs
 *   ... builder writes metadata (bootstrap_oci_meta for OCI sources),
 *   bootstrap_result_release(&res);
 *
 * Nothing here prints or exits; warnings go to the request's sink. */
#ifndef SB_BOOTSTRAP_H
#define SB_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct defparse_kv;
struct sb_ownership;
struct sb_registry_options;
struct sif_sqfs_attr;
struct sif_sqfs_xattr;
struct stat;

typedef void (*bootstrap_warn_fn)(void *ctx, const char *msg);

struct bootstrap_request {
	/* Header of the stage: lower-case keys ("bootstrap", "from",
	 * "mirrorurl", ...), as defparse gives them (struct defparse_stage's
	 * header and n_header). Borrowed. */
	const struct defparse_kv *header;
	size_t n_header;
	const char *rootfs;       /* existing (normally empty) directory to fill */
	const char *arch;         /* --arch: "amd64", "arm64", "arm/v7"...; NULL = host */
	const char *arch_variant; /* --arch-variant; NULL = none */
	/* True when the build runs as real root: owners and device nodes are
	 * stored on disk. Otherwise they go to owners. */
	bool privileged;
	struct sb_ownership *owners; /* the build's ownership map (borrowed, may be NULL) */
	bootstrap_warn_fn warn;      /* may be NULL */
	void *warn_ctx;
	/* docker/oras: transport, auth, cache, progress (borrowed; NULL = defaults) */
	const struct sb_registry_options *registry;
	/* The definition file, for "FILE:LINE: " in header errors (borrowed;
	 * NULL: "line N: "). */
	const char *def_path;
	/* debootstrap/yum/dnf/zypper: runs argv (argv[0] an absolute host path)
	 * with exactly envp (both NULL-terminated) in the build's privilege mode
	 * as (namespaced) root, on the host's filesystem view, in private mount
	 * and PID namespaces, with the mode's root emulation (subuid mapping,
	 * seccomp fakes or fakeroot(1)), so package tools can chown, mknod and
	 * mount in rootfs; output goes to the build log. *status is the exit
	 * code (128+N when killed by signal N); returns -1 only when it could not
	 * run. Provided by the builder (builder/agentrun.h). NULL: the agent runs
	 * the program itself, which only works as real root. */
	int (*run)(void *ctx, char *const argv[], char *const envp[], int *status,
		   sb_error_t *err);
	void *run_ctx;
};

/* Value of header key (lower case) in r, NULL when absent. */
const char *bootstrap_header_get(const struct bootstrap_request *r, const char *key);

struct bootstrap_result {
	/* OCI sources: the image config blob (verified bytes); pass it to
	 * bootstrap_oci_meta. NULL for other agents. */
	char *oci_config;
	size_t oci_config_len;
	/* OCI sources and oras: manifest digest (NULL for classic docker-archive) */
	char *image_digest;
	/* The runscript the agent sets ("#!/bin/sh\n" for scratch and busybox),
	 * NULL when the agent leaves it to the builder (OCI: see bootstrap_oci_meta). */
	char *runscript;
	/* localimage: the tree already carries Apptainer metadata; add the base
	 * environment without overwriting it. */
	bool keep_metadata;
	/* localimage and oras from a SIF: the source's oci-config.json object,
	 * already in its SIF form (a JSON object; store it as is, do not pass it
	 * to bootstrap_oci_meta). NULL when the SIF has none. */
	char *oci_config_json;
};
void bootstrap_result_release(struct bootstrap_result *res);

struct bootstrap_ops {
	/* Checks the header (required keys, syntax) without touching anything. */
	int (*validate)(const struct bootstrap_request *r, sb_error_t *err);
	/* Fills r->rootfs and *res (zeroed by the caller). On failure the rootfs
	 * may hold a partial tree: the caller removes it. */
	int (*materialise)(const struct bootstrap_request *r, struct bootstrap_result *res,
			   sb_error_t *err);
};

struct bootstrap_agent {
	const char *name;        /* as written after "Bootstrap:" (case-sensitive) */
	const char *unsupported; /* NULL, or why sifbuild will not implement it */
	bool implemented;        /* false until its issue lands */
	const struct bootstrap_ops *ops; /* NULL while not implemented */
};

/* The agent called name, or NULL when Apptainer knows no such agent. */
const struct bootstrap_agent *bootstrap_find(const char *name);

/* For lint: NULL when sifbuild supports the agent (now or in a planned
 * release), else a short static reason. */
const char *bootstrap_agent_status(const char *name);

/* NULL-terminated list of every agent entry. */
const struct bootstrap_agent *const *bootstrap_agents(void);

/* A build SOURCE given on the command line as an agent and From value:
 * "oci:DIR[:TAG]", "oci-archive:F[:TAG]", "docker-archive:F[:NAME:TAG]", and
 * a directory "DIR" or "DIR/", a SIF file or a SquashFS image file
 * (localimage). *agent is static, *from malloc'd. Returns 0, or 1 when
 * source is none of these (a definition file, docker://...: the caller
 * handles those). */
int bootstrap_parse_source(const char *source, const char **agent, char **from);

/* Apptainer's metadata for an OCI-derived image (apptainer-behaviour.md
 * 3.13), from the image config blob. All strings malloc'd. */
struct bootstrap_oci_meta {
	char *env_script;  /* /.singularity.d/env/10-docker2singularity.sh, mode 0755 */
	char *runscript;   /* /.singularity.d/runscript, mode 0755 */
	char *labels_json; /* /.singularity.d/labels.json, mode 0644 ("null": no labels) */
	char *oci_config;  /* the SIF object oci-config.json */
	char *workdir;     /* config WorkingDir, NULL when none */
	char *user;        /* config User, NULL when none */
	char *created;     /* config created (RFC 3339), NULL when none */
};
int bootstrap_oci_meta(const char *config, size_t len, bootstrap_warn_fn warn, void *warn_ctx,
		       struct bootstrap_oci_meta *m, sb_error_t *err);
void bootstrap_oci_meta_release(struct bootstrap_oci_meta *m);

/* The ownership map applied while packing a tree (sif/sqfs.h): pass
 * bootstrap_owner_hook as sif_sqfs_walk_options.owner_hook and a
 * struct bootstrap_owner_ctx as owner_ctx:
 *
 *   struct bootstrap_owner_ctx oc = { .map = owners };
 *   struct sif_sqfs_walk_options wo = { .owner_hook = bootstrap_owner_hook,
 *                                       .owner_ctx = &oc, .one_file_system = true };
 *   sif_sqfs_pack_dir(w, rootfs, &wo, &err);
 *   bootstrap_owner_ctx_release(&oc);
 *
 * For each entry the map's record (when valid for the inode) sets uid, gid,
 * permission bits, a placeholder's device type and rdev, and adds xattrs. */
struct bootstrap_owner_ctx {
	struct sb_ownership *map;       /* borrowed */
	struct sif_sqfs_xattr *xattrs;  /* scratch, owned */
	size_t cap;
};
int bootstrap_owner_hook(void *ctx, int dirfd, const char *name, const char *path,
			 const struct stat *st, struct sif_sqfs_attr *a, sb_error_t *err);
void bootstrap_owner_ctx_release(struct bootstrap_owner_ctx *c);

/* Streaming form of the oci, oci-archive, docker-archive and docker agents
 * (issue 5): no root filesystem. bootstrap_stream_open reads the image and
 * its config (res->oci_config, image_digest; the docker agent reads the
 * blobs in the registry cache, and r->rootfs only names where it puts them
 * with --disable-cache, beside it); bootstrap_stream_fill adds the image's
 * merged tree to w, file data streamed from the blobs (once per stream).
 * open returns NULL with *err, or NULL with *err left NULL when agent has no
 * streaming form. */
struct sif_sqfs_writer;
struct bootstrap_stream;
struct bootstrap_stream *bootstrap_stream_open(const char *agent, const struct bootstrap_request *r,
					       struct bootstrap_result *res, sb_error_t *err);
int bootstrap_stream_fill(struct bootstrap_stream *bs, struct sif_sqfs_writer *w, sb_error_t *err);
/* Before fill: the image's files whose paths match one of globs (fnmatch
 * with FNM_PATHNAME, relative to the image root, symlinks resolved inside
 * the image) written under the existing directory dir, with the directories
 * on their way; regular files larger than max bytes are left out. The
 * metadata an unpacked image would show, without unpacking it. */
int bootstrap_stream_export(struct bootstrap_stream *bs, const char *dir, const char *const *globs,
			    size_t n_globs, size_t max, sb_error_t *err);
void bootstrap_stream_close(struct bootstrap_stream *bs);

/* localimage.c: what the regular file at path holds, from its magic:
 * BOOTSTRAP_IMAGE_SIF or BOOTSTRAP_IMAGE_SQUASHFS; -1 with *err (status 2,
 * naming path and why: not a regular file, ext3, unknown) otherwise. */
enum { BOOTSTRAP_IMAGE_SIF = 1, BOOTSTRAP_IMAGE_SQUASHFS = 2 };
int bootstrap_image_file_kind(const char *path, sb_error_t *err);

/* localimage.c: unpacks the SIF at path (its primary system partition, which
 * must be SquashFS) or the bare SquashFS image at path into r->rootfs, with
 * sif/'s safe extractor; what a plain user (r->privileged false) cannot store
 * goes to r->owners. Sets res->oci_config_json (the SIF's oci-config.json)
 * and res->keep_metadata. label (NULL: path) names the image in errors:
 * "LABEL: not a valid SIF image: ...", "LABEL: no primary system partition",
 * "LABEL: the primary partition is encrypted ...". */
int bootstrap_localimage_unpack(const struct bootstrap_request *r, const char *path,
				const char *label, struct bootstrap_result *res, sb_error_t *err);

/* docker.c: pulls the request's image into a new OCI layout beside
 * r->rootfs (registered for cleanup); returns its path (malloc'd) or NULL. */
char *bootstrap_docker_pull(const struct bootstrap_request *r, sb_error_t *err);
/* docker.c, for streaming: pulls the request's image into the blob cache
 * and names what to read there: store (a directory with blobs/sha256/HEX,
 * the cache itself) and the chosen manifest. With --disable-cache
 * (r->registry->disable_cache) the blobs go to a new layout beside r->rootfs
 * (layout, registered for cleanup and removed by release), the store. */
struct bootstrap_docker_blobs {
	char *store;
	char *layout; /* NULL unless --disable-cache */
	char *manifest_digest, *manifest_type;
	int64_t manifest_size;
};
int bootstrap_docker_fetch(const struct bootstrap_request *r, struct bootstrap_docker_blobs *out,
			   sb_error_t *err);
void bootstrap_docker_blobs_release(struct bootstrap_docker_blobs *b);

/* The agents of this folder. */
extern const struct bootstrap_ops bootstrap_docker_ops;
extern const struct bootstrap_ops bootstrap_oras_ops;
extern const struct bootstrap_ops bootstrap_oci_ops;
extern const struct bootstrap_ops bootstrap_oci_archive_ops;
extern const struct bootstrap_ops bootstrap_docker_archive_ops;
extern const struct bootstrap_ops bootstrap_scratch_ops;
extern const struct bootstrap_ops bootstrap_busybox_ops;
extern const struct bootstrap_ops bootstrap_localimage_ops;
extern const struct bootstrap_ops bootstrap_debootstrap_ops;
extern const struct bootstrap_ops bootstrap_yum_ops; /* yum and dnf */
extern const struct bootstrap_ops bootstrap_zypper_ops;

#endif
