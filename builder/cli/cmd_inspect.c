/* builder/cli/cmd_inspect.c: `sifbuild inspect`. */
#include <stdio.h>
#include <stdlib.h>

#include "builder/cli/cli.h"
#include "builder/inspect.h"
#include "common/strbuf.h"

const char cli_inspect_usage[] =
	"Usage: sifbuild inspect [OPTIONS] IMAGE\n\n"
	"Show an image's metadata as Apptainer's inspect does. IMAGE is a SIF file (its\n"
	"inspect-metadata.json object, or its tree when the SIF has none) or a sandbox\n"
	"directory. Without a selection the labels are shown.\n\n"
	"Options:\n"
	"  -l, --labels        the labels (default)\n"
	"  -d, --deffile       the definition file the image was built from\n"
	"  -r, --runscript     the runscript\n"
	"  -s, --startscript   the startscript\n"
	"  -t, --test          the test script\n"
	"  -H, --helpfile      the runscript help (%help)\n"
	"  -e, --environment   the environment files (%environment, OCI ENV)\n"
	"      --list-apps     the names of the SCIF apps\n"
	"      --app NAME      the labels, scripts, help and environment of app NAME\n"
	"      --all           everything, as JSON\n"
	"  -j, --json          Apptainer's JSON document instead of text\n"
	"  -h, --help          show this help\n";

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "WARNING: %s\n", msg);
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "labels", no_argument, NULL, 'l' },
		{ "deffile", no_argument, NULL, 'd' },
		{ "runscript", no_argument, NULL, 'r' },
		{ "startscript", no_argument, NULL, 's' },
		{ "test", no_argument, NULL, 't' },
		{ "helpfile", no_argument, NULL, 'H' },
		{ "environment", no_argument, NULL, 'e' },
		{ "list-apps", no_argument, NULL, 'L' },
		{ "app", required_argument, NULL, 'a' },
		{ "all", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int opt;
		unsigned bit;
	} bits[] = { { 'l', INSPECT_LABELS },	  { 'd', INSPECT_DEFFILE },
		     { 'r', INSPECT_RUNSCRIPT },  { 's', INSPECT_STARTSCRIPT },
		     { 't', INSPECT_TEST },	  { 'H', INSPECT_HELPFILE },
		     { 'e', INSPECT_ENVIRONMENT }, { 'L', INSPECT_LIST_APPS },
		     { 'A', INSPECT_ALL } };
	const struct cli_command *cmd = cli_find("inspect");
	struct inspect_options o = { 0 };
	o.warn = warn_stderr;
	int c;
	while ((c = cli_getopt(cmd, argc, argv, "+hldrstHej", longopts)) != -1) {
		bool known = true;
		if (c == 'h')
			return CLI_OK;
		else if (c == 'j')
			o.json = true;
		else if (c == 'a')
			o.app = optarg;
		else
			known = false;
		for (size_t i = 0; !known && i < sizeof(bits) / sizeof(bits[0]); i++)
			if (bits[i].opt == c) {
				o.what |= bits[i].bit;
				known = true;
			}
		if (!known)
			return CLI_USAGE;
	}
	if (argc - optind != 1) {
		cli_error("inspect", "expected one IMAGE; see 'sifbuild inspect --help'");
		return CLI_USAGE;
	}
	struct sb_strbuf out = SB_STRBUF_INIT;
	sb_error_t err = NULL;
	if (inspect_image(argv[optind], &o, &out, &err) < 0) {
		fprintf(stderr, "sifbuild inspect: %s\n", sb_error_message(err));
		int st = err->status ? err->status : CLI_FAIL;
		sb_error_free(&err);
		sb_strbuf_release(&out);
		return st;
	}
	if (out.len > 0)
		fwrite(out.buf, 1, out.len, stdout);
	sb_strbuf_release(&out);
	return CLI_OK;
}
