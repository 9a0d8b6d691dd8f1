/* bootstrap/oci/image.c: from index.json (or docker's manifest.json) to one
 * image: manifest, verified config, layer descriptors. */
#include "bootstrap/oci/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

#define JSON_MAX (8u << 20)

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, OCI_MT_DOCKER_LIST) == 0);
}

static void platform_str(struct sb_strbuf *sb, const char *os, const char *arch, const char *var)
{
	sb_strbuf_addf(sb, "%s/%s", os ? os : "?", arch ? arch : "?");
	if (var && *var)
		sb_strbuf_addf(sb, "/%s", var);
}

static bool ref_matches(const struct oci_descriptor *d, const char *ref)
{
	if (strncmp(ref, "sha256:", 7) == 0)
		return strcmp(d->digest, ref) == 0;
	if (d->ref_name && strcmp(d->ref_name, ref) == 0)
		return true;
	if (d->image_name) {
		size_t n = strlen(d->image_name), r = strlen(ref);
		if (strcmp(d->image_name, ref) == 0)
			return true;
		/* "docker.io/library/busybox:latest" answers to "latest" */
		if (n > r && d->image_name[n - r - 1] == ':' && strcmp(d->image_name + n - r, ref) == 0)
			return true;
	}
	return false;
}

static int no_ref_error(json_t *ms, const char *ref, sb_error_t *err)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m) {
		json_t *an = oci_json_get(m, "annotations");
		const char *r = oci_json_str(an, "org.opencontainers.image.ref.name");
		if (r == NULL)
			r = oci_json_str(an, "io.containerd.image.name");
		sb_strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", r ? r : oci_json_str(m, "digest"));
	}
	sb_error_set_status(err, 2, 0, "no image \"%s\" in the index; available: %s", ref,
			    sb.len ? sb.buf : "none");
	sb_strbuf_release(&sb);
	return -1;
}

/* Picks among cand (n entries, attestations already removed). */
static int pick_platform(struct oci_descriptor *cand, size_t n, const struct oci_platform *want,
			 struct oci_descriptor *out, sb_error_t *err)
{
	size_t with = 0;
	for (size_t i = 0; i < n; i++)
		with += cand[i].arch != NULL;
	if (with == 0) {
		if (n == 1) {
			oci_descriptor_copy(out, &cand[0]);
			return 0;
		}
		return sb_error_set_status(err, 2, 0,
					   "the index holds %zu images without platforms; name one "
					   "with a tag or a digest", n);
	}
	for (size_t i = 0; i < n; i++) {
		if (cand[i].arch && oci_platform_match(want, cand[i].os, cand[i].arch,
						       cand[i].variant)) {
			oci_descriptor_copy(out, &cand[i]);
			return 0;
		}
	}
	/* An ARM host runs lower variants (v7 on a v8-less arm, v6 on v7). */
	if (strcmp(want->arch, "arm") == 0) {
		struct oci_platform lower = *want;
		for (char v = want->variant[0] ? want->variant[1] : '7'; v > '5'; v--) {
			snprintf(lower.variant, sizeof(lower.variant), "v%c", v - 1);
			for (size_t i = 0; i < n; i++)
				if (cand[i].arch && oci_platform_match(&lower, cand[i].os, cand[i].arch,
								       cand[i].variant)) {
					oci_descriptor_copy(out, &cand[i]);
					return 0;
				}
		}
	}
	struct sb_strbuf sb = SB_STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (cand[i].arch == NULL)
			continue;
		if (sb.len)
			sb_strbuf_adds(&sb, ", ");
		platform_str(&sb, cand[i].os, cand[i].arch, cand[i].variant);
	}
	struct sb_strbuf w = SB_STRBUF_INIT;
	platform_str(&w, want->os, want->arch, want->variant);
	sb_error_set_status(err, 2, 0, "no image for platform %s in the index; available: %s",
			    w.buf, sb.buf);
	sb_strbuf_release(&sb);
	sb_strbuf_release(&w);
	return -1;
}

