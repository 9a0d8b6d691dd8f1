/* bootstrap/owners.c: the ownership map applied by the SquashFS packer.
 *
 * sif_sqfs_pack_dir calls the hook once per entry with the attributes it
 * derived from lstat (the packing user's ids already mapped to 0); the map's
 * record for the entry, if any and still valid for that inode, overrides
 * owner and permission bits, turns a device placeholder into the device,
 * and adds the xattrs the user could not set on disk. */
#include <stdlib.h>
#include <string.h>

#include "bootstrap/bootstrap.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "sif/sqfs.h"

int bootstrap_owner_hook(void *ctx, int dirfd, const char *name, const char *path,
			 const struct stat *st, struct sif_sqfs_attr *a, sb_error_t *err)
{
	(void)dirfd;
	(void)name;
	(void)err;
	struct bootstrap_owner_ctx *c = ctx;
	const struct sb_owner_entry *e = sb_ownership_lookup(c->map, path, st);
	if (e == NULL)
		return 0;
	uint32_t mode = (st->st_mode & S_IFMT) | (a->mode & 07777);
	dev_t rdev = a->rdev;
	sb_ownership_resolve(e, st, &a->uid, &a->gid, &mode, &rdev);
	a->mode = mode; /* type and permission bits, as the packer reads them */
	a->rdev = rdev;
	if (e->n_xattrs == 0)
		return 0;
	/* The on-disk xattrs plus the recorded ones (a recorded name wins);
	 * kept in ctx until the next call, as the writer copies them. */
	size_t n = a->n_xattrs + e->n_xattrs, k = 0;
	if (n > c->cap) {
		c->xattrs = sb_xrealloc(c->xattrs, n * sizeof(*c->xattrs));
		c->cap = n;
	}
	for (size_t i = 0; i < a->n_xattrs; i++) {
		bool replaced = false;
		for (size_t j = 0; j < e->n_xattrs && !replaced; j++)
			replaced = strcmp(a->xattrs[i].key, e->xattrs[j].name) == 0;
		if (!replaced)
			c->xattrs[k++] = a->xattrs[i];
	}
	for (size_t j = 0; j < e->n_xattrs; j++)
		c->xattrs[k++] = (struct sif_sqfs_xattr){ e->xattrs[j].name, e->xattrs[j].value,
							  e->xattrs[j].size };
	a->xattrs = c->xattrs;
	a->n_xattrs = k;
	return 0;
}

void bootstrap_owner_ctx_release(struct bootstrap_owner_ctx *c)
{
	free(c->xattrs);
	c->xattrs = NULL;
	c->cap = 0;
}
