/* bootstrap/oci/oci.h: OCI images on disk, their layers, their config.
 *
 * The one public header of bootstrap/oci/. Four parts:
 *   - blob stores: an OCI image layout directory, or an uncompressed tar
 *     (oci-archive, docker-archive) read in place; every blob is read through
 *     a reader that checks its size and sha256 while the bytes go by;
 *   - the image model: index.json / manifest.json to one image (manifest,
 *     config, layers), with platform selection in indexes;
 *   - safe layer application: tar layers (plain, gzip, zstd) applied one
 *     after the other to a root filesystem directory, whiteouts included,
 *     never writing outside it; what an unprivileged user cannot store goes
 *     into the build's ownership map (common/ownership.h);
 *   - the image config and the metadata Apptainer derives from it.
 *
 * Errors: functions return -1 or NULL and fill *err (library code never
 * prints). Warnings go to an oci_warn_fn sink (msg borrowed for the call).
 * All libarchive calls of sifbuild's OCI code live in this folder.
 */
#ifndef SB_BOOTSTRAP_OCI_H
#define SB_BOOTSTRAP_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct sb_ownership;

typedef void (*oci_warn_fn)(void *ctx, const char *msg);

/* Pull-style byte source: up to len bytes into buf; 0 at the end, -1 with
 * *err on failure. */
typedef ssize_t (*oci_read_fn)(void *ctx, void *buf, size_t len, sb_error_t *err);

/* ------------------------------------------------------------ descriptors */

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

struct oci_descriptor {
	char *media_type; /* may be NULL */
	char *digest;     /* "sha256:<64 lowercase hex>", checked syntax */
	int64_t size;     /* -1 when unknown (docker-archive members) */
	char *os, *arch, *variant; /* platform, NULL when absent */
	char *ref_name;   /* annotation org.opencontainers.image.ref.name */
	char *image_name; /* annotation io.containerd.image.name */
	bool attestation; /* a BuildKit attestation entry (skipped) */
	bool foreign;     /* has "urls": a foreign layer, normally not in the image */
};
void oci_descriptor_clear(struct oci_descriptor *d);

/* 0 when digest is "sha256:" + 64 lowercase hex digits; else -1 with *err
 * (sha512 is recognised and refused as unsupported). */
int oci_digest_check(const char *digest, sb_error_t *err);

/* ------------------------------------------------------------ blob stores */

struct oci_store;

/* An OCI image layout directory (oci-layout, index.json, blobs/), or any
 * directory with blobs/<alg>/<hex> (the registry cache). */
struct oci_store *oci_store_open_dir(const char *dir, sb_error_t *err);
/* A tar file holding a layout or a `docker save` tree; it is indexed once
 * and its members are read in place (no extraction). A compressed one (gzip,
 * zstd, xz, bzip2) is first decompressed into an unnamed temporary file in
 * $TMPDIR (removed when the store is freed). */
struct oci_store *oci_store_open_tar(const char *file, sb_error_t *err);
void oci_store_free(struct oci_store *s);

/* True when the store has the named file ("index.json", "manifest.json"). */
bool oci_store_has(struct oci_store *s, const char *name);

/* A verified reader over one blob. With d, the blob is blobs/<alg>/<hex>
 * and must have d->size bytes (when >= 0) and digest d->digest; with name, it
 * is that member, checked against expect_digest when not NULL. Reading past
 * the blob end returns 0 only after the digest matched; a mismatch or a short
 * blob fails the read with an error naming the digest. */
struct oci_blob;
struct oci_blob *oci_blob_open(struct oci_store *s, const struct oci_descriptor *d,
			       sb_error_t *err);
struct oci_blob *oci_blob_open_name(struct oci_store *s, const char *name,
				    const char *expect_digest, sb_error_t *err);
ssize_t oci_blob_read(void *blob, void *buf, size_t len, sb_error_t *err); /* an oci_read_fn */
/* Reads (and hashes) what the consumer left unread, then checks. */
int oci_blob_finish(struct oci_blob *b, sb_error_t *err);
void oci_blob_close(struct oci_blob *b);

/* Whole small blob (JSON), verified, NUL-terminated; at most max bytes. */
char *oci_store_read(struct oci_store *s, const struct oci_descriptor *d, const char *name,
		     size_t max, size_t *len, sb_error_t *err);

/* ------------------------------------------------------------- platforms */

struct oci_platform {
	char os[32], arch[32], variant[16]; /* variant "" when none */
};

