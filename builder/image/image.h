/* builder/image/image.h: what goes into an image besides the user's tree:
 * the Apptainer skeleton, the architecture, and the inspect metadata. */
#ifndef SB_BUILDER_IMAGE_H
#define SB_BUILDER_IMAGE_H

#include <stddef.h>

#include "common/error.h"

/* One skeleton entry: type 'd' directory, 'l' symlink (content = target),
 * 'f' regular file (content = bytes). Paths are relative to the image root,
 * parents listed before children. */
struct image_skel_entry {
	const char *path;
	char type;
	unsigned mode;
	const char *content;
};
const struct image_skel_entry *image_skeleton(size_t *n);

/* Go architecture name ("amd64", "arm64", ...) of the ELF file at path inside
 * the tree rootfd (symlinks resolved inside the tree), or NULL when it is not
 * an ELF file we know. */
const char *image_elf_arch(int rootfd, const char *path);
/* The host's Go architecture name. */
const char *image_host_arch(void);

/* inspect-metadata.json for the tree rootfd, compact, as Apptainer's
 * `inspect --all` writes it; files missing from the tree are taken from the
 * skeleton. deffile is the definition text stored in the image (borrowed).
 * Returns a malloc'd string or NULL with *err. */
char *image_inspect_json(int rootfd, const char *deffile, sb_error_t *err);

/* labels.json text as Apptainer writes it (Go MarshalIndent with tabs,
 * sorted keys, \u003c-style escapes, no trailing newline; "{}" when empty).
 * labels is borrowed; returns a malloc'd string. */
struct image_label {
	const char *key;
	const char *value;
};
char *image_labels_json(const struct image_label *labels, size_t n);

#endif
