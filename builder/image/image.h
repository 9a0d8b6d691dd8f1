/* builder/image/image.h: what goes into an image besides the user's tree:
 * the Apptainer skeleton, the architecture, and the inspect metadata. */
#ifndef SB_BUILDER_IMAGE_H
#define SB_BUILDER_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct defparse_def;
struct defparse_stage;

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

/* Writers for definition-file builds (apptainer-behaviour.md 3.4, 3.7, 3.9,
 * 3.10). Every path is resolved inside the tree rootfd: symlinks in an image
 * are followed as Apptainer follows them, but as if rootfd were "/", so
 * nothing is ever written outside the tree. Directories and new files get
 * their documented modes whatever the umask. Errors name the image path. */

/* Base environment (3.4) in the tree rootfd: adds owner-write to the top dir,
 * creates missing directories and the top-level symlinks, and writes the
 * skeleton files; overwrite=true rewrites existing regular files (every agent
 * except localimage), false only fixes their mode. */
int image_base_env(int rootfd, bool overwrite, sb_error_t *err);

/* SCIF apps (3.7) for every app of st in st->app_order: directories,
 * scif/env/01-base.sh, %appenv, %apprun, %appstart, %apptest, %apphelp,
 * %applabels files, and /.singularity.d/env/94-appsbase.sh (always written,
 * empty without apps). *post_extra receives the malloc'd text to append to
 * %post (the %appinstall blocks, "" when none; NULL on error). %appfiles is
 * not done here. An app name that is empty, "." or ".." or has a '/' is bad
 * input (status 2). */
int image_apps(int rootfd, const struct defparse_stage *st, char **post_extra, sb_error_t *err);

struct image_meta_options {
	bool force;  /* --force: %help overwrites, %labels override existing labels */
	bool update; /* --update without --force: no deffile.* header labels */
	bool (*section)(void *ctx, const char *name); /* --section filter; NULL = all */
	void *section_ctx;
	int64_t build_time;  /* seconds since the epoch (SOURCE_DATE_EPOCH when reproducible) */
	bool utc;            /* format times in UTC (reproducible builds), else local time */
	const char *arch;    /* Go arch name for org.opencontainers.image.architecture / build-arch */
	const char *variant; /* may be NULL */
	const char *version; /* org.label-schema.usage.apptainer.version (sifbuild's version) */
	const struct image_label *extra; /* e.g. image.base.name/.digest for docker bases */
	size_t n_extra;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/* Metadata insertion (3.9, 3.10) for stage st of def into rootfd, in
 * Apptainer's order: runscript.help, labels.json (merge: existing file, then
 * /.build.labels written during %post (parsed like %labels, then deleted),
 * then the automatic labels and o->extra, then %labels without overriding
 * unless force, with Apptainer's warning text), /.singularity.d/Singularity =
 * def->fullraw (an existing one moved to bootstrap_history/ApptainerN),
 * %environment appended to env/90-environment.sh, startscript, runscript,
 * test (shebang rules of 3.9 steps 5-7). */
int image_insert_metadata(int rootfd, const struct defparse_def *def,
			  const struct defparse_stage *st, const struct image_meta_options *o,
			  sb_error_t *err);

/* The two time labels for t (seconds since the epoch), in UTC or local time:
 * org.label-schema.build-date ("Tuesday_4_August_2026_9:5:7_UTC") and
 * org.opencontainers.image.created (Go's RFC 3339: "Z" for a zero offset).
 * malloc'd strings. */
void image_build_times(int64_t t, bool utc, char **build_date, char **created);

#endif
