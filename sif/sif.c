/* sif/sif.c: opening a SIF, checking it, and reading it.
 *
 * The reference reader checks only the magic and the version; everything else
 * in the header is trusted and objects are read on demand. We check more when
 * the image is opened, so that later code can rely on every used descriptor
 * pointing inside the file, without overlap, and on consistent counts. Images
 * written by any reference writer version (sif-format.md 4.8) pass. */
#include "sif/sif_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct sif_image *sif_image_new(const char *name)
{
	struct sif_image *img = sb_xcalloc(1, sizeof(*img));
	img->fd = -1;
	img->name = sb_strdup(name ? name : "<memory>");
	return img;
}

void sif_image_free(struct sif_image *img)
{
	if (img == NULL)
		return;
	free(img->d);
	free(img->mem);
	free(img->name);
	free(img);
}

int sif_close(struct sif_image *img, sb_error_t *err)
{
	int rc = 0;
	if (img == NULL)
		return 0;
	if (img->own_fd && img->fd >= 0 && close(img->fd) < 0)
		rc = sb_error_set(err, errno, "closing %s", img->name);
	sif_image_free(img);
	return rc;
}

static int check_header(struct sif_image *img, sb_error_t *err)
{
	const struct sif_header *h = &img->h;
	int64_t total = h->descriptors_total;

	if (memcmp(h->magic, SIF_MAGIC, 10) != 0)
		return sb_error_set(err, 0, "invalid SIF magic");
	if (memcmp(h->version, SIF_VERSION, 3) != 0)
		return sb_error_set(err, 0, "incompatible SIF version");
	if (total < 0 || total > SIF_MAX_DESCRIPTORS)
		return sb_error_set(err, 0, "descriptors total %lld is out of range 0..%d",
				    (long long)total, SIF_MAX_DESCRIPTORS);
	if (h->descriptors_offset < SIF_HEADER_SIZE)
		return sb_error_set(err, 0, "descriptors offset %lld overlaps the global header",
				    (long long)h->descriptors_offset);
	if (h->descriptors_size < total * SIF_DESCRIPTOR_SIZE)
		return sb_error_set(err, 0,
				    "reading descriptors: unexpected EOF (descriptors size %lld "
				    "is less than descriptors total %lld x %d)",
				    (long long)h->descriptors_size, (long long)total,
				    SIF_DESCRIPTOR_SIZE);
	/* total < 2^32 and the offset is checked against the file size, so no
	 * overflow below */
	if (h->descriptors_offset > img->size ||
	    total * SIF_DESCRIPTOR_SIZE > img->size - h->descriptors_offset)
		return sb_error_set(err, 0,
				    "reading descriptors: unexpected EOF (descriptors total %lld "
				    "at descriptors offset %lld runs past the end of the file, "
				    "%lld bytes)",
				    (long long)total, (long long)h->descriptors_offset,
				    (long long)img->size);
	if (h->descriptors_free < 0 || h->descriptors_free > total)
		return sb_error_set(err, 0, "descriptors free %lld is out of range 0..%lld",
				    (long long)h->descriptors_free, (long long)total);
	int64_t table_end = h->descriptors_offset + total * SIF_DESCRIPTOR_SIZE;
	if (h->data_offset < table_end)
		return sb_error_set(err, 0,
				    "data offset %lld overlaps the descriptor table (ends at %lld)",
				    (long long)h->data_offset, (long long)table_end);
	if (h->data_size < 0 || h->data_size > INT64_MAX - h->data_offset)
		return sb_error_set(err, 0, "data size %lld is out of range",
				    (long long)h->data_size);
	return 0;
}

static int check_descriptor(struct sif_image *img, size_t slot, sb_error_t *err)
{
	const struct sif_descriptor *d = &img->d[slot];
	unsigned id = d->id;

	if (d->id == 0)
		return sb_error_set(err, 0, "descriptor slot %zu: object ID 0 is invalid", slot);
	if (d->offset < img->h.data_offset)
		return sb_error_set(err, 0, "descriptor %u: offset %lld is before data offset %lld",
				    id, (long long)d->offset, (long long)img->h.data_offset);
	if (d->size < 0)
		return sb_error_set(err, 0, "descriptor %u: size %lld is negative", id,
				    (long long)d->size);
	if (d->size_with_padding < d->size)
		return sb_error_set(err, 0,
				    "descriptor %u: size with padding %lld is less than size %lld",
				    id, (long long)d->size_with_padding, (long long)d->size);
	/* A zero-size object may sit at an aligned offset past the end of the file
	 * (the reference writer seeks there and copies nothing). */
	if (d->size > 0 && (d->offset > img->size || d->size > img->size - d->offset))
		return sb_error_set(err, 0,
				    "descriptor %u: offset %lld + size %lld runs past the end of "
				    "the file (%lld bytes)",
				    id, (long long)d->offset, (long long)d->size,
				    (long long)img->size);
	if (d->size == 0 && d->offset > INT64_MAX / 2)
		return sb_error_set(err, 0, "descriptor %u: offset %lld is out of range", id,
				    (long long)d->offset);
	return 0;
}

