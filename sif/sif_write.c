/* sif/sif_write.c: creating a SIF and changing one (add, delete, set-primary).
 *
 * Placement follows the reference writer v2.24 (sif-format.md 4): a new object
 * goes into the lowest free slot, at align_up(end of the last used object),
 * and after every change the whole descriptor table and then the header are
 * rewritten. Unlike the reference we write alignment gaps as zeros instead of
 * leaving holes: on a new file the bytes are the same, and after a delete the
 * gap never keeps stale data. */
#include "sif/sif_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

int sif_write_metadata(struct sif_image *img, sb_error_t *err)
{
	size_t n = img->nslots;
	cleanup_free uint8_t *table = sb_xmalloc(n ? n * SIF_DESCRIPTOR_SIZE : 1);
	for (size_t i = 0; i < n; i++)
		sif_descriptor_encode(&img->d[i], table + i * SIF_DESCRIPTOR_SIZE);
	if (sif_io_write(img, img->h.descriptors_offset, table, n * SIF_DESCRIPTOR_SIZE, err) < 0)
		return -1;
	uint8_t raw[SIF_HEADER_SIZE];
	sif_header_encode(&img->h, raw);
	return sif_io_write(img, 0, raw, sizeof(raw), err);
}

static int64_t op_time(const struct sif_image *img)
{
	if (img->clock_set)
		return img->clock;
	if (sif_is_deterministic(img))
		return SIF_TIME_DETERMINISTIC;
	return (int64_t)time(NULL);
}

void sif_set_clock(struct sif_image *img, int64_t t)
{
	img->clock_set = true;
	img->clock = t;
}

