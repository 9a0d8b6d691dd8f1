/* bootstrap/registry/registry.h: the OCI/Docker registry client (pull side).
 *
 * Pulls docker:// images and oras:// SIF artifacts over the registry HTTP API
 * v2 with libcurl (all libcurl calls of sifbuild live in this folder), with
 * anonymous/Basic/Bearer auth, parallel downloads verified (sha256 and size)
 * while they stream, retries, resume, and a content-addressed blob cache that
 * concurrent processes share.
 *
 * THE SEAM WITH bootstrap/oci/. A pull produces, for one chosen image:
 *   - every blob (the manifest, the config, each layer, and the index it was
 *     chosen from) verified and stored as a read-only file named by digest in
 *     a blob store: DIR/blobs/sha256/HEX, where DIR is the cache (or, with
 *     disable_cache, the layout directory);
 *   - a struct sb_registry_image naming them (digest, media type, size, path);
 *   - when a layout directory is asked for, an OCI image layout there
 *     (oci-layout, index.json with exactly one entry: the chosen platform
 *     manifest, annotated org.opencontainers.image.ref.name = tag or digest;
 *     blobs/sha256/HEX hard links to the cache, copies when links fail).
 * Code in bootstrap/oci/ reads either; it must treat blob files as read-only
 * (they may be hard links into the shared cache). Manifests and configs are
 * exactly the bytes the registry served (their sha256 is their digest).
 *
 * Errors: every function that can fail takes `sb_error_t *err` (see
 * common/error.h); messages name the reference, registry and URL involved.
 * Nothing here prints or exits; progress and warnings go to callbacks.
 */
#ifndef SB_BOOTSTRAP_REGISTRY_H
#define SB_BOOTSTRAP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* ------------------------------------------------------------------ refs */

enum sb_registry_transport { SB_REGISTRY_DOCKER, SB_REGISTRY_ORAS };

/* A parsed image reference. All strings owned by the struct. */
struct sb_registry_ref {
	enum sb_registry_transport transport;
	char *registry;	  /* canonical: "docker.io", "127.0.0.1:5000", "quay.io" */
	char *api_host;	  /* host[:port] to talk to: "registry-1.docker.io" for docker.io */
	char *repository; /* "library/busybox", "seed/busybox" */
	char *tag;    /* "latest" when neither tag nor digest was given; NULL with a digest only */
	char *digest; /* "sha256:HEX" or NULL; wins over the tag when both are given */
};

/* Parses `[docker://|oras://][//][HOST[:PORT]/]PATH[:TAG][@DIGEST]` the way
 * Docker and Apptainer do: the first component is a host only if it holds a
 * '.' or ':' or is "localhost"; otherwise the registry is docker.io, and a
 * one-component path there gets "library/". Repository paths must be
 * lowercase; tags follow [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are
 * sha256:64hex or sha512:128hex. A text without scheme is docker.
 * On failure returns -1 (status 2 = bad input) and leaves *ref zeroed. */
int sb_registry_ref_parse(const char *text, struct sb_registry_ref *ref, sb_error_t *err);

/* Like sb_registry_ref_parse for a definition file header: FROM is the
 * `From:` value; REGISTRY (`Registry:`) replaces the default registry when FROM
 * names no host; NAMESPACE (`Namespace:`) is put in front of a one-component
 * path instead of "library/". Both may be NULL or "". */
int sb_registry_ref_from_header(const char *from, const char *registry, const char *ns,
				struct sb_registry_ref *ref, sb_error_t *err);

/* "docker://REGISTRY/REPO[:TAG][@DIGEST]" (or oras://): a new string. */
char *sb_registry_ref_string(const struct sb_registry_ref *ref);

void sb_registry_ref_release(struct sb_registry_ref *ref);

/* -------------------------------------------------------------- options */

/* Receives progress text (complete lines, or on a terminal a block of lines
 * with ANSI cursor movements redrawing the bars); the CLI writes it to stderr. */
typedef void (*sb_registry_sink_fn)(void *data, const char *text);

struct sb_registry_options {
	const char *cache_dir; /* NULL: sb_registry_cache_dir() */
	bool disable_cache;    /* blobs go to the layout directory only */
	bool nohttps;	       /* plain HTTP to the registry (tests on 127.0.0.1) */
	const char *ca_file;   /* PEM certificates to trust instead of the system's */
	int max_connections;   /* parallel blob transfers; <= 0: 4 */
	int max_retries;       /* per request, on 5xx/429/network errors; < 0: 0; 0: 5 */
	const char *authfile;  /* a docker config.json to use instead of the default */
	const char *username;  /* explicit credentials (both or neither); NULL: lookup */
	const char *password;
	const char *os;		      /* platform to choose from an index; NULL: "linux" */
	const char *arch;	      /* NULL: the host's, normalised ("amd64", "arm64", ...) */
	const char *variant;	      /* NULL: the host's default for arch ("v8", "v7") */
	int64_t chunk_size;	      /* push: PATCH uploads of this many bytes; 0: one PUT */
	sb_registry_sink_fn progress; /* NULL: no progress */
	void *progress_data;
	bool progress_tty;	  /* draw bars (terminal) instead of periodic lines */
	sb_registry_sink_fn warn; /* warnings ("using cached manifest: registry down") */
	void *warn_data;
};