static int cmp_by_offset(const void *a, const void *b)
{
	const struct sif_descriptor *x = *(const struct sif_descriptor *const *)a;
	const struct sif_descriptor *y = *(const struct sif_descriptor *const *)b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

static int cmp_by_id(const void *a, const void *b)
{
	const struct sif_descriptor *x = *(const struct sif_descriptor *const *)a;
	const struct sif_descriptor *y = *(const struct sif_descriptor *const *)b;
	return (x->id > y->id) - (x->id < y->id);
}

/* Sorting keeps these checks O(n log n) for tables a hostile header makes big. */
static int check_overlap(struct sif_image *img, size_t used, sb_error_t *err)
{
	cleanup_free const struct sif_descriptor **v = sb_xcalloc(used ? used : 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < img->nslots; i++)
		if (img->d[i].used)
			v[n++] = &img->d[i];
	qsort(v, n, sizeof(*v), cmp_by_id);
	for (size_t i = 1; i < n; i++)
		if (v[i]->id == v[i - 1]->id)
			return sb_error_set(err, 0, "descriptor %u: object ID used by two slots",
					    (unsigned)v[i]->id);
	n = 0;
	for (size_t i = 0; i < img->nslots; i++)
		if (img->d[i].used && img->d[i].size > 0)
			v[n++] = &img->d[i];
	qsort(v, n, sizeof(*v), cmp_by_offset);
	for (size_t i = 1; i < n; i++) {
		const struct sif_descriptor *p = v[i - 1], *q = v[i];
		if (q->offset < p->offset + p->size)
			return sb_error_set(err, 0,
					    "descriptor %u: offset %lld overlaps object %u "
					    "(%lld-%lld)",
					    (unsigned)q->id, (long long)q->offset, (unsigned)p->id,
					    (long long)p->offset, (long long)(p->offset + p->size));
	}
	return 0;
}

int sif_load(struct sif_image *img, sb_error_t *err)
{
	uint8_t raw[SIF_HEADER_SIZE];
	if (img->size < SIF_HEADER_SIZE)
		return sb_error_set(err, 0,
				    "reading global header: unexpected EOF (file is %lld bytes)",
				    (long long)img->size);
	if (sif_io_read(img, 0, raw, sizeof(raw), err) < 0)
		return sb_error_wrap(err, "reading global header");
	sif_header_decode(raw, &img->h);
	if (check_header(img, err) < 0)
		return -1;

	size_t n = (size_t)img->h.descriptors_total;
	cleanup_free uint8_t *table = sb_xmalloc(n ? n * SIF_DESCRIPTOR_SIZE : 1);
	if (sif_io_read(img, img->h.descriptors_offset, table, n * SIF_DESCRIPTOR_SIZE, err) < 0)
		return sb_error_wrap(err, "reading descriptors");
	free(img->d);
	img->d = sb_xcalloc(n ? n : 1, sizeof(*img->d));
	img->nslots = n;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		sif_descriptor_decode(table + i * SIF_DESCRIPTOR_SIZE, &img->d[i]);
		if (!img->d[i].used)
			continue;
		used++;
		if (check_descriptor(img, i, err) < 0)
			return -1;
	}
	if ((int64_t)(n - used) != img->h.descriptors_free)
		return sb_error_set(
			err, 0, "descriptors free is %lld but %zu of %zu descriptor slots are free",
			(long long)img->h.descriptors_free, n - used, n);
	return check_overlap(img, used, err);
}

struct sif_image *sif_open(const char *path, unsigned flags, sb_error_t *err)
{
	bool w = (flags & SIF_OPEN_WRITE) != 0;
	int fd = open(path, (w ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		sb_error_set(err, errno, "opening %s", path);
		return NULL;
	}
	struct sif_image *img = sif_image_new(path);
	img->fd = fd;
	img->own_fd = true;
	img->writable = w;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		sb_error_set(err, errno, "%s", path);
		sif_close(img, NULL);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		sb_error_set(err, 0, "%s: not a regular file", path);
		sif_close(img, NULL);
		return NULL;
	}
	img->size = st.st_size;
	if (S_ISBLK(st.st_mode)) { /* st_size is 0 for devices */
		off_t end = lseek(fd, 0, SEEK_END);
		img->size = end < 0 ? 0 : (int64_t)end;
	}
	if (sif_load(img, err) < 0) {
		sb_error_wrap(err, "%s", path);
		sif_close(img, NULL);
		return NULL;
	}
	return img;
}

