/* tests/oci/fuzz_oci.c: libFuzzer entry point for the OCI parsers. Every
 * input goes through index selection, the image config and its Apptainer
 * metadata, and layer application into a fresh temporary root (as a plain
 * user's unpack, with an ownership map). Replayed by tests/oci/replay_oci.sh
 * with tests/fuzz/replay_main.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap/oci/oci.h"
#include "common/fs.h"
#include "common/ownership.h"
#include "common/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n, pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	(void)err;
	struct mem *m = ctx;
	size_t k = m->n - m->pos < len ? m->n - m->pos : len;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static void index_and_config(const uint8_t *data, size_t size)
{
	struct oci_descriptor d = { 0 };
	sb_error_t err = NULL;
	if (oci_index_select((const char *)data, size, NULL, NULL, &d, &err) == 0)
		oci_descriptor_clear(&d);
	sb_error_free(&err);
	if (oci_index_select((const char *)data, size, "latest", NULL, &d, &err) == 0)
		oci_descriptor_clear(&d);
	sb_error_free(&err);
	struct oci_config *c = oci_config_parse((const char *)data, size, &err);
	sb_error_free(&err);
	if (c == NULL)
		return;
	free(oci_meta_env_script(c, NULL, NULL));
	free(oci_meta_runscript(c));
	free(oci_meta_labels_json(c));
	free(oci_meta_config_json(c));
	oci_config_free(c);
}

static void layer(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char *root = sb_asprintf("%s/fuzz_oci.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(root) == NULL) {
		free(root);
		return;
	}
	struct sb_ownership *m = sb_ownership_new();
	struct oci_apply_options o = { .privileged = false, .owners = m };
	sb_error_t err = NULL;
	struct oci_unpacker *u = oci_unpacker_new(root, &o, &err);
	if (u) {
		struct mem src = { data, size, 0 };
		oci_unpacker_apply(u, mem_read, &src, "fuzz", NULL, &err);
		sb_error_free(&err);
		src.pos = 0; /* the same layer again, over itself */
		oci_unpacker_apply(u, mem_read, &src, "fuzz", NULL, &err);
		oci_unpacker_free(u);
	}
	sb_error_free(&err);
	sb_ownership_free(m);
	sb_rm_rf(root, NULL);
	free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	index_and_config(data, size);
	layer(data, size);
	return 0;
}
