/* bootstrap/oci/layers.c: applying tar layers to a root filesystem.
 *
 * Two libarchive readers per layer: a "raw" reader with every decompression
 * filter (gzip, zstd, ... sniffed from the bytes, not trusted from the media
 * type) that turns the blob into the uncompressed tar stream, hashed for the
 * diff_id on the way, and a tar reader fed from it. Entries are applied one
 * by one (rootfs.c does the tree work). */
#include "bootstrap/oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/ownership.h"

int oci_apply_entry(struct oci_unpacker *u, struct archive *a, struct archive_entry *e,
		    sb_error_t *err);

struct oci_unpacker *oci_unpacker_new(const char *rootfs, const struct oci_apply_options *o,
				      sb_error_t *err)
{
	int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		sb_error_set(err, errno, "opening the root filesystem %s", rootfs);
		return NULL;
	}
	struct oci_unpacker *u = sb_xcalloc(1, sizeof(*u));
	u->rootfd = fd;
	u->rootfs = sb_strdup(rootfs);
	u->o = *o;
	u->chown_ok = o->privileged;
	return u;
}

void oci_unpacker_free(struct oci_unpacker *u)
{
	if (u == NULL)
		return;
	unpack_touch_reset(u);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	sb_error_free(&u->read_err);
	close(u->rootfd);
	free(u->rootfs);
	free(u);
}

/* ------------------------------------------------------------ the streams */

struct raw_src { /* the compressed blob, for the raw reader */
	struct oci_unpacker *u;
	oci_read_fn read;
	void *ctx;
	char buf[65536];
};

static la_ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct raw_src *s = data;
	*buf = s->buf;
	ssize_t n = s->read(s->ctx, s->buf, sizeof(s->buf), &s->u->read_err);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", sb_error_message(s->u->read_err));
		return -1;
	}
	return n;
}

struct tar_src { /* the uncompressed stream, for the tar reader */
	struct archive *raw;
	EVP_MD_CTX *md;
	bool eof;
	uint64_t bytes;
};

static la_ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
	struct tar_src *s = data;
	size_t len = 0;
	la_int64_t off;
	if (s->eof)
		return 0;
	int r = archive_read_data_block(s->raw, buf, &len, &off);
	if (r == ARCHIVE_EOF) {
		s->eof = true;
		return 0;
	}
	if (r < ARCHIVE_WARN) {
		archive_set_error(a, archive_errno(s->raw), "%s", archive_error_string(s->raw));
		return -1;
	}
	EVP_DigestUpdate(s->md, *buf, len);
	s->bytes += len;
	return (la_ssize_t)len;
}

static int check_diff_id(EVP_MD_CTX *md, const char *diff_id, const char *label, sb_error_t *err)
{
	unsigned char d[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(md, d, &n);
	if (diff_id == NULL)
		return 0;
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	if (strncmp(diff_id, "sha256:", 7) == 0 && strcmp(diff_id + 7, hex) == 0)
		return 0;
	return sb_error_set_status(err, 2, 0,
				   "%s: uncompressed content has sha256:%s, the config's diff_id "
				   "is %s", label, hex, diff_id);
}

/* The error of a failed archive call: the byte source's own error first. */
static int archive_fail(struct oci_unpacker *u, struct archive *a, const char *what,
			sb_error_t *err)
{
	if (u->read_err) {
		*err = u->read_err;
		u->read_err = NULL;
		return sb_error_wrap(err, "%s", u->label);
	}
	const char *m = archive_error_string(a);
	return sb_error_set_status(err, 2, 0, "%s: %s: %s", u->label, what,
				   m ? m : "unreadable archive");
}

static int apply_entries(struct oci_unpacker *u, struct archive *tar, sb_error_t *err)
{
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if ((u->each ? u->each(u->each_ctx, tar, e, err) : oci_apply_entry(u, tar, e, err)) < 0)
			return -1;
	}
	if (r != ARCHIVE_EOF)
		return archive_fail(u, tar, "reading the tar stream", err);
	return 0;
}

