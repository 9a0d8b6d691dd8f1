/* tests/registry/sbpull.c: a small driver of the registry library for tests.
 *
 *   sbpull [OPTIONS] REF [LAYOUT_DIR]     pull an image (to the cache, and
 *                                         to LAYOUT_DIR as an OCI layout)
 *   sbpull [OPTIONS] --sif DEST REF       pull an oras:// SIF to DEST
 *   sbpull [OPTIONS] --push SIF REF       push SIF as an ORAS artifact
 *   sbpull --cache-list | --cache-clean DAYS
 * Prints the manifest digest on stdout (with -v: also the platform, config
 * and layer digests and paths). Errors: one line on stderr, exit 1 (2 for
 * bad input).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/registry/registry.h"

static void to_stderr(void *data, const char *text)
{
	(void)data;
	fputs(text, stderr);
}

static void warn_stderr(void *data, const char *text)
{
	(void)data;
	fprintf(stderr, "warning: %s\n", text);
}

static void print_entry(void *data, const struct sb_registry_cache_entry *e)
{
	(void)data;
	printf("%s %lld %s\n", e->digest, (long long)e->size, e->kind);
}

static int fail(sb_error_t *err)
{
	fprintf(stderr, "sbpull: %s\n", sb_error_message(*err));
	int status = (*err)->status ? (*err)->status : 1;
	sb_error_free(err);
	return status;
}

static void print_image(const struct sb_registry_image *img, bool verbose)
{
	printf("%s\n", img->manifest.digest);
	if (!verbose)
		return;
	printf("reference %s\n", img->reference);
	printf("index %s\n", img->index_digest ? img->index_digest : "-");
	printf("platform %s/%s%s%s\n", img->os, img->arch, *img->variant ? "/" : "", img->variant);
	printf("manifest %s %s\n", img->manifest.media_type, img->manifest.path);
	printf("config %s %s\n", img->config.digest, img->config.path);
	for (size_t i = 0; i < img->n_layers; i++)
		printf("layer %s %s %lld %s\n", img->layers[i].digest, img->layers[i].media_type,
		       (long long)img->layers[i].size, img->layers[i].path);
	if (img->from_cache_offline)
		printf("offline yes\n");
}

static int cache_cmd(const char *dir, bool list, int days)
{
	sb_error_t err = NULL;
	char *d = dir ? strdup(dir) : sb_registry_cache_dir(&err);
	if (d == NULL)
		return fail(&err);
	int rc = 0;
	if (list) {
		int64_t total = 0;
		rc = sb_registry_cache_list(d, print_entry, NULL, &total, &err);
		if (rc == 0)
			printf("total %lld\n", (long long)total);
	} else {
		size_t n = 0;
		int64_t bytes = 0;
		rc = sb_registry_cache_clean(d, days, &n, &bytes, &err);
		if (rc == 0)
			printf("removed %zu %lld\n", n, (long long)bytes);
	}
	free(d);
	return rc < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"nohttps", no_argument, NULL, 'n'},
						 {"disable-cache", no_argument, NULL, 'D'},
						 {"cache", required_argument, NULL, 'c'},
						 {"authfile", required_argument, NULL, 'a'},
						 {"username", required_argument, NULL, 'u'},
						 {"password", required_argument, NULL, 'p'},
						 {"arch", required_argument, NULL, 'A'},
						 {"variant", required_argument, NULL, 'V'},
						 {"os", required_argument, NULL, 'O'},
						 {"max-connections", required_argument, NULL, 'm'},
						 {"retries", required_argument, NULL, 'r'},
						 {"progress", no_argument, NULL, 'P'},
						 {"tty", no_argument, NULL, 'T'},
						 {"sif", required_argument, NULL, 's'},
						 {"push", required_argument, NULL, 'U'},
						 {"cache-list", no_argument, NULL, 'L'},
						 {"cache-clean", required_argument, NULL, 'C'},
						 {"verbose", no_argument, NULL, 'v'},
						 {"chunk-size", required_argument, NULL, 'K'},
						 {"ca-file", required_argument, NULL, 'F'},
						 {NULL, 0, NULL, 0}};
	struct sb_registry_options o;
	sb_registry_options_init(&o);
	o.warn = warn_stderr;
	const char *sif = NULL, *push = NULL;
	bool verbose = false, list = false;
	int clean_days = -1, c;
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.nohttps = true;
			break;
		case 'D':
			o.disable_cache = true;
			break;
		case 'c':
			o.cache_dir = optarg;
			break;
		case 'a':
			o.authfile = optarg;
			break;
		case 'u':
			o.username = optarg;
			break;
		case 'p':
			o.password = optarg;
			break;
		case 'A':
			o.arch = optarg;
			break;
		case 'V':
			o.variant = optarg;
			break;
		case 'O':
			o.os = optarg;
			break;
		case 'm':
			o.max_connections = atoi(optarg);
			break;
		case 'r':
			o.max_retries = atoi(optarg);
			break;
		case 'P':
			o.progress = to_stderr;
			break;
		case 'T':
			o.progress = to_stderr, o.progress_tty = true;
			break;
		case 's':
			sif = optarg;
			break;
		case 'U':
			push = optarg;
			break;
		case 'L':
			list = true;
			break;
		case 'C':
			clean_days = atoi(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'F':
			o.ca_file = optarg;
			break;
		case 'K':
			o.chunk_size = atoll(optarg);
			break;
		default:
			return 2;
		}
	}
	if (list || clean_days >= 0)
		return cache_cmd(o.cache_dir, list, clean_days);
	if (optind >= argc) {
		fprintf(stderr, "usage: sbpull [OPTIONS] REF [LAYOUT_DIR]\n");
		return 2;
	}
	sb_error_t err = NULL;
	char *digest = NULL;
	if (sif != NULL || push != NULL) {
		int rc = sif ? sb_registry_pull_sif(argv[optind], &o, sif, &digest, &err)
			     : sb_registry_push_sif(push, argv[optind], &o, &digest, &err);
		if (rc < 0)
			return fail(&err);
		printf("%s\n", digest);
		free(digest);
		return 0;
	}
	struct sb_registry_image *img = NULL;
	const char *layout = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (sb_registry_pull(argv[optind], &o, layout, &img, &err) < 0)
		return fail(&err);
	print_image(img, verbose);
	sb_registry_image_free(img);
	return 0;
}
