/* bootstrap/registry/pull.c: sb_registry_pull (docker:// images). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/registry/manifest.h"
#include "bootstrap/registry/pull.h"
#include "common/cleanup.h"

void sb_registry_options_init(struct sb_registry_options *opts)
{
	memset(opts, 0, sizeof(*opts));
}

static void blob_release(struct sb_registry_blob *b)
{
	free(b->media_type);
	free(b->digest);
	free(b->path);
	memset(b, 0, sizeof(*b));
}

void sb_registry_image_free(struct sb_registry_image *img)
{
	if (img == NULL)
		return;
	free(img->reference);
	free(img->index_digest);
	blob_release(&img->manifest);
	blob_release(&img->config);
	for (size_t i = 0; i < img->n_layers; i++)
		blob_release(&img->layers[i]);
	free(img->layers);
	free(img->os);
	free(img->arch);
	free(img->variant);
	free(img);
}

void sb_reg_warn(const struct sb_registry_options *opts, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vwarnf(opts->warn, opts->warn_data, fmt, ap);
	va_end(ap);
}

int sb_reg_open_store(const struct sb_registry_options *opts, const char *fallback_dir,
		      struct sb_reg_store *st, sb_error_t *err)
{
	if (opts->disable_cache) {
		if (fallback_dir == NULL)
			return sb_error_set(err, 0, "disable_cache needs a destination directory");
		return sb_reg_store_open(st, fallback_dir, false, err);
	}
	cleanup_free char *dir =
		opts->cache_dir ? sb_strdup(opts->cache_dir) : sb_registry_cache_dir(err);
	if (dir == NULL)
		return -1;
	return sb_reg_store_open(st, dir, true, err);
}

/* The top-level manifest (or index) of ref; a tag whose registry cannot be
 * reached is taken from the cache when it was pulled before. */
int sb_reg_resolve_top(struct sb_reg_session *s, struct sb_reg_store *st, struct sb_reg_manifest *m,
		       bool *offline, sb_error_t *err)
{
	const struct sb_registry_ref *ref = s->ref;
	const char *what = ref->digest ? ref->digest : ref->tag;
	cleanup_free char *key = sb_registry_ref_string(ref);
	sb_error_t e = NULL;
	*offline = false;
	if (sb_reg_manifest_get(s, st, what, true, m, &e) == 0) {
		if (ref->digest == NULL)
			sb_reg_store_ref_set(st, key, m->digest);
		return 0;
	}
	cleanup_free char *cached = NULL;
	if (ref->digest == NULL && e->errnum == ECONNREFUSED)
		cached = sb_reg_store_ref_get(st, key);
	if (cached == NULL || !sb_reg_store_has(st, cached, -1)) {
		if (err != NULL && *err == NULL)
			*err = e;
		else
			sb_error_free(&e);
		return -1;
	}
	sb_reg_warn(s->opts, "%s; using %s from the cache (%s)", sb_error_message(e), key, cached);
	sb_error_free(&e);
	*offline = true;
	return sb_reg_manifest_get(s, st, cached, false, m, err);
}

static int read_descriptors(struct sb_registry_image *img, const struct sb_reg_manifest *m,
			    sb_error_t *err)
{
	json_t *cfg = json_object_get(m->json, "config");
	json_t *layers = json_object_get(m->json, "layers");
	if (!json_is_object(cfg) || !json_is_array(layers))
		return sb_error_set(err, 0, "manifest %s: no config or layers (media type %s)",
				    m->digest, m->media_type);
	if (sb_reg_descriptor(cfg, &img->config, "config", err) < 0)
		return sb_error_wrap(err, "manifest %s", m->digest);
	if (strcmp(img->config.media_type, SB_MT_SIF_CONFIG) == 0)
		return sb_error_set(err, 0, "%s is a SIF artifact (ORAS): use oras://",
				    img->reference);
	img->n_layers = json_array_size(layers);
	img->layers = sb_xcalloc(img->n_layers, sizeof(*img->layers));
	for (size_t i = 0; i < img->n_layers; i++) {
		cleanup_free char *what = sb_asprintf("layer %zu", i + 1);
		if (sb_reg_descriptor(json_array_get(layers, i), &img->layers[i], what, err) < 0)
			return sb_error_wrap(err, "manifest %s", m->digest);
	}
	return 0;
}

/* Downloads config and layers; sets their paths. */
static int fetch_all(struct sb_reg_session *s, struct sb_reg_store *st,
		     struct sb_registry_image *img, sb_error_t *err)
{
	size_t n = img->n_layers + 1;
	struct sb_reg_blob_req *reqs = sb_xcalloc(n, sizeof(*reqs));
	char **labels = sb_xcalloc(n, sizeof(*labels));
	for (size_t i = 0; i < n; i++) {
		struct sb_registry_blob *b = i == 0 ? &img->config : &img->layers[i - 1];
		labels[i] = i == 0 ? sb_strdup("config") : sb_asprintf("layer %zu", i);
		reqs[i] = (struct sb_reg_blob_req){b->digest, b->size, labels[i]};
	}
	int rc = sb_reg_fetch_blobs(s, st, reqs, n, err);
	for (size_t i = 0; i < n; i++) {
		struct sb_registry_blob *b = i == 0 ? &img->config : &img->layers[i - 1];
		b->path = sb_reg_store_path(st, b->digest);
		free(labels[i]);
	}
	free(labels);
	free(reqs);
	return rc;
}

