/* builder/cli/cmd_build.c: `sifbuild build`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/cli/buildargs.h"
#include "builder/cli/cli.h"
#include "defparse/defparse.h"

const char cli_build_usage[] =
	"Usage: sifbuild build [OPTIONS] TARGET SOURCE\n\n"
	"Build an image. SOURCE is a definition file or an image:\n"
	"  FILE.def                an Apptainer definition file: every stage is built as\n"
	"                          the current user (no privilege needed), its scriptlets\n"
	"                          running in a user namespace mapped to root\n"
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
	"Definition-file options (as Apptainer's):\n"
	"  -u, --update              build on top of the existing sandbox TARGET\n"
	"  -T, --notest              do not run %test\n"
	"      --section LIST        run only these sections (pre,setup,files,help,labels,\n"
	"                            environment,runscript,startscript,test; all, none)\n"
	"      --build-arg K=V       value for {{ K }} (repeatable)\n"
	"      --build-arg-file F    file of K=V lines\n"
	"      --warn-unused-build-args  unused build args warn instead of failing\n"
	"      --fix-perms           give the owner rwX on every file of the base image\n"
	"  -B, --bind SRC[:DST[:ro]] bind mount for %post and %test (repeatable, comma lists)\n"
	"      --no-cleanup          keep the build directory (its path is printed)\n"
	"      --userns-mode MODE    auto (default), subuid, journal, seccomp, fakeroot, rootmap\n"
	"  -f, --fakeroot, --userns  accepted: sifbuild always builds this way (auto)\n"
	"      --ignore-subuid, --ignore-fakeroot-command, --ignore-userns\n"
	"                            leave these out of the automatic mode choice\n"
	"  -q, --quiet / -v, --verbose  less / more progress output\n\n"
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
	{ "update", no_argument, NULL, 'u' },
	{ "notest", no_argument, NULL, 'T' },
	{ "section", required_argument, NULL, 1001 },
	{ "build-arg", required_argument, NULL, 1002 },
	{ "build-arg-file", required_argument, NULL, 1003 },
	{ "warn-unused-build-args", no_argument, NULL, 1004 },
	{ "fix-perms", no_argument, NULL, 1005 },
	{ "bind", required_argument, NULL, 'B' },
	{ "no-cleanup", no_argument, NULL, 1006 },
	{ "userns-mode", required_argument, NULL, 1007 },
	{ "fakeroot", no_argument, NULL, 'f' },
	{ "userns", no_argument, NULL, 1008 },
	{ "ignore-subuid", no_argument, NULL, 1009 },
	{ "ignore-fakeroot-command", no_argument, NULL, 1010 },
	{ "ignore-userns", no_argument, NULL, 1011 },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* $APPTAINER_KEY, else $SINGULARITY_KEY (5.1), when set and not empty. */
static const char *env_value(const char *key)
{
	char name[64];
	const char *prefixes[] = { "APPTAINER_", "SINGULARITY_" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s%s", prefixes[i], key);
		const char *v = getenv(name);
		if (v && *v)
			return v;
	}
	return NULL;
}

/* The same as a switch: set and not "0"/"false". */
static bool env_flag(const char *key)
{
	const char *v = env_value(key);
	return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

static void env_defaults(struct build_options *o)
{
	o->sandbox = env_flag("SANDBOX");
	o->force = env_flag("FORCE");
	o->update = env_flag("UPDATE");
	o->notest = env_flag("NOTEST");
	o->fix_perms = env_flag("FIXPERMS");
	o->disable_cache = env_flag("DISABLE_CACHE");
	o->no_cleanup = env_flag("NO_CLEANUP");
	o->nohttps = env_flag("NOHTTPS") || env_flag("NO_HTTPS");
	o->section = env_value("SECTION");
	o->arch = env_value("BUILD_ARCH");
	o->arch_variant = env_value("BUILD_ARCH_VARIANT");
	o->authfile = env_value("AUTH_FILE");
	o->mode.ignore_subuid = env_flag("IGNORE_SUBUID");
	o->mode.ignore_fakeroot_command = env_flag("IGNORE_FAKEROOT_COMMAND");
	o->mode.ignore_userns = env_flag("IGNORE_USERNS");
}

struct binds {
	char **v;
	size_t n;
};

/* --bind takes comma lists, as Apptainer's. */
static void add_binds(struct binds *b, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		b->v = realloc(b->v, (b->n + 1) * sizeof(char *));
		b->v[b->n++] = strdup(w);
	}
	free(copy);
}

