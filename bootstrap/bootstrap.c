#include "bootstrap/bootstrap.h"

#include <stddef.h>
#include <string.h>

/* Every name Apptainer dispatches. Agents that need a service that does not
 * exist for unprivileged users here, or that has been shut down, are marked. */
static const struct bootstrap_agent agents[] = {
	{ "docker", NULL, false },
	{ "oras", NULL, false },
	{ "oci", NULL, false },
	{ "oci-archive", NULL, false },
	{ "docker-archive", NULL, false },
	{ "localimage", NULL, false },
	{ "scratch", NULL, false },
	{ "busybox", NULL, false },
	{ "debootstrap", NULL, false },
	{ "yum", NULL, false },
	{ "dnf", NULL, false },
	{ "zypper", NULL, false },
	{ "library", "not supported by sifbuild (Sylabs/Apptainer library API); use oras:// or docker://", false },
	{ "shub", "not supported by sifbuild (Singularity Hub is shut down)", false },
	{ "docker-daemon", "not supported by sifbuild (needs a Docker daemon); use docker-archive: with 'docker save'", false },
	{ "arch", "not supported by sifbuild (pacstrap needs an Arch host); use docker://archlinux", false },
	{ "buildkit", "not supported by sifbuild (needs buildkitd); build with a registry image instead", false },
	{ "dockerfile", "not supported by sifbuild (needs buildkitd); build with a registry image instead", false },
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
