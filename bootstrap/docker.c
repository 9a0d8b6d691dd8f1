/* bootstrap/docker.c: the docker agent.
 *
 *   Bootstrap: docker    From: [HOST[:PORT]/]NAME[:TAG|@DIGEST]
 *                        Registry: HOST   (optional, when From names none)
 *                        Namespace: NS    (optional, instead of library/)
 *
 * The registry client (bootstrap/registry) pulls the image into the blob
 * cache and an OCI layout beside the rootfs; the oci agent applies it; the
 * layout (hard links into the cache) is removed afterwards. */
#include <errno.h>
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

char *bootstrap_docker_pull(const struct bootstrap_request *r, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (parse_ref(r, &ref, err) < 0)
		return NULL;
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
	char *layout = sb_asprintf("%s.pull-XXXXXX", r->rootfs);
	if (mkdtemp(layout) == NULL) {
		sb_error_set(err, errno, "creating a directory beside %s", r->rootfs);
		free(layout);
		return NULL;
	}
	sb_cleanup_add(layout, 1);
	struct sb_registry_image *img = NULL;
	int rc = sb_registry_pull(text, &o, layout, &img, err);
	sb_registry_image_free(img);
	if (rc < 0) {
		sb_rm_rf(layout, NULL);
		sb_cleanup_remove(layout);
		free(layout);
		return NULL;
	}
	return layout;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	char *layout = bootstrap_docker_pull(r, err);
	if (layout == NULL)
		return -1;
	int rc = apply_layout(r, layout, res, err);
	sb_rm_rf(layout, NULL);
	sb_cleanup_remove(layout);
	free(layout);
	return rc;
}

const struct bootstrap_ops bootstrap_docker_ops = {validate, materialise};
