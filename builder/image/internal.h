/* builder/image/internal.h: private to builder/image.
 *
 * imgfs.c: files of an image tree
 * written the way Apptainer's build does (symlinks followed, including the
 * last one) but always inside the tree: every symlink is resolved as if the
 * tree's top were "/", so no path in an image can lead a write out of it. */
#ifndef SB_BUILDER_IMAGE_INTERNAL_H
#define SB_BUILDER_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "builder/image/image.h"
#include "common/error.h"

enum img_put_flags {
	IMG_SET_MODE = 1,      /* an existing file gets mode too (else it keeps its own) */
	IMG_APPEND = 2,        /* add to an existing file instead of replacing its bytes */
	IMG_KEEP_EXISTING = 4, /* an existing regular file is not written (mode still set
				* with IMG_SET_MODE) */
};

/* Writes len bytes to path inside rootfd. Symlinks, the last one included,
 * are followed inside the root; a dangling link whose target directory is
 * missing is replaced by the file. A new file gets exactly mode (no umask);
 * an existing regular file is rewritten in place (see flags), even when it
 * lacks owner write. A directory there is an error; another special file
 * is replaced. Returns 0, or -1 with *err naming /path. */
int img_put(int rootfd, const char *path, const void *data, size_t len, unsigned mode, int flags,
	    sb_error_t *err);

/* stat(2) of path inside rootfd, symlinks followed inside the root. 0 when it
 * exists (st filled when not NULL), -1 with errno otherwise. */
int img_stat(int rootfd, const char *path, struct stat *st);

/* Creates path and its missing parents inside rootfd (symlinks followed
 * inside the root), each new one with exactly mode. */
int img_mkdirs(int rootfd, const char *path, unsigned mode, sb_error_t *err);

/* True when path exists inside rootfd without following its last component
 * (lstat inside the root). */
bool img_lexists(int rootfd, const char *path);

/* gojson.c: a label map in insertion order (keys unique, set replaces the
 * value in place); strings owned by the set. */
struct img_labels {
	struct image_label *v;
	size_t n;
};
void img_labels_set(struct img_labels *l, const char *key, const char *value);
const char *img_labels_get(const struct img_labels *l, const char *key);
void img_labels_free(struct img_labels *l);
/* The set as labels.json text (image_labels_json), malloc'd. */
char *img_labels_json(const struct img_labels *l);

#endif
