/* builder/extract.c: SIF -> sandbox directory. The primary partition is
 * extracted into a temporary directory beside the target, renamed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "sif/sif.h"
#include "sif/sqfs.h"

int extract_partition_range(const char *sif, int64_t *off, int64_t *size, sb_error_t *err)
{
	if (bootstrap_image_file_kind(sif, NULL) == BOOTSTRAP_IMAGE_SQUASHFS) {
		*off = *size = 0; /* a bare SquashFS image: the whole file */
		return 0;
	}
	struct sif_image *img = sif_open(sif, SIF_OPEN_READ, err);
	if (img == NULL)
		return -1;
	int r = -1;
	struct sif_partition_info pi;
	const struct sif_descriptor *d = sif_get_primary_partition(img, err);
	if (d && sif_descriptor_partition(d, &pi, err) == 0) {
		if (pi.fs_type != SIF_FS_SQUASHFS) {
			sb_error_set_status(err, 2, 0, "the primary partition is %s, not SquashFS",
					    sif_fs_type_name(pi.fs_type));
		} else {
			*off = d->offset;
			*size = d->size;
			r = 0;
		}
	}
	sif_close(img, NULL);
	return r < 0 ? sb_error_wrap(err, "%s", sif) : 0;
}

static char *temp_dir_beside(const char *target, sb_error_t *err)
{
	char *t = sb_temp_beside(target, err);
	if (t == NULL)
		return NULL;
	unlink(t);
	if (mkdir(t, 0700) < 0) {
		sb_error_set(err, errno, "creating a temporary directory beside %s", target);
		free(t);
		return NULL;
	}
	return t;
}

/* Moves tmp onto target, replacing an existing target directory (--force). */
static int put_in_place(const char *tmp, const char *target, sb_error_t *err)
{
	struct stat st;
	if (lstat(target, &st) < 0)
		return rename(tmp, target) < 0 ? sb_error_set(err, errno, "renaming %s to %s", tmp,
							      target) : 0;
	cleanup_free char *old = temp_dir_beside(target, err);
	if (old == NULL)
		return -1;
	rmdir(old);
	if (rename(target, old) < 0)
		return sb_error_set(err, errno, "moving the old %s aside", target);
	if (rename(tmp, target) < 0) {
		int e = errno;
		rename(old, target);
		return sb_error_set(err, e, "renaming %s to %s", tmp, target);
	}
	return sb_rm_rf(old, err);
}

int extract_sif_to_dir(const struct build_options *o, const char *sif, sb_error_t *err)
{
	int64_t off = 0, size = 0;
	if (extract_partition_range(sif, &off, &size, err) < 0)
		return -1;
	cleanup_close int fd = open(sif, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "%s", sif);
	sb_cleanup_install();
	cleanup_free char *tmp = temp_dir_beside(o->target, err);
	if (tmp == NULL)
		return -1;
	sb_cleanup_add(tmp, 1);
	struct sif_sqfs_extract_options eo = { .size = (uint64_t)size, .warn = o->warn,
					       .warn_ctx = o->warn_ctx };
	int r = sif_sqfs_extract(fd, (uint64_t)off, tmp, &eo, err);
	if (r < 0)
		sb_error_wrap(err, "extracting %s", sif);
	if (r == 0)
		r = put_in_place(tmp, o->target, err);
	if (r < 0)
		sb_rm_rf(tmp, NULL);
	sb_cleanup_remove(tmp);
	return r;
}
