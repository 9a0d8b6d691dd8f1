/* bootstrap/docker.c: the docker agent.
 *
 *   Bootstrap: docker    From: [HOST[:PORT]/]NAME[:TAG|@DIGEST]
 *                        Registry: HOST   (optional, when From names none)
 *                        Namespace: NS    (optional, instead of library/)
 *
 * The registry client (bootstrap/registry) pulls the image into the blob
 * cache and an OCI layout beside the rootfs; the oci agent applies it; the
 * layout (hard links into the cache) is removed afterwards. The streaming
 * form (bootstrap_docker_fetch) reads the blobs in the cache itself: the
 * build directory gets no copy of the image, even when the cache is on
 * another file system; only --disable-cache stores the compressed blobs
 * there (the least a two-pass conversion can keep without downloading every
 * layer twice). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/registry/registry.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static int parse_ref(const struct bootstrap_request *r, struct sb_registry_ref *ref,
		     sb_error_t *err)
{
	const char *from = bootstrap_header_get(r, "from");
	if (from == NULL || *from == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: docker needs a From: line");
	return sb_registry_ref_from_header(from, bootstrap_header_get(r, "registry"),
					   bootstrap_header_get(r, "namespace"), ref, err);
}

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (parse_ref(r, &ref, err) < 0)
		return -1;
	sb_registry_ref_release(&ref);
	return 0;
}

/* The oci agent on the pulled layout, with the same request otherwise. */
static int apply_layout(const struct bootstrap_request *r, const char *layout,
			struct bootstrap_result *res, sb_error_t *err)
{
	struct defparse_kv kv[2] = {{(char *)"bootstrap", (char *)"oci", 0},
				    {(char *)"from", (char *)layout, 0}};
	struct bootstrap_request rq = *r;
	rq.header = kv;
	rq.n_header = 2;
	return bootstrap_oci_ops.materialise(&rq, res, err);
}

/* Pulls the request's image into the cache and, when layout is not NULL,
 * into that layout directory. */
static int pull(const struct bootstrap_request *r, const char *layout,
		struct sb_registry_image **img, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (parse_ref(r, &ref, err) < 0)
		return -1;
	cleanup_free char *text = sb_registry_ref_string(&ref);
	sb_registry_ref_release(&ref);
	struct sb_registry_options o;
	if (r->registry != NULL)
		o = *r->registry;
	else
		sb_registry_options_init(&o);
	/* --arch "arm/v7" form: architecture and variant */
	cleanup_free char *arch = r->arch ? sb_strdup(r->arch) : NULL;
	char *slash = arch ? strchr(arch, '/') : NULL;
	if (slash != NULL)
		*slash = '\0';
	o.arch = arch;
	o.variant = slash ? slash + 1 : r->arch_variant;
	if (o.warn == NULL)
		o.warn = r->warn, o.warn_data = r->warn_ctx;
	return sb_registry_pull(text, &o, layout, img, err);
}

/* A new directory beside r->rootfs, registered for cleanup. */
static char *new_layout_dir(const struct bootstrap_request *r, sb_error_t *err)
{
	char *layout = sb_asprintf("%s.pull-XXXXXX", r->rootfs);
	if (mkdtemp(layout) == NULL) {
		sb_error_set(err, errno, "creating a directory beside %s", r->rootfs);
		free(layout);
		return NULL;
	}
	sb_cleanup_add(layout, 1);
	return layout;
}

static void drop_layout(char *layout)
{
	sb_rm_rf(layout, NULL);
	sb_cleanup_remove(layout);
	free(layout);
}

char *bootstrap_docker_pull(const struct bootstrap_request *r, sb_error_t *err)
{
	char *layout = new_layout_dir(r, err);
	if (layout == NULL)
		return NULL;
	struct sb_registry_image *img = NULL;
	int rc = pull(r, layout, &img, err);
	sb_registry_image_free(img);
	if (rc < 0) {
		drop_layout(layout);
		return NULL;
	}
	return layout;
}

/* The blob store holding path (".../blobs/sha256/HEX" of digest), or NULL. */
static char *store_of(const char *path, const char *digest)
{
	const char *hex = strchr(digest, ':');
	if (path == NULL || hex == NULL)
		return NULL;
	cleanup_free char *tail = sb_asprintf("/blobs/sha256/%s", hex + 1);
	size_t n = strlen(path), t = strlen(tail);
	if (n <= t || strcmp(path + n - t, tail) != 0)
		return NULL;
	return sb_strndup(path, n - t);
}

int bootstrap_docker_fetch(const struct bootstrap_request *r, struct bootstrap_docker_blobs *out,
			   sb_error_t *err)
{
	*out = (struct bootstrap_docker_blobs){ 0 };
	/* --disable-cache: the registry client needs a layout to put the blobs in */
	bool nocache = r->registry && r->registry->disable_cache;
	if (nocache && (out->layout = new_layout_dir(r, err)) == NULL)
		return -1;
	struct sb_registry_image *img = NULL;
	if (pull(r, out->layout, &img, err) < 0)
		goto fail;
	out->store = store_of(img->manifest.path, img->manifest.digest);
	if (out->store == NULL) {
		sb_error_set(err, 0, "%s: the pulled manifest is not in a blob store (%s)",
			     img->reference, img->manifest.path ? img->manifest.path : "no path");
		goto fail;
	}
	out->manifest_digest = sb_strdup(img->manifest.digest);
	out->manifest_type = img->manifest.media_type ? sb_strdup(img->manifest.media_type) : NULL;
	out->manifest_size = img->manifest.size;
	sb_registry_image_free(img);
	return 0;
fail:
	sb_registry_image_free(img);
	bootstrap_docker_blobs_release(out);
	return -1;
}

void bootstrap_docker_blobs_release(struct bootstrap_docker_blobs *b)
{
	if (b->layout)
		drop_layout(b->layout);
	free(b->store);
	free(b->manifest_digest);
	free(b->manifest_type);
	*b = (struct bootstrap_docker_blobs){ 0 };
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	char *layout = bootstrap_docker_pull(r, err);
	if (layout == NULL)
		return -1;
	int rc = apply_layout(r, layout, res, err);
	drop_layout(layout);
	return rc;
}

const struct bootstrap_ops bootstrap_docker_ops = {validate, materialise};
