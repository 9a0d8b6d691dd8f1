/* builder/convert.c: an image reference -> SIF. The agent lays the image down
 * as a root filesystem in the build's temporary directory (owners it cannot
 * store go to the ownership map), Apptainer's OCI metadata is written into it,
 * and the tree is packed. By default the references are streamed instead
 * (stream.c: no rootfs on disk); SIFBUILD_NO_STREAM=1 keeps this path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/registry/registry.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static const char *tmp_base(const struct build_options *o)
{
	return sb_tmp_base(o->tmpdir);
}

static void progress_to_stderr(void *data, const char *text)
{
	(void)data;
	fputs(text, stderr);
}

void build_registry_options(const struct build_options *o, struct sb_registry_options *ro)
{
	sb_registry_options_init(ro);
	ro->nohttps = o->nohttps;
	ro->authfile = o->authfile;
	ro->disable_cache = o->disable_cache;
	ro->arch = o->arch;
	ro->variant = o->arch_variant;
	ro->progress = progress_to_stderr;
	ro->progress_tty = isatty(2);
	ro->warn = o->warn;
	ro->warn_data = o->warn_ctx;
}

int convert_oras(const struct build_options *o, sb_error_t *err)
{
	struct sb_registry_options ro;
	build_registry_options(o, &ro);
	/* The artifact is the image: pulled, verified and renamed onto the target. */
	return sb_registry_pull_sif(o->source, &ro, o->target, NULL, err);
}

int build_agent_metadata(const char *rootfs, const struct bootstrap_result *res,
			 const struct build_options *o, struct bootstrap_oci_meta *m, sb_error_t *err)
{
	cleanup_close int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set(err, errno, "%s", rootfs);
	if (res->oci_config == NULL) {
		if (res->runscript == NULL)
			return 0;
		return sb_mkdir_in_root(rootfd, ".singularity.d", 0755, err) < 0 ? -1
		       : sb_write_in_root(rootfd, ".singularity.d/runscript", res->runscript,
					  strlen(res->runscript), 0755, 0, err);
	}
	if (bootstrap_oci_meta(res->oci_config, res->oci_config_len, o->warn, o->warn_ctx, m,
			       err) < 0)
		return -1;
	if (sb_mkdir_in_root(rootfd, ".singularity.d/env", 0755, err) < 0 ||
	    sb_write_in_root(rootfd, ".singularity.d/env/10-docker2singularity.sh", m->env_script,
			     strlen(m->env_script), 0755, 0, err) < 0 ||
	    sb_write_in_root(rootfd, ".singularity.d/runscript", m->runscript, strlen(m->runscript),
			     0755, 0, err) < 0)
		return -1;
	if (strcmp(m->labels_json, "null") == 0)
		return 0;
	return sb_write_in_root(rootfd, ".singularity.d/labels.json", m->labels_json,
				strlen(m->labels_json), 0644, 0, err);
}

/* Agent and From of a command-line image reference. */
static int reference_agent(const char *source, const char **agent, char **from, sb_error_t *err)
{
	if (strncmp(source, "docker://", 9) == 0) {
		*agent = "docker";
		*from = sb_strdup(source + 9);
		return 0;
	}
	if (bootstrap_parse_source(source, agent, from) == 0)
		return 0;
	return sb_error_set_status(err, 1, 0, "%s: this kind of image reference is not supported by "
				   "this version of sifbuild yet", source);
}

struct convert {
	char *workdir;
	char *rootfs;
	struct sb_ownership *owners;
	struct bootstrap_result res;
	struct bootstrap_oci_meta meta;
};

static int materialise(const struct build_options *o, const char *agent,
		       const struct bootstrap_request *rq, struct convert *c, sb_error_t *err)
{
	const struct bootstrap_agent *a = bootstrap_find(agent);
	if (a == NULL || a->ops == NULL)
		return sb_error_set_status(err, 1, 0, "%s: the %s agent is not available in this "
					   "version of sifbuild", o->source, agent);
	/* the agents' errors name the reference already */
	if (a->ops->validate(rq, err) < 0 || a->ops->materialise(rq, &c->res, err) < 0)
		return -1;
	return 0;
}

int convert_reference(const struct build_options *o, sb_error_t *err)
{
	const char *agent;
	cleanup_free char *from = NULL;
	if (reference_agent(o->source, &agent, &from, err) < 0)
		return -1;
	struct convert c = { 0 };
	sb_cleanup_install();
	c.workdir = sb_asprintf("%s/sifbuild-XXXXXX", tmp_base(o));
	if (mkdtemp(c.workdir) == NULL) {
		int e = errno;
		free(c.workdir);
		return sb_error_set(err, e, "creating a build directory in %s", tmp_base(o));
	}
	sb_cleanup_add(c.workdir, 1);
	c.rootfs = sb_asprintf("%s/rootfs", c.workdir);
	c.owners = geteuid() == 0 ? NULL : sb_ownership_new();
	/* a local image: no host path in the image, as for DIR -> SIF */
	cleanup_free char *def = strcmp(agent, "localimage") == 0
					 ? sb_strdup("bootstrap: localimage\n\n")
					 : sb_asprintf("bootstrap: %s\nfrom: %s\n\n", agent, from);
	struct defparse_kv header[2] = { { (char *)"bootstrap", (char *)agent, 0 },
					 { (char *)"from", (char *)from, 0 } };
	struct sb_registry_options ro;
	build_registry_options(o, &ro);
	struct bootstrap_request rq = {
		.header = header, .n_header = 2, .rootfs = c.rootfs, .arch = o->arch,
		.arch_variant = o->arch_variant, .privileged = geteuid() == 0,
		.owners = c.owners, .warn = o->warn, .warn_ctx = o->warn_ctx, .registry = &ro,
	};
	int r = convert_stream(o, agent, &rq, c.workdir, def, err);
	if (r == 1)
		r = mkdir(c.rootfs, 0755) < 0 ? sb_error_set(err, errno, "%s", c.rootfs) : 0;
	else
		goto done;
	if (r == 0)
		r = materialise(o, agent, &rq, &c, err);
	if (r == 0)
		r = build_agent_metadata(c.rootfs, &c.res, o, &c.meta, err);
	if (r == 0) {
		/* a SIF source's oci-config.json carries over */
		const char *oc = c.meta.oci_config ? c.meta.oci_config : c.res.oci_config_json;
		struct assemble_input ai = { .rootfs = c.rootfs, .def = def, .oci_config = oc,
					     .owners = c.owners };
		r = assemble_sif(o, &ai, err);
	}
done:
	sb_rm_rf(c.workdir, NULL);
	sb_cleanup_remove(c.workdir);
	bootstrap_result_release(&c.res);
	bootstrap_oci_meta_release(&c.meta);
	if (c.owners)
		sb_ownership_free(c.owners);
	free(c.rootfs);
	free(c.workdir);
	return r;
}
