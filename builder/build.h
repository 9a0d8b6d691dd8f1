/* builder/build.h: `sifbuild build`, the pipeline behind it. */
#ifndef SB_BUILDER_BUILD_H
#define SB_BUILDER_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "builder/sandbox/sandbox.h"
#include "common/error.h"

struct defparse_buildargs;

struct build_options {
	const char *target;      /* TARGET.sif, or a directory with sandbox */
	const char *source;      /* definition file, image reference, SIF, directory */
	bool sandbox;            /* --sandbox: write a directory */
	bool force;              /* --force: replace an existing target */
	unsigned jobs;           /* --jobs: compression threads, 0 = online CPUs */
	const char *compression; /* --compression NAME[:LEVEL], NULL = gzip */
	unsigned block_size;     /* --block-size, 0 = default (128 KiB) */
	bool reproducible;       /* SOURCE_DATE_EPOCH or --reproducible */
	int64_t epoch;           /* build time when reproducible */
	const char *tmpdir;      /* --tmpdir; NULL: SIFBUILD_TMPDIR, APPTAINER_TMPDIR, TMPDIR */
	const char *arch;        /* --arch; NULL: the host's */
	const char *arch_variant; /* --arch-variant */
	bool nohttps;            /* --nohttps: plain HTTP to the registry */
	const char *authfile;    /* --authfile */
	bool disable_cache;      /* --disable-cache */
	void (*warn)(void *ctx, const char *msg); /* warning sink, may be NULL */
	void *warn_ctx;

	/* Definition-file builds (issue 6). */
	bool update;             /* --update: build on top of the existing sandbox TARGET */
	bool notest;             /* --notest: do not run %test */
	const char *section;     /* --section LIST ("all" when NULL) */
	const struct defparse_buildargs *build_args; /* --build-arg(-file), may be NULL */
	bool warn_unused_args;   /* --warn-unused-build-args */
	bool fix_perms;          /* --fix-perms: owner rwX everywhere in the base */
	bool no_cleanup;         /* --no-cleanup: keep the build directory */
	const char *const *binds; /* --bind specs for %post/%test */
	size_t n_binds;
	struct sb_mode_request mode; /* --userns-mode, --fakeroot, --ignore-* */
	int verbosity;           /* -q: -1, default 0, -v: 1 */
};

/* Runs the build. Returns 0, or -1 with *err (status 2 for bad input). The
 * target appears only on success; nothing partial is left behind. */
int build_run(const struct build_options *o, sb_error_t *err);

#endif
