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
#include "common/fs.h"
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

/* ---------------------------------------------------------- streaming form */

struct bootstrap_stream {
	struct oci_store *s;
	struct oci_image *img;
	struct oci_stream *st; /* pass 1, once read */
	struct bootstrap_docker_blobs docker; /* docker: where the pull put the blobs */
	const struct bootstrap_request *r;
};

void bootstrap_stream_close(struct bootstrap_stream *bs)
{
	if (bs == NULL)
		return;
	oci_stream_free(bs->st);
	oci_image_free(bs->img);
	oci_store_free(bs->s);
	bootstrap_docker_blobs_release(&bs->docker);
	free(bs);
}

struct bootstrap_stream *bootstrap_stream_open(const char *agent, const struct bootstrap_request *r,
					       struct bootstrap_result *res, sb_error_t *err)
{
	enum oci_source_kind kind;
	bool docker = strcmp(agent, "docker") == 0;
	if (docker || strcmp(agent, "oci") == 0)
		kind = OCI_SOURCE_LAYOUT;
	else if (strcmp(agent, "oci-archive") == 0)
		kind = OCI_SOURCE_OCI_ARCHIVE;
	else if (strcmp(agent, "docker-archive") == 0)
		kind = OCI_SOURCE_DOCKER_ARCHIVE;
	else
		return NULL;
	struct bootstrap_stream *bs = sb_xcalloc(1, sizeof(*bs));
	bs->r = r;
	const char *from = bootstrap_header_get(r, "from");
	cleanup_free char *path = NULL, *ref = NULL;
	if (docker) {
		if (bootstrap_docker_fetch(r, &bs->docker, err) < 0)
			goto fail;
		path = sb_strdup(bs->docker.store);
	} else if (validate(r, err) < 0 || split_from(from, &path, &ref, err) < 0) {
		goto fail;
	}
	struct oci_platform plat, *want = NULL;
	if (r->arch) {
		oci_platform_parse(r->arch, r->arch_variant, &plat, NULL);
		want = &plat;
	}
	bs->s = kind == OCI_SOURCE_LAYOUT ? oci_store_open_dir(path, err) : oci_store_open_tar(path, err);
	if (bs->s == NULL)
		goto fail;
	if (docker) { /* the blobs in the cache, read in place */
		struct oci_descriptor d = { .digest = bs->docker.manifest_digest,
					    .media_type = bs->docker.manifest_type,
					    .size = bs->docker.manifest_size };
		bs->img = oci_image_open_manifest(bs->s, &d, want, r->warn, r->warn_ctx, err);
	} else {
		bs->img = oci_image_open(bs->s, kind, ref, want, r->warn, r->warn_ctx, err);
	}
	if (bs->img == NULL)
		goto fail;
	res->oci_config = sb_strndup(bs->img->config_json, bs->img->config_len);
	res->oci_config_len = bs->img->config_len;
	res->image_digest = bs->img->manifest_digest ? sb_strdup(bs->img->manifest_digest) : NULL;
	return bs;
fail:
	if (!docker && from)
		sb_error_wrap(err, "%s", from);
	bootstrap_stream_close(bs);
	return NULL;
}

/* Pass 1, once. */
static int scanned(struct bootstrap_stream *bs, sb_error_t *err)
{
	if (bs->st == NULL)
		bs->st = oci_stream_scan(bs->s, bs->img, bs->r->warn, bs->r->warn_ctx, err);
	return bs->st ? 0 : -1;
}

int bootstrap_stream_export(struct bootstrap_stream *bs, const char *dir, const char *const *globs,
			    size_t n_globs, size_t max, sb_error_t *err)
{
	if (scanned(bs, err) < 0 || oci_stream_export(bs->st, dir, globs, n_globs, max, err) < 0)
		return sb_error_wrap(err, "%s", bootstrap_header_get(bs->r, "from"));
	return 0;
}

int bootstrap_stream_fill(struct bootstrap_stream *bs, struct sif_sqfs_writer *w, sb_error_t *err)
{
	if (scanned(bs, err) < 0 || oci_stream_emit(bs->st, w, err) < 0)
		return sb_error_wrap(err, "%s", bootstrap_header_get(bs->r, "from"));
	return 0;
}
