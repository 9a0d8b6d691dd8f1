/* bootstrap/oras.c: the oras agent.
 *
 *   Bootstrap: oras    From: [oras://]HOST[:PORT]/NAME[:TAG|@DIGEST]
 *
 * The SIF artifact is pulled by the registry client (digest and size
 * verified, through the blob cache) to a temporary file beside the rootfs,
 * registered for removal on a signal; it is then unpacked exactly as
 * `Bootstrap: localimage` unpacks a SIF, and removed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/registry/registry.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *from = bootstrap_header_get(r, "from");
	if (from == NULL || *from == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: oras needs a From: line");
	if (bootstrap_header_get(r, "fingerprints") != NULL)
		return sb_error_set_status(err, 2, 0, "Fingerprints: %s: signature verification is "
					   "not supported by sifbuild", from);
	if (strncmp(from, "docker://", 9) == 0)
		return sb_error_set_status(err, 2, 0, "From: %s: Bootstrap: oras takes an oras:// "
					   "reference or a bare HOST/NAME:TAG", from);
	struct sb_registry_ref ref;
	if (sb_registry_ref_parse(from, &ref, err) < 0)
		return sb_error_wrap(err, "From");
	sb_registry_ref_release(&ref);
	return 0;
}

/* "oras://HOST/NAME:TAG" for messages. */
static char *oras_label(const char *from)
{
	struct sb_registry_ref ref;
	if (sb_registry_ref_parse(from, &ref, NULL) < 0)
		return sb_strdup(from);
	ref.transport = SB_REGISTRY_ORAS;
	char *s = sb_registry_ref_string(&ref);
	sb_registry_ref_release(&ref);
	return s;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	if (validate(r, err) < 0)
		return -1;
	const char *from = bootstrap_header_get(r, "from");
	struct sb_registry_options o;
	if (r->registry != NULL)
		o = *r->registry;
	else
		sb_registry_options_init(&o);
	if (o.warn == NULL)
		o.warn = r->warn, o.warn_data = r->warn_ctx;
	cleanup_free char *sif = sb_temp_beside(r->rootfs, err);
	if (sif == NULL)
		return -1;
	sb_cleanup_add(sif, 0);
	cleanup_free char *label = oras_label(from);
	cleanup_free char *digest = NULL;
	int rc = sb_registry_pull_sif(from, &o, sif, &digest, err);
	if (rc == 0)
		rc = bootstrap_localimage_unpack(r, sif, label, res, err);
	if (rc == 0)
		res->image_digest = steal_pointer(&digest);
	unlink(sif);
	sb_cleanup_remove(sif);
	return rc;
}

const struct bootstrap_ops bootstrap_oras_ops = { validate, materialise };
