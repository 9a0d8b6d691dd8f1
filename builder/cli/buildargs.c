/* builder/cli/buildargs.c: --build-arg / --build-arg-file collection.
 * The file is read first and --build-arg values override it, whatever the
 * order on the command line (as Apptainer). */
#include <stdio.h>
#include <stdlib.h>

#include "builder/cli/buildargs.h"

void cli_buildargs_init(struct cli_buildargs *b)
{
	b->kv = NULL;
	b->n = 0;
	b->file = NULL;
}

void cli_buildargs_add(struct cli_buildargs *b, char *kv)
{
	b->kv = sb_xrealloc(b->kv, (b->n + 1) * sizeof(char *));
	b->kv[b->n++] = kv;
}

int cli_buildargs_load(const char *cmd, struct cli_buildargs *b, struct defparse_buildargs *out)
{
	sb_error_t err = NULL;
	if (b->file && defparse_buildargs_read_file(out, b->file, &err) < 0)
		goto fail;
	for (size_t i = 0; i < out->n_warnings; i++)
		fprintf(stderr, "WARNING: %s\n", out->warnings[i].msg);
	for (size_t i = 0; i < b->n; i++)
		if (defparse_buildargs_add(out, b->kv[i], &err) < 0)
			goto fail;
	return 0;
fail:
	fprintf(stderr, "sifbuild %s: %s\n", cmd, sb_error_message(err));
	sb_error_free(&err);
	return -1;
}

void cli_buildargs_free(struct cli_buildargs *b)
{
	free(b->kv);
	b->kv = NULL;
	b->n = 0;
}
