/* builder/run.h: running a built image (`sifbuild run|exec|shell|test`) and
 * getting at its root filesystem. */
#ifndef SB_BUILDER_RUN_H
#define SB_BUILDER_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct sb_sandbox;

struct run_options {
	const char *app; /* --app NAME, or NULL */
	const char *const *binds; /* --bind SRC[:DST[:ro|rw]] specs */
	size_t n_binds;
	bool cleanenv; /* --cleanenv: only TERM, *_proxy and APPTAINERENV_* pass */
	bool verbose; /* -v: say how the image is run */
	const struct sb_sandbox *sandbox; /* NULL: select one */
};

/* Runs action ("run", "exec", "shell", "test") in the image at path (SIF file
 * or directory) as Apptainer's runtime does: the image's
 * /.singularity.d/env/ scripts (*.sh) sourced in glob order, then the runscript (run),
 * argv (exec), a shell (shell) or the test script (test), with argv as its
 * arguments, on a read-only root, as the caller's own uid in an unprivileged
 * user namespace (real root stays root); with o->sandbox given (a build's
 * %test) as that sandbox's root instead. *status gets the program's exit
 * status (128+N when killed by signal N). Only the program writes to stdout
 * and stderr unless o->verbose. Returns 0 when the program ran, -1 with *err
 * when the image could not be opened or run (status 2 for bad input).
 * Temporary files are removed on every path; when SIGINT/SIGTERM/SIGHUP
 * arrives while the program runs, it is forwarded, the temporary files are
 * removed and then the signal is raised again in the caller. */
int run_image(const char *path, const char *action, int argc, char *const argv[],
	      const struct run_options *o, int *status, sb_error_t *err);

/* An image's root filesystem on disk: the directory itself, or a SIF's
 * primary partition extracted into a new temporary directory (registered for
 * removal on interruption). */
struct image_root {
	char *rootfs; /* absolute path */
	char *tmp; /* temporary directory to remove, or NULL */
	bool is_sif;
	bool mounted; /* rootfs is a squashfuse mount (read-only) */
};

/* Opens the image at path. verbose: extraction warnings go to stderr. */
int image_root_open(const char *path, bool verbose, struct image_root *r, sb_error_t *err);
/* Removes what image_root_open created; safe to call twice. */
void image_root_close(struct image_root *r);

/* Base directory for run-time temporary files: SIFBUILD_TMPDIR,
 * APPTAINER_TMPDIR, SINGULARITY_TMPDIR, TMPDIR, else /tmp (borrowed). */
const char *run_tmp_base(void);

#endif