/* Platform fields from the config (architecture, os, variant). */
static void platform_from_config(struct sb_registry_image *img)
{
	if (img->arch != NULL)
		return;
	json_t *j = json_load_file(img->config.path, 0, NULL);
	const char *os = json_string_value(json_object_get(j, "os"));
	const char *arch = json_string_value(json_object_get(j, "architecture"));
	const char *v = json_string_value(json_object_get(j, "variant"));
	img->os = sb_strdup(os ? os : "");
	img->arch = sb_strdup(arch ? arch : "");
	img->variant = sb_strdup(v ? v : "");
	json_decref(j);
}

/* A plain manifest is taken as it is; say so when it is for another platform. */
static void warn_platform(const struct sb_registry_options *opts,
			  const struct sb_registry_image *img)
{
	const char *harch, *hvariant;
	sb_registry_host_platform(&harch, &hvariant);
	const char *want = opts->arch ? opts->arch : harch;
	if (*img->arch && strcmp(img->arch, want) != 0)
		sb_reg_warn(opts, "%s is an image for %s/%s, not %s", img->reference,
			    *img->os ? img->os : "?", img->arch, want);
}

static void set_manifest_blob(struct sb_registry_image *img, struct sb_reg_store *st,
			      const struct sb_reg_manifest *m)
{
	img->manifest.media_type = sb_strdup(m->media_type);
	img->manifest.digest = sb_strdup(m->digest);
	img->manifest.size = (int64_t)m->len;
	img->manifest.path = sb_reg_store_path(st, m->digest);
}

/* Index -> chosen manifest; a plain manifest stays. */
int sb_reg_select(struct sb_reg_session *s, struct sb_reg_store *st, struct sb_reg_manifest *top,
		  struct sb_reg_manifest *out, struct sb_reg_platform *plat, sb_error_t *err)
{
	if (!top->is_index) {
		*out = *top;
		memset(top, 0, sizeof(*top));
		return 0;
	}
	if (sb_reg_choose_platform(top, s->opts, plat, err) < 0)
		return -1;
	if (sb_reg_manifest_get(s, st, plat->digest, false, out, err) < 0)
		return -1;
	if (out->is_index)
		return sb_error_set(err, 0, "index %s points at another index", top->digest);
	return 0;
}

static int pull_image(struct sb_reg_session *s, struct sb_reg_store *st,
		      struct sb_registry_image *img, sb_error_t *err)
{
	struct sb_reg_manifest top = {0}, man = {0};
	struct sb_reg_platform plat = {0};
	int rc = sb_reg_resolve_top(s, st, &top, &img->from_cache_offline, err);
	if (rc == 0 && top.is_index)
		img->index_digest = sb_strdup(top.digest);
	if (rc == 0)
		rc = sb_reg_select(s, st, &top, &man, &plat, err);
	if (rc == 0) {
		set_manifest_blob(img, st, &man);
		rc = read_descriptors(img, &man, err);
	}
	if (rc == 0)
		rc = fetch_all(s, st, img, err);
	if (rc == 0 && plat.arch != NULL) {
		img->os = steal_pointer(&plat.os);
		img->arch = steal_pointer(&plat.arch);
		img->variant = steal_pointer(&plat.variant);
	}
	if (rc == 0 && plat.digest == NULL) {
		platform_from_config(img);
		warn_platform(s->opts, img);
	}
	sb_reg_platform_release(&plat);
	sb_reg_manifest_release(&man);
	sb_reg_manifest_release(&top);
	return rc;
}

int sb_registry_pull(const char *text, const struct sb_registry_options *opts,
		     const char *layout_dir, struct sb_registry_image **out, sb_error_t *err)
{
	struct sb_registry_ref ref;
	if (sb_registry_ref_parse(text, &ref, err) < 0)
		return -1;
	struct sb_registry_image *img = sb_xcalloc(1, sizeof(*img));
	img->reference = sb_registry_ref_string(&ref);
	struct sb_reg_store st = {0};
	struct sb_reg_session s = {0};
	int rc = 0;
	if (ref.transport != SB_REGISTRY_DOCKER)
		rc = sb_error_set_status(err, 2, 0,
					 "%s: an oras:// reference holds a SIF, not an "
					 "image to unpack",
					 img->reference);
	if (rc == 0)
		rc = sb_reg_open_store(opts, layout_dir, &st, err);
	if (rc == 0)
		rc = sb_reg_session_init(&s, &ref, opts, "pull", err);
	if (rc == 0)
		rc = pull_image(&s, &st, img, err);
	if (rc == 0 && layout_dir != NULL)
		rc = sb_reg_write_layout(&st, img, ref.digest ? ref.digest : ref.tag, layout_dir,
					 err);
	if (rc < 0)
		sb_error_wrap(err, "pulling %s", img->reference);
	sb_reg_session_release(&s);
	sb_reg_store_release(&st);
	sb_registry_ref_release(&ref);
	if (rc < 0) {
		sb_registry_image_free(img);
		return -1;
	}
	*out = img;
	return 0;
}
