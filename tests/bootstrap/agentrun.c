/* tests/bootstrap/agentrun.c: runs one bootstrap agent for the shell tests,
 * as the builder does for a definition file's header.
 *
 *   agentrun [--nohttps] [--user] [--map FILE] [--oci-config FILE] ROOTFS KEY=VALUE...
 *
 * The header is the KEY=VALUE pairs (bootstrap=oras from=HOST/NAME:TAG ...).
 * ROOTFS is created; validate then materialise fill it. --user: behave as a
 * plain user even as root (the request is not privileged). --map saves the
 * ownership map (pack the tree with `ocitool pack ROOTFS OUT --map FILE`);
 * --oci-config writes res.oci_config_json (the file is not created when the
 * agent gave none). Prints the result's fields as "key=value" lines. Exit 1
 * with "error: MESSAGE" on stderr; warnings as "warning: ...". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/registry/registry.h"
#include "common/ownership.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "warning: %s\n", msg);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int usage(void)
{
	fputs("usage: agentrun [--nohttps] [--user] [--map FILE] [--oci-config FILE] ROOTFS "
	      "KEY=VALUE...\n", stderr);
	return 2;
}

static int run(struct bootstrap_request *rq, const char *map, const char *oci_config)
{
	const char *name = bootstrap_header_get(rq, "bootstrap");
	const struct bootstrap_agent *a = name ? bootstrap_find(name) : NULL;
	if (a == NULL || a->ops == NULL) {
		fprintf(stderr, "error: no agent %s\n", name ? name : "(none)");
		return 1;
	}
	sb_error_t err = NULL;
	struct bootstrap_result res = { 0 };
	int rc = 1;
	if (mkdir(rq->rootfs, 0755) < 0 && errno != EEXIST)
		sb_error_set(&err, errno, "%s", rq->rootfs);
	else if (a->ops->validate(rq, &err) == 0 && a->ops->materialise(rq, &res, &err) == 0 &&
		 (map == NULL || sb_ownership_save(rq->owners, map, &err) == 0))
		rc = 0;
	if (rc == 0 && oci_config && res.oci_config_json &&
	    write_text(oci_config, res.oci_config_json) < 0) {
		sb_error_set(&err, errno, "%s", oci_config);
		rc = 1;
	}
	if (rc == 0)
		printf("keep_metadata=%d\nimage_digest=%s\noci_config_json=%s\nowner_records=%zu\n",
		       res.keep_metadata, res.image_digest ? res.image_digest : "",
		       res.oci_config_json ? "yes" : "no", sb_ownership_count(rq->owners));
	else
		fprintf(stderr, "error: %s\n", sb_error_message(err));
	bootstrap_result_release(&res);
	sb_error_free(&err);
	return rc;
}

int main(int argc, char **argv)
{
	struct sb_registry_options ro;
	sb_registry_options_init(&ro);
	ro.warn = warn;
	struct bootstrap_request rq = { .warn = warn, .registry = &ro };
	rq.privileged = geteuid() == 0;
	const char *map = NULL, *oci_config = NULL;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--nohttps") == 0)
			ro.nohttps = true;
		else if (strcmp(argv[i], "--user") == 0)
			rq.privileged = false;
		else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			map = argv[++i];
		else if (strcmp(argv[i], "--oci-config") == 0 && i + 1 < argc)
			oci_config = argv[++i];
		else
			return usage();
	}
	if (argc - i < 2)
		return usage();
	rq.rootfs = argv[i++];
	size_t n = (size_t)(argc - i);
	struct defparse_kv *kv = sb_xcalloc(n, sizeof(*kv));
	for (size_t k = 0; k < n; k++) {
		char *eq = strchr(argv[i + (int)k], '=');
		if (eq == NULL) {
			free(kv);
			return usage();
		}
		*eq = '\0';
		kv[k].key = argv[i + (int)k];
		kv[k].value = eq + 1;
		kv[k].line = (int)k + 1;
	}
	rq.header = kv;
	rq.n_header = n;
	rq.owners = sb_ownership_new();
	int rc = run(&rq, map, oci_config);
	sb_ownership_free(rq.owners);
	free(kv);
	return rc;
}
