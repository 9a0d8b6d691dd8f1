/* TEMPORARY stubs (removed at merge). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "builder/pending.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"
int files_copy_from_host(const struct files_ctx *c, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err)
{ (void)c; (void)rootfs; (void)t; return sb_error_set(err, 0, "%%files not yet"); }
int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err)
{ (void)c; (void)src_rootfs; (void)rootfs; (void)t; return sb_error_set(err, 0, "%%files not yet"); }
int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app, const char *body, int first_line, sb_error_t *err)
{ (void)c; (void)rootfs; (void)app; (void)body; (void)first_line; (void)err; return 0; }
