/* bootstrap/registry/manifest.h: manifests and platform choice (module-internal). */
#ifndef SB_BOOTSTRAP_REGISTRY_MANIFEST_H
#define SB_BOOTSTRAP_REGISTRY_MANIFEST_H

#include "bootstrap/registry/internal.h"

struct sb_reg_manifest {
	char *data; /* exact bytes served */
	size_t len;
	char *digest;
	char *media_type;
	bool is_index;
	json_t *json;
};

/* Gets a manifest by tag or digest: from the store when the digest is known
 * (by digest, or via HEAD when head_first), else GET + verify + store. */
int sb_reg_manifest_get(struct sb_reg_session *s, struct sb_reg_store *st,
			const char *tag_or_digest, bool head_first, struct sb_reg_manifest *m,
			sb_error_t *err);
/* Reads a manifest already in the store. */
void sb_reg_manifest_release(struct sb_reg_manifest *m);

struct sb_reg_platform {
	char *digest, *os, *arch, *variant;
};
/* Picks the entry of index for opts' platform (host by default). */
int sb_reg_choose_platform(const struct sb_reg_manifest *index,
			   const struct sb_registry_options *opts, struct sb_reg_platform *out,
			   sb_error_t *err);
void sb_reg_platform_release(struct sb_reg_platform *p);

int sb_reg_descriptor(json_t *d, struct sb_registry_blob *b, const char *what, sb_error_t *err);

#endif
