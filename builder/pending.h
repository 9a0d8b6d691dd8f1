/* TEMPORARY: declarations of helpers' work in progress (removed at merge). */
#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"
#include "builder/image/image.h"
struct defparse_stage; struct defparse_def; struct defparse_transfer;
int image_base_env(int rootfd, bool overwrite, sb_error_t *err);
int image_apps(int rootfd, const struct defparse_stage *st, char **post_extra, sb_error_t *err);
struct image_meta_options {
	bool force; bool update;
	bool (*section)(void *ctx, const char *name); void *section_ctx;
	int64_t build_time; bool utc; const char *arch; const char *variant; const char *version;
	const struct image_label *extra; size_t n_extra;
	void (*warn)(void *ctx, const char *msg); void *warn_ctx;
};
int image_insert_metadata(int rootfd, const struct defparse_def *def, const struct defparse_stage *st,
			  const struct image_meta_options *o, sb_error_t *err);
struct files_ctx { const char *deffile; const char *cwd; void (*warn)(void *ctx, const char *msg); void *warn_ctx; };
int files_copy_from_host(const struct files_ctx *c, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err);
int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err);
int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app, const char *body, int first_line, sb_error_t *err);
