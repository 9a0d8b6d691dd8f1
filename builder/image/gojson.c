/* builder/image/gojson.c: labels.json exactly as Apptainer writes it. */
#include <stdlib.h>

#include "builder/image/image.h"
#include "common/gojson.h"
#include "common/strbuf.h"

char *image_labels_json(const struct image_label *labels, size_t n)
{
	const char **k = sb_xcalloc(n ? n : 1, sizeof(char *));
	const char **v = sb_xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		k[i] = labels[i].key;
		v[i] = labels[i].value;
	}
	char *s = sb_go_json_map(k, v, n);
	free(k);
	free(v);
	return s;
}
