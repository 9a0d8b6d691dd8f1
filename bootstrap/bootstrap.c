#include "bootstrap/bootstrap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bootstrap/oci/oci.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

#define AGENT(n, ops_) { .name = (n), .unsupported = NULL, .implemented = true, .ops = (ops_) }
#define PLANNED(n) { .name = (n), .unsupported = NULL, .implemented = false, .ops = NULL }
#define REFUSED(n, why) { .name = (n), .unsupported = (why), .implemented = false, .ops = NULL }

/* Every name Apptainer dispatches. Agents that need a service that does not
 * exist for unprivileged users here, or that has been shut down, are marked. */
static const struct bootstrap_agent agents[] = {
	AGENT("docker", &bootstrap_docker_ops),
	AGENT("oras", &bootstrap_oras_ops),
	AGENT("oci", &bootstrap_oci_ops),
	AGENT("oci-archive", &bootstrap_oci_archive_ops),
	AGENT("docker-archive", &bootstrap_docker_archive_ops),
	AGENT("localimage", &bootstrap_localimage_ops),
	AGENT("scratch", &bootstrap_scratch_ops),
	AGENT("busybox", &bootstrap_busybox_ops),
	AGENT("debootstrap", &bootstrap_debootstrap_ops),
	AGENT("yum", &bootstrap_yum_ops),
	AGENT("dnf", &bootstrap_yum_ops),
	AGENT("zypper", &bootstrap_zypper_ops),
	REFUSED("library", "not supported by sifbuild (Sylabs/Apptainer library API); use oras:// or docker://"),
	REFUSED("shub", "not supported by sifbuild (Singularity Hub is shut down)"),
	REFUSED("docker-daemon", "not supported by sifbuild (needs a Docker daemon); use docker-archive: with 'docker save'"),
	REFUSED("arch", "not supported by sifbuild (pacstrap needs an Arch host); use docker://archlinux"),
	REFUSED("buildkit", "not supported by sifbuild (needs buildkitd); build with a registry image instead"),
	REFUSED("dockerfile", "not supported by sifbuild (needs buildkitd); build with a registry image instead"),
};

static const struct bootstrap_agent *const table[] = {
	&agents[0], &agents[1], &agents[2], &agents[3], &agents[4], &agents[5],
	&agents[6], &agents[7], &agents[8], &agents[9], &agents[10], &agents[11],
	&agents[12], &agents[13], &agents[14], &agents[15], &agents[16], &agents[17],
	NULL,
};

const struct bootstrap_agent *const *bootstrap_agents(void)
{
	return table;
}

const struct bootstrap_agent *bootstrap_find(const char *name)
{
	for (size_t i = 0; table[i]; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

const char *bootstrap_agent_status(const char *name)
{
	const struct bootstrap_agent *a = bootstrap_find(name);
	if (a == NULL)
		return "unknown bootstrap agent";
	return a->unsupported;
}

const char *bootstrap_header_get(const struct bootstrap_request *r, const char *key)
{
	for (size_t i = r->n_header; i-- > 0;)
		if (strcmp(r->header[i].key, key) == 0)
			return r->header[i].value;
	return NULL;
}

void bootstrap_result_release(struct bootstrap_result *res)
{
	free(res->oci_config);
	free(res->image_digest);
	free(res->runscript);
	free(res->oci_config_json);
	memset(res, 0, sizeof(*res));
}

int bootstrap_parse_source(const char *source, const char **agent, char **from)
{
	static const char *const prefixes[] = { "oci-archive:", "docker-archive:", "oci:" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(source, prefixes[i], n) == 0) {
			*agent = i == 0 ? "oci-archive" : i == 1 ? "docker-archive" : "oci";
			*from = sb_strdup(source + n);
			return 0;
		}
	}
	struct stat st;
	bool image = stat(source, &st) == 0 && S_ISREG(st.st_mode) &&
		     bootstrap_image_file_kind(source, NULL) > 0;
	if (image || (stat(source, &st) == 0 && S_ISDIR(st.st_mode))) {
		*agent = "localimage";
		*from = sb_strdup(source);
		return 0;
	}
	return 1;
}

static char *dup_or_null(const char *s)
{
	return s ? sb_strdup(s) : NULL;
}

int bootstrap_oci_meta(const char *config, size_t len, bootstrap_warn_fn warn, void *warn_ctx,
		       struct bootstrap_oci_meta *m, sb_error_t *err)
{
	memset(m, 0, sizeof(*m));
	struct oci_config *c = oci_config_parse(config, len, err);
	if (c == NULL)
		return -1;
	m->env_script = oci_meta_env_script(c, warn, warn_ctx);
	m->runscript = oci_meta_runscript(c);
	m->labels_json = oci_meta_labels_json(c);
	m->oci_config = oci_meta_config_json(c);
	m->workdir = dup_or_null(oci_config_get(c, "WorkingDir"));
	m->user = dup_or_null(oci_config_get(c, "User"));
	m->created = dup_or_null(oci_config_get(c, "created"));
	oci_config_free(c);
	return 0;
}

void bootstrap_oci_meta_release(struct bootstrap_oci_meta *m)
{
	free(m->env_script);
	free(m->runscript);
	free(m->labels_json);
	free(m->oci_config);
	free(m->workdir);
	free(m->user);
	free(m->created);
	memset(m, 0, sizeof(*m));
}
