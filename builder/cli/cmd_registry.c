/* builder/cli/cmd_registry.c: `sifbuild pull`, `sifbuild push`, `sifbuild cache`
 * (thin wrappers over bootstrap/registry/registry.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/registry/registry.h"
#include "builder/cli/cli.h"

const char cli_pull_usage[] =
	"Usage: sifbuild pull [OPTIONS] oras://HOST/NAME[:TAG] IMAGE.sif\n"
	"       sifbuild pull [OPTIONS] --layout DIR docker://[HOST/]NAME[:TAG|@DIGEST]\n\n"
	"Download a SIF artifact, or an image into the blob cache and (with --layout)\n"
	"an OCI image layout. Prints the manifest digest.\n\n"
	"Options:\n"
	"  --nohttps, --no-https   talk plain HTTP to the registry\n"
	"  --authfile FILE         docker config.json with credentials\n"
	"  --arch ARCH             platform to choose from a multi-platform image\n"
	"  --arch-variant VARIANT  e.g. v7, v8\n"
	"  --layout DIR            write an OCI image layout (docker://)\n"
	"  --disable-cache         do not use or fill the blob cache\n"
	"  --max-connections N     parallel blob downloads (default 4)\n"
	"Credentials: APPTAINER_DOCKER_USERNAME/PASSWORD, --authfile, $DOCKER_CONFIG or\n"
	"~/.docker/config.json (credential helpers too). Cache: $SIFBUILD_CACHEDIR, else\n"
	"$APPTAINER_CACHEDIR/sifbuild, else ~/.cache/sifbuild.\n";

const char cli_push_usage[] =
	"Usage: sifbuild push [--nohttps] [--authfile FILE] IMAGE.sif oras://HOST/NAME[:TAG]\n\n"
	"Upload a SIF image as an ORAS artifact (as 'apptainer push'). Prints the manifest\n"
	"digest.\n";

const char cli_cache_usage[] =
	"Usage: sifbuild cache list [--verbose]\n"
	"       sifbuild cache clean [--days N]\n\n"
	"Show or empty the blob cache ($SIFBUILD_CACHEDIR, else $APPTAINER_CACHEDIR/sifbuild,\n"
	"else ~/.cache/sifbuild). clean --days N removes what was not used for N days.\n";

enum {
	O_NOHTTPS = 1000,
	O_AUTHFILE,
	O_ARCH,
	O_VARIANT,
	O_LAYOUT,
	O_NOCACHE,
	O_MAXCONN,
	O_DAYS,
	O_VERBOSE
};

static const struct option reg_longopts[] = {
	{"nohttps", no_argument, NULL, O_NOHTTPS},
	{"no-https", no_argument, NULL, O_NOHTTPS},
	{"authfile", required_argument, NULL, O_AUTHFILE},
	{"arch", required_argument, NULL, O_ARCH},
	{"arch-variant", required_argument, NULL, O_VARIANT},
	{"layout", required_argument, NULL, O_LAYOUT},
	{"disable-cache", no_argument, NULL, O_NOCACHE},
	{"max-connections", required_argument, NULL, O_MAXCONN},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void to_stderr(void *data, const char *text)
{
	(void)data;
	fputs(text, stderr);
}

static void warn_stderr(void *data, const char *text)
{
	fprintf(stderr, "sifbuild %s: warning: %s\n", (const char *)data, text);
}

static int fail(const char *cmd, sb_error_t *err)
{
	cli_error(cmd, "%s", sb_error_message(*err));
	int status = (*err)->status == 2 ? CLI_USAGE : CLI_FAIL;
	sb_error_free(err);
	return status;
}

/* Parses the shared options into o; returns 0, or an exit status + 1. */
static int reg_options(const char *name, int argc, char **argv, struct sb_registry_options *o,
		       const char **layout)
{
	int c;
	sb_registry_options_init(o);
	o->progress = to_stderr;
	o->progress_tty = isatty(2);
	o->warn = warn_stderr;
	o->warn_data = (void *)name;
	while ((c = cli_getopt(cli_find(name), argc, argv, "+h", reg_longopts)) != -1) {
		switch (c) {
		case O_NOHTTPS:
			o->nohttps = true;
			break;
		case O_AUTHFILE:
			o->authfile = optarg;
			break;
		case O_ARCH:
			o->arch = optarg;
			break;
		case O_VARIANT:
			o->variant = optarg;
			break;
		case O_LAYOUT:
			*layout = optarg;
			break;
		case O_NOCACHE:
			o->disable_cache = true;
			break;
		case O_MAXCONN:
			o->max_connections = atoi(optarg);
			if (o->max_connections < 1 || o->max_connections > 64) {
				cli_error(name, "--max-connections takes 1 to 64");
				return CLI_USAGE + 1;
			}
			break;
		default:
			return (c == 'h' ? CLI_OK : CLI_USAGE) + 1;
		}
	}
	return 0;
}

