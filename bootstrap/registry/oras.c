/* bootstrap/registry/oras.c: SIF images as ORAS artifacts (oras:// pull, push). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap/registry/pull.h"
#include "common/cleanup.h"
#include "common/fs.h"

#define EMPTY_JSON_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* A SIF starts with a 32-byte launch line, then "SIF_MAGIC". */
static int check_sif_magic(int fd, const char *what, sb_error_t *err)
{
	char hdr[48];
	if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr + 32, "SIF_MAGIC", 9) != 0)
		return sb_error_set(err, 0, "%s is not a SIF file", what);
	return 0;
}

static int sif_layer(const struct sb_reg_manifest *m, struct sb_registry_blob *b, sb_error_t *err)
{
	json_t *layers = json_object_get(m->json, "layers");
	if (!json_is_array(layers) || json_array_size(layers) != 1)
		return sb_error_set(err, 0,
				    "manifest %s: a SIF artifact has exactly one layer, not %zu",
				    m->digest, json_array_size(layers));
	if (sb_reg_descriptor(json_array_get(layers, 0), b, "SIF layer", err) < 0)
		return -1;
	if (strcmp(b->media_type, SB_MT_SIF_LAYER) != 0 &&
	    strcmp(b->media_type, SB_MT_SIF_LAYER_LEGACY) != 0)
		return sb_error_set(err, 0, "manifest %s: layer type %s is not a SIF (%s)",
				    m->digest, b->media_type, SB_MT_SIF_LAYER);
	return 0;
}

static int copy_out(const char *src, const char *dest, sb_error_t *err)
{
	cleanup_free char *tmp = sb_temp_beside(dest, err);
	if (tmp == NULL)
		return -1;
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	cleanup_close int out = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int rc = in < 0 || out < 0 ? -1 : 0;
	char buf[1 << 16];
	ssize_t n = 0;
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (rc == 0 && (n < 0 || fchmod(out, 0755) < 0 || rename(tmp, dest) < 0))
		rc = -1;
	if (rc < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "writing %s", dest);
	}
	return 0;
}

static int pull_sif_blob(struct sb_reg_session *s, struct sb_reg_store *st, const char *dest,
			 char **mdigest, sb_error_t *err)
{
	struct sb_reg_manifest top = {0}, man = {0};
	struct sb_reg_platform plat = {0};
	struct sb_registry_blob layer = {0};
	bool offline = false;
	int rc = sb_reg_resolve_top(s, st, &top, &offline, err);
	if (rc == 0)
		rc = sb_reg_select(s, st, &top, &man, &plat, err);
	if (rc == 0)
		rc = sif_layer(&man, &layer, err);
	struct sb_reg_blob_req req = {layer.digest, layer.size, "sif"};
	if (rc == 0)
		rc = sb_reg_fetch_blobs(s, st, &req, 1, err);
	cleanup_free char *path = rc == 0 ? sb_reg_store_path(st, layer.digest) : NULL;
	if (rc == 0) {
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
		rc = check_sif_magic(fd, layer.digest, err);
	}
	if (rc == 0)
		rc = copy_out(path, dest, err);
	if (rc == 0 && mdigest != NULL)
		*mdigest = sb_strdup(man.digest);
	free(layer.media_type);
	free(layer.digest);
	sb_reg_platform_release(&plat);
	sb_reg_manifest_release(&man);
	sb_reg_manifest_release(&top);
	return rc;
}

int sb_registry_pull_sif(const char *text, const struct sb_registry_options *opts,
			 const char *dest_path, char **manifest_digest, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (sb_registry_ref_parse(text, &ref, err) < 0)
		return -1;
	ref.transport = SB_REGISTRY_ORAS;
	cleanup_free char *name = sb_registry_ref_string(&ref);
	cleanup_free char *tmpdir = NULL;
	struct sb_reg_store st = {0};
	struct sb_reg_session s = {0};
	int rc = 0;
	if (opts->disable_cache) {
		tmpdir = sb_asprintf("%s.sifbuild-pull-XXXXXX", dest_path);
		if (mkdtemp(tmpdir) == NULL)
			rc = sb_error_set(err, errno, "creating a directory beside %s", dest_path);
	}
	if (rc == 0)
		rc = sb_reg_open_store(opts, tmpdir, &st, err);
	if (rc == 0)
		rc = sb_reg_session_init(&s, &ref, opts, "pull", err);
	if (rc == 0)
		rc = pull_sif_blob(&s, &st, dest_path, manifest_digest, err);
	if (rc < 0)
		sb_error_wrap(err, "pulling %s", name);
	if (tmpdir != NULL && access(tmpdir, F_OK) == 0)
		sb_rm_rf(tmpdir, NULL);
	sb_reg_session_release(&s);
	sb_reg_store_release(&st);
	sb_registry_ref_release(&ref);
	return rc;
}