/* Defaults for every field (all zero/NULL). */
void sb_registry_options_init(struct sb_registry_options *opts);

/* ------------------------------------------------------------------ pull */

struct sb_registry_blob {
	char *media_type;
	char *digest; /* "sha256:HEX" */
	int64_t size;
	char *path; /* verified, read-only file holding exactly these bytes */
};

struct sb_registry_image {
	char *reference;		  /* canonical reference string that was pulled */
	char *index_digest;		  /* the index/manifest list it was chosen from, or NULL */
	struct sb_registry_blob manifest; /* the chosen image manifest */
	struct sb_registry_blob config;
	struct sb_registry_blob *layers; /* base first */
	size_t n_layers;
	char *os, *arch, *variant; /* platform of the chosen entry ("" when unknown) */
	bool from_cache_offline;   /* the registry was unreachable; cached tag mapping used */
};

/* Pulls the image REF (a docker:// reference or bare Docker name) into the
 * cache (unless opts->disable_cache) and, when layout_dir is not NULL, writes
 * an OCI image layout there (created if missing; index.json replaced). With
 * disable_cache, layout_dir is required and receives the blobs directly.
 * An index or manifest list is resolved to the platform in opts (attestation
 * entries skipped). When every blob is cached, a tag costs one HEAD request
 * and a digest none; when the registry cannot be reached, a tag pulled before
 * is taken from the cache (img->from_cache_offline, with a warning).
 * *out is a new image for sb_registry_image_free. */
int sb_registry_pull(const char *ref, const struct sb_registry_options *opts,
		     const char *layout_dir, struct sb_registry_image **out, sb_error_t *err);

void sb_registry_image_free(struct sb_registry_image *img);

/* Pulls the SIF artifact REF (oras://..., manifest with exactly one layer of
 * type application/vnd.sylabs.sif.layer.v1.sif or the legacy misspelt tar
 * type) to dest_path (written beside it under a temp name and renamed; the
 * SIF magic is checked). The blob goes through the cache like image layers.
 * *manifest_digest (may be NULL) receives a new string. */
int sb_registry_pull_sif(const char *ref, const struct sb_registry_options *opts,
			 const char *dest_path, char **manifest_digest, sb_error_t *err);

/* Uploads the SIF at path as an ORAS artifact to REF (oras:// or docker://
 * style): `{}` config of type application/vnd.sylabs.sif.config.v1+json, one
 * layer application/vnd.sylabs.sif.layer.v1.sif with the file name as title.
 * Blobs the registry already has are not sent again. *manifest_digest (may be
 * NULL) receives a new string. */
int sb_registry_push_sif(const char *path, const char *ref, const struct sb_registry_options *opts,
			 char **manifest_digest, sb_error_t *err);

/* ------------------------------------------------------------------ cache */

/* The cache directory: $SIFBUILD_CACHEDIR, else $APPTAINER_CACHEDIR/sifbuild,
 * else $HOME/.cache/sifbuild. A new string; not created. */
char *sb_registry_cache_dir(sb_error_t *err);

struct sb_registry_cache_entry {
	const char *digest; /* "sha256:HEX" */
	int64_t size;
	int64_t mtime;	  /* last use (seconds since the epoch) */
	const char *kind; /* "blob" or "partial" (an interrupted download) */
};

/* Calls fn for each blob in the cache at dir (sorted by digest). A missing
 * cache is empty. *total_bytes (may be NULL) receives the sum. */
int sb_registry_cache_list(const char *dir,
			   void (*fn)(void *data, const struct sb_registry_cache_entry *e),
			   void *data, int64_t *total_bytes, sb_error_t *err);

/* Removes cached blobs (and partial downloads, ref mappings) not used for
 * `days` days (days <= 0: everything). Blobs that another process holds
 * locked are left alone. Counts go to *n_removed and *bytes_removed. */
int sb_registry_cache_clean(const char *dir, int days, size_t *n_removed, int64_t *bytes_removed,
			    sb_error_t *err);

/* ------------------------------------------------------------------ misc */

/* The host platform in OCI terms: *arch "amd64", "arm64", "arm", ...;
 * *variant "" or "v8"/"v7"/"v6". Borrowed static strings. */
void sb_registry_host_platform(const char **arch, const char **variant);

/* Media types (oci-notes.md 4 and 8). */
#define SB_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define SB_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SB_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define SB_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define SB_MT_SIF_CONFIG "application/vnd.sylabs.sif.config.v1+json"
#define SB_MT_SIF_LAYER "application/vnd.sylabs.sif.layer.v1.sif"
#define SB_MT_SIF_LAYER_LEGACY "appliciation/vnd.sylabs.sif.layer.tar"

#endif
