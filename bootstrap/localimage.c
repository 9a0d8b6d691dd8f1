/* bootstrap/localimage.c: Bootstrap: localimage, From: a sandbox directory.
 *
 * The tree is copied through the same safe entry application as OCI layers
 * (bootstrap/oci), so owners a plain user cannot store go to the ownership
 * map and nothing is followed out of the source or the target. A SIF or
 * SquashFS file source is not handled here yet. */
#include <errno.h>
#include <sys/stat.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/oci/oci.h"

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *from = bootstrap_header_get(r, "from");
	struct stat st;
	if (from == NULL || *from == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: localimage needs a From: line");
	if (stat(from, &st) < 0)
		return sb_error_set_status(err, 2, errno, "From: %s", from);
	if (!S_ISDIR(st.st_mode))
		return sb_error_set_status(err, 2, 0, "From: %s: only sandbox directories are "
					   "supported as local images so far", from);
	return 0;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	if (validate(r, err) < 0)
		return -1;
	const char *from = bootstrap_header_get(r, "from");
	struct oci_apply_options o = { .privileged = r->privileged, .owners = r->owners,
				       .warn = r->warn, .warn_ctx = r->warn_ctx };
	struct oci_unpacker *u = oci_unpacker_new(r->rootfs, &o, err);
	if (u == NULL)
		return -1;
	int rc = oci_unpacker_copy_tree(u, from, err);
	oci_unpacker_free(u);
	if (rc < 0)
		return sb_error_wrap(err, "localimage %s", from);
	res->keep_metadata = true;
	return 0;
}

const struct bootstrap_ops bootstrap_localimage_ops = { validate, materialise };
