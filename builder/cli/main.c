/* builder/cli/main.c: `sifbuild CMD ...` dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/cli/cli.h"
#include "common/strbuf.h"

/* Only commands that work are listed. */
const struct cli_command cli_commands[] = {
	{ "build", "build a SIF image (or a sandbox directory) from a source", cli_build_usage,
	  cmd_build },
	{ "parse", "parse a definition file and print it (--json: Apptainer's form)",
	  cli_parse_usage, cmd_parse },
	{ "lint", "check a definition file for errors and likely mistakes", cli_lint_usage,
	  cmd_lint },
	{ "pull", "download an image (docker://) or a SIF (oras://) from a registry",
	  cli_pull_usage, cmd_pull },
	{ "push", "upload a SIF image to a registry as an ORAS artifact", cli_push_usage,
	  cmd_push },
	{ "cache", "list or clean the registry blob cache", cli_cache_usage, cmd_cache },
	{ "sif", "inspect and change SIF images (siftool's commands)", cli_sif_usage, cmd_sif },
	{ "inspect", "show an image's labels, scripts, environment, definition file",
	  cli_inspect_usage, cmd_inspect },
	{ "run", "run an image's runscript (or an app's)", cli_run_usage, cmd_action },
	{ "exec", "run a command inside an image", cli_exec_usage, cmd_action },
	{ "shell", "start a shell inside an image", cli_shell_usage, cmd_action },
	{ "test", "run an image's test script", cli_test_usage, cmd_action },
	{ "version", "print the version of sifbuild and its libraries", cli_version_usage,
	  cmd_version },
	{ "help", "show help for sifbuild or one command", cli_help_usage, cmd_help },
	{ NULL, NULL, NULL, NULL },
};

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sifbuild%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_main_help(FILE *f)
{
	fputs("sifbuild: build Apptainer/Singularity SIF images as an unprivileged user\n\n"
	      "Usage: sifbuild COMMAND [OPTIONS] [ARGS]\n"
	      "       sifbuild COMMAND --help\n\n"
	      "Commands:\n",
	      f);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fputs("\nOptions:\n"
	      "  -h, --help     show this help\n"
	      "  --version      same as 'sifbuild version'\n\n"
	      "Exit status: 0 success, 1 failure (lint: warnings), 2 bad usage or bad input.\n",
	      f);
}

static const char *nearest_command(const char *name)
{
	const char *best = NULL;
	size_t bestd = 3;
	for (const struct cli_command *c = cli_commands; c->name; c++) {
		size_t d = sb_edit_distance(name, c->name);
		if (d < bestd) {
			bestd = d;
			best = c->name;
		}
	}
	return best;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_print_main_help(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		cli_print_main_help(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0)
		return cmd_version(1, argv + 1);
	const struct cli_command *c = cli_find(name);
	if (c == NULL) {
		const char *sug = nearest_command(name);
		if (name[0] == '-')
			cli_error(NULL, "unknown option '%s'; run 'sifbuild --help'", name);
		else if (sug)
			cli_error(NULL, "unknown command '%s' (did you mean '%s'?); run 'sifbuild --help'",
				  name, sug);
		else
			cli_error(NULL, "unknown command '%s'; run 'sifbuild --help' for the list",
				  name);
		return CLI_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
