/* builder/cli/cmd_misc.c: `sifbuild version` and `sifbuild help`. */
#include <archive.h>
#include <curl/curlver.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "builder/cli/cli.h"
#include "config.h"

const char cli_version_usage[] =
	"Usage: sifbuild version [--verbose]\n\n"
	"Print sifbuild's version. --verbose adds the libraries it was built with and the\n"
	"folder it reads its data files from.\n";

const char cli_help_usage[] =
	"Usage: sifbuild help [COMMAND]\n\n"
	"Show the list of commands, or the full help of one command.\n";

int cmd_version(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int verbose = 0, c;
	while ((c = cli_getopt(cli_find("version"), argc, argv, "+hv", longopts)) != -1) {
		if (c == 'v')
			verbose = 1;
		else
			return c == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (optind != argc) {
		cli_error("version", "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	printf("sifbuild %s\n", PACKAGE_VERSION);
	if (verbose) {
		const struct scmp_version *sv = seccomp_version();
		printf("libarchive %s\nlibcurl %s\njansson %s\nlibseccomp %u.%u.%u\n",
		       archive_version_details(), LIBCURL_VERSION, jansson_version_str(),
		       sv->major, sv->minor, sv->micro);
		printf("datadir %s\n", cli_datadir());
	}
	return CLI_OK;
}

int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(cli_help_usage, stdout);
		return CLI_OK;
	}
	if (argc > 2) {
		cli_error("help", "expected at most one command name");
		return CLI_USAGE;
	}
	if (argc == 1) {
		cli_print_main_help(stdout);
		return CLI_OK;
	}
	const struct cli_command *c = cli_find(argv[1]);
	if (c == NULL) {
		cli_error("help", "unknown command '%s'; run 'sifbuild --help' for the list",
			  argv[1]);
		return CLI_USAGE;
	}
	fputs(c->usage, stdout);
	return CLI_OK;
}
