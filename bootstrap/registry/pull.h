/* bootstrap/registry/pull.h: steps shared by pull.c, layout.c and oras.c
 * (module-internal). */
#ifndef SB_BOOTSTRAP_REGISTRY_PULL_H
#define SB_BOOTSTRAP_REGISTRY_PULL_H

#include "bootstrap/registry/manifest.h"

/* The cache, or with disable_cache a private store at fallback_dir. */
int sb_reg_open_store(const struct sb_registry_options *opts, const char *fallback_dir,
		      struct sb_reg_store *st, sb_error_t *err);
int sb_reg_resolve_top(struct sb_reg_session *s, struct sb_reg_store *st, struct sb_reg_manifest *m,
		       bool *offline, sb_error_t *err);
int sb_reg_select(struct sb_reg_session *s, struct sb_reg_store *st, struct sb_reg_manifest *top,
		  struct sb_reg_manifest *out, struct sb_reg_platform *plat, sb_error_t *err);
/* Writes the OCI layout for img at dir (see registry.h); blob paths of img
 * are changed to the layout's files. */
int sb_reg_write_layout(struct sb_reg_store *st, struct sb_registry_image *img, const char *refname,
			const char *dir, sb_error_t *err);
/* Hard-links (or copies) src to dst, atomically; an existing dst is kept. */
int sb_reg_place_file(const char *src, const char *dst, sb_error_t *err);

#endif
