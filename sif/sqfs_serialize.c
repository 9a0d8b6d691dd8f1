/* sif/sqfs_serialize.c: writes the writer's tree as SquashFS inode and
 * directory tables (the last step of sif_sqfs_writer_finish).
 *
 * Order, chosen to be a pure function of the tree: directories are sorted
 * byte-wise; inodes are numbered and written depth first, a directory's
 * subdirectories first, then its other entries (so they are contiguous and
 * directory headers stay few, as mksquashfs does), then the directory
 * itself; the root is written last. A hard-linked inode is written once, at
 * its first name in that order. Xattr blocks and IDs are recorded in the
 * same order, so their tables are deterministic too.
 */
#include "sif/sqfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqfs/dir_writer.h>
#include <sqfs/error.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/meta_writer.h>
#include <sqfs/xattr_writer.h>

#include "common/strbuf.h"

struct ser {
	struct sq_serial *s;
	sqfs_meta_writer_t *im, *dm;
	sqfs_dir_writer_t *dw;
	sqfs_xattr_writer_t *xwr;
	sqfs_id_table_t *ids;
	struct sq_node **order; /* nodes in write order */
	size_t n, cap;
	uint32_t next_ino;
};

int sq_node_cmp(const void *a, const void *b)
{
	const struct sq_node *x = *(const struct sq_node *const *)a;
	const struct sq_node *y = *(const struct sq_node *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static void push(struct ser *z, struct sq_node *n)
{
	if (z->n == z->cap) {
		z->cap = z->cap ? 2 * z->cap : 1024;
		z->order = sb_xrealloc(z->order, z->cap * sizeof(*z->order));
	}
	z->order[z->n++] = n;
	n->inode->ino = ++z->next_ino;
}

/* Pass 1: sorts every directory and fixes the write order and inode numbers. */
static void number_tree(struct ser *z, struct sq_node *dir)
{
	if (dir->n_kids > 1)
		qsort(dir->kids, dir->n_kids, sizeof(*dir->kids), sq_node_cmp);
	for (size_t i = 0; i < dir->n_kids; i++)
		if (S_ISDIR(dir->kids[i]->inode->mode))
			number_tree(z, dir->kids[i]);
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct sq_node *k = dir->kids[i];
		if (!S_ISDIR(k->inode->mode) && k->inode->ino == 0)
			push(z, k);
	}
	push(z, dir);
}

static void reset_numbers(struct sq_node *dir)
{
	dir->inode->ino = 0;
	for (size_t i = 0; i < dir->n_kids; i++) {
		if (S_ISDIR(dir->kids[i]->inode->mode))
			reset_numbers(dir->kids[i]);
		else
			dir->kids[i]->inode->ino = 0;
	}
}

static int record_xattrs(struct ser *z, const struct sq_inode *ino, uint32_t *idx)
{
	*idx = 0xFFFFFFFF;
	if (ino->n_xattrs == 0)
		return 0;
	int ret = sqfs_xattr_writer_begin(z->xwr, 0);
	for (size_t i = 0; ret == 0 && i < ino->n_xattrs; i++)
		ret = sqfs_xattr_writer_add(z->xwr, ino->xattrs[i].key, ino->xattrs[i].value,
					    ino->xattrs[i].size);
	if (ret == 0)
		ret = sqfs_xattr_writer_end(z->xwr, idx);
	return ret;
}

static sqfs_inode_generic_t *new_generic(uint16_t type, size_t extra)
{
	sqfs_inode_generic_t *g = sb_xcalloc(1, sizeof(*g) + extra);
	g->base.type = type;
	g->payload_bytes_available = (sqfs_u32)extra;
	g->payload_bytes_used = (sqfs_u32)extra;
	return g;
}

/* The on-disk inode of a non-directory (basic unless something needs the
 * extended form). *owned tells whether the caller frees it. */
static sqfs_inode_generic_t *leaf_inode(struct sq_inode *ino, bool *owned)
{
	sqfs_inode_generic_t *g;
	*owned = true;
	switch (ino->mode & S_IFMT) {
	case S_IFREG:
		*owned = false;
		g = ino->file; /* basic or extended as the data required */
		if (ino->nlink > 1)
			sqfs_inode_make_extended(g);
		if (g->base.type == SQFS_INODE_EXT_FILE)
			g->data.file_ext.nlink = ino->nlink;
		return g;
	case S_IFLNK: {
		size_t len = strlen(ino->target);
		g = new_generic(SQFS_INODE_SLINK, len);
		g->data.slink.nlink = ino->nlink;
		g->data.slink.target_size = (sqfs_u32)len;
		memcpy(g->extra, ino->target, len);
		return g;
	}
	case S_IFCHR:
	case S_IFBLK:
		g = new_generic(S_ISCHR(ino->mode) ? SQFS_INODE_CDEV : SQFS_INODE_BDEV, 0);
		g->data.dev.nlink = ino->nlink;
		g->data.dev.devno = ino->devno;
		return g;
	default:
		g = new_generic(S_ISFIFO(ino->mode) ? SQFS_INODE_FIFO : SQFS_INODE_SOCKET, 0);
		g->data.ipc.nlink = ino->nlink;
		return g;
	}
}

/* Writes the directory listing of dir and returns its inode. */
static int dir_inode(struct ser *z, struct sq_node *dir, uint32_t xattr, sqfs_inode_generic_t **out)
{
	int ret = sqfs_dir_writer_begin(z->dw, 0);
	for (size_t i = 0; ret == 0 && i < dir->n_kids; i++) {
		const struct sq_inode *k = dir->kids[i]->inode;
		ret = sqfs_dir_writer_add_entry(z->dw, dir->kids[i]->name, k->ino, k->ref,
						(sqfs_u16)k->mode);
	}
	if (ret == 0)
		ret = sqfs_dir_writer_end(z->dw);
	if (ret != 0)
		return ret;
	/* mksquashfs's convention: the root's parent is inode_count + 1. */
	uint32_t parent = dir->parent ? dir->parent->inode->ino : z->next_ino + 1;
	sqfs_inode_generic_t *g = sqfs_dir_writer_create_inode(z->dw, 0, xattr, parent);
	if (g == NULL)
		return SQFS_ERROR_ALLOC;
	uint32_t nlink = 2 + (uint32_t)dir->n_subdirs;
	if (g->base.type == SQFS_INODE_DIR)
		g->data.dir.nlink = nlink;
	else
		g->data.dir_ext.nlink = nlink;
	*out = g;
	return 0;
}

static int write_one(struct ser *z, struct sq_node *n)
{
	struct sq_inode *ino = n->inode;
	uint32_t xattr;
	sqfs_inode_generic_t *g = NULL;
	bool owned = true;
	int ret = record_xattrs(z, ino, &xattr);
	if (ret != 0)
		return ret;
	if (S_ISDIR(ino->mode))
		ret = dir_inode(z, n, xattr, &g);
	else
		g = leaf_inode(ino, &owned);
	if (ret != 0)
		return ret;
	if (xattr != 0xFFFFFFFF && !S_ISDIR(ino->mode))
		ret = sqfs_inode_set_xattr_index(g, xattr);
	g->base.mode = (sqfs_u16)ino->mode;
	g->base.mod_time = ino->mtime;
	g->base.inode_number = ino->ino;
	if (ret == 0)
		ret = sqfs_id_table_id_to_index(z->ids, ino->uid, &g->base.uid_idx);
	if (ret == 0)
		ret = sqfs_id_table_id_to_index(z->ids, ino->gid, &g->base.gid_idx);
	if (ret == 0) {
		sqfs_u64 block;
		sqfs_u32 offset;
		sqfs_meta_writer_get_position(z->im, &block, &offset);
		ino->ref = (block << 16) | offset;
		ret = sqfs_meta_writer_write_inode(z->im, g);
	}
	if (owned)
		free(g);
	else if (S_ISREG(ino->mode))
		ino->file = g; /* make_extended works in place; keep the pointer */
	return ret;
}

static int write_all(struct ser *z)
{
	sqfs_file_t *file = z->s->file;
	z->s->super->inode_table_start = file->get_size(file);
	for (size_t i = 0; i < z->n; i++) {
		int ret = write_one(z, z->order[i]);
		if (ret != 0)
			return ret;
	}
	int ret = sqfs_meta_writer_flush(z->im);
	if (ret == 0)
		ret = sqfs_meta_writer_flush(z->dm);
	if (ret != 0)
		return ret;
	z->s->super->root_inode_ref = z->s->root->inode->ref;
	z->s->super->directory_table_start = file->get_size(file);
	z->s->super->inode_count = z->next_ino;
	return sqfs_meta_write_write_to_file(z->dm);
}

int sq_serialize_tree(struct sq_serial *s, sqfs_xattr_writer_t *xwr, sqfs_id_table_t *ids,
		      sb_error_t *err)
{
	struct ser z = {.s = s, .xwr = xwr, .ids = ids};
	reset_numbers(s->root);
	number_tree(&z, s->root);
	z.im = sqfs_meta_writer_create(s->file, s->cmp, 0);
	z.dm = sqfs_meta_writer_create(s->file, s->cmp, SQFS_META_WRITER_KEEP_IN_MEMORY);
	z.dw = z.dm ? sqfs_dir_writer_create(z.dm, 0) : NULL;
	int ret = (z.im && z.dm && z.dw) ? write_all(&z) : SQFS_ERROR_ALLOC;
	sqfs_destroy(z.dw);
	sqfs_destroy(z.dm);
	sqfs_destroy(z.im);
	free(z.order);
	if (ret != 0)
		return sq_fail(err, ret, sq_file_last_errno(s->file),
			       "writing inodes and directories", NULL);
	return 0;
}