/* The host platform, normalised (x86_64 -> amd64, aarch64 -> arm64/v8,
 * armv7l -> arm/v7, ...). */
void oci_platform_host(struct oci_platform *p);
/* From --arch (Go or uname spelling, or os/arch[/variant]) and an optional
 * --arch-variant. -1 with *err (status 2) for an unknown architecture. */
int oci_platform_parse(const char *arch, const char *variant, struct oci_platform *p,
		       sb_error_t *err);
/* True when an index entry's platform (os, arch, variant may be NULL)
 * satisfies want (arm64 "" == "v8"; arm "" == "v7"). */
bool oci_platform_match(const struct oci_platform *want, const char *os, const char *arch,
			const char *variant);

/* ------------------------------------------------------------ image model */

enum oci_source_kind {
	OCI_SOURCE_LAYOUT,         /* oci:DIR */
	OCI_SOURCE_OCI_ARCHIVE,    /* oci-archive:FILE */
	OCI_SOURCE_DOCKER_ARCHIVE, /* docker-archive:FILE (manifest.json, else a layout) */
};

struct oci_image {
	char *manifest_digest;         /* NULL for classic docker-archive */
	struct oci_descriptor config;  /* docker-archive: digest from the member name */
	char *config_member;           /* docker-archive: member name of the config */
	struct oci_descriptor *layers; /* base first */
	char **layer_members;          /* docker-archive: member names, else NULL */
	size_t n_layers;
	char **diff_ids;               /* rootfs.diff_ids, n_diff_ids entries */
	size_t n_diff_ids;
	char *config_json;             /* the config blob, verified */
	size_t config_len;
};
void oci_image_free(struct oci_image *img);

/* Picks the entry of an index (index.json or a nested index) for ref and
 * platform: ref (a tag, a full image name, or "sha256:..." digest; NULL or
 * "" = any) is matched against the ref-name annotations; among the matches
 * (or all entries) the one for want is chosen, skipping attestations. *out
 * receives a copy. On no match the error lists what is available. */
int oci_index_select(const char *json, size_t len, const char *ref,
		     const struct oci_platform *want, struct oci_descriptor *out, sb_error_t *err);

/* Opens the image ref (may be NULL) of store s: for layouts walks index.json
 * and nested indexes down to one manifest, for docker-archive reads
 * manifest.json (ref = "name:tag" among RepoTags, docker.io/ and library/
 * normalised). Reads and verifies the config. want NULL = host platform. */
struct oci_image *oci_image_open(struct oci_store *s, enum oci_source_kind kind, const char *ref,
				 const struct oci_platform *want, oci_warn_fn warn, void *warn_ctx,
				 sb_error_t *err);

/* Opens the image whose manifest (or index, resolved for want) is the blob
 * d of s: a bare blob store such as the registry cache, no index.json. */
struct oci_image *oci_image_open_manifest(struct oci_store *s, const struct oci_descriptor *d,
					  const struct oci_platform *want, oci_warn_fn warn,
					  void *warn_ctx, sb_error_t *err);

/* Opens layer i of img as a verified blob. */
struct oci_blob *oci_image_open_layer(struct oci_store *s, const struct oci_image *img, size_t i,
				      sb_error_t *err);

/* -------------------------------------------------------- layer application */

/* What a layer's tar entry name means (oci-notes.md section 6). */
enum oci_name_kind {
	OCI_NAME_ENTRY,    /* a file, directory, link...: *path is its clean path */
	OCI_NAME_ROOT,     /* "./" or "/": the root directory itself; *path is "" */
	OCI_NAME_WHITEOUT, /* DIR/.wh.NAME: *path is DIR/NAME, to remove from lower layers */
	OCI_NAME_OPAQUE,   /* DIR/.wh..wh..opq: *path is DIR, whose lower children go */
	OCI_NAME_SKIP,     /* AUFS bookkeeping (.wh..wh.plnk, ...): ignored; *path NULL */
};
/* Classifies name: leading "/" and "./" are dropped, "." and repeated "/"
 * removed. A ".." component anywhere, and a whiteout of "", "." or "..", fail
 * with *err (status 2, the message names the entry). *path is malloc'd. */
int oci_layer_name(const char *name, enum oci_name_kind *kind, char **path, sb_error_t *err);
/* The clean relative form of a path from a layer (hard link targets too), or
 * NULL when it has a ".." component. malloc'd. */
char *oci_clean_name(const char *name);

