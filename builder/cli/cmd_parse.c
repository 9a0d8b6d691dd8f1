/* builder/cli/cmd_parse.c: `sifbuild parse`. */
#include <stdio.h>
#include <stdlib.h>

#include "builder/cli/buildargs.h"
#include "builder/cli/cli.h"

const char cli_parse_usage[] =
	"Usage: sifbuild parse [OPTIONS] DEFFILE\n\n"
	"Parse a definition file as Apptainer does (stages, {{ var }} templating with\n"
	"%arguments defaults) and print it.\n\n"
	"Options:\n"
	"  --json                  print a JSON array with one object per stage, in\n"
	"                          Apptainer's types.Definition form\n"
	"  --build-arg KEY=VALUE   value for {{ KEY }} (repeatable; overrides the file)\n"
	"  --build-arg-file FILE   KEY=VALUE lines for {{ KEY }} placeholders\n"
	"  -h, --help              show this help\n\n"
	"Errors are printed as FILE:LINE: message and exit with status 2. Build args\n"
	"that no placeholder uses are reported as a warning.\n";

int cmd_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "build-arg", required_argument, NULL, 'a' },
		{ "build-arg-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("parse");
	struct cli_buildargs ba;
	int json = 0, c;
	cli_buildargs_init(&ba);
	while ((c = cli_getopt(cmd, argc, argv, "+h", longopts)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': cli_buildargs_add(&ba, optarg); break;
		case 'f': ba.file = optarg; break;
		case 'h': cli_buildargs_free(&ba); return CLI_OK;
		default: cli_buildargs_free(&ba); return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("parse", "expected one definition file, got %d arguments; see 'sifbuild "
				   "parse --help'", argc - optind);
		cli_buildargs_free(&ba);
		return CLI_USAGE;
	}
	const char *path = argv[optind];
	struct defparse_buildargs args = { 0 };
	int rc = CLI_USAGE;
	if (cli_buildargs_load("parse", &ba, &args) < 0)
		goto out;
	struct defparse_options opts = { &args, false };
	sb_error_t err = NULL;
	struct defparse_def *def = defparse_parse_file(path, &opts, &err);
	if (def == NULL) {
		fprintf(stderr, "%s\n", sb_error_message(err));
		rc = err->status ? err->status : CLI_USAGE;
		sb_error_free(&err);
		goto out;
	}
	for (size_t i = 0; i < def->n_warnings; i++)
		fprintf(stderr, "%s:%d: warning: %s\n", path, def->warnings[i].line,
			def->warnings[i].msg);
	if (def->n_unused) {
		fprintf(stderr, "%s: warning: unused build args:", path);
		for (size_t i = 0; i < def->n_unused; i++)
			fprintf(stderr, " %s", def->unused_args[i]);
		fputc('\n', stderr);
	}
	char *out = json ? defparse_to_json(def) : defparse_summary(def);
	fputs(out, stdout);
	free(out);
	defparse_def_free(def);
	rc = CLI_OK;
out:
	defparse_buildargs_free(&args);
	cli_buildargs_free(&ba);
	return rc;
}
