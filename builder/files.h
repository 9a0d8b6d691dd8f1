/* builder/files.h: %files, %files from STAGE and %appfiles copies into a
 * root filesystem (docs: apptainer-behaviour.md 3.6, 3.7, 1.5).
 *
 * Every write is resolved inside the destination rootfs (symlinks and ".."
 * included), so nothing lands outside it, whatever the rootfs contains.
 * Errors are one line "FILE:LINE: %files: <src>: <why>" (or "%appfiles").
 * Each call runs with umask 0002 (Apptainer's build umask) and restores the
 * caller's umask before returning.
 */
#ifndef SB_BUILDER_FILES_H
#define SB_BUILDER_FILES_H

#include "common/error.h"
#include "defparse/defparse.h"

struct sb_ownership;

struct files_ctx {
	const char *deffile; /* definition path, for "FILE:LINE: ..." errors */
	const char *cwd;     /* base for relative host sources (the build's working directory) */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* files_copy_from_stage: the ownership maps (common/ownership.h) of the
	 * source stage and of the destination (both borrowed, may be NULL).
	 * When both are set, every valid record of a copied path is carried to
	 * its new path, with the new file's identity. */
	struct sb_ownership *src_owners;
	struct sb_ownership *dst_owners;
};

/* %files from the host: expands t->src like Apptainer's shell-word
 * expansion: brace expansion ({a,b}, {1..3}); then, read like a
 * here-document body, a backslash keeps the next character (quotes are plain
 * characters); when the word holds '*', '?' or '[' it is a glob with
 * globstar ("**", symlinked directories not followed) and ksh extended globs
 * (?(a|b) *(..) +(..) @(..) !(..)), dotfiles matched only by patterns
 * starting with '.', matches sorted, no match = the word itself. "$NAME",
 * "${..}", "$(..)" and '`' are rejected (Apptainer expands them against an
 * empty environment). Relative sources are relative to c->cwd. Then the
 * destination (t->dst, or the expanded source when empty) is resolved
 * inside rootfs (secure join: symlinks followed inside it, ".." stops at
 * its root; trailing '/' = directory, parents created 0755), and the source
 * is copied like `cp -fLr` (host symlinks dereferenced, recursive, copying
 * into an existing directory puts the item inside it; new files and
 * directories get the source mode less setuid/setgid and umask 0002;
 * existing files are rewritten keeping their mode; symlinks met in the
 * rootfs are followed inside it). An empty source warns "Attempt to copy
 * file with no name, skipping." and returns 0. Returns 0, or -1 with *err
 * "FILE:LINE: %files: <src>: <why>" (status 2 for bad input). */
int files_copy_from_host(const struct files_ctx *c, const char *rootfs,
			 const struct defparse_transfer *t, sb_error_t *err);

/* %files from STAGE: the source is expanded as above (a path inside the
 * stage, cleaned lexically first) and globbed and resolved inside src_rootfs
 * (absolute symlinks resolve inside it, ".." stops at its root, only the
 * matched path's own symlinks are dereferenced); destination as above; when
 * the destination is an existing directory the source's base name is
 * appended. The copy is tar-like: nested symlinks kept as they are, modes
 * exact, times kept, ownership kept when running as (namespace) root, hard
 * links inside the copied tree kept; existing non-directories in the way are
 * replaced. Device nodes that cannot be created are skipped with a warning,
 * sockets silently. */
int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs,
			  const struct defparse_transfer *t, sb_error_t *err);

/* %appfiles body of app (3.7): per line (trimmed; empty and '#' lines
 * skipped, text from the first '#' dropped) "src [dst]" split at the first
 * space (dst trimmed; Apptainer keeps its leading spaces); no globbing;
 * cp -fLr src into rootfs/scif/apps/APP/<dst or src> (lexically joined,
 * then resolved inside rootfs; no parents created, like Apptainer).
 * Relative sources are relative to c->cwd. first_line is the definition
 * line of the body's first line, used in errors. */
int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app,
		   const char *body, int first_line, sb_error_t *err);

#endif