/* ------------------------------------------------------------ push */

/* PATCHes the file in chunk_size pieces to the upload at *loc (which each
 * answer moves on). */
static int upload_chunks(struct sb_reg_session *s, char **loc, int fd, int64_t len,
			 const char *what, sb_error_t *err)
{
	int64_t chunk = s->opts->chunk_size;
	struct sb_reg_response r = {0};
	int rc = 0;
	for (int64_t off = 0; rc == 0 && off < len; off += chunk) {
		int64_t n = len - off < chunk ? len - off : chunk;
		char range[80];
		snprintf(range, sizeof(range), "Content-Range: %lld-%lld", (long long)off,
			 (long long)(off + n - 1));
		struct sb_reg_req req = SB_REG_REQ_INIT;
		req.method = "PATCH", req.url = *loc, req.body_fd = fd, req.body_off = off;
		req.body_len = n, req.header = range, req.content_type = "application/octet-stream";
		rc = sb_reg_request(s, &req, &r, err);
		if (rc == 0 && (r.status != 202 || r.location == NULL))
			rc = sb_reg_http_error(s, &r, what, err);
		if (rc == 0) {
			char *next = sb_reg_resolve_url(r.url, r.location);
			free(*loc);
			*loc = next;
		}
	}
	sb_reg_response_release(&r);
	return rc;
}

/* POST: a new upload session; *loc gets its URL. */
static int start_upload(struct sb_reg_session *s, const char *what, char **loc, sb_error_t *err)
{
	cleanup_free char *post_url = sb_asprintf("/v2/%s/blobs/uploads/", s->ref->repository);
	struct sb_reg_req req = SB_REG_REQ_INIT;
	struct sb_reg_response r = {0};
	req.method = "POST", req.url = post_url;
	int rc = sb_reg_request(s, &req, &r, err);
	if (rc == 0 && (r.status != 202 || r.location == NULL))
		rc = sb_reg_http_error(s, &r, what, err);
	if (rc == 0)
		*loc = sb_reg_resolve_url(r.url, r.location);
	sb_reg_response_release(&r);
	return rc;
}

/* Uploads one blob unless the registry has it: POST, then one PUT with the
 * data (monolithic) or PATCHes and an empty PUT (chunked, opts->chunk_size). */
static int upload_blob(struct sb_reg_session *s, const char *digest, const void *data, int fd,
		       int64_t len, sb_error_t *err)
{
	cleanup_free char *head_url = sb_asprintf("/v2/%s/blobs/%s", s->ref->repository, digest);
	cleanup_free char *what = sb_asprintf("upload of blob %s", digest);
	struct sb_reg_req req = SB_REG_REQ_INIT;
	struct sb_reg_response r = {0};
	req.method = "HEAD", req.url = head_url;
	int rc = sb_reg_request(s, &req, &r, err);
	if (rc < 0 || r.status == 200) {
		sb_reg_response_release(&r);
		return rc;
	}
	cleanup_free char *loc = NULL;
	rc = start_upload(s, what, &loc, err);
	bool chunked = fd >= 0 && s->opts->chunk_size > 0 && len > s->opts->chunk_size;
	if (rc == 0 && chunked)
		rc = upload_chunks(s, &loc, fd, len, what, err);
	cleanup_free char *put_url =
		loc ? sb_asprintf("%s%cdigest=%s", loc, strchr(loc, '?') ? '&' : '?', digest)
		    : NULL;
	if (rc == 0) {
		struct sb_reg_req put = SB_REG_REQ_INIT;
		put.method = "PUT", put.url = put_url,
		put.content_type = "application/octet-stream";
		if (!chunked)
			put.body = data, put.body_fd = fd, put.body_len = len;
		rc = sb_reg_request(s, &put, &r, err);
		if (rc == 0 && r.status != 201)
			rc = sb_reg_http_error(s, &r, what, err);
	}
	sb_reg_response_release(&r);
	return rc;
}

