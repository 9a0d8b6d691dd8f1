/* builder/defbuild.h: definition-file builds (issue 6), shared by the files
 * of the pipeline (defbuild.c drives, stage.c runs one stage's steps,
 * scripts.c runs scriptlets in the sandbox). Not a public header. */
#ifndef SB_BUILDER_DEFBUILD_H
#define SB_BUILDER_DEFBUILD_H

#include <stdbool.h>
#include <time.h>

#include "builder/build.h"
#include "builder/sandbox/sandbox.h"
#include "common/error.h"

struct defparse_def;
struct defparse_stage;
struct sb_ownership;

/* One stage: its own directory and root filesystem. */
struct stage_state {
	const struct defparse_stage *ds;
	size_t index;
	char *dir;        /* scratch files (scripts, fakeroot state) */
	char *rootfs;     /* the stage's root filesystem */
	bool rootfs_beside_target; /* sandbox output: rootfs lives beside TARGET */
	struct sb_ownership *owners; /* owners the user could not store (may be NULL) */
	char *oci_config; /* SIF object oci-config.json when the base was OCI */
	char *post_extra; /* %appinstall blocks appended to %post */
	char *base_name;  /* docker bases: org.opencontainers.image.base.name */
	char *base_digest;
};

struct defbuild {
	const struct build_options *o;
	struct defparse_def *def;
	char *workdir;            /* build temp dir (stages' scratch and rootfs) */
	struct sb_sandbox *sb;    /* chosen on first need */
	struct stage_state *stages;
	size_t n_stages;
	struct timespec t0;
	bool sections_all;        /* --section all (default) */
	char **sections;          /* otherwise the names given */
	size_t n_sections;
};

/* Prints one progress line "INFO:    [  1.2s] msg" unless -q. */
void defbuild_log(const struct defbuild *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True when --section lets section name ("setup", "files", "help", ...) run. */
bool defbuild_section(const struct defbuild *b, const char *name);
/* Stage display name for messages: "stage NAME" or "stage N". */
const char *defbuild_stage_label(const struct stage_state *s, char *buf, size_t len);

/* stage.c: checks the stage's Bootstrap header with its agent (before any
 * work: FILE:LINE errors for missing keys). s->rootfs may not exist yet. */
int stage_validate(struct defbuild *b, struct stage_state *s, sb_error_t *err);
/* stage.c: runs every step of stage s (apptainer-behaviour.md 3.2). */
int stage_run(struct defbuild *b, struct stage_state *s, sb_error_t *err);

/* scripts.c */
/* Chooses the sandbox once per build, with s's rootfs for the in-image
 * probes; prints the mode's info line. */
int scripts_sandbox(struct defbuild *b, struct stage_state *s, sb_error_t *err);
/* %pre / %setup on the host (3.5): section "pre" or "setup". */
int scripts_host(struct defbuild *b, struct stage_state *s, int id, sb_error_t *err);
/* %post (with the %appinstall blocks) inside the rootfs (3.8). */
int scripts_post(struct defbuild *b, struct stage_state *s, sb_error_t *err);
/* %test inside the read-only rootfs (3.11), unless --notest. */
int scripts_test(struct defbuild *b, struct stage_state *s, sb_error_t *err);
/* Calls fn(arg) where the stage's files read as the sandbox's root sees
 * them: inside the build's user namespace in the user-namespace modes
 * (subordinate-ID owners, v2 file capabilities), else directly. Returns fn's result
 * (0 or -1 with *err filled by fn). */
int scripts_as_root(struct defbuild *b, int (*fn)(void *arg, sb_error_t *err), void *arg,
		    sb_error_t *err);
/* True when scripts_as_root runs fn in a child (changes to memory are lost). */
bool scripts_enters(const struct defbuild *b);
/* Removes path (subuid-owned files included). */
void scripts_remove_tree(struct defbuild *b, const char *path);

#endif