static int random_uuid(uint8_t out[16], sb_error_t *err)
{
	size_t got = 0;
	while (got < 16) {
		ssize_t n = getrandom(out + got, 16 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_error_set(err, errno, "generating the image UUID");
		got += (size_t)n;
	}
	out[6] = (uint8_t)((out[6] & 0x0F) | 0x40); /* version 4 */
	out[8] = (uint8_t)((out[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	return 0;
}

/* Fills img's header and empty table from opts and writes them. */
static int init_image(struct sif_image *img, const struct sif_create_options *opts, sb_error_t *err)
{
	static const struct sif_create_options defaults;
	if (opts == NULL)
		opts = &defaults;
	struct sif_header *h = &img->h;
	size_t ls = opts->launch_script ? strlen(opts->launch_script) : 0;
	if (ls > SIF_LAUNCH_SCRIPT_MAX)
		return sb_error_set(err, 0, "launch script too large (%zu bytes, at most %d)", ls,
				    SIF_LAUNCH_SCRIPT_MAX);
	size_t cap = opts->descriptor_capacity ? opts->descriptor_capacity : SIF_DEFAULT_CAPACITY;
	if (cap > SIF_MAX_DESCRIPTORS)
		return sb_error_set(err, 0, "descriptor capacity %zu is not supported (at most %d)",
				    cap, SIF_MAX_DESCRIPTORS);
	memset(h, 0, sizeof(*h));
	if (ls)
		memcpy(h->launch_script, opts->launch_script, ls);
	memcpy(h->magic, SIF_MAGIC, 10);
	memcpy(h->version, SIF_VERSION, 3);
	memcpy(h->arch, "00", 3);
	if (opts->uuid)
		memcpy(h->uuid, opts->uuid, 16);
	else if (!opts->deterministic && random_uuid(h->uuid, err) < 0)
		return -1;
	if (opts->time_set)
		h->created_at = opts->time;
	else
		h->created_at = opts->deterministic ? SIF_TIME_DETERMINISTIC : (int64_t)time(NULL);
	h->modified_at = h->created_at;
	h->descriptors_free = h->descriptors_total = (int64_t)cap;
	h->descriptors_offset = SIF_DESCRIPTORS_OFFSET;
	h->descriptors_size = (int64_t)cap * SIF_DESCRIPTOR_SIZE;
	h->data_offset = h->descriptors_offset + h->descriptors_size;
	h->data_size = 0;
	img->d = sb_xcalloc(cap, sizeof(*img->d));
	img->nslots = cap;
	if (opts->time_set)
		sif_set_clock(img, opts->time);
	/* the reference leaves 128..4095 as a hole; write the zeros explicitly */
	if (sif_io_zero(img, SIF_HEADER_SIZE, h->descriptors_offset - SIF_HEADER_SIZE, err) < 0)
		return -1;
	return sif_write_metadata(img, err);
}

struct sif_image *sif_create(const char *path, const struct sif_create_options *opts,
			     sb_error_t *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0) {
		sb_error_set(err, errno, "creating %s", path);
		return NULL;
	}
	struct sif_image *img = sif_image_new(path);
	img->fd = fd;
	img->own_fd = true;
	img->writable = true;
	if (init_image(img, opts, err) < 0) {
		sb_error_wrap(err, "creating %s", path);
		sif_close(img, NULL);
		return NULL;
	}
	return img;
}

struct sif_image *sif_create_memory(const struct sif_create_options *opts, sb_error_t *err)
{
	struct sif_image *img = sif_image_new(NULL);
	img->writable = true;
	if (init_image(img, opts, err) < 0) {
		sif_image_free(img);
		return NULL;
	}
	return img;
}

void sif_object_input_init(struct sif_object_input *in, int32_t data_type)
{
	memset(in, 0, sizeof(*in));
	in->data_type = data_type;
	in->group = 1;
	in->alignment = data_type == SIF_DATA_PARTITION ? SIF_PARTITION_ALIGN : 0;
}

static int input_type(const struct sif_object_input *in, int32_t t, sb_error_t *err)
{
	if (in->data_type == t)
		return 0;
	return sb_error_set(err, 0, "unexpected data type %s, expected %s",
			    sif_data_type_name(in->data_type), sif_data_type_name(t));
}

int sif_input_set_partition(struct sif_object_input *in, int32_t fs_type, int32_t part_type,
			    int arch, sb_error_t *err)
{
	if (input_type(in, SIF_DATA_PARTITION, err) < 0)
		return -1;
	if (arch < 1 || arch > SIF_ARCH_MAX)
		return sb_error_set(err, 0, "unknown architecture: %d", arch);
	memset(in->extra, 0, sizeof(in->extra));
	sif_put_u32(in->extra, (uint32_t)fs_type);
	sif_put_u32(in->extra + 4, (uint32_t)part_type);
	in->extra[8] = (uint8_t)('0' + arch / 10);
	in->extra[9] = (uint8_t)('0' + arch % 10);
	return 0;
}

int sif_input_set_signature(struct sif_object_input *in, int32_t hash_type,
			    const uint8_t *fingerprint, size_t fingerprint_len, sb_error_t *err)
{
	if (input_type(in, SIF_DATA_SIGNATURE, err) < 0)
		return -1;
	if (fingerprint_len > 256)
		return sb_error_set(err, 0, "signing entity too long (%zu bytes, at most 256)",
				    fingerprint_len);
	memset(in->extra, 0, sizeof(in->extra));
	sif_put_u32(in->extra, (uint32_t)hash_type);
	if (fingerprint_len)
		memcpy(in->extra + 4, fingerprint, fingerprint_len);
	return 0;
}

int sif_input_set_crypto_message(struct sif_object_input *in, int32_t format, int32_t message,
				 sb_error_t *err)
{
	if (input_type(in, SIF_DATA_CRYPTO_MESSAGE, err) < 0)
		return -1;
	memset(in->extra, 0, sizeof(in->extra));
	sif_put_u32(in->extra, (uint32_t)format);
	sif_put_u32(in->extra + 4, (uint32_t)message);
	return 0;
}

int sif_input_set_sbom(struct sif_object_input *in, int32_t format, sb_error_t *err)
{
	if (input_type(in, SIF_DATA_SBOM, err) < 0)
		return -1;
	memset(in->extra, 0, sizeof(in->extra));
	sif_put_u32(in->extra, (uint32_t)format);
	return 0;
}

/* End of the last used object, as the reference recomputes it before an add. */
static int64_t used_data_end(const struct sif_image *img)
{
	int64_t end = img->h.data_offset;
	for (size_t i = 0; i < img->nslots; i++) {
		const struct sif_descriptor *d = &img->d[i];
		if (d->used && d->offset + d->size > end)
			end = d->offset + d->size;
	}
	return end;
}

static int check_changeable(struct sif_image *img, sb_error_t *err)
{
	if (!img->writable)
		return sb_error_set(err, EROFS, "%s: image opened read-only", img->name);
	if (img->pending)
		return sb_error_set(err, EBUSY, "%s: an object is being added", img->name);
	return 0;
}

int64_t sif_object_begin(struct sif_image *img, const struct sif_object_input *in, sb_error_t *err)
{
	if (check_changeable(img, err) < 0)
		return -1;
	size_t slot = 0;
	while (slot < img->nslots && img->d[slot].used)
		slot++;
	if (slot >= img->nslots)
		return sb_error_set(
			err, 0, "insufficient descriptor capacity to add data object(s) to image");
	/* IDs are slot + 1; an image from elsewhere may use that ID in another slot */
	for (size_t i = 0; i < img->nslots; i++)
		if (img->d[i].used && img->d[i].id == slot + 1)
			return sb_error_set(
				err, 0,
				"object ID %zu (of free slot %zu) is already used by slot %zu",
				slot + 1, slot, i);
	if (in->name && strlen(in->name) > SIF_NAME_SIZE)
		return sb_error_set(err, 0, "object name too long (%zu bytes, at most %d)",
				    strlen(in->name), SIF_NAME_SIZE);
	if (in->group > SIF_ID_MASK)
		return sb_error_set(err, 0, "group ID %u is out of range", (unsigned)in->group);
	if (in->data_type == SIF_DATA_PARTITION &&
	    (int32_t)sif_get_u32(in->extra + 4) == SIF_PART_PRIMARY) {
		sb_error_t e = NULL;
		const struct sif_descriptor *p = sif_get_primary_partition(img, &e);
		sb_error_free(&e);
		if (p != NULL)
			return sb_error_set(err, 0, "image already contains a primary partition");
	}
	int64_t cursor = used_data_end(img);
	int64_t start = cursor;
	if (in->alignment > 0 && cursor % in->alignment != 0) {
		int64_t pad = in->alignment - cursor % in->alignment;
		if (INT64_MAX - cursor < pad)
			return sb_error_set(err, EOVERFLOW,
					    "integer overflow when calculating alignment");
		start = cursor + pad;
	}
	img->pending = true;
	img->pending_slot = slot;
	img->pending_cursor = cursor;
	img->pending_start = start;
	img->pending_size = 0;
	img->pending_in = *in;
	img->pending_in.name = NULL; /* borrowed; copied at commit from here */
	memset(img->d[slot].name, 0, sizeof(img->d[slot].name));
	if (in->name)
		memcpy(img->d[slot].name, in->name, strlen(in->name));
	/* stale bytes of deleted objects may lie in the gap */
	if (start > cursor && cursor < img->size &&
	    sif_io_zero(img, cursor, (start < img->size ? start : img->size) - cursor, err) < 0) {
		img->pending = false;
		return -1;
	}
	return start;
}

int sif_object_pwrite(struct sif_image *img, int64_t pos, const void *buf, size_t len,
		      sb_error_t *err)
{
	if (!img->pending)
		return sb_error_set(err, EINVAL, "%s: no object is being added", img->name);
	if (pos < 0 || (uint64_t)len > (uint64_t)(INT64_MAX - img->pending_start - pos))
		return sb_error_set(err, EFBIG, "%s: object write out of range", img->name);
	if (sif_io_write(img, img->pending_start + pos, buf, len, err) < 0)
		return -1;
	if (len > 0 && pos + (int64_t)len > img->pending_size)
		img->pending_size = pos + (int64_t)len;
	return 0;
}

int sif_object_pread(struct sif_image *img, int64_t pos, void *buf, size_t len, sb_error_t *err)
{
	if (!img->pending)
		return sb_error_set(err, EINVAL, "%s: no object is being added", img->name);
	if (pos < 0 || pos > img->pending_size ||
	    (uint64_t)len > (uint64_t)(img->pending_size - pos))
		return sb_error_set(err, 0, "EOF");
	return sif_io_read(img, img->pending_start + pos, buf, len, err);
}

void sif_object_abort(struct sif_image *img)
{
	if (!img->pending)
		return;
	memset(&img->d[img->pending_slot], 0, sizeof(img->d[0]));
	img->pending = false;
}

int sif_object_fd(const struct sif_image *img)
{
	return (img->pending && img->fd >= 0 && img->writable) ? img->fd : -1;
}

int sif_object_note_written(struct sif_image *img, int64_t len, sb_error_t *err)
{
	if (!img->pending)
		return sb_error_set(err, EINVAL, "%s: no object is being written", img->name);
	if (len < 0 || len > INT64_MAX - img->pending_start)
		return sb_error_set(err, EFBIG, "%s: object size out of range", img->name);
	if (len > img->pending_size)
		img->pending_size = len;
	if (img->pending_start + len > img->size)
		img->size = img->pending_start + len;
	return 0;
}

/* "sha256:<hex>" of the pending object's bytes, read back from the image. */
static int oci_digest(struct sif_image *img, uint8_t extra[SIF_EXTRA_SIZE], sb_error_t *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return sb_error_set(err, 0, "sha256: cannot initialise libcrypto digest");
	}
	cleanup_free uint8_t *buf = sb_xmalloc(1 << 16);
	int rc = 0;
	for (int64_t pos = 0; pos < img->pending_size && rc == 0;) {
		size_t n = img->pending_size - pos > (1 << 16) ? (1 << 16)
							       : (size_t)(img->pending_size - pos);
		rc = sif_io_read(img, img->pending_start + pos, buf, n, err);
		if (rc == 0 && EVP_DigestUpdate(ctx, buf, n) != 1)
			rc = sb_error_set(err, 0, "sha256: digest update failed");
		pos += (int64_t)n;
	}
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (rc == 0 && (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32))
		rc = sb_error_set(err, 0, "sha256: digest final failed");
	EVP_MD_CTX_free(ctx);
	if (rc < 0)
		return -1;
	memset(extra, 0, SIF_EXTRA_SIZE);
	memcpy(extra, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		static const char hex[] = "0123456789abcdef";
		extra[7 + 2 * i] = (uint8_t)hex[md[i] >> 4];
		extra[8 + 2 * i] = (uint8_t)hex[md[i] & 15];
	}
	return 0;
}

int64_t sif_object_commit(struct sif_image *img, sb_error_t *err)
{
	if (!img->pending)
		return sb_error_set(err, EINVAL, "%s: no object is being added", img->name);
	const struct sif_object_input *in = &img->pending_in;
	struct sif_descriptor *d = &img->d[img->pending_slot];
	int64_t t = op_time(img);
	d->data_type = in->data_type;
	d->used = true;
	d->used_raw = 1;
	d->id = (uint32_t)img->pending_slot + 1;
	d->group_raw = in->group | SIF_GROUP_MASK;
	d->link_raw = in->link;
	d->offset = img->pending_start;
	d->size = img->pending_size;
	d->size_with_padding = img->pending_start - img->pending_cursor + img->pending_size;
	d->created_at = d->modified_at = in->time_set ? in->time : t;
	d->uid = d->gid = 0;
	memcpy(d->extra, in->extra, SIF_EXTRA_SIZE);
	if ((d->data_type == SIF_DATA_OCI_ROOT_INDEX || d->data_type == SIF_DATA_OCI_BLOB) &&
	    oci_digest(img, d->extra, err) < 0) {
		sif_object_abort(img);
		return -1;
	}
	if (d->data_type == SIF_DATA_PARTITION &&
	    (int32_t)sif_get_u32(d->extra + 4) == SIF_PART_PRIMARY)
		memcpy(img->h.arch, d->extra + 8, 3);
	img->h.descriptors_free--;
	img->h.data_size = img->pending_cursor - img->h.data_offset + d->size_with_padding;
	img->h.modified_at = t;
	img->pending = false;
	if (sif_write_metadata(img, err) < 0)
		return -1;
	return d->id;
}

int64_t sif_add_object(struct sif_image *img, const struct sif_object_input *in, const void *data,
		       size_t len, sb_error_t *err)
{
	if (sif_object_begin(img, in, err) < 0)
		return -1;
	if (sif_object_pwrite(img, 0, data, len, err) < 0) {
		sif_object_abort(img);
		return -1;
	}
	return sif_object_commit(img, err);
}

int64_t sif_add_object_from_fd(struct sif_image *img, const struct sif_object_input *in, int fd,
			       sb_error_t *err)
{
	if (sif_object_begin(img, in, err) < 0)
		return -1;
	cleanup_free uint8_t *buf = sb_xmalloc(1 << 16);
	int64_t pos = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sb_error_set(err, errno, "reading object data");
			sif_object_abort(img);
			return -1;
		}
		if (n == 0)
			break;
		if (sif_object_pwrite(img, pos, buf, (size_t)n, err) < 0) {
			sif_object_abort(img);
			return -1;
		}
		pos += n;
	}
	return sif_object_commit(img, err);
}