static int finish_layer(struct oci_unpacker *u, struct tar_src *ts, const char *diff_id,
			sb_error_t *err)
{
	/* Hash what the tar reader left (padding after the end blocks). */
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while (!ts->eof && (r = archive_read_data_block(ts->raw, &buf, &len, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return archive_fail(u, ts->raw, "decompressing", err);
		EVP_DigestUpdate(ts->md, buf, len);
	}
	if (check_diff_id(ts->md, diff_id, u->label, err) < 0)
		return -1;
	if (u->n_placeholders)
		oci_warnf(u->o.warn, u->o.warn_ctx,
			  "%s: %lu device node(s) cannot be created by this user; empty placeholder "
			  "files were written and the devices recorded for the image",
			  u->label, u->n_placeholders);
	if (u->n_dropped_xattrs)
		oci_warnf(u->o.warn, u->o.warn_ctx, "%s: %lu extended attribute(s) could not be kept",
			  u->label, u->n_dropped_xattrs);
	return 0;
}

int oci_unpacker_apply(struct oci_unpacker *u, oci_read_fn read, void *ctx, const char *label,
		       const char *diff_id, sb_error_t *err)
{
	struct raw_src *rs = sb_xcalloc(1, sizeof(*rs));
	rs->u = u;
	rs->read = read;
	rs->ctx = ctx;
	u->label = label;
	u->n_placeholders = u->n_skipped = u->n_dropped_xattrs = 0;
	struct tar_src ts = { .md = EVP_MD_CTX_new() };
	if (ts.md == NULL || EVP_DigestInit_ex(ts.md, EVP_sha256(), NULL) != 1)
		abort();
	struct archive *raw = archive_read_new(), *tar = archive_read_new();
	ts.raw = raw;
	archive_read_support_filter_all(raw);
	archive_read_support_format_raw(raw);
	archive_read_support_format_empty(raw);
	archive_read_support_format_tar(tar);
	int r = -1;
	struct archive_entry *e;
	if (archive_read_open(raw, rs, NULL, raw_read, NULL) != ARCHIVE_OK) {
		archive_fail(u, raw, "decompressing", err);
		goto out;
	}
	int hr = archive_read_next_header(raw, &e);
	if (hr == ARCHIVE_EOF) { /* a zero-byte blob: an empty layer */
		r = check_diff_id(ts.md, diff_id, label, err);
		goto out;
	}
	if (hr < ARCHIVE_WARN) {
		archive_fail(u, raw, "decompressing", err);
		goto out;
	}
	if (archive_read_open(tar, &ts, NULL, tar_read, NULL) != ARCHIVE_OK) {
		archive_fail(u, tar, "reading the tar stream", err);
		goto out;
	}
	if (apply_entries(u, tar, err) == 0 && finish_layer(u, &ts, diff_id, err) == 0)
		r = 0;
out:
	unpack_dir_times(u);
	unpack_touch_reset(u);
	archive_read_free(tar);
	archive_read_free(raw);
	EVP_MD_CTX_free(ts.md);
	free(rs);
	u->label = NULL;
	return r;
}

int oci_layer_each(oci_read_fn read, void *rctx, const char *label, const char *diff_id,
		   oci_entry_fn fn, void *fctx, sb_error_t *err)
{
	struct oci_unpacker *u = sb_xcalloc(1, sizeof(*u));
	u->each = fn;
	u->each_ctx = fctx;
	u->rootfd = -1;
	int r = oci_unpacker_apply(u, read, rctx, label, diff_id, err);
	sb_error_free(&u->read_err);
	free(u);
	return r;
}

int oci_image_unpack(struct oci_store *s, const struct oci_image *img, const char *rootfs,
		     const struct oci_apply_options *o, sb_error_t *err)
{
	struct oci_unpacker *u = oci_unpacker_new(rootfs, o, err);
	if (u == NULL)
		return -1;
	int r = 0;
	for (size_t i = 0; i < img->n_layers && r == 0; i++) {
		struct oci_blob *b = oci_image_open_layer(s, img, i, err);
		if (b == NULL) {
			r = -1;
			break;
		}
		cleanup_free char *label =
			img->layers[i].digest ? sb_asprintf("layer %s", img->layers[i].digest)
					      : sb_asprintf("layer %s", img->layer_members[i]);
		const char *diff = img->n_diff_ids == img->n_layers ? img->diff_ids[i] : NULL;
		r = oci_unpacker_apply(u, oci_blob_read, b, label, diff, err);
		if (r == 0 && oci_blob_finish(b, err) < 0)
			r = -1;
		sb_error_t derr = NULL;
		if (r < 0 && oci_blob_finish(b, &derr) < 0 && strstr(sb_error_message(derr), "digest")) {
			/* A damaged stream is reported as what it is: not the blob named. */
			sb_error_free(err);
			*err = derr;
			derr = NULL;
		}
		sb_error_free(&derr);
		oci_blob_close(b);
	}
	oci_unpacker_free(u);
	return r;
}
