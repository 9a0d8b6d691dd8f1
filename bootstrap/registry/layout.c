/* bootstrap/registry/layout.c: writing the pulled image as an OCI layout. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/registry/pull.h"
#include "common/cleanup.h"

static int copy_fd(int in, int out)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			off += w;
		}
	}
}

static int copy_file(const char *src, const char *dst, sb_error_t *err)
{
	cleanup_free char *tmp = sb_asprintf("%s.XXXXXX", dst);
	cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return sb_error_set(err, errno, "opening %s", src);
	cleanup_close int out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return sb_error_set(err, errno, "creating %s", tmp);
	if (copy_fd(in, out) < 0 || fchmod(out, 0444) < 0 || rename(tmp, dst) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "copying %s to %s", src, dst);
	}
	return 0;
}

int sb_reg_place_file(const char *src, const char *dst, sb_error_t *err)
{
	struct stat a, b;
	if (stat(src, &a) < 0)
		return sb_error_set(err, errno, "%s", src);
	if (lstat(dst, &b) == 0 && S_ISREG(b.st_mode) && b.st_size == a.st_size)
		return 0;
	if (link(src, dst) == 0)
		return 0;
	if (errno == EEXIST) {
		unlink(dst);
		if (link(src, dst) == 0)
			return 0;
	}
	return copy_file(src, dst, err);
}

static int write_text(const char *path, const char *text, sb_error_t *err)
{
	cleanup_free char *tmp = sb_asprintf("%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "creating %s", tmp);
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	if (w != (ssize_t)len || fchmod(fd, 0644) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e ? e : EIO, "writing %s", path);
	}
	return 0;
}

static int place_blob(const char *dir, struct sb_registry_blob *b, sb_error_t *err)
{
	char *dst = sb_asprintf("%s/blobs/sha256/%s", dir, b->digest + 7);
	if (strcmp(dst, b->path) != 0 && sb_reg_place_file(b->path, dst, err) < 0) {
		free(dst);
		return -1;
	}
	free(b->path);
	b->path = dst;
	return 0;
}

static char *index_json(const struct sb_registry_image *img, const char *refname)
{
	json_t *ann = json_pack("{s:s}", "org.opencontainers.image.ref.name", refname);
	json_t *desc = json_pack("{s:s, s:s, s:I, s:o}", "mediaType", img->manifest.media_type,
				 "digest", img->manifest.digest, "size",
				 (json_int_t)img->manifest.size, "annotations", ann);
	if (img->arch && *img->arch) {
		json_t *p = json_pack("{s:s, s:s}", "architecture", img->arch, "os", img->os);
		if (img->variant && *img->variant)
			json_object_set_new(p, "variant", json_string(img->variant));
		json_object_set_new(desc, "platform", p);
	}
	json_t *idx = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType",
				SB_MT_OCI_INDEX, "manifests", desc);
	char *text = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	return text;
}

int sb_reg_write_layout(struct sb_reg_store *st, struct sb_registry_image *img, const char *refname,
			const char *dir, sb_error_t *err)
{
	cleanup_free char *blobs = sb_asprintf("%s/blobs/sha256", dir);
	cleanup_free char *parent = sb_asprintf("%s/blobs", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(parent, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(blobs, 0755) < 0 && errno != EEXIST))
		return sb_error_set(err, errno, "creating OCI layout %s", dir);
	if (place_blob(dir, &img->manifest, err) < 0 || place_blob(dir, &img->config, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++)
		if (place_blob(dir, &img->layers[i], err) < 0)
			return -1;
	cleanup_free char *layout = sb_asprintf("%s/oci-layout", dir);
	cleanup_free char *index = sb_asprintf("%s/index.json", dir);
	cleanup_free char *text = index_json(img, refname);
	if (write_text(layout, "{\"imageLayoutVersion\":\"1.0.0\"}", err) < 0 ||
	    write_text(index, text, err) < 0)
		return -1;
	if (!st->shared) {
		cleanup_free char *tmpdir = sb_asprintf("%s/tmp", dir);
		rmdir(tmpdir);
	}
	return 0;
}