static void free_binds(struct binds *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
}

static int build_option(int c, struct build_options *o, struct cli_buildargs *ba,
			struct binds *binds)
{
	sb_error_t err = NULL;
	switch (c) {
	case 's': o->sandbox = true; break;
	case 'F': o->force = true; break;
	case 'j': return parse_uint("--jobs", optarg, 1024, &o->jobs);
	case 'c': o->compression = optarg; break;
	case 'b': return parse_uint("--block-size", optarg, 1u << 20, &o->block_size);
	case 'r': o->reproducible = true; break;
	case 'A': o->arch = optarg; break;
	case 'V': o->arch_variant = optarg; break;
	case 'N': o->nohttps = true; break;
	case 'a': o->authfile = optarg; break;
	case 'D': o->disable_cache = true; break;
	case 't': o->tmpdir = optarg; break;
	case 'u': o->update = true; break;
	case 'T': o->notest = true; break;
	case 1001: o->section = optarg; break;
	case 1002: cli_buildargs_add(ba, optarg); break;
	case 1003: ba->file = optarg; break;
	case 1004: o->warn_unused_args = true; break;
	case 1005: o->fix_perms = true; break;
	case 'B': add_binds(binds, optarg); break;
	case 1006: o->no_cleanup = true; break;
	case 1007:
		if (sb_mode_parse(optarg, &o->mode.mode, &err) < 0) {
			cli_error("build", "%s", sb_error_message(err));
			sb_error_free(&err);
			return -1;
		}
		break;
	case 'f': case 1008: break; /* what sifbuild always does */
	case 1009: o->mode.ignore_subuid = true; break;
	case 1010: o->mode.ignore_fakeroot_command = true; break;
	case 1011: o->mode.ignore_userns = true; break;
	case 'q': o->verbosity = -1; break;
	case 'v': o->verbosity = 1; break;
	default: return -1;
	}
	return 0;
}

static int run(struct build_options *o)
{
	if (epoch_from_env(o) < 0)
		return CLI_USAGE;
	sb_error_t err = NULL;
	if (build_run(o, &err) < 0) {
		fprintf(stderr, "sifbuild build: %s\n", sb_error_message(err));
		int st = err->status ? err->status : CLI_FAIL;
		sb_error_free(&err);
		return st;
	}
	return CLI_OK;
}

int cmd_build(int argc, char **argv)
{
	const struct cli_command *cmd = cli_find("build");
	struct build_options o = { 0 };
	struct cli_buildargs ba;
	struct binds binds = { 0 };
	struct defparse_buildargs args = { 0 };
	int c, rc = CLI_USAGE;
	cli_buildargs_init(&ba);
	env_defaults(&o);
	o.warn = warn_stderr;
	while ((c = cli_getopt(cmd, argc, argv, "+hsFj:uTB:fqv", longopts)) != -1) {
		if (c == 'h') {
			rc = CLI_OK;
			goto out;
		}
		if (build_option(c, &o, &ba, &binds) < 0)
			goto out;
	}
	if (argc - optind != 2) {
		cli_error("build", "expected TARGET and SOURCE, got %d argument%s; see 'sifbuild build "
				   "--help'", argc - optind, argc - optind == 1 ? "" : "s");
		goto out;
	}
	o.target = argv[optind];
	o.source = argv[optind + 1];
	if (cli_buildargs_load("build", &ba, &args) < 0)
		goto out;
	o.build_args = &args;
	o.binds = (const char *const *)binds.v;
	o.n_binds = binds.n;
	rc = run(&o);
out:
	defparse_buildargs_free(&args);
	cli_buildargs_free(&ba);
	free_binds(&binds);
	return rc;
}
