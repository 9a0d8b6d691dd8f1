/* bootstrap/localimage.c: Bootstrap: localimage.
 *
 *   Bootstrap: localimage   From: DIR | IMAGE.sif | IMAGE.squashfs
 *
 * A sandbox directory is copied through the same safe entry application as
 * OCI layers (bootstrap/oci). A SIF's primary system partition (SquashFS) or
 * a bare SquashFS file is unpacked by sif/'s extractor, which creates every
 * entry relative to directories it made itself and refuses hostile names.
 * Either way owners, devices and xattrs a plain user cannot store go to the
 * build's ownership map. The SIF's oci-config.json object is carried over
 * (res->oci_config_json), as Apptainer does. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/oci/oci.h"
#include "common/cleanup.h"
#include "common/strbuf.h"
#include "sif/sif.h"
#include "sif/sqfs.h"

#define OCI_CONFIG_MAX (16u << 20)

int bootstrap_image_file_kind(const char *path, sb_error_t *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return sb_error_set_status(err, 2, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return sb_error_set_status(err, 2, 0, "%s: not a SIF image, a SquashFS image or a "
					   "directory", path);
	unsigned char b[1082] = { 0 };
	ssize_t n = pread(fd, b, sizeof(b), 0);
	if (n < 0)
		return sb_error_set_status(err, 2, errno, "reading %s", path);
	if (n >= 41 && memcmp(b + 32, "SIF_MAGIC", 9) == 0)
		return BOOTSTRAP_IMAGE_SIF;
	if (n >= 4 && memcmp(b, "hsqs", 4) == 0)
		return BOOTSTRAP_IMAGE_SQUASHFS;
	if (n >= 1082 && b[1080] == 0x53 && b[1081] == 0xef)
		return sb_error_set_status(err, 2, 0, "%s: ext2/3/4 images are not supported by "
					   "sifbuild (only SquashFS)", path);
	return sb_error_set_status(err, 2, 0, "%s: not a SIF image, a SquashFS image or a "
				   "directory", path);
}

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *from = bootstrap_header_get(r, "from");
	struct stat st;
	if (from == NULL || *from == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: localimage needs a From: line");
	if (bootstrap_header_get(r, "fingerprints") != NULL)
		return sb_error_set_status(err, 2, 0, "Fingerprints: %s: signature verification is "
					   "not supported by sifbuild", from);
	if (stat(from, &st) < 0)
		return sb_error_set_status(err, 2, errno, "From: %s", from);
	if (S_ISDIR(st.st_mode))
		return 0;
	return bootstrap_image_file_kind(from, err) < 0 ? sb_error_wrap(err, "From") : 0;
}

/* The SIF's oci-config.json object, when there is one and it is a JSON
 * object; otherwise NULL (a bad one is dropped with a warning). */
static char *sif_oci_config(const struct bootstrap_request *r, struct sif_image *img,
			    const char *label)
{
	for (size_t i = 0; i < sif_slot_count(img); i++) {
		const struct sif_descriptor *d = sif_slot(img, i);
		if (!d->used || d->data_type != SIF_DATA_GENERIC_JSON ||
		    strcmp(sif_descriptor_name(d), "oci-config.json") != 0)
			continue;
		size_t len = 0;
		cleanup_free char *buf = NULL;
		if (d->size >= 0 && (uint64_t)d->size <= OCI_CONFIG_MAX)
			buf = sif_read_object_alloc(img, d, &len, NULL);
		json_t *j = buf && memchr(buf, '\0', len) == NULL ? json_loadb(buf, len, 0, NULL)
								   : NULL;
		bool ok = json_is_object(j);
		json_decref(j);
		if (ok)
			return sb_strndup(buf, len);
		sb_warnf(r->warn, r->warn_ctx,
			 "%s: its oci-config.json object is not a JSON object (or over %u "
			 "bytes): not carried over", label, OCI_CONFIG_MAX);
		return NULL;
	}
	return NULL;
}