struct oci_apply_options {
	/* Store owners, device nodes and every xattr on disk (root). When false
	 * (or when a chown fails) they go to owners instead. */
	bool privileged;
	struct sb_ownership *owners; /* borrowed; may be NULL (then dropped, with a warning) */
	oci_warn_fn warn;
	void *warn_ctx;
};

struct oci_unpacker;

/* Starts applying layers onto rootfs (an existing directory, normally empty).
 * o is copied. */
struct oci_unpacker *oci_unpacker_new(const char *rootfs, const struct oci_apply_options *o,
				      sb_error_t *err);
/* Applies one layer read from read(ctx): tar, gzip or zstd (sniffed). label
 * names the layer in messages ("layer sha256:..."). When diff_id is not NULL
 * the uncompressed stream must hash to it. */
int oci_unpacker_apply(struct oci_unpacker *u, oci_read_fn read, void *ctx, const char *label,
		       const char *diff_id, sb_error_t *err);
/* Copies the directory tree src (a sandbox) onto the rootfs with the same
 * rules as a layer; a plain user's own files become root's. */
int oci_unpacker_copy_tree(struct oci_unpacker *u, const char *src, sb_error_t *err);
/* Frees u (NULL is fine). */
void oci_unpacker_free(struct oci_unpacker *u);

/* All layers of img from s onto rootfs, every blob verified. */
int oci_image_unpack(struct oci_store *s, const struct oci_image *img, const char *rootfs,
		     const struct oci_apply_options *o, sb_error_t *err);

/* Streaming conversion (stream.c): the layers of img merged in memory from
 * their tar headers (the rules of oci_image_unpack: whiteouts, opaque
 * directories, hard links, implied parents) and added to w, file data read
 * straight from the verified blobs; nothing is written to disk. Owners,
 * modes, device numbers and xattrs are the headers' own. */
struct sif_sqfs_writer;
/* scan: pass 1, the merged tree from the layers' headers
 * (s and img stay borrowed until free). export: the files of the merged tree
 * whose paths match one of globs (fnmatch, FNM_PATHNAME; symlinks resolved
 * inside the tree as a walk of the unpacked image would) written under the
 * existing directory dir, with their data (one more read of the layers that
 * hold them; regular files larger than max skipped), and the directories on
 * their way; a view of the image's own metadata without unpacking it.
 * emit: pass 2 into w, once. */
struct oci_stream;
struct oci_stream *oci_stream_scan(struct oci_store *s, const struct oci_image *img,
				   oci_warn_fn warn, void *warn_ctx, sb_error_t *err);
int oci_stream_export(struct oci_stream *st, const char *dir, const char *const *globs,
		      size_t n_globs, size_t max, sb_error_t *err);
int oci_stream_emit(struct oci_stream *st, struct sif_sqfs_writer *w, sb_error_t *err);
void oci_stream_free(struct oci_stream *st);

/* ------------------------------------------------- config and its metadata */

struct oci_config;

/* Parses an image config blob (OCI or Docker). */
struct oci_config *oci_config_parse(const char *json, size_t len, sb_error_t *err);
void oci_config_free(struct oci_config *c);

/* Borrowed strings, NULL when absent or empty. */
const char *oci_config_get(const struct oci_config *c, const char *field);
/* field: "architecture", "os", "variant", "created", "User", "WorkingDir" */

/* /.singularity.d/env/10-docker2singularity.sh (mode 0755) from Env. Names
 * that are not shell identifiers are skipped with a warning. malloc'd. */
char *oci_meta_env_script(const struct oci_config *c, oci_warn_fn warn, void *warn_ctx);
/* /.singularity.d/runscript (mode 0755) from Entrypoint and Cmd, with the
 * exact line `eval "set ${SINGULARITY_OCI_RUN}"` Apptainer's runtime looks
 * for. malloc'd. */
char *oci_meta_runscript(const struct oci_config *c);
/* /.singularity.d/labels.json: Labels as Go's MarshalIndent(map, "", "\t")
 * ("null" when the config has no Labels). malloc'd, no trailing newline. */
char *oci_meta_labels_json(const struct oci_config *c);
/* The SIF oci-config.json object: the config's `config` object, compact, in
 * Docker's key order, empty fields omitted. malloc'd. */
char *oci_meta_config_json(const struct oci_config *c);

/* Go's JSON string encoding (HTML-safe escapes, invalid UTF-8 as \ufffd)
 * of s, appended to a new string. malloc'd. */
char *oci_go_json_string(const char *s);

#endif
