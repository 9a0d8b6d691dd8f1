/* tests/registry/fuzz_registry.c: libFuzzer entry point for the registry
 * client's parsers. The first byte picks the parser: image references,
 * definition-file header references, WWW-Authenticate challenges, docker
 * config.json credentials, and index platform choice. Any input must parse
 * or fail cleanly: no crash, no leak, no sanitizer report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap/registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ref(const char *s, bool header)
{
	struct sb_registry_ref r;
	sb_error_t err = NULL;
	int rc = header ? sb_registry_ref_from_header(s, "quay.io", "ns", &r, &err)
			: sb_registry_ref_parse(s, &r, &err);
	if (rc == 0) {
		char *t = sb_registry_ref_string(&r);
		struct sb_registry_ref r2;
		if (sb_registry_ref_parse(t, &r2, &err) != 0 ||
		    strcmp(r2.repository, r.repository) != 0)
			abort(); /* the canonical form must parse back */
		sb_registry_ref_release(&r2);
		free(t);
		sb_registry_ref_release(&r);
	}
	sb_error_free(&err);
}

static void fuzz_config(const char *s)
{
	struct sb_reg_creds c = {0};
	char *helper = NULL;
	sb_error_t err = NULL;
	sb_reg_config_lookup(s, "127.0.0.1:5000", "a/b", &c, &helper, &err);
	sb_reg_creds_release(&c);
	free(helper);
	sb_error_free(&err);
}

static void fuzz_index(const char *s)
{
	struct sb_reg_manifest m = {0};
	m.json = json_loads(s, 0, NULL);
	if (m.json == NULL)
		return;
	m.digest = strdup("sha256:fuzz");
	struct sb_registry_options o;
	sb_registry_options_init(&o);
	o.arch = "arm64";
	struct sb_reg_platform p = {0};
	sb_error_t err = NULL;
	sb_reg_choose_platform(&m, &o, &p, &err);
	sb_reg_platform_release(&p);
	sb_error_free(&err);
	struct sb_registry_blob b = {0};
	if (sb_reg_descriptor(json_object_get(m.json, "config"), &b, "config", &err) == 0) {
		free(b.media_type);
		free(b.digest);
	}
	sb_error_free(&err);
	sb_reg_manifest_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	struct sb_reg_challenge c;
	switch (data[0] % 5) {
	case 0:
		fuzz_ref(s, false);
		break;
	case 1:
		fuzz_ref(s, true);
		break;
	case 2:
		if (sb_reg_challenge_parse(s, &c) == 0)
			sb_reg_challenge_release(&c);
		break;
	case 3:
		fuzz_config(s);
		break;
	default:
		fuzz_index(s);
		break;
	}
	free(s);
	return 0;
}