int oci_index_select(const char *json, size_t len, const char *ref,
		     const struct oci_platform *want, struct oci_descriptor *out, sb_error_t *err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);
	if (root == NULL)
		return sb_error_set_status(err, 2, 0, "index: invalid JSON: %s (line %d)", je.text,
					   je.line);
	json_t *ms = oci_json_get(root, "manifests");
	struct oci_platform host;
	if (want == NULL) {
		oci_platform_host(&host);
		want = &host;
	}
	int r = -1;
	struct oci_descriptor *cand = NULL;
	size_t n = 0, i;
	json_t *m;
	if (!json_is_array(ms)) {
		sb_error_set_status(err, 2, 0, "index: no \"manifests\" array");
		goto out;
	}
	cand = sb_xcalloc(json_array_size(ms) + 1, sizeof(*cand));
	json_array_foreach(ms, i, m) {
		struct oci_descriptor d;
		if (oci_descriptor_parse(m, &d, err) < 0) {
			sb_error_wrap(err, "index entry %zu", i);
			goto out;
		}
		if (d.attestation || (ref && *ref && !ref_matches(&d, ref)))
			oci_descriptor_clear(&d);
		else
			cand[n++] = d;
	}
	if (n == 0) {
		if (ref && *ref)
			no_ref_error(ms, ref, err);
		else
			sb_error_set_status(err, 2, 0, "the index lists no image");
		goto out;
	}
	r = pick_platform(cand, n, want, out, err);
out:
	for (size_t k = 0; k < n; k++)
		oci_descriptor_clear(&cand[k]);
	free(cand);
	json_decref(root);
	return r;
}

void oci_image_free(struct oci_image *img)
{
	if (img == NULL)
		return;
	free(img->manifest_digest);
	oci_descriptor_clear(&img->config);
	free(img->config_member);
	for (size_t i = 0; i < img->n_layers; i++) {
		oci_descriptor_clear(&img->layers[i]);
		if (img->layer_members)
			free(img->layer_members[i]);
	}
	free(img->layers);
	free(img->layer_members);
	for (size_t i = 0; i < img->n_diff_ids; i++)
		free(img->diff_ids[i]);
	free(img->diff_ids);
	free(img->config_json);
	free(img);
}

static json_t *load_json(const char *buf, size_t len, const char *what, sb_error_t *err)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, 0, &je);
	if (j == NULL)
		sb_error_set_status(err, 2, 0, "%s: invalid JSON: %s (line %d)", what, je.text,
				    je.line);
	return j;
}

/* Reads the config blob and its diff_ids into img. */
static int read_config(struct oci_store *s, struct oci_image *img, sb_error_t *err)
{
	struct oci_blob *b = img->config_member
				     ? oci_blob_open_name(s, img->config_member, img->config.digest, err)
				     : oci_blob_open(s, &img->config, err);
	if (b == NULL)
		return sb_error_wrap(err, "image config");
	struct sb_strbuf sb = SB_STRBUF_INIT;
	char chunk[16384];
	ssize_t n;
	while ((n = oci_blob_read(b, chunk, sizeof(chunk), err)) > 0 && sb.len < JSON_MAX)
		sb_strbuf_add(&sb, chunk, (size_t)n);
	oci_blob_close(b);
	if (n < 0 || sb.len >= JSON_MAX) {
		sb_strbuf_release(&sb);
		if (n >= 0)
			sb_error_set_status(err, 2, 0, "image config larger than %u bytes", JSON_MAX);
		return sb_error_wrap(err, "image config");
	}
	img->config_json = sb_strbuf_detach(&sb, &img->config_len);
	json_t *c = load_json(img->config_json, img->config_len, "image config", err);
	if (c == NULL)
		return -1;
	json_t *ids = oci_json_get(oci_json_get(c, "rootfs"), "diff_ids"), *v;
	size_t i;
	img->diff_ids = sb_xcalloc(json_array_size(ids) + 1, sizeof(char *));
	json_array_foreach(ids, i, v) {
		if (json_is_string(v) && oci_digest_check(json_string_value(v), NULL) == 0)
			img->diff_ids[img->n_diff_ids++] = sb_strdup(json_string_value(v));
	}
	json_decref(c);
	return 0;
}

