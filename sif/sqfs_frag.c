/* sif/sqfs_frag.c: our own fragment packer.
 *
 * Why not libsquashfs's: its block processor sends every small file through
 * the ordered worker queue to be hashed, and packs fragment blocks on the
 * main thread as those come back in order. A 128 KiB fragment block then sits
 * at the head of the queue while it is compressed, the small-file items behind
 * it finish at once, the main thread waits for the head, and the second worker
 * idles: trees of many small files compressed on about one core (profiled:
 * 1.17x mksquashfs's time on a 50k-file tree). Here small files are packed and
 * deduplicated on the main thread, which is cheap, and only full fragment
 * blocks enter the queue, as raw blocks compressed in parallel like data.
 *
 * Deduplication: (size, 64-bit hash) finds candidates; a candidate counts only
 * after a byte comparison with the fragment block read back (and
 * decompressed) from the image, so hash collisions cannot lose data.
 */
#include "sif/sqfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/block_writer.h>
#include <sqfs/compressor.h>
#include <sqfs/error.h>
#include <sqfs/frag_table.h>

#include "common/strbuf.h"

struct cand {
	uint32_t index, offset;
	uint32_t next; /* 1-based index of the next candidate with the same key, 0 = none */
};

struct sq_frags {
	sqfs_block_processor_t *proc;
	sqfs_file_t *file;
	sqfs_compressor_t *uncmp;
	sqfs_frag_table_t *tbl;
	size_t block_size;
	uint8_t *cur; /* the open fragment block */
	size_t cur_len;
	uint32_t cur_index;
	bool cur_open;
	uint8_t *cache, *raw; /* the last block read back, decompressed */
	size_t cache_len;
	uint32_t cache_index;
	bool cache_valid;
	struct sq_map map; /* (size, hash) -> 1-based candidate index */
	struct cand *cands;
	size_t n_cands, cap_cands;
	uint8_t **flying; /* per fragment block: a copy while it is in flight */
	uint64_t *where;  /* per fragment block: location in the image */
	uint32_t *disk;   /* per fragment block: on-disk size word, 0 = not written yet */
	size_t n_blocks, cap_blocks;
};

struct sq_frags *sq_frags_create(sqfs_file_t *file, sqfs_compressor_t *uncmp, size_t block_size)
{
	struct sq_frags *f = sb_xcalloc(1, sizeof(*f));
	f->file = file;
	f->uncmp = uncmp;
	f->block_size = block_size;
	f->tbl = sqfs_frag_table_create(0);
	f->cur = sb_xmalloc(block_size);
	f->cache = sb_xmalloc(block_size);
	f->raw = sb_xmalloc(block_size);
	if (f->tbl == NULL) {
		sq_frags_free(f);
		return NULL;
	}
	return f;
}

void sq_frags_set_processor(struct sq_frags *f, sqfs_block_processor_t *proc)
{
	f->proc = proc;
}

sqfs_frag_table_t *sq_frags_table(struct sq_frags *f)
{
	return f->tbl;
}

void sq_frags_free(struct sq_frags *f)
{
	if (f == NULL)
		return;
	sqfs_destroy(f->tbl);
	sq_map_clear(&f->map, NULL);
	free(f->cands);
	for (size_t i = 0; i < f->n_blocks; i++)
		free(f->flying[i]);
	free(f->flying);
	free(f->where);
	free(f->disk);
	free(f->cur);
	free(f->cache);
	free(f->raw);
	free(f);
}

/* Hands the open block to the processor: compressed by a worker like any
 * data block; its location arrives through the block writer below. A copy is
 * kept until then, so that deduplication never has to wait for the queue
 * (draining it to read the block back idled the workers). */
int sq_frags_flush(struct sq_frags *f)
{
	if (!f->cur_open)
		return 0;
	f->cur_open = false;
	f->flying[f->cur_index] = sb_xmalloc(f->cur_len);
	memcpy(f->flying[f->cur_index], f->cur, f->cur_len);
	void *user = (void *)(uintptr_t)(f->cur_index + 1);
	return sqfs_block_processor_submit_block(f->proc, user, SQFS_BLK_IGNORE_SPARSE, f->cur,
						 f->cur_len);
}

static int open_block(struct sq_frags *f)
{
	uint32_t index;
	int ret = sqfs_frag_table_append(f->tbl, 0, 0, &index);
	if (ret != 0)
		return ret;
	if (index >= f->cap_blocks) {
		f->cap_blocks = f->cap_blocks ? 2 * f->cap_blocks : 256;
		f->flying = sb_xrealloc(f->flying, f->cap_blocks * sizeof(*f->flying));
		f->where = sb_xrealloc(f->where, f->cap_blocks * sizeof(*f->where));
		f->disk = sb_xrealloc(f->disk, f->cap_blocks * sizeof(*f->disk));
	}
	f->flying[index] = NULL;
	f->where[index] = 0;
	f->disk[index] = 0;
	f->n_blocks = (size_t)index + 1;
	f->cur_index = index;
	f->cur_len = 0;
	f->cur_open = true;
	return 0;
}

