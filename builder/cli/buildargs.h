#ifndef SB_CLI_BUILDARGS_H
#define SB_CLI_BUILDARGS_H

#include "common/strbuf.h"
#include "defparse/defparse.h"

struct cli_buildargs {
	char **kv; /* borrowed argv strings */
	size_t n;
	const char *file;
};

void cli_buildargs_init(struct cli_buildargs *b);
void cli_buildargs_add(struct cli_buildargs *b, char *kv);
/* Reads the file then the KEY=VALUE args into out; prints errors and
 * warnings; -1 on a fatal error. */
int cli_buildargs_load(const char *cmd, struct cli_buildargs *b, struct defparse_buildargs *out);
void cli_buildargs_free(struct cli_buildargs *b);

#endif