static int parse_manifest(struct oci_image *img, const char *buf, size_t len, sb_error_t *err)
{
	json_t *m = load_json(buf, len, "manifest", err);
	if (m == NULL)
		return -1;
	int r = -1;
	json_t *layers = oci_json_get(m, "layers"), *l;
	if (oci_descriptor_parse(oci_json_get(m, "config"), &img->config, err) < 0) {
		sb_error_wrap(err, "manifest config");
		goto out;
	}
	if (!json_is_array(layers)) {
		sb_error_set_status(err, 2, 0, "manifest: no \"layers\" array");
		goto out;
	}
	img->layers = sb_xcalloc(json_array_size(layers) + 1, sizeof(*img->layers));
	size_t i;
	json_array_foreach(layers, i, l) {
		if (oci_descriptor_parse(l, &img->layers[i], err) < 0) {
			sb_error_wrap(err, "manifest layer %zu", i);
			goto out;
		}
		img->n_layers++;
	}
	r = 0;
out:
	json_decref(m);
	return r;
}

static int open_from(struct oci_store *s, struct oci_image *img, struct oci_descriptor d,
		     const struct oci_platform *want, sb_error_t *err);

/* Walks from the top index down to one manifest; fills img. */
static int open_layout(struct oci_store *s, struct oci_image *img, const char *ref,
		       const struct oci_platform *want, sb_error_t *err)
{
	size_t len;
	cleanup_free char *idx = oci_store_read(s, NULL, "index.json", JSON_MAX, &len, err);
	if (idx == NULL)
		return sb_error_wrap(err, "not an OCI image layout");
	struct oci_descriptor d = { 0 };
	if (oci_index_select(idx, len, ref, want, &d, err) < 0)
		return sb_error_wrap(err, "index.json");
	return open_from(s, img, d, want, err);
}

/* From descriptor d (taken) of an index or manifest down to one manifest. */
static int open_from(struct oci_store *s, struct oci_image *img, struct oci_descriptor d,
		     const struct oci_platform *want, sb_error_t *err)
{
	size_t len;
	for (int depth = 0;; depth++) {
		if (depth > 8) {
			oci_descriptor_clear(&d);
			return sb_error_set_status(err, 2, 0, "indexes nested more than 8 deep");
		}
		cleanup_free char *buf = oci_store_read(s, &d, NULL, JSON_MAX, &len, err);
		if (buf == NULL) {
			oci_descriptor_clear(&d);
			return -1;
		}
		bool is_index = is_index_type(d.media_type) ||
				(d.media_type == NULL && strstr(buf, "\"manifests\"") != NULL);
		if (!is_index) {
			img->manifest_digest = sb_strdup(d.digest);
			oci_descriptor_clear(&d);
			if (parse_manifest(img, buf, len, err) < 0)
				return sb_error_wrap(err, "manifest %s", img->manifest_digest);
			return 0;
		}
		struct oci_descriptor next = { 0 };
		int r = oci_index_select(buf, len, NULL, want, &next, err);
		if (r < 0)
			sb_error_wrap(err, "index %s", d.digest);
		oci_descriptor_clear(&d);
		if (r < 0)
			return -1;
		d = next;
	}
}

/* "busybox" -> "docker.io/library/busybox:latest" (for RepoTags matching). */
static char *docker_norm(const char *ref)
{
	const char *slash = strchr(ref, '/');
	bool has_host = slash && (memchr(ref, '.', (size_t)(slash - ref)) ||
				  memchr(ref, ':', (size_t)(slash - ref)) ||
				  strncmp(ref, "localhost/", 10) == 0);
	const char *last = strrchr(ref, '/');
	bool has_tag = strchr(last ? last : ref, ':') != NULL || strchr(ref, '@') != NULL;
	return sb_asprintf("%s%s%s%s", has_host ? "" : "docker.io/",
			   has_host || slash ? "" : "library/", ref, has_tag ? "" : ":latest");
}

