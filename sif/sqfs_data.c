/* sif/sqfs_data.c: regular file data for the SquashFS writer. A file smaller
 * than a block goes into a fragment block (sqfs_frag.c); a bigger one is cut
 * into blocks by libsquashfs's block processor, which compresses them on the
 * worker threads while the caller goes on. Holes found with SEEK_DATA and
 * SEEK_HOLE are fed as zeros, which the processor stores as sparse blocks. */
#include "sif/sqfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqfs/block.h>
#include <sqfs/block_processor.h>
#include <sqfs/inode.h>

#include "common/strbuf.h"

static int stream_fail(struct sif_sqfs_writer *w, int code, const char *path, sb_error_t *err)
{
	w->broken = true;
	return sq_fail(err, code, sq_file_last_errno(w->file), "writing data of", path);
}

static int append(struct sif_sqfs_writer *w, const void *data, size_t len, const char *path,
		  sb_error_t *err)
{
	int ret = sqfs_block_processor_append(w->proc, data, len);
	w->bytes_in += len;
	if (w->o.progress)
		w->o.progress(w->o.progress_ctx, w->bytes_in, w->files_in);
	return ret ? stream_fail(w, ret, path, err) : 0;
}

static int append_zeros(struct sif_sqfs_writer *w, uint64_t len, const char *path, sb_error_t *err)
{
	static const unsigned char zeros[65536];
	while (len > 0) {
		size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;
		if (append(w, zeros, n, path, err) < 0)
			return -1;
		len -= n;
	}
	return 0;
}

/* Checks a regular file may be added and makes its (unlinked) inode. */
static struct sq_inode *start_file(struct sif_sqfs_writer *w, struct sq_node *parent,
				   const char *name, const struct sif_sqfs_attr *a,
				   const char *path, sb_error_t *err)
{
	if (w->broken)
		return sb_error_set(err, 0, "adding %s: an earlier error broke the image", path),
		       NULL;
	if (sq_may_add(w, parent, name, path, err) < 0)
		return NULL;
	struct sq_inode *ino = sq_new_inode(w);
	sq_set_attrs(w, ino, S_IFREG, a, path);
	if (w->o.progress)
		w->o.progress(w->o.progress_ctx, w->bytes_in, w->files_in);
	w->files_in++;
	return ino;
}

/* A file smaller than a block: its data goes into a fragment block. */
static int small_file(struct sif_sqfs_writer *w, struct sq_inode *ino, const void *data, size_t len,
		      const char *path, sb_error_t *err)
{
	w->bytes_in += len;
	sqfs_inode_generic_t *g = sb_xcalloc(1, sizeof(*g));
	g->base.type = SQFS_INODE_FILE;
	g->data.file.file_size = (sqfs_u32)len;
	g->data.file.fragment_index = 0xFFFFFFFF;
	g->data.file.fragment_offset = 0xFFFFFFFF;
	ino->file = g;
	if (len == 0)
		return 0;
	uint32_t index, offset;
	int ret = sq_frags_add(w->frags, data, len, &index, &offset);
	if (ret != 0)
		return stream_fail(w, ret, path, err);
	g->data.file.fragment_index = index;
	g->data.file.fragment_offset = offset;
	return 0;
}

/* A file of a block or more goes through the block processor. Like mksquashfs
 * by default, its tail is a short last block, not a fragment (packing such
 * tails costs about 7% more gzip time for 0.2% less output). */
static int begin_file(struct sif_sqfs_writer *w, struct sq_inode *ino, const char *path,
		      sb_error_t *err)
{
	/* The processor keeps &ino->file and updates the inode until finish;
	 * ino is never freed before the writer, even if the name is removed. */
	int ret =
		sqfs_block_processor_begin_file(w->proc, &ino->file, NULL, SQFS_BLK_DONT_FRAGMENT);
	return ret ? stream_fail(w, ret, path, err) : 0;
}

static int end_file(struct sif_sqfs_writer *w, const char *path, sb_error_t *err)
{
	int ret = sqfs_block_processor_end_file(w->proc);
	return ret ? stream_fail(w, ret, path, err) : 0;
}