struct sif_image *sif_open_buffer(const void *data, size_t len, const char *name, sb_error_t *err)
{
	struct sif_image *img = sif_image_new(name);
	img->rmem = data;
	img->size = (int64_t)len;
	if (sif_load(img, err) < 0) {
		if (name)
			sb_error_wrap(err, "%s", name);
		sif_image_free(img);
		return NULL;
	}
	return img;
}

const uint8_t *sif_memory_bytes(const struct sif_image *img, size_t *len)
{
	if (img->fd >= 0)
		return NULL;
	*len = (size_t)img->size;
	return img->mem ? img->mem : img->rmem;
}

const struct sif_header *sif_get_header(const struct sif_image *img)
{
	return &img->h;
}

size_t sif_slot_count(const struct sif_image *img)
{
	return img->nslots;
}

const struct sif_descriptor *sif_slot(const struct sif_image *img, size_t i)
{
	return i < img->nslots ? &img->d[i] : NULL;
}

size_t sif_object_count(const struct sif_image *img)
{
	size_t n = 0;
	for (size_t i = 0; i < img->nslots; i++)
		n += img->d[i].used;
	return n;
}

int64_t sif_file_size(const struct sif_image *img)
{
	return img->size;
}

const struct sif_descriptor *sif_get_object(const struct sif_image *img, uint32_t id,
					    sb_error_t *err)
{
	if (id == 0) {
		sb_error_set(err, 0, "invalid object ID");
		return NULL;
	}
	for (size_t i = 0; i < img->nslots; i++)
		if (img->d[i].used && img->d[i].id == id)
			return &img->d[i];
	sb_error_set(err, 0, "object not found");
	return NULL;
}

static bool is_primary(const struct sif_descriptor *d)
{
	return d->used && d->data_type == SIF_DATA_PARTITION &&
	       (int32_t)sif_get_u32(d->extra + 4) == SIF_PART_PRIMARY;
}

const struct sif_descriptor *sif_get_primary_partition(const struct sif_image *img, sb_error_t *err)
{
	const struct sif_descriptor *found = NULL;
	for (size_t i = 0; i < img->nslots; i++) {
		if (!is_primary(&img->d[i]))
			continue;
		if (found) {
			sb_error_set(err, 0, "multiple objects found");
			return NULL;
		}
		found = &img->d[i];
	}
	if (!found)
		sb_error_set(err, 0, "object not found");
	return found;
}

bool sif_is_deterministic(const struct sif_image *img)
{
	static const uint8_t nil[16];
	return memcmp(img->h.uuid, nil, 16) == 0 && img->h.created_at == SIF_TIME_DETERMINISTIC &&
	       img->h.modified_at == SIF_TIME_DETERMINISTIC;
}

int sif_arch_from_raw(const char raw[3])
{
	if (raw[0] < '0' || raw[0] > '9' || raw[1] < '0' || raw[1] > '9' || raw[2] != '\0')
		return 0;
	int code = (raw[0] - '0') * 10 + (raw[1] - '0');
	return code <= SIF_ARCH_MAX ? code : 0;
}

int sif_header_arch(const struct sif_image *img)
{
	return sif_arch_from_raw(img->h.arch);
}

uint32_t sif_descriptor_group(const struct sif_descriptor *d)
{
	return d->group_raw & SIF_ID_MASK;
}

uint32_t sif_descriptor_link(const struct sif_descriptor *d, bool *is_group)
{
	if (is_group)
		*is_group = (d->link_raw & SIF_GROUP_MASK) == SIF_GROUP_MASK;
	return d->link_raw & SIF_ID_MASK;
}

const char *sif_descriptor_name(const struct sif_descriptor *d)
{
	return d->name;
}

static int want_type(const struct sif_descriptor *d, int32_t t, sb_error_t *err)
{
	if (d->data_type == t)
		return 0;
	return sb_error_set(err, 0, "unexpected data type %s (0x%x), expected %s",
			    sif_data_type_name(d->data_type), (unsigned)d->data_type,
			    sif_data_type_name(t));
}