/* Digest a docker-archive member name carries ("<hex>.json", "blobs/sha256/<hex>"). */
static char *digest_from_name(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	size_t hl = strspn(b, "0123456789abcdef");
	if (hl == 64 && (b[64] == '\0' || strcmp(b + 64, ".json") == 0))
		return sb_asprintf("sha256:%.64s", b);
	return NULL;
}

static json_t *pick_docker_entry(json_t *arr, const char *ref, sb_error_t *err)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		sb_error_set_status(err, 2, 0, "manifest.json: not a non-empty array");
		return NULL;
	}
	if ((ref == NULL || *ref == '\0') && json_array_size(arr) == 1)
		return json_array_get(arr, 0);
	cleanup_free char *want = ref && *ref ? docker_norm(ref) : NULL;
	struct sb_strbuf all = SB_STRBUF_INIT;
	size_t i, k;
	json_t *e, *t;
	json_array_foreach(arr, i, e) {
		json_array_foreach(oci_json_get(e, "RepoTags"), k, t) {
			if (!json_is_string(t))
				continue;
			cleanup_free char *have = docker_norm(json_string_value(t));
			if (want && strcmp(have, want) == 0) {
				sb_strbuf_release(&all);
				return e;
			}
			sb_strbuf_addf(&all, "%s%s", all.len ? ", " : "", json_string_value(t));
		}
	}
	if (want)
		sb_error_set_status(err, 2, 0, "manifest.json: no image %s; available: %s", ref,
				    all.len ? all.buf : "none");
	else
		sb_error_set_status(err, 2, 0, "manifest.json: %zu images, name one; available: %s",
				    json_array_size(arr), all.len ? all.buf : "none");
	sb_strbuf_release(&all);
	return NULL;
}

static int open_docker(struct oci_store *s, struct oci_image *img, const char *ref,
		       sb_error_t *err)
{
	size_t len;
	cleanup_free char *buf = oci_store_read(s, NULL, "manifest.json", JSON_MAX, &len, err);
	if (buf == NULL)
		return -1;
	json_t *arr = load_json(buf, len, "manifest.json", err);
	if (arr == NULL)
		return -1;
	int r = -1;
	json_t *e = pick_docker_entry(arr, ref, err), *layers, *l;
	if (e == NULL)
		goto out;
	const char *cfg = oci_json_str(e, "Config");
	layers = oci_json_get(e, "Layers");
	if (cfg == NULL || !json_is_array(layers)) {
		sb_error_set_status(err, 2, 0, "manifest.json: entry without Config or Layers");
		goto out;
	}
	img->config_member = sb_strdup(cfg);
	img->config.digest = digest_from_name(cfg);
	img->config.size = -1;
	size_t n = json_array_size(layers), i;
	img->layers = sb_xcalloc(n + 1, sizeof(*img->layers));
	img->layer_members = sb_xcalloc(n + 1, sizeof(char *));
	json_array_foreach(layers, i, l) {
		if (!json_is_string(l)) {
			sb_error_set_status(err, 2, 0, "manifest.json: layer %zu is not a path", i);
			goto out;
		}
		img->layer_members[i] = sb_strdup(json_string_value(l));
		img->layers[i].digest = digest_from_name(json_string_value(l));
		img->layers[i].size = -1;
		img->n_layers++;
	}
	r = 0;
out:
	json_decref(arr);
	return r;
}

