/* bootstrap/oci/internal.h: shared between the files of bootstrap/oci/. */
#ifndef SB_BOOTSTRAP_OCI_INTERNAL_H
#define SB_BOOTSTRAP_OCI_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>

#include "bootstrap/oci/oci.h"

/* Lexically cleaned relative path: "." dropped, ".." pops a component (and
 * stops at the top), no leading or trailing "/". malloc'd. When escaped is
 * not NULL it is set to true if a ".." tried to go above the top. */
char *oci_path_clean_ex(const char *path, bool *escaped);
#define oci_path_clean(p) oci_path_clean_ex((p), NULL)

/* String member key of object o (exact name first, then ASCII
 * case-insensitive, like Go's decoder), NULL when absent or not a string. */
json_t *oci_json_get(json_t *o, const char *key);
const char *oci_json_str(json_t *o, const char *key);

/* Fills d from a descriptor object; -1 with *err when digest is invalid. */
int oci_descriptor_parse(json_t *o, struct oci_descriptor *d, sb_error_t *err);
void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src);

/* Sends a formatted warning to warn (if any). */
void oci_warnf(oci_warn_fn warn, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
