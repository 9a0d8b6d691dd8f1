/* builder/files_internal.h: pieces of builder/files.c shared with
 * files_glob.c and files_copy.c (not part of the builder's API). */
#ifndef SB_BUILDER_FILES_INTERNAL_H
#define SB_BUILDER_FILES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* A list of owned strings. */
struct files_list {
	char **v;
	size_t n;
};
void files_list_add(struct files_list *l, char *s); /* takes s */
void files_list_free(struct files_list *l);

/* files_glob.c: expands word like a %files source (see files.h) into l
 * (each brace alternative's sorted matches, or that word itself when nothing
 * matches). With rootfd >= 0 the word is a path inside that root: cleaned
 * lexically (".." stops at the root), directories read inside it, results
 * starting with "/". With rootfd < 0 relative words are read against base
 * (results keep the word's form). -1 with *err (no prefix) for a word that
 * cannot be expanded. */
int files_expand(const char *word, int rootfd, const char *base, struct files_list *l,
		 sb_error_t *err);

/* files_copy.c: resolves path inside rootfd like a secure join (symlinks
 * followed inside the root, missing parts kept lexically, ".." never above
 * the root) into a clean relative path ("" for the root itself). NULL with
 * errno (ELOOP, ENAMETOOLONG) on failure. */
char *files_secure_join(int rootfd, const char *path);

enum files_mode {
	FILES_CP,  /* cp -fLr: dereference everything, cp's mode rules */
	FILES_TAR, /* tar-like: keep symlinks, exact modes, times, owners */
};

struct files_copier {
	enum files_mode mode;
	int rootfd;          /* destination root (O_PATH directory) */
	mode_t umask;        /* FILES_CP: applied to new files */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* private state */
	dev_t root_dev;
	ino_t root_ino;
	struct files_ancestor *stack; /* source directories being copied */
	struct files_link *links;     /* FILES_TAR: hard links seen */
	size_t n_links;
};

/* Copies the source (sdirfd, sname) to the destination rel (a clean relative
 * path inside c->rootfd, "" = the root itself, whose parent must exist). In
 * FILES_CP mode the source is followed when it is a symlink. Errors name
 * spath (the source path as the user wrote it) only through the caller's
 * prefix: the message is "<why>". */
int files_copy_tree(struct files_copier *c, int sdirfd, const char *sname, const char *spath,
		    const char *rel, sb_error_t *err);
void files_copier_release(struct files_copier *c);

#endif
