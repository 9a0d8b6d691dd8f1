/* common/gojson.h: JSON text exactly as Go's encoding/json writes it, for the
 * files Apptainer's tools compare or parse by eye (labels.json, OCI metadata).
 * jansson writes the same values, but neither Go's HTML-safe escapes
 * (\u003c, \u0026, \u2028) nor its tab-indented MarshalIndent layout. */
#ifndef SB_COMMON_GOJSON_H
#define SB_COMMON_GOJSON_H

#include <stddef.h>

#include "common/strbuf.h"

/* Appends s as a Go JSON string: quotes, \" \\ \n \r \t, other control
 * characters and < > & as \u00XX, U+2028/9 escaped, invalid UTF-8 as \ufffd. */
void sb_go_json_string(struct sb_strbuf *sb, const char *s);

/* A string map as json.MarshalIndent(map, "", "\t") writes it: keys sorted
 * byte-wise, "{}" when empty, no trailing newline. keys and values are
 * borrowed, n entries each. Returns a malloc'd string. */
char *sb_go_json_map(const char *const *keys, const char *const *values, size_t n);

#endif
