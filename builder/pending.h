/* TEMPORARY: declarations of helpers' work in progress (removed at merge). */
#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"
#include "builder/image/image.h"
struct defparse_stage; struct defparse_def; struct defparse_transfer;
struct files_ctx { const char *deffile; const char *cwd; void (*warn)(void *ctx, const char *msg); void *warn_ctx; };
int files_copy_from_host(const struct files_ctx *c, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err);
int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err);
int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app, const char *body, int first_line, sb_error_t *err);