static char *file_digest(int fd, int64_t *size)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	char buf[1 << 16];
	ssize_t n;
	int64_t off = 0;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += n;
	}
	unsigned char h[32];
	unsigned int hl = 0;
	EVP_DigestFinal_ex(md, h, &hl);
	EVP_MD_CTX_free(md);
	if (n < 0)
		return NULL;
	char *out = sb_xmalloc(72);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", h[i]);
	*size = off;
	return out;
}

static char *sif_manifest(const char *layer_digest, int64_t size, const char *title)
{
	char created[32];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t t = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	json_t *m = json_pack(
		"{s:i, s:s, s:{s:s, s:s, s:i, s:s}, s:[{s:s, s:s, s:I, s:{s:s}}], s:{s:s}}",
		"schemaVersion", 2, "mediaType", SB_MT_OCI_MANIFEST, "config", "mediaType",
		SB_MT_SIF_CONFIG, "digest", EMPTY_JSON_DIGEST, "size", 2, "data", "e30=", "layers",
		"mediaType", SB_MT_SIF_LAYER, "digest", layer_digest, "size", (json_int_t)size,
		"annotations", "org.opencontainers.image.title", title, "annotations",
		"org.opencontainers.image.created", created);
	char *text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return text;
}

static int push_manifest(struct sb_reg_session *s, const char *text, char **mdigest,
			 sb_error_t *err)
{
	const char *tag = s->ref->digest ? s->ref->digest : s->ref->tag;
	cleanup_free char *url = sb_asprintf("/v2/%s/manifests/%s", s->ref->repository, tag);
	struct sb_reg_req req = SB_REG_REQ_INIT;
	req.method = "PUT", req.url = url, req.body = text, req.body_len = (int64_t)strlen(text);
	req.content_type = SB_MT_OCI_MANIFEST;
	struct sb_reg_response r = {0};
	int rc = sb_reg_request(s, &req, &r, err);
	if (rc == 0 && r.status != 201)
		rc = sb_reg_http_error(s, &r, "manifest upload", err);
	sb_reg_response_release(&r);
	if (rc == 0 && mdigest != NULL)
		*mdigest = sb_reg_sha256_digest(text, strlen(text));
	return rc;
}

static int push_file(struct sb_reg_session *s, const char *path, char **mdigest, sb_error_t *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "opening %s", path);
	if (check_sif_magic(fd, path, err) < 0)
		return -1;
	int64_t size = 0;
	cleanup_free char *digest = file_digest(fd, &size);
	if (digest == NULL)
		return sb_error_set(err, errno, "reading %s", path);
	if (upload_blob(s, EMPTY_JSON_DIGEST, "{}", -1, 2, err) < 0 ||
	    upload_blob(s, digest, NULL, fd, size, err) < 0)
		return -1;
	const char *base = strrchr(path, '/');
	cleanup_free char *text = sif_manifest(digest, size, base ? base + 1 : path);
	return push_manifest(s, text, mdigest, err);
}

int sb_registry_push_sif(const char *path, const char *text, const struct sb_registry_options *opts,
			 char **manifest_digest, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (sb_registry_ref_parse(text, &ref, err) < 0)
		return -1;
	ref.transport = SB_REGISTRY_ORAS;
	cleanup_free char *name = sb_registry_ref_string(&ref);
	struct sb_reg_session s = {0};
	int rc = sb_reg_session_init(&s, &ref, opts, "pull,push", err);
	if (rc == 0)
		rc = push_file(&s, path, manifest_digest, err);
	if (rc < 0)
		sb_error_wrap(err, "pushing %s to %s", path, name);
	sb_reg_session_release(&s);
	sb_registry_ref_release(&ref);
	return rc;
}