/* Fills w->buf from read() up to a block; *got is what it holds. */
static int fill_block(struct sif_sqfs_writer *w, sif_sqfs_read_fn read, void *ctx, size_t *got,
		      bool *eof, const char *path, sb_error_t *err)
{
	*got = 0;
	*eof = false;
	while (*got < w->buf_len) {
		ssize_t n = read(ctx, w->buf + *got, w->buf_len - *got, err);
		if (n < 0) {
			w->broken = true;
			if (err != NULL && *err == NULL)
				sb_error_set(err, EIO, "reading data of %s", path);
			return -1;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		*got += (size_t)n;
	}
	return 0;
}

struct sq_node *sq_add_file_cb(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, sif_sqfs_read_fn read, void *ctx,
			       const char *path, sb_error_t *err)
{
	struct sq_inode *ino = start_file(w, parent, name, a, path, err);
	if (ino == NULL)
		return NULL;
	size_t got;
	bool eof;
	if (fill_block(w, read, ctx, &got, &eof, path, err) < 0)
		return NULL;
	if (eof) {
		if (small_file(w, ino, w->buf, got, path, err) < 0)
			return NULL;
		return sq_link_node(w, parent, name, ino);
	}
	if (begin_file(w, ino, path, err) < 0)
		return NULL;
	while (got > 0) {
		if (append(w, w->buf, got, path, err) < 0 ||
		    fill_block(w, read, ctx, &got, &eof, path, err) < 0)
			return NULL;
	}
	if (end_file(w, path, err) < 0)
		return NULL;
	return sq_link_node(w, parent, name, ino);
}

static int read_range(struct sif_sqfs_writer *w, int fd, uint64_t pos, uint64_t end,
		      const char *path, sb_error_t *err)
{
	while (pos < end) {
		size_t want = end - pos > w->buf_len ? w->buf_len : (size_t)(end - pos);
		ssize_t got = pread(fd, w->buf, want, (off_t)pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			w->broken = true;
			return sb_error_set(err, errno, "reading %s", path);
		}
		if (got == 0) {
			w->broken = true;
			return sb_error_set(err, 0, "reading %s: file shrank while being packed",
					    path);
		}
		if (append(w, w->buf, (size_t)got, path, err) < 0)
			return -1;
		pos += (uint64_t)got;
	}
	return 0;
}

/* Finds the next data extent at or after pos: [*data, *hole). Without
 * SEEK_DATA support the whole rest is data. */
static int next_extent(int fd, uint64_t pos, uint64_t size, uint64_t *data, uint64_t *hole)
{
	off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
	if (d < 0) {
		if (errno == ENXIO) {
			*data = *hole = size;
			return 0;
		}
		if (errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		*data = pos;
		*hole = size;
		return 0;
	}
	*data = (uint64_t)d < size ? (uint64_t)d : size;
	off_t h = lseek(fd, d, SEEK_HOLE);
	*hole = (h < 0 || (uint64_t)h > size) ? size : (uint64_t)h;
	return 0;
}

static int read_small(struct sif_sqfs_writer *w, int fd, size_t size, const char *path,
		      sb_error_t *err)
{
	size_t done = 0;
	while (done < size) {
		ssize_t got = pread(fd, w->buf + done, size - done, (off_t)done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			w->broken = true;
			return sb_error_set(err, got < 0 ? errno : 0, "reading %s%s", path,
					    got < 0 ? "" : ": file shrank while being packed");
		}
		done += (size_t)got;
	}
	return 0;
}

struct sq_node *sq_add_file_fd(struct sif_sqfs_writer *w, struct sq_node *parent, const char *name,
			       const struct sif_sqfs_attr *a, int fd, uint64_t size, bool holes,
			       const char *path, sb_error_t *err)
{
	struct sq_inode *ino = start_file(w, parent, name, a, path, err);
	if (ino == NULL)
		return NULL;
	if (size < w->buf_len) {
		if (read_small(w, fd, (size_t)size, path, err) < 0 ||
		    small_file(w, ino, w->buf, (size_t)size, path, err) < 0)
			return NULL;
		return sq_link_node(w, parent, name, ino);
	}
	if (begin_file(w, ino, path, err) < 0)
		return NULL;
	uint64_t pos = 0;
	while (pos < size) {
		uint64_t data = pos, hole = size;
		if (holes && next_extent(fd, pos, size, &data, &hole) < 0) {
			w->broken = true;
			return sb_error_set(err, errno, "reading %s: seeking data", path), NULL;
		}
		if (append_zeros(w, data - pos, path, err) < 0 ||
		    read_range(w, fd, data, hole, path, err) < 0)
			return NULL;
		pos = hole;
	}
	if (end_file(w, path, err) < 0)
		return NULL;
	return sq_link_node(w, parent, name, ino);
}