/* The uncompressed contents of fragment block index, or NULL with *ret. */
static const uint8_t *block_data(struct sq_frags *f, uint32_t index, int *ret)
{
	*ret = 0;
	if (f->cur_open && index == f->cur_index)
		return f->cur;
	if (f->flying[index] != NULL)
		return f->flying[index];
	if (f->cache_valid && index == f->cache_index)
		return f->cache;
	uint32_t size = SQFS_ON_DISK_BLOCK_SIZE(f->disk[index]);
	if (size == 0 || size > f->block_size) {
		*ret = SQFS_ERROR_INTERNAL;
		return NULL;
	}
	f->cache_valid = false;
	*ret = f->file->read_at(f->file, f->where[index], f->raw, size);
	if (*ret != 0)
		return NULL;
	if (SQFS_IS_BLOCK_COMPRESSED(f->disk[index])) {
		sqfs_s32 n = f->uncmp->do_block(f->uncmp, f->raw, size, f->cache,
						(sqfs_u32)f->block_size);
		if (n <= 0) {
			*ret = n < 0 ? n : SQFS_ERROR_COMPRESSOR;
			return NULL;
		}
		f->cache_len = (size_t)n;
	} else {
		memcpy(f->cache, f->raw, size);
		f->cache_len = size;
	}
	f->cache_index = index;
	f->cache_valid = true;
	return f->cache;
}

/* A word-at-a-time hash of a small file's bytes (FNV-1a byte by byte was a
 * quarter of the main thread's time). Quality only has to spread keys:
 * every match is verified byte for byte. */
static uint64_t data_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len, v;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (i < len) {
		v = 0;
		memcpy(&v, p + i, len - i);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

struct frag_key {
	uint64_t hash;
	uint32_t size;
	uint32_t pad;
};

/* Looks for an identical earlier fragment. 1 found, 0 not, <0 an error. */
static int find_same(struct sq_frags *f, const struct frag_key *key, const void *data, size_t len,
		     uint32_t *index, uint32_t *offset)
{
	uintptr_t c = (uintptr_t)sq_map_get(&f->map, key, sizeof(*key));
	while (c != 0) {
		const struct cand *k = &f->cands[c - 1];
		int ret;
		const uint8_t *blk = block_data(f, k->index, &ret);
		if (blk == NULL)
			return ret;
		if (memcmp(blk + k->offset, data, len) == 0) {
			*index = k->index;
			*offset = k->offset;
			return 1;
		}
		c = k->next;
	}
	return 0;
}

int sq_frags_add(struct sq_frags *f, const void *data, size_t len, uint32_t *index,
		 uint32_t *offset)
{
	struct frag_key key = {data_hash(data, len), (uint32_t)len, 0};
	int ret = find_same(f, &key, data, len, index, offset);
	if (ret != 0)
		return ret < 0 ? ret : 0;
	if (f->cur_open && f->cur_len + len > f->block_size && (ret = sq_frags_flush(f)) != 0)
		return ret;
	if (!f->cur_open && (ret = open_block(f)) != 0)
		return ret;
	memcpy(f->cur + f->cur_len, data, len);
	*index = f->cur_index;
	*offset = (uint32_t)f->cur_len;
	f->cur_len += len;
	if (f->n_cands == f->cap_cands) {
		f->cap_cands = f->cap_cands ? 2 * f->cap_cands : 1024;
		f->cands = sb_xrealloc(f->cands, f->cap_cands * sizeof(*f->cands));
	}
	struct cand *k = &f->cands[f->n_cands++];
	k->index = *index;
	k->offset = *offset;
	k->next = (uint32_t)(uintptr_t)sq_map_get(&f->map, &key, sizeof(key));
	sq_map_put(&f->map, &key, sizeof(key), (void *)(uintptr_t)f->n_cands);
	return 0;
}

/* --------------------------------------------------------- block writer */

/* Wraps libsquashfs's block writer to learn where fragment blocks land: they
 * are submitted with user = fragment index + 1, file blocks with NULL. */
struct frag_writer {
	sqfs_block_writer_t base;
	sqfs_block_writer_t *inner;
	struct sq_frags *f;
};

static int fw_write(sqfs_block_writer_t *base, void *user, sqfs_u32 size, sqfs_u32 checksum,
		    sqfs_u32 flags, const sqfs_u8 *data, sqfs_u64 *location)
{
	struct frag_writer *w = (struct frag_writer *)base;
	int ret = w->inner->write_data_block(w->inner, user, size, checksum, flags, data, location);
	if (ret != 0 || user == NULL)
		return ret;
	uint32_t index = (uint32_t)((uintptr_t)user - 1);
	uint32_t word = size | ((flags & SQFS_BLK_IS_COMPRESSED) ? 0 : (1u << 24));
	w->f->where[index] = *location;
	w->f->disk[index] = word;
	free(w->f->flying[index]);
	w->f->flying[index] = NULL;
	return sqfs_frag_table_set(w->f->tbl, index, *location, word);
}

static sqfs_u64 fw_count(const sqfs_block_writer_t *base)
{
	const struct frag_writer *w = (const struct frag_writer *)base;
	return w->inner->get_block_count(w->inner);
}

static void fw_destroy(sqfs_object_t *obj)
{
	struct frag_writer *w = (struct frag_writer *)obj;
	sqfs_destroy(w->inner);
	free(w);
}

sqfs_block_writer_t *sq_frags_writer(struct sq_frags *f, sqfs_block_writer_t *inner)
{
	struct frag_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->base.base.destroy = fw_destroy;
	w->base.write_data_block = fw_write;
	w->base.get_block_count = fw_count;
	w->inner = inner;
	w->f = f;
	return &w->base;
}
