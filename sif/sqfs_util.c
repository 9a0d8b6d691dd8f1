/* sif/sqfs_util.c: options, libsquashfs error translation, a small hash map
 * and the sqfs_file_t that writes a SquashFS image into an fd at an offset. */
#include "sif/sqfs_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqfs/compressor.h>
#include <sqfs/io.h>
#include <sqfs/error.h>

#include "common/strbuf.h"

/* ---------------------------------------------------------------- options */

void sif_sqfs_options_init(struct sif_sqfs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->compressor = SIF_SQFS_GZIP;
	o->block_size = SIF_SQFS_DEFAULT_BLOCK_SIZE;
}

static const struct {
	const char *name;
	enum sif_sqfs_compressor id;
	int min, max; /* level range; 0/0: no levels */
} compressors[] = {
	{"gzip", SIF_SQFS_GZIP, 1, 9}, {"zstd", SIF_SQFS_ZSTD, 1, 22}, {"xz", SIF_SQFS_XZ, 0, 9},
	{"lz4", SIF_SQFS_LZ4, 0, 0},   {"lzo", SIF_SQFS_LZO, 0, 9},
};

static int parse_level(const char *s, int *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int sif_sqfs_parse_compression(const char *spec, struct sif_sqfs_options *o, sb_error_t *err)
{
	const char *colon = strchr(spec, ':');
	size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
	for (size_t i = 0; i < sizeof(compressors) / sizeof(compressors[0]); i++) {
		if (strlen(compressors[i].name) != nlen || strncmp(spec, compressors[i].name, nlen))
			continue;
		int level = 0;
		if (colon != NULL) {
			if (compressors[i].max == 0)
				return sb_error_set_status(err, 2, 0,
							   "compression %s: takes no level",
							   compressors[i].name);
			if (parse_level(colon + 1, &level) < 0 || level < compressors[i].min ||
			    level > compressors[i].max)
				return sb_error_set_status(
					err, 2, 0, "compression %s: level '%s' is not in %d..%d",
					compressors[i].name, colon + 1, compressors[i].min,
					compressors[i].max);
		}
		o->compressor = compressors[i].id;
		o->level = level;
		return 0;
	}
	return sb_error_set_status(err, 2, 0,
				   "unknown compression '%.*s' (gzip, zstd, xz, lz4 or lzo)",
				   (int)nlen, spec);
}

int sif_sqfs_parse_epoch(const char *value, struct sif_sqfs_options *o, sb_error_t *err)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < 0 || v > (long long)UINT32_MAX)
		return sb_error_set_status(err, 2, 0,
					   "SOURCE_DATE_EPOCH '%s': not a number of seconds in "
					   "0..4294967295",
					   value);
	o->deterministic = true;
	o->epoch = v;
	return 0;
}

void sif_sqfs_map_owner(const struct sif_sqfs_options *o, uint32_t self_uid, uint32_t self_gid,
			uint32_t *uid, uint32_t *gid)
{
	if (!o->all_root)
		return;
	if (*uid == self_uid)
		*uid = 0;
	if (*gid == self_gid)
		*gid = 0;
}

/* ------------------------------------------------------------------ errors */

static const char *code_text(int code, int *errnum)
{
	*errnum = 0;
	switch (code) {
	case SQFS_ERROR_ALLOC: *errnum = ENOMEM; return "out of memory";
	case SQFS_ERROR_IO: *errnum = EIO; return "input/output error";
	case SQFS_ERROR_COMPRESSOR: return "compressor failure (corrupted data?)";
	case SQFS_ERROR_INTERNAL: return "internal libsquashfs error";
	case SQFS_ERROR_CORRUPTED: return "corrupted SquashFS data";
	case SQFS_ERROR_UNSUPPORTED: return "unsupported feature or compressor";
	case SQFS_ERROR_OVERFLOW: return "size overflow (corrupted image?)";
	case SQFS_ERROR_OUT_OF_BOUNDS: return "read past the end of the image";
	case SFQS_ERROR_SUPER_MAGIC: return "not a SquashFS image (bad magic)";
	case SFQS_ERROR_SUPER_VERSION: return "unsupported SquashFS version";
	case SQFS_ERROR_SUPER_BLOCK_SIZE: return "invalid block size";
	case SQFS_ERROR_NOT_DIR: return "not a directory";
	case SQFS_ERROR_NO_ENTRY: return "no such entry";
	case SQFS_ERROR_LINK_LOOP: return "hard link loop";
	case SQFS_ERROR_NOT_FILE: return "not a regular file";
	case SQFS_ERROR_ARG_INVALID: return "invalid argument";
	case SQFS_ERROR_SEQUENCE: return "calls out of sequence";
	default: return "unknown libsquashfs error";
	}
}

