/* builder/cli/cmd_lint.c: `sifbuild lint`. */
#include <stdio.h>
#include <stdlib.h>

#include "bootstrap/bootstrap.h"
#include "builder/cli/buildargs.h"
#include "builder/cli/cli.h"

const char cli_lint_usage[] =
	"Usage: sifbuild lint [OPTIONS] DEFFILE\n\n"
	"Check a definition file: everything Apptainer would reject (unknown sections and\n"
	"header keys, with the nearest valid name), and mistakes it accepts silently:\n"
	"CRLF line endings, invisible Unicode, $VAR in header values, a '%' line inside a\n"
	"here-document, %files from a stage that does not exist, duplicate stage names,\n"
	"undefined and unused build args, bootstrap agents sifbuild does not support.\n\n"
	"Options:\n"
	"  --build-arg KEY=VALUE   value for {{ KEY }} (repeatable)\n"
	"  --build-arg-file FILE   KEY=VALUE lines for {{ KEY }} placeholders\n"
	"  -q, --quiet             print nothing when the file is clean\n"
	"  -h, --help              show this help\n\n"
	"Output: FILE:LINE: error|warning: message. Exit status: 0 clean, 1 warnings only,\n"
	"2 errors.\n";

int cmd_lint(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "build-arg", required_argument, NULL, 'a' },
		{ "build-arg-file", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("lint");
	struct cli_buildargs ba;
	int quiet = 0, c;
	cli_buildargs_init(&ba);
	while ((c = cli_getopt(cmd, argc, argv, "+hq", longopts)) != -1) {
		switch (c) {
		case 'a': cli_buildargs_add(&ba, optarg); break;
		case 'f': ba.file = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': cli_buildargs_free(&ba); return CLI_OK;
		default: cli_buildargs_free(&ba); return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("lint", "expected one definition file, got %d arguments; see 'sifbuild "
				  "lint --help'", argc - optind);
		cli_buildargs_free(&ba);
		return CLI_USAGE;
	}
	const char *path = argv[optind];
	struct defparse_buildargs args = { 0 };
	int rc = CLI_USAGE;
	if (cli_buildargs_load("lint", &ba, &args) < 0)
		goto out;
	struct defparse_lint_options opts = { &args, bootstrap_agent_status };
	struct defparse_lint_report rep;
	sb_error_t err = NULL;
	if (defparse_lint_file(path, &opts, &rep, &err) < 0) {
		fprintf(stderr, "%s\n", sb_error_message(err));
		sb_error_free(&err);
		goto out;
	}
	for (size_t i = 0; i < rep.n; i++) {
		const char *sev = rep.v[i].severity == DEFPARSE_ERROR ? "error" : "warning";
		if (rep.v[i].line > 0)
			printf("%s:%d: %s: %s\n", path, rep.v[i].line, sev, rep.v[i].msg);
		else
			printf("%s: %s: %s\n", path, sev, rep.v[i].msg);
	}
	if (rep.n == 0 && !quiet)
		printf("%s: ok\n", path);
	rc = rep.worst;
	defparse_lint_report_free(&rep);
out:
	defparse_buildargs_free(&args);
	cli_buildargs_free(&ba);
	return rc;
}