int cmd_pull(int argc, char **argv)
{
	struct sb_registry_options o;
	const char *layout = NULL;
	int rc = reg_options("pull", argc, argv, &o, &layout);
	if (rc)
		return rc - 1;
	int n = argc - optind;
	const char *ref = n >= 1 ? argv[optind] : NULL;
	bool oras = ref && strncmp(ref, "oras://", 7) == 0;
	if (ref == NULL || (oras && n != 2) || (!oras && (n != 1 || layout == NULL))) {
		cli_error("pull", "expected oras://REF IMAGE.sif, or --layout DIR docker://REF; "
				  "see 'sifbuild pull --help'");
		return CLI_USAGE;
	}
	sb_error_t err = NULL;
	if (oras) {
		char *digest = NULL;
		if (sb_registry_pull_sif(ref, &o, argv[optind + 1], &digest, &err) < 0)
			return fail("pull", &err);
		printf("%s\n", digest);
		free(digest);
		return CLI_OK;
	}
	struct sb_registry_image *img = NULL;
	if (sb_registry_pull(ref, &o, layout, &img, &err) < 0)
		return fail("pull", &err);
	printf("%s\n", img->manifest.digest);
	sb_registry_image_free(img);
	return CLI_OK;
}

int cmd_push(int argc, char **argv)
{
	struct sb_registry_options o;
	const char *layout = NULL;
	int rc = reg_options("push", argc, argv, &o, &layout);
	if (rc)
		return rc - 1;
	if (argc - optind != 2 || layout != NULL) {
		cli_error("push",
			  "expected IMAGE.sif oras://HOST/NAME[:TAG]; see 'sifbuild push --help'");
		return CLI_USAGE;
	}
	sb_error_t err = NULL;
	char *digest = NULL;
	if (sb_registry_push_sif(argv[optind], argv[optind + 1], &o, &digest, &err) < 0)
		return fail("push", &err);
	printf("%s\n", digest);
	free(digest);
	return CLI_OK;
}

static void human(int64_t n, char *buf, size_t len)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int i = 0;
	while (v >= 1024 && i < 4)
		v /= 1024, i++;
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void list_entry(void *data, const struct sb_registry_cache_entry *e)
{
	size_t *count = data;
	(*count)++;
	if (count[1]) {
		char sz[32];
		human(e->size, sz, sizeof(sz));
		printf("%s  %10s  %s\n", e->digest, sz, e->kind);
	}
}

int cmd_cache(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"days", required_argument, NULL, O_DAYS},
		{"verbose", no_argument, NULL, O_VERBOSE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sub = argc >= 2 ? argv[1] : "";
	bool list = strcmp(sub, "list") == 0, clean = strcmp(sub, "clean") == 0;
	if (!list && !clean) {
		if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
			fputs(cli_cache_usage, stdout);
			return CLI_OK;
		}
		cli_error("cache", "expected 'list' or 'clean'; see 'sifbuild cache --help'");
		return CLI_USAGE;
	}
	int days = 0, verbose = 0, c;
	optind = 1;
	while ((c = cli_getopt(cli_find("cache"), argc - 1, argv + 1, "+hv", longopts)) != -1) {
		if (c == O_DAYS && clean) {
			days = atoi(optarg);
		} else if ((c == O_VERBOSE || c == 'v') && list) {
			verbose = 1;
		} else if (c == O_DAYS || c == O_VERBOSE || c == 'v') {
			cli_error("cache", "'cache %s' takes no %s option", sub,
				  c == O_DAYS ? "--days" : "--verbose");
			return CLI_USAGE;
		} else {
			return c == 'h' ? CLI_OK : CLI_USAGE;
		}
	}
	sb_error_t err = NULL;
	char *dir = sb_registry_cache_dir(&err);
	if (dir == NULL)
		return fail("cache", &err);
	int64_t bytes = 0;
	char sz[32];
	int rc;
	if (list) {
		size_t count[2] = {0, (size_t)verbose};
		rc = sb_registry_cache_list(dir, list_entry, count, &bytes, &err);
		human(bytes, sz, sizeof(sz));
		if (rc == 0)
			printf("%zu blobs, %s in %s\n", count[0], sz, dir);
	} else {
		size_t n = 0;
		rc = sb_registry_cache_clean(dir, days, &n, &bytes, &err);
		human(bytes, sz, sizeof(sz));
		if (rc == 0)
			printf("removed %zu blobs, %s from %s\n", n, sz, dir);
	}
	free(dir);
	return rc < 0 ? fail("cache", &err) : CLI_OK;
}
