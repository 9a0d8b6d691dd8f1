/* sif/sif_io.c: the backing store (file descriptor or memory) and the
 * field-by-field encoding of the header and descriptors. Records are never
 * read into packed structs: explicit little-endian helpers keep this right on
 * big-endian hosts and free of misaligned accesses. */
#include "sif/sif_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"

int sif_io_read(struct sif_image *img, int64_t off, void *buf, size_t len, sb_error_t *err)
{
	if (off < 0 || (uint64_t)len > (uint64_t)INT64_MAX - (uint64_t)off ||
	    off + (int64_t)len > img->size)
		return sb_error_set(err, 0, "unexpected EOF");
	if (img->fd < 0) {
		const uint8_t *base = img->mem ? img->mem : img->rmem;
		if (len)
			memcpy(buf, base + off, len);
		return 0;
	}
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pread(img->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sb_error_set(err, errno, "reading %s at offset %lld", img->name,
					    (long long)off);
		if (n == 0) /* the file shrank after it was opened */
			return sb_error_set(err, 0, "unexpected EOF");
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static void mem_reserve(struct sif_image *img, size_t need)
{
	if (need <= img->mem_cap)
		return;
	size_t cap = img->mem_cap ? img->mem_cap : 65536;
	while (cap < need)
		cap *= 2;
	img->mem = sb_xrealloc(img->mem, cap);
	memset(img->mem + img->mem_cap, 0, cap - img->mem_cap);
	img->mem_cap = cap;
}

int sif_io_write(struct sif_image *img, int64_t off, const void *buf, size_t len, sb_error_t *err)
{
	if (!img->writable)
		return sb_error_set(err, EROFS, "%s: image opened read-only", img->name);
	if (off < 0 || (uint64_t)len > (uint64_t)INT64_MAX - (uint64_t)off)
		return sb_error_set(err, EFBIG, "%s: write offset out of range", img->name);
	if (len == 0)
		return 0;
	int64_t end = off + (int64_t)len;
	if (img->fd < 0) {
		if ((uint64_t)end > SIZE_MAX / 2)
			return sb_error_set(err, ENOMEM, "%s: image too large for memory",
					    img->name);
		mem_reserve(img, (size_t)end);
		memcpy(img->mem + off, buf, len);
	} else {
		const uint8_t *p = buf;
		int64_t o = off;
		while (len > 0) {
			ssize_t n = pwrite(img->fd, p, len, (off_t)o);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return sb_error_set(err, errno, "writing %s at offset %lld",
						    img->name, (long long)o);
			p += n;
			len -= (size_t)n;
			o += n;
		}
	}
	if (end > img->size)
		img->size = end;
	return 0;
}

int sif_io_zero(struct sif_image *img, int64_t off, int64_t len, sb_error_t *err)
{
	static const uint8_t zeros[65536];
	while (len > 0) {
		size_t n = len > (int64_t)sizeof(zeros) ? sizeof(zeros) : (size_t)len;
		if (sif_io_write(img, off, zeros, n, err) < 0)
			return -1;
		off += (int64_t)n;
		len -= (int64_t)n;
	}
	return 0;
}

int sif_io_truncate(struct sif_image *img, int64_t len, sb_error_t *err)
{
	if (!img->writable)
		return sb_error_set(err, EROFS, "%s: image opened read-only", img->name);
	if (len < 0)
		return sb_error_set(err, EINVAL, "%s: truncate to a negative size", img->name);
	if (img->fd >= 0) {
		if (ftruncate(img->fd, (off_t)len) < 0)
			return sb_error_set(err, errno, "truncating %s", img->name);
	} else if (len < img->size) {
		/* keep the invariant that bytes past the end are zero */
		memset(img->mem + len, 0, (size_t)(img->size - len));
	} else {
		mem_reserve(img, (size_t)len);
	}
	img->size = len;
	return 0;
}

static void copy_field(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void sif_header_decode(const uint8_t raw[SIF_HEADER_SIZE], struct sif_header *h)
{
	copy_field(h->launch_script, raw, 32);
	copy_field(h->magic, raw + 32, 10);
	copy_field(h->version, raw + 42, 3);
	copy_field(h->arch, raw + 45, 3);
	memcpy(h->uuid, raw + 48, 16);
	int64_t *f[] = { &h->created_at,	&h->modified_at,	&h->descriptors_free,
			 &h->descriptors_total, &h->descriptors_offset, &h->descriptors_size,
			 &h->data_offset,	&h->data_size };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		*f[i] = (int64_t)sif_get_u64(raw + 64 + 8 * i);
}

void sif_header_encode(const struct sif_header *h, uint8_t raw[SIF_HEADER_SIZE])
{
	memcpy(raw, h->launch_script, 32);
	memcpy(raw + 32, h->magic, 10);
	memcpy(raw + 42, h->version, 3);
	memcpy(raw + 45, h->arch, 3);
	memcpy(raw + 48, h->uuid, 16);
	const int64_t f[] = { h->created_at,	    h->modified_at,	   h->descriptors_free,
			      h->descriptors_total, h->descriptors_offset, h->descriptors_size,
			      h->data_offset,	    h->data_size };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		sif_put_u64(raw + 64 + 8 * i, (uint64_t)f[i]);
}

void sif_descriptor_decode(const uint8_t raw[SIF_DESCRIPTOR_SIZE], struct sif_descriptor *d)
{
	d->data_type = (int32_t)sif_get_u32(raw);
	d->used_raw = raw[4];
	d->used = raw[4] != 0;
	d->id = sif_get_u32(raw + 5);
	d->group_raw = sif_get_u32(raw + 9);
	d->link_raw = sif_get_u32(raw + 13);
	int64_t *f[] = { &d->offset,	 &d->size,	  &d->size_with_padding,
			 &d->created_at, &d->modified_at, &d->uid,
			 &d->gid };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		*f[i] = (int64_t)sif_get_u64(raw + 17 + 8 * i);
	copy_field(d->name, raw + 73, SIF_NAME_SIZE);
	memcpy(d->extra, raw + 201, SIF_EXTRA_SIZE);
}

void sif_descriptor_encode(const struct sif_descriptor *d, uint8_t raw[SIF_DESCRIPTOR_SIZE])
{
	sif_put_u32(raw, (uint32_t)d->data_type);
	raw[4] = d->used ? (d->used_raw ? d->used_raw : 1) : 0;
	sif_put_u32(raw + 5, d->id);
	sif_put_u32(raw + 9, d->group_raw);
	sif_put_u32(raw + 13, d->link_raw);
	const int64_t f[] = { d->offset,     d->size,	     d->size_with_padding,
			      d->created_at, d->modified_at, d->uid,
			      d->gid };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		sif_put_u64(raw + 17 + 8 * i, (uint64_t)f[i]);
	memcpy(raw + 73, d->name, SIF_NAME_SIZE);
	memcpy(raw + 201, d->extra, SIF_EXTRA_SIZE);
}
