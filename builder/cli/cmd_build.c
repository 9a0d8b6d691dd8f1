/* builder/cli/cmd_build.c: `sifbuild build`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/cli/cli.h"

const char cli_build_usage[] =
	"Usage: sifbuild build [OPTIONS] TARGET SOURCE\n\n"
	"Build an image. Sources that work in this version:\n"
	"  DIR/                    a sandbox directory: packed into TARGET.sif (the Apptainer\n"
	"                          skeleton is added where the tree lacks it)\n"
	"  oci:DIR[:TAG]           an OCI image layout\n"
	"  oci-archive:FILE[:TAG]  a tar of an OCI image layout (docker save of Docker 25+)\n"
	"  docker-archive:FILE[:NAME:TAG]\n"
	"                          a classic 'docker save' archive\n"
	"  docker://REF            an image in a registry (Docker Hub defaults)\n"
	"  oras://REF              a SIF stored in a registry as an ORAS artifact\n"
	"  IMAGE.sif (--sandbox)   a SIF: its root filesystem extracted into the directory\n"
	"                          TARGET\n\n"
	"Options:\n"
	"  -s, --sandbox             build a sandbox directory instead of a SIF\n"
	"  -F, --force               replace TARGET if it exists\n"
	"  -j, --jobs N              compression threads (default: online CPUs)\n"
	"      --compression NAME[:LEVEL]\n"
	"                            gzip (default, as Apptainer), zstd, xz, lz4, lzo\n"
	"      --block-size BYTES    SquashFS block size (default 131072)\n"
	"      --reproducible        bit-identical output: times set to SOURCE_DATE_EPOCH\n"
	"                            (or 0), nil UUID; implied when SOURCE_DATE_EPOCH is set\n"
	"      --arch ARCH           platform to choose from a multi-platform image\n"
	"      --arch-variant V      its variant (e.g. v7 for arm)\n"
	"      --nohttps             talk plain HTTP to the registry (also --no-https)\n"
	"      --authfile FILE       registry credentials (a docker config.json)\n"
	"      --disable-cache       do not use or fill the blob cache\n"
	"      --tmpdir DIR          build directory (default: $SIFBUILD_TMPDIR,\n"
	"                            $APPTAINER_TMPDIR, $TMPDIR, /var/tmp)\n"
	"  -h, --help                show this help\n\n"
	"The image is written to a temporary file beside TARGET and renamed when complete;\n"
	"on an error or interruption nothing partial is left.\n";

static int parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		cli_error("build", "invalid value '%s' for %s", s, opt);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static void warn_stderr(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "WARNING: %s\n", msg);
}

static int epoch_from_env(struct build_options *o)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	if (e == NULL || *e == '\0')
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(e, &end, 10);
	if (errno || *end || v < 0) {
		cli_error("build", "invalid SOURCE_DATE_EPOCH '%s': expected seconds since 1970", e);
		return -1;
	}
	o->reproducible = true;
	o->epoch = v;
	return 0;
}

int cmd_build(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sandbox", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'F' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "compression", required_argument, NULL, 'c' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "reproducible", no_argument, NULL, 'r' },
		{ "arch", required_argument, NULL, 'A' },
		{ "arch-variant", required_argument, NULL, 'V' },
		{ "nohttps", no_argument, NULL, 'N' },
		{ "no-https", no_argument, NULL, 'N' },
		{ "authfile", required_argument, NULL, 'a' },
		{ "disable-cache", no_argument, NULL, 'D' },
		{ "tmpdir", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_command *cmd = cli_find("build");
	struct build_options o = { 0 };
	int c;
	o.warn = warn_stderr;
	while ((c = cli_getopt(cmd, argc, argv, "+hsFj:", longopts)) != -1) {
		switch (c) {
		case 's': o.sandbox = true; break;
		case 'F': o.force = true; break;
		case 'j':
			if (parse_uint("--jobs", optarg, 1024, &o.jobs) < 0)
				return CLI_USAGE;
			break;
		case 'c': o.compression = optarg; break;
		case 'b':
			if (parse_uint("--block-size", optarg, 1u << 20, &o.block_size) < 0)
				return CLI_USAGE;
			break;
		case 'r': o.reproducible = true; break;
		case 'A': o.arch = optarg; break;
		case 'V': o.arch_variant = optarg; break;
		case 'N': o.nohttps = true; break;
		case 'a': o.authfile = optarg; break;
		case 'D': o.disable_cache = true; break;
		case 't': o.tmpdir = optarg; break;
		case 'h': return CLI_OK;
		default: return CLI_USAGE;
		}
	}
	if (argc - optind != 2) {
		cli_error("build", "expected TARGET and SOURCE, got %d argument%s; see 'sifbuild build "
				   "--help'", argc - optind, argc - optind == 1 ? "" : "s");
		return CLI_USAGE;
	}
	o.target = argv[optind];
	o.source = argv[optind + 1];
	if (epoch_from_env(&o) < 0)
		return CLI_USAGE;
	sb_error_t err = NULL;
	if (build_run(&o, &err) < 0) {
		fprintf(stderr, "sifbuild build: %s\n", sb_error_message(err));
		int st = err->status ? err->status : CLI_FAIL;
		sb_error_free(&err);
		return st;
	}
	return CLI_OK;
}
