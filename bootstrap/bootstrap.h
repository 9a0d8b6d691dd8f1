/* bootstrap/bootstrap.h: the table of bootstrap agents.
 *
 * One file per agent registers a struct bootstrap_agent. An agent lays down a
 * root filesystem for a stage (later issues add the operations). */
#ifndef SB_BOOTSTRAP_H
#define SB_BOOTSTRAP_H

#include <stdbool.h>

struct bootstrap_agent {
	const char *name;        /* as written after "Bootstrap:" (case-sensitive) */
	const char *unsupported; /* NULL, or why sifbuild will not implement it */
	bool implemented;        /* false until its issue lands */
};

/* The agent called name, or NULL when Apptainer knows no such agent. */
const struct bootstrap_agent *bootstrap_find(const char *name);

/* For lint: NULL when sifbuild supports the agent (now or in a planned
 * release), else a short static reason. */
const char *bootstrap_agent_status(const char *name);

/* NULL-terminated list of every agent entry. */
const struct bootstrap_agent *const *bootstrap_agents(void);

#endif
