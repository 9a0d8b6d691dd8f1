/* bootstrap/registry/manifest.c: fetching manifests (through the cache) and
 * choosing a platform from an index or manifest list. */
#include <errno.h>
#include <string.h>

#include "bootstrap/registry/manifest.h"
#include "common/cleanup.h"

void sb_reg_manifest_release(struct sb_reg_manifest *m)
{
	free(m->data);
	free(m->digest);
	free(m->media_type);
	json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

/* The media type from Content-Type, else the body's mediaType, else by shape. */
static char *media_type_of(const char *content_type, json_t *j)
{
	if (content_type != NULL && strncmp(content_type, "application/", 12) == 0 &&
	    strstr(content_type, "json") != NULL &&
	    strncmp(content_type, "application/json", 16) != 0)
		return sb_strndup(content_type, strcspn(content_type, "; "));
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (mt != NULL)
		return sb_strdup(mt);
	if (json_object_get(j, "manifests") != NULL)
		return sb_strdup(SB_MT_OCI_INDEX);
	return sb_strdup(SB_MT_OCI_MANIFEST);
}

static int parse_manifest(struct sb_reg_manifest *m, const char *content_type, const char *what,
			  sb_error_t *err)
{
	json_error_t jerr;
	m->json = json_loadb(m->data, m->len, 0, &jerr);
	if (m->json == NULL || !json_is_object(m->json))
		return sb_error_set(err, 0, "%s: invalid JSON (%s)", what, jerr.text);
	m->media_type = media_type_of(content_type, m->json);
	m->is_index = strcmp(m->media_type, SB_MT_OCI_INDEX) == 0 ||
		      strcmp(m->media_type, SB_MT_DOCKER_LIST) == 0;
	if (strstr(m->media_type, "distribution.manifest.v1") != NULL)
		return sb_error_set(err, 0, "%s: Docker schema 1 manifests are not supported",
				    what);
	return 0;
}

static int from_store(struct sb_reg_store *st, const char *digest, struct sb_reg_manifest *m,
		      sb_error_t *err)
{
	cleanup_free char *path = sb_reg_store_path(st, digest);
	m->data = sb_read_file(path, &m->len);
	if (m->data == NULL)
		return sb_error_set(err, errno, "reading cached manifest %s", path);
	m->digest = sb_strdup(digest);
	return parse_manifest(m, NULL, digest, err);
}

int sb_reg_manifest_get(struct sb_reg_session *s, struct sb_reg_store *st,
			const char *tag_or_digest, bool head_first, struct sb_reg_manifest *m,
			sb_error_t *err)
{
	memset(m, 0, sizeof(*m));
	bool by_digest = strncmp(tag_or_digest, "sha256:", 7) == 0;
	if (by_digest && sb_reg_store_has(st, tag_or_digest, -1))
		return from_store(st, tag_or_digest, m, err);
	cleanup_free char *url =
		sb_asprintf("/v2/%s/manifests/%s", s->ref->repository, tag_or_digest);
	cleanup_free char *what = sb_asprintf("manifest %s%c%s", s->ref->repository,
					      by_digest ? '@' : ':', tag_or_digest);
	struct sb_reg_req req = SB_REG_REQ_INIT;
	req.url = url;
	req.accept = SB_REG_ACCEPT;
	req.what = what;
	struct sb_reg_response r = {0};
	if (head_first && !by_digest) {
		req.method = "HEAD";
		if (sb_reg_request(s, &req, &r, err) < 0)
			return -1;
		if (r.status == 200 && r.digest && sb_reg_digest_check(r.digest, NULL) == 0 &&
		    sb_reg_store_has(st, r.digest, -1)) {
			int rc = from_store(st, r.digest, m, err);
			sb_reg_response_release(&r);
			return rc;
		}
		sb_reg_response_release(&r);
		req.method = "GET";
	}
	if (sb_reg_request(s, &req, &r, err) < 0)
		return -1;
	int rc = 0;
	if (r.status != 200) {
		rc = sb_reg_http_error(s, &r, what, err);
	} else {
		m->len = r.body.len;
		m->data = sb_strbuf_detach(&r.body, NULL);
		m->digest = sb_reg_sha256_digest(m->data, m->len);
		if (by_digest && strcmp(m->digest, tag_or_digest) != 0)
			rc = sb_error_set(err, 0, "%s: digest mismatch (got %s)", what, m->digest);
		if (rc == 0)
			rc = parse_manifest(m, r.content_type, what, err);
		if (rc == 0)
			rc = sb_reg_store_put(st, m->digest, m->data, m->len, err);
	}
	sb_reg_response_release(&r);
	if (rc < 0)
		sb_reg_manifest_release(m);
	return rc;
}

/* ------------------------------------------------------------ platforms */

/* Variant after defaults: arm64 "" == v8, arm "" == v7. */
static const char *norm_variant(const char *arch, const char *variant)
{
	if (variant != NULL && *variant)
		return variant;
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	return "";
}

static bool is_attestation(json_t *entry)
{
	json_t *p = json_object_get(entry, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));
	const char *kind = json_string_value(json_object_get(json_object_get(entry, "annotations"),
							     "vnd.docker.reference.type"));
	if (kind != NULL && strcmp(kind, "attestation-manifest") == 0)
		return true;
	return os == NULL || arch == NULL || strcmp(os, "unknown") == 0 ||
	       strcmp(arch, "unknown") == 0;
}