int sif_delete_object(struct sif_image *img, uint32_t id, unsigned flags, sb_error_t *err)
{
	if (check_changeable(img, err) < 0)
		return -1;
	struct sif_descriptor *d = (struct sif_descriptor *)sif_get_object(img, id, err);
	if (d == NULL)
		return -1;
	if ((flags & SIF_DELETE_ZERO) && sif_io_zero(img, d->offset, d->size, err) < 0)
		return -1;
	img->h.descriptors_free++;
	if (d->data_type == SIF_DATA_PARTITION &&
	    (int32_t)sif_get_u32(d->extra + 4) == SIF_PART_PRIMARY)
		memcpy(img->h.arch, "00", 3);
	memset(d, 0, sizeof(*d));
	img->h.modified_at = op_time(img);
	if (flags & SIF_DELETE_COMPACT) {
		img->h.data_size = used_data_end(img) - img->h.data_offset;
		/* compaction only ever shortens the file */
		if (img->h.data_offset + img->h.data_size < img->size &&
		    sif_io_truncate(img, img->h.data_offset + img->h.data_size, err) < 0)
			return -1;
	}
	return sif_write_metadata(img, err);
}

int sif_set_primary_partition(struct sif_image *img, uint32_t id, sb_error_t *err)
{
	if (check_changeable(img, err) < 0)
		return -1;
	struct sif_descriptor *d = (struct sif_descriptor *)sif_get_object(img, id, err);
	if (d == NULL)
		return -1;
	if (d->data_type != SIF_DATA_PARTITION)
		return sb_error_set(err, 0, "data object not a partition");
	int32_t pt = (int32_t)sif_get_u32(d->extra + 4);
	if (pt == SIF_PART_PRIMARY)
		return 0;
	if (pt != SIF_PART_SYSTEM)
		return sb_error_set(err, 0, "data object not a system partition");
	int64_t t = op_time(img);
	sb_error_t e = NULL;
	struct sif_descriptor *old = (struct sif_descriptor *)sif_get_primary_partition(img, &e);
	if (old == NULL && strcmp(sb_error_message(e), "object not found") != 0) {
		if (err)
			*err = steal_pointer(&e);
		sb_error_free(&e);
		return -1;
	}
	sb_error_free(&e);
	if (old) {
		sif_put_u32(old->extra + 4, SIF_PART_SYSTEM);
		old->modified_at = t;
	}
	sif_put_u32(d->extra + 4, SIF_PART_PRIMARY);
	d->modified_at = t;
	memcpy(img->h.arch, d->extra + 8, 3);
	img->h.modified_at = t;
	return sif_write_metadata(img, err);
}
