/* TEMPORARY stubs (removed at merge). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "builder/pending.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"
int image_base_env(int rootfd, bool overwrite, sb_error_t *err)
{
	(void)overwrite;
	size_t n; const struct image_skel_entry *sk = image_skeleton(&n);
	for (size_t i = 0; i < n; i++) {
		int fd = sb_open_in_root(rootfd, sk[i].path, O_PATH | O_NOFOLLOW);
		if (fd >= 0) { close(fd); continue; }
		if (sk[i].type == 'd' && sb_mkdir_in_root(rootfd, sk[i].path, sk[i].mode, err) < 0) return -1;
		if (sk[i].type == 'f' && sb_write_in_root(rootfd, sk[i].path, sk[i].content, strlen(sk[i].content), sk[i].mode, 0, err) < 0) return -1;
		if (sk[i].type == 'l' && symlinkat(sk[i].content, rootfd, sk[i].path) < 0) return sb_error_set(err, 0, "symlink %s", sk[i].path);
	}
	return 0;
}
int image_apps(int rootfd, const struct defparse_stage *st, char **post_extra, sb_error_t *err)
{ (void)rootfd; (void)st; (void)err; *post_extra = sb_strdup(""); return 0; }
int image_insert_metadata(int rootfd, const struct defparse_def *def, const struct defparse_stage *st,
			  const struct image_meta_options *o, sb_error_t *err)
{
	(void)o;
	const char *rs = st->scripts[DEFPARSE_RUNSCRIPT].script;
	if (rs && *rs) {
		char *t = sb_asprintf("#!/bin/sh\n\n%s\n", rs);
		int r = sb_write_in_root(rootfd, ".singularity.d/runscript", t, strlen(t), 0755, 0, err);
		free(t); if (r < 0) return -1;
	}
	const char *ts = st->scripts[DEFPARSE_TEST].script;
	if (ts && *ts) {
		char *t = sb_asprintf("#!/bin/sh\n\n%s\n", ts);
		int r = sb_write_in_root(rootfd, ".singularity.d/test", t, strlen(t), 0755, 0, err);
		free(t); if (r < 0) return -1;
	}
	return sb_write_in_root(rootfd, ".singularity.d/Singularity", def->fullraw, def->fullraw_len, 0644, 0, err);
}
int files_copy_from_host(const struct files_ctx *c, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err)
{ (void)c; (void)rootfs; (void)t; return sb_error_set(err, 0, "%%files not yet"); }
int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs, const struct defparse_transfer *t, sb_error_t *err)
{ (void)c; (void)src_rootfs; (void)rootfs; (void)t; return sb_error_set(err, 0, "%%files not yet"); }
int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app, const char *body, int first_line, sb_error_t *err)
{ (void)c; (void)rootfs; (void)app; (void)body; (void)first_line; (void)err; return 0; }
