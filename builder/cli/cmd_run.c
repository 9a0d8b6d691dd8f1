/* builder/cli/cmd_run.c: `sifbuild run|exec|shell|test`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/cli/cli.h"
#include "builder/run.h"
#include "common/strbuf.h"

#define RUN_OPTIONS                                                                        \
	"Options:\n"                                                                       \
	"      --app NAME            use the SCIF app NAME (/scif/apps/NAME)\n"            \
	"  -B, --bind SRC[:DST[:ro|rw]][,...]\n"                                           \
	"                            bind a host path into the container (repeatable)\n"  \
	"  -e, --cleanenv            do not pass the host's environment (TERM and\n"      \
	"                            *_proxy still pass; APPTAINERENV_X still sets X)\n"  \
	"  -v, --verbose             say how the image is opened and run (stderr)\n"      \
	"  -h, --help                show this help\n\n"                                   \
	"IMAGE is a SIF file or a sandbox directory. The image's /.singularity.d/env/*.sh\n" \
	"are sourced first; APPTAINERENV_X (or SINGULARITYENV_X) sets X in the container.\n" \
	"The root is read-only; the host's /tmp, /var/tmp, home and working directories\n" \
	"are bound. As a plain user the program runs with your own uid in a user\n"       \
	"namespace; a SIF is extracted into a temporary directory (SIFBUILD_TMPDIR,\n"     \
	"APPTAINER_TMPDIR, TMPDIR, /tmp) that is removed afterwards.\n"                    \
	"Exit status: the program's; 2 for bad usage, 255 when the container could not\n" \
	"be started.\n"

const char cli_run_usage[] = "Usage: sifbuild run [OPTIONS] IMAGE [ARGS...]\n\n"
			     "Run the image's runscript (or the app's) with ARGS.\n\n" RUN_OPTIONS;
const char cli_exec_usage[] = "Usage: sifbuild exec [OPTIONS] IMAGE COMMAND [ARGS...]\n\n"
			      "Run COMMAND inside the image.\n\n" RUN_OPTIONS;
const char cli_shell_usage[] =
	"Usage: sifbuild shell [OPTIONS] IMAGE [ARGS...]\n\n"
	"Start an interactive shell in the image: $APPTAINER_SHELL, else /bin/bash --norc,\n"
	"else /bin/sh.\n\n" RUN_OPTIONS;
const char cli_test_usage[] = "Usage: sifbuild test [OPTIONS] IMAGE [ARGS...]\n\n"
			      "Run the image's test script (%test, or the app's %apptest).\n\n"
			      RUN_OPTIONS;

enum { RUN_FAILED = 255 };

/* Adds each comma-separated spec of arg to the list. */
static void add_binds(char ***binds, size_t *n, const char *arg)
{
	char *copy = sb_strdup(arg), *save = NULL;
	for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		*binds = sb_xrealloc(*binds, (*n + 1) * sizeof(char *));
		(*binds)[(*n)++] = sb_strdup(s);
	}
	free(copy);
}

static void free_binds(char **binds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(binds[i]);
	free(binds);
}

static int parse(const struct cli_command *cmd, int argc, char **argv, struct run_options *o,
		 char ***binds)
{
	static const struct option longopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "bind", required_argument, NULL, 'B' },
		{ "cleanenv", no_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = cli_getopt(cmd, argc, argv, "+heB:v", longopts)) != -1) {
		switch (c) {
		case 'a': o->app = optarg; break;
		case 'B': add_binds(binds, &o->n_binds, optarg); break;
		case 'e': o->cleanenv = true; break;
		case 'v': o->verbose = true; break;
		case 'h': return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	o->binds = (const char *const *)*binds;
	return -1;
}

int cmd_action(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find(argv[0]);
	struct run_options o = { 0 };
	char **binds = NULL;
	int rc = parse(cmd, argc, argv, &o, &binds);
	if (rc >= 0) {
		free_binds(binds, o.n_binds);
		return rc;
	}
	bool is_exec = strcmp(cmd->name, "exec") == 0;
	if (argc - optind < (is_exec ? 2 : 1)) {
		cli_error(cmd->name, "expected IMAGE%s; see 'sifbuild %s --help'",
			  is_exec ? " and COMMAND" : "", cmd->name);
		free_binds(binds, o.n_binds);
		return CLI_USAGE;
	}
	const char *image = argv[optind];
	sb_error_t err = NULL;
	int status = 0;
	if (run_image(image, cmd->name, argc - optind - 1, argv + optind + 1, &o, &status,
		      &err) < 0) {
		fprintf(stderr, "sifbuild %s: %s\n", cmd->name, sb_error_message(err));
		status = err->status == 2 ? CLI_USAGE : RUN_FAILED;
		sb_error_free(&err);
	}
	free_binds(binds, o.n_binds);
	return status;
}
