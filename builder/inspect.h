/* builder/inspect.h: `sifbuild inspect`, Apptainer's view of an image's
 * metadata (labels, scripts, environment, definition file, apps). */
#ifndef SB_BUILDER_INSPECT_H
#define SB_BUILDER_INSPECT_H

#include <stdbool.h>

#include "common/error.h"
#include "common/strbuf.h"

/* What to show (inspect_options.what); none set means labels, as Apptainer. */
enum {
	INSPECT_LABELS = 1u << 0,
	INSPECT_DEFFILE = 1u << 1,
	INSPECT_RUNSCRIPT = 1u << 2,
	INSPECT_STARTSCRIPT = 1u << 3,
	INSPECT_TEST = 1u << 4,
	INSPECT_HELPFILE = 1u << 5,
	INSPECT_ENVIRONMENT = 1u << 6,
	INSPECT_LIST_APPS = 1u << 7,
	INSPECT_ALL = 1u << 8, /* everything, as JSON, all apps */
};

struct inspect_options {
	unsigned what;
	const char *app; /* --app NAME, or NULL */
	bool json; /* --json: Apptainer's indented JSON document */
	void (*warn)(void *ctx, const char *msg); /* may be NULL */
	void *warn_ctx;
};

/* Appends to out what `apptainer inspect` prints for the image at path (a SIF
 * file or a directory) with these options. A SIF's inspect-metadata.json
 * object is used when present; otherwise (a directory, an older SIF) the
 * same metadata is computed from the tree, a SIF being extracted into a
 * temporary directory that is removed again. Returns 0, or -1 with *err
 * (status 2 for a path that is not an image). */
int inspect_image(const char *path, const struct inspect_options *o, struct sb_strbuf *out,
		  sb_error_t *err);

#endif