static void check_config_platform(const struct oci_image *img, const struct oci_platform *want,
				  oci_warn_fn warn, void *wctx)
{
	json_t *c = json_loadb(img->config_json, img->config_len, 0, NULL);
	const char *os = oci_json_str(c, "os"), *arch = oci_json_str(c, "architecture");
	if (arch && !oci_platform_match(want, os ? os : "linux", arch, oci_json_str(c, "variant")))
		oci_warnf(warn, wctx, "the image is for %s/%s, not %s/%s%s%s", os ? os : "linux",
			  arch, want->os, want->arch, want->variant[0] ? "/" : "", want->variant);
	json_decref(c);
}

static struct oci_image *opened(struct oci_image *img, int r, const struct oci_platform *want,
				oci_warn_fn warn, void *warn_ctx, sb_error_t *err);

struct oci_image *oci_image_open(struct oci_store *s, enum oci_source_kind kind, const char *ref,
				 const struct oci_platform *want, oci_warn_fn warn, void *warn_ctx,
				 sb_error_t *err)
{
	struct oci_platform host;
	if (want == NULL) {
		oci_platform_host(&host);
		want = &host;
	}
	struct oci_image *img = sb_xcalloc(1, sizeof(*img));
	int r;
	if (kind == OCI_SOURCE_DOCKER_ARCHIVE && oci_store_has(s, "manifest.json"))
		r = open_docker(s, img, ref, err) < 0 ? -1 : read_config(s, img, err);
	else
		r = open_layout(s, img, ref, want, err) < 0 ? -1 : read_config(s, img, err);
	return opened(img, r, want, warn, warn_ctx, err);
}

struct oci_image *oci_image_open_manifest(struct oci_store *s, const struct oci_descriptor *d,
					  const struct oci_platform *want, oci_warn_fn warn,
					  void *warn_ctx, sb_error_t *err)
{
	struct oci_platform host;
	if (want == NULL) {
		oci_platform_host(&host);
		want = &host;
	}
	struct oci_image *img = sb_xcalloc(1, sizeof(*img));
	struct oci_descriptor copy = { .digest = sb_strdup(d->digest), .size = d->size,
				       .media_type = d->media_type ? sb_strdup(d->media_type) : NULL };
	int r = open_from(s, img, copy, want, err) < 0 ? -1 : read_config(s, img, err);
	return opened(img, r, want, warn, warn_ctx, err);
}

/* The checks every opened image goes through; img is freed on failure. */
static struct oci_image *opened(struct oci_image *img, int r, const struct oci_platform *want,
				oci_warn_fn warn, void *warn_ctx, sb_error_t *err)
{
	if (r < 0) {
		oci_image_free(img);
		return NULL;
	}
	if (img->n_layers == 0) {
		oci_image_free(img);
		sb_error_set_status(err, 2, 0, "no extractable OCI/Docker tar layers found in this image");
		return NULL;
	}
	if (img->n_diff_ids != img->n_layers) {
		oci_warnf(warn, warn_ctx, "the image config lists %zu diff_ids for %zu layers; "
			  "uncompressed layers are not checked", img->n_diff_ids, img->n_layers);
		for (size_t i = 0; i < img->n_diff_ids; i++)
			free(img->diff_ids[i]);
		img->n_diff_ids = 0;
	}
	check_config_platform(img, want, warn, warn_ctx);
	return img;
}

struct oci_blob *oci_image_open_layer(struct oci_store *s, const struct oci_image *img, size_t i,
				      sb_error_t *err)
{
	if (img->layer_members)
		return oci_blob_open_name(s, img->layer_members[i], img->layers[i].digest, err);
	const char *mt = img->layers[i].media_type;
	if (mt && !strstr(mt, "tar") && !strstr(mt, "layer")) {
		sb_error_set_status(err, 2, 0, "layer %s: unsupported media type %s",
				    img->layers[i].digest, mt);
		return NULL;
	}
	struct oci_blob *b = oci_blob_open(s, &img->layers[i], err);
	if (b == NULL && img->layers[i].foreign)
		sb_error_wrap(err, "foreign layer (published only at its URLs, which sifbuild does "
			      "not download)");
	return b;
}