int sq_fail(sb_error_t *err, int code, int ioerr, const char *op, const char *path)
{
	int errnum;
	const char *text = code_text(code, &errnum);
	const char *sep = path ? " " : "";
	if (path == NULL)
		path = "";
	if (code == SQFS_ERROR_IO && ioerr != 0)
		errnum = ioerr;
	if (errnum != 0)
		return sb_error_set(err, errnum, "%s%s%s", op, sep, path);
	return sb_error_set(err, 0, "%s%s%s: %s", op, sep, path, text);
}

/* ---------------------------------------------------------------- hash map */

struct sq_mapent {
	struct sq_mapent *next;
	uint64_t hash;
	void *val;
	size_t klen;
	unsigned char key[];
};

/* FNV-1a, 64 bit: keys are short (a pointer and a name, a dev/ino pair). */
uint64_t sq_hash(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static struct sq_mapent **map_find(const struct sq_map *m, const void *key, size_t klen, uint64_t h)
{
	if (m->nbuckets == 0)
		return NULL;
	struct sq_mapent **pp = &m->buckets[h & (m->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
			return pp;
	return pp;
}

static void map_grow(struct sq_map *m)
{
	size_t nb = m->nbuckets ? m->nbuckets * 2 : 256;
	struct sq_mapent **b = sb_xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sq_mapent *e = m->buckets[i];
		while (e != NULL) {
			struct sq_mapent *next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

void *sq_map_get(const struct sq_map *m, const void *key, size_t klen)
{
	struct sq_mapent **pp = map_find(m, key, klen, sq_hash(key, klen));
	return pp && *pp ? (*pp)->val : NULL;
}

void *sq_map_put(struct sq_map *m, const void *key, size_t klen, void *val)
{
	uint64_t h = sq_hash(key, klen);
	if (m->count >= m->nbuckets)
		map_grow(m);
	struct sq_mapent **pp = map_find(m, key, klen, h);
	if (*pp != NULL) {
		void *old = (*pp)->val;
		(*pp)->val = val;
		return old;
	}
	struct sq_mapent *e = sb_xmalloc(sizeof(*e) + klen);
	e->next = NULL;
	e->hash = h;
	e->val = val;
	e->klen = klen;
	memcpy(e->key, key, klen);
	*pp = e;
	m->count++;
	return NULL;
}

void *sq_map_del(struct sq_map *m, const void *key, size_t klen)
{
	struct sq_mapent **pp = map_find(m, key, klen, sq_hash(key, klen));
	if (pp == NULL || *pp == NULL)
		return NULL;
	struct sq_mapent *e = *pp;
	void *val = e->val;
	*pp = e->next;
	free(e);
	m->count--;
	return val;
}

void sq_map_clear(struct sq_map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sq_mapent *e = m->buckets[i];
		while (e != NULL) {
			struct sq_mapent *next = e->next;
			if (free_val != NULL)
				free_val(e->val);
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------- sqfs_file_t on fd */

struct sq_file {
	sqfs_file_t base;
	int fd;
	bool writable;
	uint64_t off;  /* where the image starts in fd */
	uint64_t size; /* logical image size */
	uint64_t phys; /* bytes of fd after off known to exist (writable) */
	int last_errno;
};

static int file_io_fail(struct sq_file *f, int e)
{
	f->last_errno = e ? e : EIO;
	return SQFS_ERROR_IO;
}

static int file_read_at(sqfs_file_t *base, sqfs_u64 pos, void *buf, size_t len)
{
	struct sq_file *f = (struct sq_file *)base;
	if (pos > f->size || len > f->size - pos)
		return SQFS_ERROR_OUT_OF_BOUNDS;
	while (len > 0) {
		ssize_t n = pread(f->fd, buf, len, (off_t)(f->off + pos));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return file_io_fail(f, errno);
		if (n == 0)
			return SQFS_ERROR_OUT_OF_BOUNDS;
		buf = (char *)buf + n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_write_at(sqfs_file_t *base, sqfs_u64 pos, const void *buf, size_t len)
{
	struct sq_file *f = (struct sq_file *)base;
	if (!f->writable)
		return file_io_fail(f, EBADF);
	uint64_t end = pos + len;
	while (len > 0) {
		ssize_t n = pwrite(f->fd, buf, len, (off_t)(f->off + pos));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return file_io_fail(f, n < 0 ? errno : ENOSPC);
		buf = (const char *)buf + n;
		pos += (uint64_t)n;
		len -= (size_t)n;
	}
	if (end > f->size)
		f->size = end;
	if (end > f->phys)
		f->phys = end;
	return 0;
}

static sqfs_u64 file_get_size(const sqfs_file_t *base)
{
	return ((const struct sq_file *)base)->size;
}

/* Shrinking (block deduplication drops a just-written copy) only moves the
 * logical end: the stale bytes are overwritten by what follows, and finish
 * sets the real file length. Growing must read as zeros. */
static int file_truncate(sqfs_file_t *base, sqfs_u64 size)
{
	struct sq_file *f = (struct sq_file *)base;
	if (!f->writable)
		return file_io_fail(f, EBADF);
	if (size > f->phys) {
		if (ftruncate(f->fd, (off_t)(f->off + size)) != 0)
			return file_io_fail(f, errno);
		f->phys = size;
	}
	f->size = size;
	return 0;
}

static void file_destroy(sqfs_object_t *obj)
{
	free(obj);
}

sqfs_file_t *sq_file_create(int fd, uint64_t base, bool writable, uint64_t size, sb_error_t *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return sb_error_set(err, errno, "SquashFS image: fstat"), NULL;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return sb_error_set(err, 0, "SquashFS image: not a regular file"), NULL;
	if (base > (uint64_t)INT64_MAX)
		return sb_error_set(err, 0, "SquashFS image: offset %llu too large",
				    (unsigned long long)base),
		       NULL;
	struct sq_file *f = sb_xcalloc(1, sizeof(*f));
	f->base.base.destroy = file_destroy;
	f->base.read_at = file_read_at;
	f->base.write_at = file_write_at;
	f->base.get_size = file_get_size;
	f->base.truncate = file_truncate;
	f->fd = fd;
	f->off = base;
	f->writable = writable;
	uint64_t avail = (uint64_t)st.st_size > base ? (uint64_t)st.st_size - base : 0;
	if (writable) {
		f->phys = avail;
	} else {
		f->size = (size == 0 || size > avail) ? avail : size;
	}
	return &f->base;
}

int sq_file_last_errno(const sqfs_file_t *f)
{
	return ((const struct sq_file *)f)->last_errno;
}

int sq_file_set_length(sqfs_file_t *base)
{
	struct sq_file *f = (struct sq_file *)base;
	if (f->phys > f->size) {
		if (ftruncate(f->fd, (off_t)(f->off + f->size)) != 0)
			return -1;
		f->phys = f->size;
	}
	return 0;
}

/* ------------------------------------------------------- compressor guard */

/* libsquashfs 1.2's LZ4 backend returns output larger than its input (a
 * 4-byte ID table compresses to 5 bytes) where the others return 0 ("store
 * it uncompressed"); unsquashfs then reports the image as corrupted. This
 * wrapper gives every backend the same rule. */
struct guard {
	sqfs_compressor_t base;
	sqfs_compressor_t *inner;
};

static void guard_destroy(sqfs_object_t *obj)
{
	struct guard *g = (struct guard *)obj;
	sqfs_destroy(g->inner);
	free(g);
}

static sqfs_object_t *guard_copy(const sqfs_object_t *obj)
{
	const struct guard *g = (const struct guard *)obj;
	sqfs_compressor_t *inner = sqfs_copy(g->inner);
	if (inner == NULL)
		return NULL;
	sqfs_compressor_t *copy = sq_guard_compressor(inner);
	if (copy == NULL)
		sqfs_destroy(inner);
	return (sqfs_object_t *)copy;
}

static void guard_get_config(const sqfs_compressor_t *base, sqfs_compressor_config_t *cfg)
{
	const struct guard *g = (const struct guard *)base;
	g->inner->get_configuration(g->inner, cfg);
}

static int guard_write_options(sqfs_compressor_t *base, sqfs_file_t *file)
{
	struct guard *g = (struct guard *)base;
	return g->inner->write_options(g->inner, file);
}

static int guard_read_options(sqfs_compressor_t *base, sqfs_file_t *file)
{
	struct guard *g = (struct guard *)base;
	return g->inner->read_options(g->inner, file);
}

static sqfs_s32 guard_do_block(sqfs_compressor_t *base, const sqfs_u8 *in, sqfs_u32 size,
			       sqfs_u8 *out, sqfs_u32 outsize)
{
	struct guard *g = (struct guard *)base;
	sqfs_s32 ret = g->inner->do_block(g->inner, in, size, out, outsize);
	return ret > 0 && (sqfs_u32)ret >= size ? 0 : ret;
}

sqfs_compressor_t *sq_guard_compressor(sqfs_compressor_t *inner)
{
	struct guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->base.base.destroy = guard_destroy;
	g->base.base.copy = guard_copy;
	g->base.get_configuration = guard_get_config;
	g->base.write_options = guard_write_options;
	g->base.read_options = guard_read_options;
	g->base.do_block = guard_do_block;
	g->inner = inner;
	return &g->base;
}