/* Where the primary system partition of the SIF at path lies. */
static int sif_partition(const struct bootstrap_request *r, const char *path, const char *label,
			 int64_t *off, int64_t *size, char **oci_config, sb_error_t *err)
{
	sb_error_t e = NULL;
	struct sif_image *img = sif_open(path, SIF_OPEN_READ, &e);
	if (img == NULL) {
		const char *why = sb_error_message(e);
		size_t n = strlen(path);
		if (strncmp(why, path, n) == 0 && strncmp(why + n, ": ", 2) == 0)
			why += n + 2; /* named by us */
		sb_error_set_status(err, 2, 0, "%s: not a valid SIF image: %s", label, why);
		sb_error_free(&e);
		return -1;
	}
	int rc = -1;
	struct sif_partition_info pi;
	const struct sif_descriptor *d = sif_get_primary_partition(img, &e);
	if (d == NULL)
		sb_error_set_status(err, 2, 0, "%s: no primary system partition (%s)", label,
				    sb_error_message(e));
	else if (sif_descriptor_partition(d, &pi, &e) < 0)
		sb_error_set_status(err, 2, 0, "%s: primary partition: %s", label,
				    sb_error_message(e));
	else if (pi.fs_type == SIF_FS_ENCRYPTED_SQUASHFS || pi.fs_type == SIF_FS_GOCRYPTFS_SQUASHFS)
		sb_error_set_status(err, 2, 0, "%s: the primary partition is encrypted (%s): not "
				    "supported by sifbuild", label, sif_fs_type_name(pi.fs_type));
	else if (pi.fs_type != SIF_FS_SQUASHFS)
		sb_error_set_status(err, 2, 0, "%s: the primary partition is %s: only SquashFS is "
				    "supported by sifbuild", label, sif_fs_type_name(pi.fs_type));
	else
		rc = 0;
	if (rc == 0) {
		*off = d->offset;
		*size = d->size;
		*oci_config = sif_oci_config(r, img, label);
	}
	sb_error_free(&e);
	sif_close(img, NULL);
	return rc;
}

int bootstrap_localimage_unpack(const struct bootstrap_request *r, const char *path,
				const char *label, struct bootstrap_result *res, sb_error_t *err)
{
	if (label == NULL)
		label = path;
	int kind = bootstrap_image_file_kind(path, err);
	if (kind < 0)
		return -1;
	int64_t off = 0, size = 0;
	cleanup_free char *oci_config = NULL;
	if (kind == BOOTSTRAP_IMAGE_SIF &&
	    sif_partition(r, path, label, &off, &size, &oci_config, err) < 0)
		return -1;
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set_status(err, 2, errno, "%s", label);
	struct sif_sqfs_extract_options eo = { .size = (uint64_t)size, .warn = r->warn,
					       .warn_ctx = r->warn_ctx, .owners = r->owners,
					       .unprivileged = !r->privileged };
	if (sif_sqfs_extract(fd, (uint64_t)off, r->rootfs, &eo, err) < 0)
		return sb_error_wrap(err, "%s", label);
	res->oci_config_json = steal_pointer(&oci_config);
	res->keep_metadata = true;
	return 0;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	if (validate(r, err) < 0)
		return -1;
	const char *from = bootstrap_header_get(r, "from");
	struct stat st;
	if (stat(from, &st) == 0 && !S_ISDIR(st.st_mode))
		return bootstrap_localimage_unpack(r, from, from, res, err);
	struct oci_apply_options o = { .privileged = r->privileged, .owners = r->owners,
				       .warn = r->warn, .warn_ctx = r->warn_ctx };
	struct oci_unpacker *u = oci_unpacker_new(r->rootfs, &o, err);
	if (u == NULL)
		return -1;
	int rc = oci_unpacker_copy_tree(u, from, err);
	oci_unpacker_free(u);
	if (rc < 0)
		return sb_error_wrap(err, "localimage %s", from);
	res->keep_metadata = true;
	return 0;
}

const struct bootstrap_ops bootstrap_localimage_ops = { validate, materialise };
