/* bootstrap/oci.c: the oci, oci-archive and docker-archive agents.
 *
 *   Bootstrap: oci             From: DIR[:TAG] | DIR@sha256:...
 *   Bootstrap: oci-archive     From: FILE[:TAG]
 *   Bootstrap: docker-archive  From: FILE[:NAME:TAG]
 *
 * The image is read in place (an archive is indexed, never extracted), the
 * layers applied to the rootfs by bootstrap/oci, every blob verified. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/oci/oci.h"
#include "common/cleanup.h"
#include "common/strbuf.h"

/* Splits From into an existing path and a reference: the whole value when it
 * exists, else the shortest prefix before a ':' or '@' that exists. */
static int split_from(const char *from, char **path, char **ref, sb_error_t *err)
{
	struct stat st;
	*ref = NULL;
	if (stat(from, &st) == 0) {
		*path = sb_strdup(from);
		return 0;
	}
	for (const char *p = from; *p; p++) {
		if (*p != ':' && *p != '@')
			continue;
		cleanup_free char *pre = sb_strndup(from, (size_t)(p - from));
		if (*pre && stat(pre, &st) == 0) {
			*path = steal_pointer(&pre);
			*ref = sb_strdup(*p == '@' ? p + 1 : p + 1);
			return 0;
		}
	}
	return sb_error_set_status(err, 2, ENOENT, "From: %s", from);
}

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *from = bootstrap_header_get(r, "from");
	if (from == NULL || *from == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: %s needs a From: line",
					   bootstrap_header_get(r, "bootstrap"));
	if (r->arch) {
		struct oci_platform p;
		if (oci_platform_parse(r->arch, r->arch_variant, &p, err) < 0)
			return -1;
	}
	return 0;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       enum oci_source_kind kind, sb_error_t *err)
{
	if (validate(r, err) < 0)
		return -1;
	const char *from = bootstrap_header_get(r, "from");
	cleanup_free char *path = NULL, *ref = NULL;
	if (split_from(from, &path, &ref, err) < 0)
		return -1;
	struct oci_platform plat, *want = NULL;
	if (r->arch) {
		oci_platform_parse(r->arch, r->arch_variant, &plat, NULL);
		want = &plat;
	}
	struct oci_store *s = kind == OCI_SOURCE_LAYOUT ? oci_store_open_dir(path, err)
							: oci_store_open_tar(path, err);
	if (s == NULL)
		return -1;
	int rc = -1;
	struct oci_image *img = oci_image_open(s, kind, ref, want, r->warn, r->warn_ctx, err);
	if (img) {
		struct oci_apply_options o = { .privileged = r->privileged, .owners = r->owners,
					       .warn = r->warn, .warn_ctx = r->warn_ctx };
		rc = oci_image_unpack(s, img, r->rootfs, &o, err);
	}
	if (rc == 0) {
		res->oci_config = steal_pointer(&img->config_json);
		res->oci_config_len = img->config_len;
		res->image_digest = img->manifest_digest ? sb_strdup(img->manifest_digest) : NULL;
	}
	if (rc < 0)
		sb_error_wrap(err, "%s", from);
	oci_image_free(img);
	oci_store_free(s);
	return rc;
}

static int mat_layout(const struct bootstrap_request *r, struct bootstrap_result *res,
		      sb_error_t *err)
{
	return materialise(r, res, OCI_SOURCE_LAYOUT, err);
}

static int mat_oci_archive(const struct bootstrap_request *r, struct bootstrap_result *res,
			   sb_error_t *err)
{
	return materialise(r, res, OCI_SOURCE_OCI_ARCHIVE, err);
}

static int mat_docker_archive(const struct bootstrap_request *r, struct bootstrap_result *res,
			      sb_error_t *err)
{
	return materialise(r, res, OCI_SOURCE_DOCKER_ARCHIVE, err);
}

const struct bootstrap_ops bootstrap_oci_ops = { validate, mat_layout };
const struct bootstrap_ops bootstrap_oci_archive_ops = { validate, mat_oci_archive };
const struct bootstrap_ops bootstrap_docker_archive_ops = { validate, mat_docker_archive };
