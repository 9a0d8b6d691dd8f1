/* builder/image/gojson.c: labels.json exactly as Apptainer writes it, and the
 * ordered label map the writers build it from. */
#include <stdlib.h>
#include <string.h>

#include "builder/image/image.h"
#include "builder/image/internal.h"
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

void img_labels_set(struct img_labels *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key) == 0) {
			free((char *)l->v[i].value);
			l->v[i].value = sb_strdup(value);
			return;
		}
	}
	l->v = sb_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].key = sb_strdup(key);
	l->v[l->n].value = sb_strdup(value);
	l->n++;
}

const char *img_labels_get(const struct img_labels *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	return NULL;
}

void img_labels_free(struct img_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].key);
		free((char *)l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

char *img_labels_json(const struct img_labels *l)
{
	return image_labels_json(l->v, l->n);
}