static json_t *find_entry(json_t *list, const char *os, const char *arch, const char *variant)
{
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		if (is_attestation(e))
			continue;
		json_t *p = json_object_get(e, "platform");
		const char *eos = json_string_value(json_object_get(p, "os"));
		const char *earch = json_string_value(json_object_get(p, "architecture"));
		const char *ev = json_string_value(json_object_get(p, "variant"));
		if (strcmp(eos, os) == 0 && strcmp(earch, arch) == 0 &&
		    strcmp(norm_variant(earch, ev), norm_variant(arch, variant)) == 0)
			return e;
	}
	return NULL;
}

static char *available(json_t *list)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		if (is_attestation(e))
			continue;
		json_t *p = json_object_get(e, "platform");
		const char *v = json_string_value(json_object_get(p, "variant"));
		sb_strbuf_addf(&sb, "%s%s/%s%s%s", sb.len ? ", " : "",
			       json_string_value(json_object_get(p, "os")),
			       json_string_value(json_object_get(p, "architecture")), v ? "/" : "",
			       v ? v : "");
	}
	return sb_strbuf_detach(&sb, NULL);
}

int sb_reg_choose_platform(const struct sb_reg_manifest *index,
			   const struct sb_registry_options *opts, struct sb_reg_platform *out,
			   sb_error_t *err)
{
	const char *harch, *hvariant;
	sb_registry_host_platform(&harch, &hvariant);
	const char *os = opts->os ? opts->os : "linux";
	const char *arch = opts->arch ? opts->arch : harch;
	const char *variant = opts->variant ? opts->variant : (opts->arch ? "" : hvariant);
	json_t *list = json_object_get(index->json, "manifests");
	if (!json_is_array(list))
		return sb_error_set(err, 0, "index %s has no manifests", index->digest);
	json_t *e = find_entry(list, os, arch, variant);
	/* An ARM host runs lower variants: v8 -> v7 -> v6. */
	static const char *const lower[] = {"v7", "v6", NULL};
	const char *want = norm_variant(arch, variant);
	for (size_t i = 0; e == NULL && strncmp(arch, "arm", 3) == 0 && lower[i]; i++)
		if (strcmp(lower[i], want) < 0)
			e = find_entry(list, os, "arm", lower[i]);
	if (e == NULL) {
		cleanup_free char *have = available(list);
		return sb_error_set(err, 0, "no image for platform %s/%s%s%s in %s (available: %s)",
				    os, arch, *variant ? "/" : "", variant, index->digest, have);
	}
	json_t *p = json_object_get(e, "platform");
	const char *d = json_string_value(json_object_get(e, "digest"));
	if (sb_reg_digest_check(d, err) < 0)
		return sb_error_wrap(err, "index %s", index->digest);
	out->digest = sb_strdup(d);
	out->os = sb_strdup(json_string_value(json_object_get(p, "os")));
	out->arch = sb_strdup(json_string_value(json_object_get(p, "architecture")));
	const char *v = json_string_value(json_object_get(p, "variant"));
	out->variant = sb_strdup(v ? v : "");
	return 0;
}

void sb_reg_platform_release(struct sb_reg_platform *p)
{
	free(p->digest);
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

/* Reads descriptor d ("config" or a layer) into b (no path yet). */
int sb_reg_descriptor(json_t *d, struct sb_registry_blob *b, const char *what, sb_error_t *err)
{
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *dig = json_string_value(json_object_get(d, "digest"));
	json_t *size = json_object_get(d, "size");
	if (!json_is_object(d) || dig == NULL || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return sb_error_set(err, 0, "%s: descriptor without digest or size", what);
	if (sb_reg_digest_check(dig, err) < 0)
		return sb_error_wrap(err, "%s", what);
	b->media_type = sb_strdup(mt ? mt : "");
	b->digest = sb_strdup(dig);
	b->size = (int64_t)json_integer_value(size);
	return 0;
}
