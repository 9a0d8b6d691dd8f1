/* sif/sif_internal.h: what the files of sif/ share; not for use outside sif/. */
#ifndef SB_SIF_INTERNAL_H
#define SB_SIF_INTERNAL_H

#include "sif/sif.h"

#define SIF_MAGIC "SIF_MAGIC" /* 9 chars + NUL = the 10-byte field */
#define SIF_VERSION "01"
/* The format allows up to 2^32-2 slots; we cap what we read and write so a
 * hostile header cannot make us allocate gigabytes. */
#define SIF_MAX_DESCRIPTORS (1 << 20)

struct sif_image {
	struct sif_header h;
	struct sif_descriptor *d; /* h.descriptors_total slots */
	size_t nslots;
	char *name; /* for messages */

	/* backend: a file descriptor, or a memory buffer (owned and growable when
	 * created in memory, borrowed and read-only for sif_open_buffer) */
	int fd;
	bool own_fd;
	bool writable;
	uint8_t *mem;
	const uint8_t *rmem;
	size_t mem_cap;
	int64_t size; /* current file / buffer length */

	bool clock_set;
	int64_t clock;

	/* the object being streamed in (sif_object_begin .. commit) */
	bool pending;
	size_t pending_slot;
	int64_t pending_start, pending_cursor, pending_size;
	struct sif_object_input pending_in;
};

/* Little-endian field access. */
static inline uint32_t sif_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t sif_get_u64(const uint8_t *p)
{
	return (uint64_t)sif_get_u32(p) | (uint64_t)sif_get_u32(p + 4) << 32;
}

static inline void sif_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void sif_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* sif_io.c: raw access to the backing store. */
int sif_io_read(struct sif_image *img, int64_t off, void *buf, size_t len, sb_error_t *err);
int sif_io_write(struct sif_image *img, int64_t off, const void *buf, size_t len, sb_error_t *err);
int sif_io_zero(struct sif_image *img, int64_t off, int64_t len, sb_error_t *err);
int sif_io_truncate(struct sif_image *img, int64_t len, sb_error_t *err);

/* Encoding and decoding of the on-disk records. */
void sif_header_decode(const uint8_t raw[SIF_HEADER_SIZE], struct sif_header *h);
void sif_header_encode(const struct sif_header *h, uint8_t raw[SIF_HEADER_SIZE]);
void sif_descriptor_decode(const uint8_t raw[SIF_DESCRIPTOR_SIZE], struct sif_descriptor *d);
void sif_descriptor_encode(const struct sif_descriptor *d, uint8_t raw[SIF_DESCRIPTOR_SIZE]);

/* sif_write.c helpers used by sif.c */
struct sif_image *sif_image_new(const char *name);
void sif_image_free(struct sif_image *img);
/* Reads and checks header and table from the backend already set in img. */
int sif_load(struct sif_image *img, sb_error_t *err);
/* Rewrites the whole descriptor table and then the header. */
int sif_write_metadata(struct sif_image *img, sb_error_t *err);

#endif