int sif_descriptor_partition(const struct sif_descriptor *d, struct sif_partition_info *out,
			     sb_error_t *err)
{
	if (want_type(d, SIF_DATA_PARTITION, err) < 0)
		return -1;
	out->fs_type = (int32_t)sif_get_u32(d->extra);
	out->part_type = (int32_t)sif_get_u32(d->extra + 4);
	memcpy(out->arch_raw, d->extra + 8, 3);
	out->arch_raw[3] = '\0';
	out->arch = sif_arch_from_raw(out->arch_raw);
	return 0;
}

int sif_descriptor_signature(const struct sif_descriptor *d, int32_t *hash_type,
			     uint8_t fingerprint[20], bool *has_fingerprint, sb_error_t *err)
{
	if (want_type(d, SIF_DATA_SIGNATURE, err) < 0)
		return -1;
	*hash_type = (int32_t)sif_get_u32(d->extra);
	if (sif_hash_type_name(*hash_type) == NULL)
		return sb_error_set(err, 0, "hash algorithm unsupported");
	memcpy(fingerprint, d->extra + 4, 20);
	*has_fingerprint = false;
	for (int i = 0; i < 20; i++)
		if (fingerprint[i])
			*has_fingerprint = true;
	return 0;
}

int sif_descriptor_crypto_message(const struct sif_descriptor *d, int32_t *format, int32_t *message,
				  sb_error_t *err)
{
	if (want_type(d, SIF_DATA_CRYPTO_MESSAGE, err) < 0)
		return -1;
	*format = (int32_t)sif_get_u32(d->extra);
	*message = (int32_t)sif_get_u32(d->extra + 4);
	return 0;
}

int sif_descriptor_sbom(const struct sif_descriptor *d, int32_t *format, sb_error_t *err)
{
	if (want_type(d, SIF_DATA_SBOM, err) < 0)
		return -1;
	*format = (int32_t)sif_get_u32(d->extra);
	return 0;
}

int sif_descriptor_oci_digest(const struct sif_descriptor *d, char out[SIF_EXTRA_SIZE + 1],
			      sb_error_t *err)
{
	if (d->data_type != SIF_DATA_OCI_ROOT_INDEX && d->data_type != SIF_DATA_OCI_BLOB)
		return want_type(d, SIF_DATA_OCI_BLOB, err);
	size_t n = strnlen((const char *)d->extra, SIF_EXTRA_SIZE);
	memcpy(out, d->extra, n);
	out[n] = '\0';
	const char *colon = strchr(out, ':');
	bool ok = colon && colon != out && colon[1] != '\0';
	for (const char *p = out; ok && p < colon; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' ||
		     *p == '.' || *p == '_' || *p == '-';
	for (const char *p = colon ? colon + 1 : out; ok && *p; p++)
		ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
	if (!ok)
		return sb_error_set(err, 0, "descriptor %u: invalid OCI digest in metadata",
				    (unsigned)d->id);
	return 0;
}

int sif_read_object(struct sif_image *img, const struct sif_descriptor *d, int64_t pos, void *buf,
		    size_t len, sb_error_t *err)
{
	if (pos < 0 || pos > d->size || (uint64_t)len > (uint64_t)(d->size - pos))
		return sb_error_set(err, 0, "EOF");
	if (len == 0) /* an empty object may sit past the end of the file */
		return 0;
	return sif_io_read(img, d->offset + pos, buf, len, err);
}

void *sif_read_object_alloc(struct sif_image *img, const struct sif_descriptor *d, size_t *len,
			    sb_error_t *err)
{
	if ((uint64_t)d->size >= SIZE_MAX) {
		sb_error_set(err, ENOMEM, "object %u", (unsigned)d->id);
		return NULL;
	}
	cleanup_free uint8_t *buf = sb_xmalloc((size_t)d->size + 1);
	if (sif_read_object(img, d, 0, buf, (size_t)d->size, err) < 0)
		return NULL;
	buf[d->size] = 0;
	*len = (size_t)d->size;
	return steal_pointer(&buf);
}

int sif_copy_object_to_fd(struct sif_image *img, const struct sif_descriptor *d, int fd,
			  sb_error_t *err)
{
	cleanup_free uint8_t *buf = sb_xmalloc(1 << 16);
	int64_t pos = 0;
	while (pos < d->size) {
		size_t n = d->size - pos > (1 << 16) ? (1 << 16) : (size_t)(d->size - pos);
		if (sif_read_object(img, d, pos, buf, n, err) < 0)
			return -1;
		for (size_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return sb_error_set(err, errno, "writing object %u",
						    (unsigned)d->id);
			done += (size_t)w;
		}
		pos += (int64_t)n;
	}
	return 0;
}
