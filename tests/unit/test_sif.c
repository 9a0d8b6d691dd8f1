/* tests/unit/test_sif.c: the SIF reader and writer.
 *
 * Byte-exact against the sylabs/sif golden files, read-back of the reference
 * images with the objects `siftool list` shows, changes (add, delete,
 * set-primary), and hostile input. The conformance data lives in
 * ../shared/conformance/sif; cases that need it skip with a message when it
 * is absent. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "sif/sif.h"

#define CONF_DIR SB_TOP_SRCDIR "/../shared/conformance/sif"

static bool have_conformance(void)
{
	struct stat st;
	if (stat(CONF_DIR "/golden", &st) == 0)
		return true;
	fprintf(stderr, "SKIP: %s is absent: golden/image comparisons not run\n", CONF_DIR);
	return false;
}

static char *conf_path(const char *sub, const char *name)
{
	return sb_asprintf("%s/%s/%s", CONF_DIR, sub, name);
}

/* Compares bytes with a golden file; reports the first differing offset. */
static void assert_golden(const uint8_t *got, size_t len, const char *name)
{
	cleanup_free char *p = conf_path("golden", name);
	size_t glen = 0;
	cleanup_free char *want = sb_read_file(p, &glen);
	ck_assert_msg(want != NULL, "cannot read %s", p);
	size_t n = len < glen ? len : glen, i = 0;
	while (i < n && got[i] == (uint8_t)want[i])
		i++;
	ck_assert_msg(len == glen && memcmp(got, want, len) == 0,
		      "%s: %zu bytes written, %zu expected, first difference at offset %zu", name,
		      len, glen, i);
}

static struct sif_image *create_mem(const struct sif_create_options *o)
{
	sb_error_t err = NULL;
	struct sif_image *img = sif_create_memory(o, &err);
	ck_assert_msg(img != NULL, "create: %s", sb_error_message(err));
	return img;
}

static int64_t add(struct sif_image *img, const struct sif_object_input *in, const void *data,
		   size_t len)
{
	sb_error_t err = NULL;
	int64_t id = sif_add_object(img, in, data, len, &err);
	ck_assert_msg(id > 0, "add: %s", sb_error_message(err));
	return id;
}

static void check_image_golden(struct sif_image *img, const char *name)
{
	size_t len = 0;
	const uint8_t *b = sif_memory_bytes(img, &len);
	ck_assert_ptr_nonnull(b);
	assert_golden(b, len, name);
}

/* ---- TestCreateContainer-*.golden ------------------------------------- */

struct create_case {
	const char *golden;
	const char *launch;
	const char *uuid;
	bool time_set;
	int64_t time;
	uint32_t capacity;
	int objects; /* 0, 1: generic FA CE, 2: + partition FE ED */
	int64_t align; /* -1: defaults */
};

static const struct create_case create_cases[] = {
	{ "TestCreateContainer-Empty.golden", NULL, NULL, false, 0, 0, 0, -1 },
	{ "TestCreateContainer-EmptyCloseOnUnload.golden", NULL, NULL, false, 0, 0, 0, -1 },
	{ "TestCreateContainer-EmptyLaunchScript.golden", "#!/usr/bin/env launch-script\n", NULL,
	  false, 0, 0, 0, -1 },
	{ "TestCreateContainer-EmptyWithID.golden", NULL, "de170c43-36ab-44a8-bca9-1ea1a070a274",
	  false, 0, 0, 0, -1 },
	{ "TestCreateContainer-EmptyWithTime.golden", NULL, NULL, true, 946702800, 0, 0, -1 },
	{ "TestCreateContainer-EmptyDescriptorLimitedCapacity.golden", NULL, NULL, false, 0, 1, 0,
	  -1 },
	{ "TestCreateContainer-OneDescriptor.golden", NULL, NULL, false, 0, 0, 1, -1 },
	{ "TestCreateContainer-TwoDescriptors.golden", NULL, NULL, false, 0, 0, 2, -1 },
	{ "TestCreateContainer-TwoDescriptorsNotAligned.golden", NULL, NULL, false, 0, 0, 2, 0 },
	{ "TestCreateContainer-TwoDescriptorsAligned.golden", NULL, NULL, false, 0, 0, 2, 4 },
};

static struct sif_image *build_create_case(const struct create_case *c, const char *path)
{
	uint8_t uuid[16];
	struct sif_create_options o = { 0 };
	o.deterministic = true;
	o.launch_script = c->launch;
	if (c->uuid) {
		ck_assert_int_eq(sif_uuid_parse(c->uuid, uuid), 0);
		o.uuid = uuid;
	}
	o.time_set = c->time_set;
	o.time = c->time;
	o.descriptor_capacity = c->capacity;
	sb_error_t err = NULL;
	struct sif_image *img = path ? sif_create(path, &o, &err) : sif_create_memory(&o, &err);
	ck_assert_msg(img != NULL, "create: %s", sb_error_message(err));
	struct sif_object_input in;
	if (c->objects >= 1) {
		sif_object_input_init(&in, SIF_DATA_GENERIC);
		if (c->align >= 0)
			in.alignment = c->align;
		add(img, &in, "\xfa\xce", 2);
	}
	if (c->objects >= 2) {
		sif_object_input_init(&in, SIF_DATA_PARTITION);
		ck_assert_int_eq(sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY,
							 SIF_ARCH_386, &err),
				 0);
		if (c->align >= 0)
			in.alignment = c->align;
		add(img, &in, "\xfe\xed", 2);
	}
	return img;
}

START_TEST(test_golden_create)
{
	if (!have_conformance())
		return;
	const struct create_case *c = &create_cases[_i];
	struct sif_image *img = build_create_case(c, NULL);
	check_image_golden(img, c->golden);
	ck_assert_int_eq(sif_close(img, NULL), 0);
}
END_TEST

/* The same scenarios through a real file, reopened afterwards. */
START_TEST(test_golden_create_file)
{
	if (!have_conformance())
		return;
	const struct create_case *c = &create_cases[_i];
	char path[] = "/tmp/test_sif_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct sif_image *img = build_create_case(c, path);
	sb_error_t err = NULL;
	ck_assert_int_eq(sif_close(img, &err), 0);
	size_t len = 0;
	cleanup_free char *bytes = sb_read_file(path, &len);
	ck_assert_ptr_nonnull(bytes);
	assert_golden((const uint8_t *)bytes, len, c->golden);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	img = sif_open(path, SIF_OPEN_READ, &err);
	ck_assert_msg(img != NULL, "reopen: %s", sb_error_message(err));
	ck_assert_uint_eq(sif_object_count(img), (unsigned)c->objects);
	sif_close(img, NULL);
	unlink(path);
}
END_TEST

/* ---- TestDeleteObjectAndAddObject-*.golden ----------------------------- */

static const struct {
	const char *golden;
	unsigned flags;
} delete_cases[] = {
	{ "TestDeleteObjectAndAddObject-Compact.golden", SIF_DELETE_COMPACT },
	{ "TestDeleteObjectAndAddObject-NoCompact.golden", 0 },
	{ "TestDeleteObjectAndAddObject-Zero.golden", SIF_DELETE_ZERO },
	{ "TestDeleteObjectAndAddObject-ZeroCompact.golden", SIF_DELETE_ZERO | SIF_DELETE_COMPACT },
};

START_TEST(test_golden_delete_add)
{
	if (!have_conformance())
		return;
	struct sif_create_options o = { .deterministic = true };
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_GENERIC);
	ck_assert_int_eq(add(img, &in, "abc", 3), 1);
	ck_assert_int_eq(add(img, &in, "def", 3), 2);
	sb_error_t err = NULL;
	ck_assert_int_eq(sif_delete_object(img, 2, delete_cases[_i].flags, &err), 0);
	ck_assert_int_eq(add(img, &in, "ghi", 3), 2);
	check_image_golden(img, delete_cases[_i].golden);
	sif_close(img, NULL);
}
END_TEST

/* ---- reference images -------------------------------------------------- */

static const struct {
	const char *file;
	const char *rows; /* `siftool list` rows, v2.24 type names */
} image_cases[] = {
	{ "apptainer-busybox_amd64.sif",
	  "1    |1       |NONE    |32768-32807               |Def.FILE\n"
	  "2    |1       |NONE    |36864-38760               |JSON.Generic\n"
	  "3    |1       |NONE    |40960-41050               |JSON.Generic\n"
	  "4    |1       |NONE    |45056-790528              |FS (Squashfs/*System/amd64)\n"
	  "5    |NONE    |1   (G) |790528-792293             |Signature (SHA-256)\n"
	  "" },
	{ "empty-id.sif", "" },
	{ "empty-launch-script.sif", "" },
	{ "empty.sif", "" },
	{ "one-group-signed-dsse.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "3    |NONE    |1   (G) |40960-42654               |Signature (SHA-256)\n"
	  "" },
	{ "one-group-signed-legacy-all.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |1       |1       |40960-41569               |Signature (SHA-384)\n"
	  "4    |1       |2       |45056-45665               |Signature (SHA-384)\n"
	  "" },
	{ "one-group-signed-legacy-group.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |NONE    |1   (G) |40960-41569               |Signature (SHA-384)\n"
	  "" },
	{ "one-group-signed-legacy.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |1       |2       |40960-41569               |Signature (SHA-384)\n"
	  "" },
	{ "one-group-signed-pgp.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "3    |NONE    |1   (G) |40960-42008               |Signature (SHA-256)\n"
	  "" },
	{ "one-group.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "" },
	{ "one-object-crypt-message.sif", "1    |1       |NONE    |32176-32180               "
					  "|Cryptographic Message (OpenPGP/Clear Signature)\n"
					  "" },
	{ "one-object-generic-json.sif",
	  "1    |1       |NONE    |32176-32178               |JSON.Generic\n"
	  "" },
	{ "one-object-oci-blob.sif", "1    |1       |NONE    |32176-33023               |OCI.Blob\n"
				     "" },
	{ "one-object-oci-root-index.sif",
	  "1    |1       |NONE    |32176-32882               |OCI.RootIndex\n"
	  "" },
	{ "one-object-sbom.sif",
	  "1    |1       |NONE    |32176-32630               |SBOM (cyclonedx-json)\n"
	  "" },
	{ "one-object-time.sif", "1    |1       |NONE    |32176-32178               |JSON.Generic\n"
				 "" },
	{ "two-groups-signed-dsse.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-303104              |FS (Ext3/System/amd64)\n"
	  "4    |NONE    |1   (G) |303104-304798             |Signature (SHA-256)\n"
	  "5    |NONE    |2   (G) |304798-306224             |Signature (SHA-256)\n"
	  "" },
	{ "two-groups-signed-legacy-all.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-40964               |FS (Ext3/System/amd64)\n"
	  "4    |1       |1       |45056-45665               |Signature (SHA-384)\n"
	  "5    |1       |2       |49152-49761               |Signature (SHA-384)\n"
	  "" },
	{ "two-groups-signed-legacy-group.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-40964               |FS (Ext3/System/amd64)\n"
	  "4    |NONE    |1   (G) |45056-45665               |Signature (SHA-384)\n"
	  "" },
	{ "two-groups-signed-legacy.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-36868               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-40964               |FS (Ext3/System/amd64)\n"
	  "4    |1       |2       |45056-45665               |Signature (SHA-384)\n"
	  "" },
	{ "two-groups-signed-pgp.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-303104              |FS (Ext3/System/amd64)\n"
	  "4    |NONE    |1   (G) |303104-304152             |Signature (SHA-256)\n"
	  "5    |NONE    |2   (G) |304152-305001             |Signature (SHA-256)\n"
	  "" },
	{ "two-groups.sif",
	  "1    |1       |NONE    |32768-32772               |FS (Raw/System/386)\n"
	  "2    |1       |NONE    |36864-40960               |FS (Squashfs/*System/386)\n"
	  "3    |2       |NONE    |40960-303104              |FS (Ext3/System/amd64)\n"
	  "" },
};

static struct sif_image *open_ref(const char *file)
{
	cleanup_free char *p = conf_path("images", file);
	sb_error_t err = NULL;
	struct sif_image *img = sif_open(p, SIF_OPEN_READ, &err);
	ck_assert_msg(img != NULL, "%s: %s", file, sb_error_message(err));
	return img;
}

START_TEST(test_reference_image_list)
{
	if (!have_conformance())
		return;
	struct sif_image *img = open_ref(image_cases[_i].file);
	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_list(img, &out);
	const char *rows = out.buf;
	for (int k = 0; k < 3; k++)
		rows = strchr(rows, '\n') + 1;
	ck_assert_str_eq(rows, image_cases[_i].rows);
	/* every object's data can be read whole, and is within the file */
	size_t n = 0;
	for (size_t i = 0; i < sif_slot_count(img); i++) {
		const struct sif_descriptor *d = sif_slot(img, i);
		if (!d->used)
			continue;
		n++;
		sb_error_t err = NULL;
		size_t len = 0;
		cleanup_free void *data = sif_read_object_alloc(img, d, &len, &err);
		ck_assert_msg(data != NULL, "object %u: %s", d->id, sb_error_message(err));
		ck_assert_uint_eq(len, (size_t)d->size);
		struct sb_strbuf info = SB_STRBUF_INIT;
		ck_assert_int_eq(sif_format_info(d, &info, &err), 0);
		ck_assert_ptr_nonnull(strstr(info.buf, "  Data Type:"));
		sb_strbuf_release(&info);
	}
	ck_assert_uint_eq(n, sif_object_count(img));
	ck_assert_int_eq(sif_get_header(img)->descriptors_free,
			 sif_get_header(img)->descriptors_total - (int64_t)n);
	sb_strbuf_release(&out);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_busybox_details)
{
	if (!have_conformance())
		return;
	struct sif_image *img = open_ref("apptainer-busybox_amd64.sif");
	const struct sif_header *h = sif_get_header(img);
	ck_assert_str_eq(h->launch_script, SIF_APPTAINER_LAUNCH_SCRIPT);
	ck_assert_int_eq(h->data_offset, 32768);
	ck_assert_int_eq(sif_header_arch(img), SIF_ARCH_AMD64);
	ck_assert(!sif_is_deterministic(img));
	char uuid[37];
	sif_uuid_format(h->uuid, uuid);
	ck_assert_str_eq(uuid, "4f307b4c-58a8-4753-9c0f-21dceefed4a6");

	sb_error_t err = NULL;
	const struct sif_descriptor *p = sif_get_primary_partition(img, &err);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->id, 4);
	struct sif_partition_info pi;
	ck_assert_int_eq(sif_descriptor_partition(p, &pi, &err), 0);
	ck_assert_int_eq(pi.fs_type, SIF_FS_SQUASHFS);
	ck_assert_int_eq(pi.part_type, SIF_PART_PRIMARY);
	ck_assert_int_eq(pi.arch, SIF_ARCH_AMD64);
	uint8_t magic[4];
	ck_assert_int_eq(sif_read_object(img, p, 0, magic, 4, &err), 0);
	ck_assert_mem_eq(magic, "hsqs", 4);
	/* reading past the object is refused */
	ck_assert_int_eq(sif_read_object(img, p, p->size - 2, magic, 4, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "EOF");
	sb_error_free(&err);

	const struct sif_descriptor *s = sif_get_object(img, 5, &err);
	ck_assert_ptr_nonnull(s);
	bool is_group;
	ck_assert_uint_eq(sif_descriptor_link(s, &is_group), 1);
	ck_assert(is_group);
	ck_assert_uint_eq(sif_descriptor_group(s), 0);
	int32_t ht;
	uint8_t fp[20];
	bool has;
	ck_assert_int_eq(sif_descriptor_signature(s, &ht, fp, &has, &err), 0);
	ck_assert_int_eq(ht, SIF_HASH_SHA256);
	ck_assert(has);

	const struct sif_descriptor *j = sif_get_object(img, 2, &err);
	ck_assert_str_eq(sif_descriptor_name(j), "inspect-metadata.json");
	ck_assert_ptr_null(sif_get_object(img, 6, &err));
	ck_assert_str_eq(sb_error_message(err), "object not found");
	sb_error_free(&err);
	ck_assert_ptr_null(sif_get_object(img, 0, &err));
	ck_assert_str_eq(sb_error_message(err), "invalid object ID");
	sb_error_free(&err);

	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_header(img, &out);
	ck_assert_str_eq(out.buf, "Launch Script:        #!/usr/bin/env run-singularity\n"
				  "Version:              01\n"
				  "Primary Architecture: amd64\n"
				  "ID:                   4f307b4c-58a8-4753-9c0f-21dceefed4a6\n"
				  "Created At:           2021-08-02 19:09:36 +0000 UTC\n"
				  "Modified At:          2021-08-02 19:09:36 +0000 UTC\n"
				  "Descriptors Free:     43\n"
				  "Descriptors Total:    48\n"
				  "Descriptors Offset:   4096\n"
				  "Descriptors Size:     27 KiB\n"
				  "Data Offset:          32768\n"
				  "Data Size:            742 KiB\n");
	sb_strbuf_release(&out);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_metadata_types)
{
	if (!have_conformance())
		return;
	sb_error_t err = NULL;
	struct sif_image *img = open_ref("one-object-sbom.sif");
	int32_t a, b;
	ck_assert_int_eq(sif_descriptor_sbom(sif_get_object(img, 1, &err), &a, &err), 0);
	ck_assert_int_eq(a, SIF_SBOM_CYCLONEDX_JSON);
	/* asking for the wrong metadata is an error naming the type */
	struct sif_partition_info pi;
	ck_assert_int_eq(sif_descriptor_partition(sif_get_object(img, 1, &err), &pi, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "unexpected data type SBOM"));
	sb_error_free(&err);
	sif_close(img, NULL);

	img = open_ref("one-object-crypt-message.sif");
	ck_assert_int_eq(sif_descriptor_crypto_message(sif_get_object(img, 1, &err), &a, &b, &err),
			 0);
	ck_assert_int_eq(a, SIF_CRYPTO_OPENPGP);
	ck_assert_int_eq(b, SIF_MESSAGE_CLEAR_SIGNATURE);
	sif_close(img, NULL);

	img = open_ref("one-object-time.sif");
	const struct sif_descriptor *d = sif_get_object(img, 1, &err);
	struct sb_strbuf out = SB_STRBUF_INIT;
	ck_assert_int_eq(sif_format_info(d, &out, &err), 0);
	ck_assert_str_eq(out.buf, "  Data Type:    JSON.Generic\n"
				  "  ID:           1\n"
				  "  Group ID:     1\n"
				  "  Linked ID:    NONE\n"
				  "  Offset:       32176\n"
				  "  Size:         2\n"
				  "  Created At:   2020-06-30 00:01:56 +0000 UTC\n"
				  "  Modified At:  2020-06-30 00:01:56 +0000 UTC\n"
				  "  Name:         data.json\n");
	sb_strbuf_release(&out);
	sif_close(img, NULL);

	/* OCI objects: the stored digest is the sha256 of the data */
	const char *oci[] = { "one-object-oci-blob.sif", "one-object-oci-root-index.sif" };
	for (int k = 0; k < 2; k++) {
		img = open_ref(oci[k]);
		d = sif_get_object(img, 1, &err);
		char digest[SIF_EXTRA_SIZE + 1];
		ck_assert_int_eq(sif_descriptor_oci_digest(d, digest, &err), 0);
		size_t len;
		cleanup_free uint8_t *data = sif_read_object_alloc(img, d, &len, &err);
		unsigned char md[32];
		unsigned int mdlen;
		EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
		char want[72] = "sha256:";
		for (int i = 0; i < 32; i++)
			snprintf(want + 7 + 2 * i, 3, "%02x", md[i]);
		ck_assert_str_eq(digest, want);
		/* and our writer stores the same digest for the same data */
		struct sif_create_options o = { .deterministic = true };
		struct sif_image *w = create_mem(&o);
		struct sif_object_input in;
		sif_object_input_init(&in, d->data_type);
		add(w, &in, data, len);
		ck_assert_mem_eq(sif_get_object(w, 1, &err)->extra, d->extra, SIF_EXTRA_SIZE);
		sif_close(w, NULL);
		sif_close(img, NULL);
	}
}
END_TEST

/* ---- writer behaviour -------------------------------------------------- */

START_TEST(test_primary_partition_rules)
{
	sb_error_t err = NULL;
	struct sif_create_options o = { .deterministic = true };
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_PARTITION);
	ck_assert_int_eq(sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY,
						 SIF_ARCH_ARM64, &err),
			 0);
	ck_assert_int_eq(add(img, &in, "hsqs", 4), 1);
	ck_assert_str_eq(sif_get_header(img)->arch, "04");
	ck_assert_int_eq(sif_get_object(img, 1, &err)->offset, 32768);
	ck_assert_int_eq(sif_get_object(img, 1, &err)->size_with_padding, 32768 - 32176 + 4);
	/* a second primary partition is refused */
	ck_assert_int_eq(sif_add_object(img, &in, "x", 1, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "image already contains a primary partition");
	sb_error_free(&err);
	/* a system partition, then promoted */
	ck_assert_int_eq(
		sif_input_set_partition(&in, SIF_FS_EXT3, SIF_PART_SYSTEM, SIF_ARCH_RISCV64, &err),
		0);
	ck_assert_int_eq(add(img, &in, "ext3", 4), 2);
	ck_assert_int_eq(sif_get_object(img, 2, &err)->offset, 36864);
	ck_assert_int_eq(sif_set_primary_partition(img, 2, &err), 0);
	ck_assert_str_eq(sif_get_header(img)->arch, "12");
	const struct sif_descriptor *p = sif_get_primary_partition(img, &err);
	ck_assert_uint_eq(p->id, 2);
	struct sif_partition_info pi;
	sif_descriptor_partition(sif_get_object(img, 1, &err), &pi, &err);
	ck_assert_int_eq(pi.part_type, SIF_PART_SYSTEM);
	ck_assert_int_eq(pi.arch, SIF_ARCH_ARM64); /* the arch code is kept */
	/* setting it again is a no-op; a non-partition is refused */
	ck_assert_int_eq(sif_set_primary_partition(img, 2, &err), 0);
	struct sif_object_input g;
	sif_object_input_init(&g, SIF_DATA_GENERIC_JSON);
	ck_assert_int_eq(add(img, &g, "{}", 2), 3);
	ck_assert_int_eq(sif_get_object(img, 3, &err)->offset, 36868);
	ck_assert_int_eq(sif_set_primary_partition(img, 3, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "data object not a partition");
	sb_error_free(&err);
	/* deleting the primary partition resets the header arch */
	ck_assert_int_eq(sif_delete_object(img, 2, 0, &err), 0);
	ck_assert_str_eq(sif_get_header(img)->arch, "00");
	ck_assert_int_eq(sif_get_header(img)->descriptors_free, 46);
	ck_assert_int_eq(sif_delete_object(img, 2, 0, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "object not found");
	sb_error_free(&err);
	/* unknown arch is refused when building the input */
	ck_assert_int_eq(sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY, 0, &err),
			 -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "unknown architecture"));
	sb_error_free(&err);
	/* the result reads back */
	size_t len;
	const uint8_t *b = sif_memory_bytes(img, &len);
	struct sif_image *r = sif_open_buffer(b, len, "mem", &err);
	ck_assert_msg(r != NULL, "%s", sb_error_message(err));
	ck_assert_uint_eq(sif_object_count(r), 2);
	sif_close(r, NULL);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_limits_and_options)
{
	sb_error_t err = NULL;
	struct sif_create_options o = { .deterministic = true, .descriptor_capacity = 1 };
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_GENERIC);
	add(img, &in, "a", 1);
	ck_assert_int_eq(sif_add_object(img, &in, "b", 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "insufficient descriptor capacity"));
	sb_error_free(&err);
	sif_close(img, NULL);

	o.descriptor_capacity = 0;
	o.launch_script = "#!/this/launch/script/is/too/long\n";
	ck_assert_ptr_null(sif_create_memory(&o, &err));
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "launch script too large"));
	sb_error_free(&err);

	o.launch_script = SIF_APPTAINER_LAUNCH_SCRIPT;
	o.deterministic = false;
	img = create_mem(&o);
	const struct sif_header *h = sif_get_header(img);
	ck_assert_str_eq(h->launch_script, SIF_APPTAINER_LAUNCH_SCRIPT);
	ck_assert_int_eq(h->uuid[6] >> 4, 4); /* version 4 */
	ck_assert_int_eq(h->uuid[8] & 0xC0, 0x80); /* RFC 4122 variant */
	ck_assert_int_gt(h->created_at, 1600000000);
	ck_assert(!sif_is_deterministic(img));
	char name[130];
	memset(name, 'n', 129);
	name[129] = '\0';
	in.name = name;
	ck_assert_int_eq(sif_add_object(img, &in, "a", 1, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "name too long"));
	sb_error_free(&err);
	name[128] = '\0'; /* 128 bytes fit, with no NUL */
	add(img, &in, "a", 1);
	ck_assert_str_eq(sif_descriptor_name(sif_get_object(img, 1, &err)), name);
	/* groups and links */
	in.name = "linked";
	in.group = 0;
	in.link = sif_link_group(7);
	in.time_set = true;
	in.time = 0;
	add(img, &in, "b", 1);
	const struct sif_descriptor *d = sif_get_object(img, 2, &err);
	ck_assert_uint_eq(d->group_raw, 0xF0000000u);
	ck_assert_uint_eq(d->link_raw, 0xF0000007u);
	ck_assert_int_eq(d->created_at, 0);
	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_list(img, &out);
	ck_assert_ptr_nonnull(strstr(
		out.buf, "2    |NONE    |7   (G) |32177-32178               |Generic/Raw\n"));
	sb_strbuf_release(&out);
	ck_assert_int_eq(sif_format_info(d, &out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out.buf, "  Created At:   1970-01-01 00:00:00 +0000 UTC\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "  Linked ID:    7 (G)\n"));
	sb_strbuf_release(&out);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_streaming_and_fd)
{
	sb_error_t err = NULL;
	struct sif_create_options o = { .deterministic = true };
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_DEFFILE);
	add(img, &in, "Bootstrap: scratch\n", 19);
	sif_object_input_init(&in, SIF_DATA_PARTITION);
	sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY, SIF_ARCH_AMD64, &err);
	int64_t start = sif_object_begin(img, &in, &err);
	ck_assert_int_eq(start, 32768);
	/* other changes wait for the pending object */
	ck_assert_int_eq(sif_delete_object(img, 1, 0, &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sif_object_pwrite(img, 4, "tail", 4, &err), 0);
	ck_assert_int_eq(sif_object_pwrite(img, 0, "hsqs", 4, &err), 0);
	char back[8];
	ck_assert_int_eq(sif_object_pread(img, 2, back, 6, &err), 0);
	ck_assert_mem_eq(back, "qstail", 6);
	ck_assert_int_eq(sif_object_pread(img, 4, back, 5, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "EOF");
	sb_error_free(&err);
	ck_assert_int_eq(sif_object_commit(img, &err), 2);
	const struct sif_descriptor *d = sif_get_object(img, 2, &err);
	ck_assert_int_eq(d->size, 8);
	char buf[8];
	ck_assert_int_eq(sif_read_object(img, d, 0, buf, 8, &err), 0);
	ck_assert_mem_eq(buf, "hsqstail", 8);
	/* abort leaves the image as it was */
	sif_object_input_init(&in, SIF_DATA_GENERIC);
	ck_assert_int_gt(sif_object_begin(img, &in, &err), 0);
	sif_object_abort(img);
	ck_assert_uint_eq(sif_object_count(img), 2);
	/* from a file descriptor */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	ck_assert_int_eq(sif_add_object_from_fd(img, &in, p[0], &err), 3);
	close(p[0]);
	d = sif_get_object(img, 3, &err);
	ck_assert_int_eq(d->offset, 32776);
	ck_assert_int_eq(d->size, 10);
	ck_assert_int_eq(sif_get_header(img)->data_size, 32786 - 32176);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_file_roundtrip_and_readonly)
{
	char dir[] = "/tmp/test_sif_dir_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	cleanup_free char *path = sb_asprintf("%s/x.sif", dir);
	sb_error_t err = NULL;
	struct sif_create_options o = { .deterministic = true };
	struct sif_image *img = sif_create(path, &o, &err);
	ck_assert_ptr_nonnull(img);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_SBOM);
	ck_assert_int_eq(sif_input_set_sbom(&in, SIF_SBOM_SPDX_JSON, &err), 0);
	add(img, &in, "{}", 2);
	ck_assert_int_eq(sif_close(img, &err), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 32178);
	ck_assert_int_eq(st.st_mode & 0100, 0100); /* created executable (0755 before umask) */

	img = sif_open(path, SIF_OPEN_READ, &err);
	ck_assert_ptr_nonnull(img);
	ck_assert(sif_is_deterministic(img));
	ck_assert_int_eq(sif_delete_object(img, 1, 0, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "read-only"));
	sb_error_free(&err);
	sif_close(img, NULL);

	img = sif_open(path, SIF_OPEN_WRITE, &err);
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(sif_delete_object(img, 1, SIF_DELETE_COMPACT, &err), 0);
	ck_assert_int_eq(sif_close(img, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 32176);
	/* deterministic images stay deterministic when changed */
	img = sif_open(path, SIF_OPEN_READ, &err);
	ck_assert(sif_is_deterministic(img));
	sif_close(img, NULL);

	ck_assert_ptr_null(sif_open("/nonexistent/x.sif", 0, &err));
	ck_assert_int_eq(err->errnum, ENOENT);
	sb_error_free(&err);
	ck_assert_ptr_null(sif_open(dir, 0, &err));
	sb_error_free(&err);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_names_and_text)
{
	ck_assert_str_eq(sif_data_type_name(SIF_DATA_CRYPTO_MESSAGE), "Cryptographic Message");
	ck_assert_str_eq(sif_data_type_name(0x4000), "Unknown");
	ck_assert_str_eq(sif_data_type_name(0x400C), "Unknown");
	ck_assert_str_eq(sif_fs_type_name(5), "Encrypted squashfs");
	ck_assert_str_eq(sif_fs_type_name(0), "Unknown");
	ck_assert_str_eq(sif_part_type_name(2), "*System");
	ck_assert_ptr_null(sif_hash_type_name(6));
	ck_assert_str_eq(sif_sbom_format_name(8), "syft-json");
	ck_assert_str_eq(sif_sbom_format_name(9), "unknown");
	ck_assert_str_eq(sif_arch_name(13), "loong64");
	ck_assert_str_eq(sif_arch_name(14), "unknown");
	ck_assert_int_eq(sif_arch_from_name("amd64"), 2);
	ck_assert_int_eq(sif_arch_from_name("10"), 10);
	ck_assert_int_eq(sif_arch_from_name("x86_64"), 0);
	ck_assert_int_eq(sif_arch_from_raw("02"), 2);
	ck_assert_int_eq(sif_arch_from_raw("am"), 0);
	uint8_t u[16];
	char s[37];
	ck_assert_int_eq(sif_uuid_parse("DE170C43-36ab-44a8-bca9-1ea1a070a274", u), 0);
	sif_uuid_format(u, s);
	ck_assert_str_eq(s, "de170c43-36ab-44a8-bca9-1ea1a070a274");
	ck_assert_int_eq(sif_uuid_parse("de170c43x36ab-44a8-bca9-1ea1a070a274", u), -1);
	ck_assert_int_eq(sif_uuid_parse("de170c43", u), -1);

	/* header of an image from the spec's section 7 layout */
	struct sif_create_options o = { .time_set = true, .time = 1795991912 };
	uint8_t id[16];
	sif_uuid_parse("4b63c694-3c41-4b21-9708-466dac1c6425", id);
	o.uuid = id;
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_DEFFILE);
	add(img, &in, "Bootstrap: scratch\n\n%runscript\n    cat /hello.txt\n", 50);
	sif_object_input_init(&in, SIF_DATA_GENERIC_JSON);
	in.name = "inspect-metadata.json";
	char json[96];
	memset(json, '{', 95);
	add(img, &in, json, 95);
	sif_object_input_init(&in, SIF_DATA_PARTITION);
	sb_error_t err = NULL;
	sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY, SIF_ARCH_AMD64, &err);
	cleanup_free char *sq = sb_xcalloc(1, 4096);
	add(img, &in, sq, 4096);
	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_header(img, &out);
	ck_assert_str_eq(out.buf, "Version:              01\n"
				  "Primary Architecture: amd64\n"
				  "ID:                   4b63c694-3c41-4b21-9708-466dac1c6425\n"
				  "Created At:           2026-11-29 22:38:32 +0000 UTC\n"
				  "Modified At:          2026-11-29 22:38:32 +0000 UTC\n"
				  "Descriptors Free:     45\n"
				  "Descriptors Total:    48\n"
				  "Descriptors Offset:   4096\n"
				  "Descriptors Size:     27 KiB\n"
				  "Data Offset:          32176\n"
				  "Data Size:            5 KiB\n");
	sb_strbuf_release(&out);
	ck_assert_int_eq(sif_format_info(sif_get_object(img, 3, &err), &out, &err), 0);
	ck_assert_str_eq(out.buf, "  Data Type:        FS\n"
				  "  ID:               3\n"
				  "  Group ID:         1\n"
				  "  Linked ID:        NONE\n"
				  "  Offset:           32768\n"
				  "  Size:             4096\n"
				  "  Created At:       2026-11-29 22:38:32 +0000 UTC\n"
				  "  Modified At:      2026-11-29 22:38:32 +0000 UTC\n"
				  "  Filesystem Type:  Squashfs\n"
				  "  Partition Type:   *System\n"
				  "  Architecture:     amd64\n");
	sb_strbuf_release(&out);
	sif_close(img, NULL);
}
END_TEST

/* ---- hostile input ----------------------------------------------------- */

/* A small valid image: generic, JSON named, primary partition, signature. */
static uint8_t *sample_image(size_t *len)
{
	struct sif_create_options o = { .deterministic = true };
	struct sif_image *img = create_mem(&o);
	struct sif_object_input in;
	sb_error_t err = NULL;
	sif_object_input_init(&in, SIF_DATA_GENERIC);
	add(img, &in, "\xfa\xce", 2);
	sif_object_input_init(&in, SIF_DATA_GENERIC_JSON);
	in.name = "x.json";
	add(img, &in, "{}", 2);
	sif_object_input_init(&in, SIF_DATA_PARTITION);
	sif_input_set_partition(&in, SIF_FS_SQUASHFS, SIF_PART_PRIMARY, SIF_ARCH_386, &err);
	add(img, &in, "hsqs0123", 8);
	sif_object_input_init(&in, SIF_DATA_SIGNATURE);
	in.group = 0;
	in.link = sif_link_group(1);
	sif_input_set_signature(&in, SIF_HASH_SHA256, (const uint8_t *)"01234567890123456789", 20,
				&err);
	add(img, &in, "sig", 3);
	const uint8_t *b = sif_memory_bytes(img, len);
	uint8_t *copy = sb_xmalloc(*len);
	memcpy(copy, b, *len);
	sif_close(img, NULL);
	return copy;
}

static void put64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#define SLOT(k) (4096 + 585 * (k))

/* Opens a damaged copy (exact-size heap buffer, so ASan sees overreads) and
 * expects an error containing `want`. */
static void expect_refused(const uint8_t *data, size_t len, const char *want)
{
	uint8_t *exact = sb_xmalloc(len ? len : 1);
	memcpy(exact, data, len);
	sb_error_t err = NULL;
	struct sif_image *img = sif_open_buffer(exact, len, NULL, &err);
	ck_assert_msg(img == NULL, "damaged image accepted (want error '%s')", want);
	ck_assert_msg(strstr(sb_error_message(err), want) != NULL, "error '%s' lacks '%s'",
		      sb_error_message(err), want);
	sb_error_free(&err);
	free(exact);
}

START_TEST(test_hostile_truncated)
{
	size_t len;
	cleanup_free uint8_t *img = sample_image(&len);
	ck_assert_uint_eq(len, 32768 + 8 + 3);
	/* every prefix is refused with a field-naming message, never a crash */
	for (size_t n = 0; n < len; n++) {
		uint8_t *exact = sb_xmalloc(n ? n : 1);
		memcpy(exact, img, n);
		sb_error_t err = NULL;
		struct sif_image *s = sif_open_buffer(exact, n, NULL, &err);
		ck_assert_msg(s == NULL, "prefix of %zu bytes accepted", n);
		const char *m = sb_error_message(err);
		if (n < 128)
			ck_assert_ptr_nonnull(strstr(m, "reading global header: unexpected EOF"));
		else if (n < (size_t)SLOT(48))
			ck_assert_ptr_nonnull(strstr(m, "reading descriptors: unexpected EOF"));
		else
			ck_assert_msg(strstr(m, "runs past the end of the file"), "%zu: %s", n, m);
		sb_error_free(&err);
		free(exact);
	}
	sb_error_t err = NULL;
	struct sif_image *s = sif_open_buffer(img, len, NULL, &err);
	ck_assert_msg(s != NULL, "%s", sb_error_message(err));
	sif_close(s, NULL);
}
END_TEST

START_TEST(test_hostile_fields)
{
	size_t len;
	cleanup_free uint8_t *orig = sample_image(&len);
	cleanup_free uint8_t *b = sb_xmalloc(len);
#define RESET() memcpy(b, orig, len)

	RESET();
	b[32] = 'X';
	expect_refused(b, len, "invalid SIF magic");
	RESET();
	b[41] = 'X';
	expect_refused(b, len, "invalid SIF magic");
	RESET();
	b[43] = '2';
	expect_refused(b, len, "incompatible SIF version");
	RESET();
	b[44] = ' ';
	expect_refused(b, len, "incompatible SIF version");
	RESET();
	put64(b + 88, -1);
	expect_refused(b, len, "descriptors total -1 is out of range");
	RESET();
	put64(b + 88, INT64_MAX);
	expect_refused(b, len, "descriptors total");
	RESET();
	put64(b + 88, 100);
	expect_refused(b, len, "descriptors size");
	RESET();
	put64(b + 88, 100);
	put64(b + 104, 100 * 585);
	expect_refused(b, len, "runs past the end of the file");
	RESET();
	put64(b + 96, 64);
	expect_refused(b, len, "descriptors offset 64 overlaps the global header");
	RESET();
	put64(b + 96, INT64_MAX);
	expect_refused(b, len, "descriptors offset");
	RESET();
	put64(b + 96, -4096);
	expect_refused(b, len, "descriptors offset");
	RESET();
	put64(b + 104, 585);
	expect_refused(b, len, "descriptors size 585 is less than");
	RESET();
	put64(b + 80, 45);
	expect_refused(b, len, "descriptors free is 45 but 44 of 48");
	RESET();
	put64(b + 80, 48);
	expect_refused(b, len, "descriptors free");
	RESET();
	put64(b + 80, 49);
	expect_refused(b, len, "descriptors free 49 is out of range");
	RESET();
	put64(b + 112, 4096);
	expect_refused(b, len, "data offset 4096 overlaps the descriptor table");
	RESET();
	put64(b + 120, -5);
	expect_refused(b, len, "data size -5 is out of range");
	RESET();
	put64(b + 120, INT64_MAX);
	expect_refused(b, len, "data size");
	/* descriptors */
	RESET();
	put32(b + SLOT(1) + 5, 0);
	expect_refused(b, len, "descriptor slot 1: object ID 0 is invalid");
	RESET();
	put32(b + SLOT(1) + 5, 1);
	expect_refused(b, len, "descriptor 1: object ID used by two slots");
	RESET();
	put64(b + SLOT(2) + 17, (int64_t)len - 4);
	expect_refused(b, len, "descriptor 3: offset");
	RESET();
	put64(b + SLOT(2) + 17, INT64_MAX - 2);
	expect_refused(b, len, "runs past the end of the file");
	RESET();
	put64(b + SLOT(2) + 25, INT64_MAX);
	put64(b + SLOT(2) + 33, INT64_MAX);
	expect_refused(b, len, "descriptor 3: offset 32768 + size");
	RESET();
	put64(b + SLOT(2) + 25, -1);
	expect_refused(b, len, "descriptor 3: size -1 is negative");
	RESET();
	put64(b + SLOT(2) + 33, 1);
	expect_refused(b, len, "descriptor 3: size with padding 1 is less than size 8");
	RESET();
	put64(b + SLOT(0) + 17, 100);
	expect_refused(b, len, "descriptor 1: offset 100 is before data offset 32176");
	RESET();
	put64(b + SLOT(1) + 17, 32177);
	expect_refused(b, len, "descriptor 2: offset 32177 overlaps object 1");
	RESET();
	put64(b + SLOT(3) + 17, 32770);
	put64(b + SLOT(3) + 25, 6);
	put64(b + SLOT(3) + 33, 6);
	expect_refused(b, len, "descriptor 4: offset 32770 overlaps object 3");
	/* a free slot whose "used" byte is set counts as used */
	RESET();
	b[SLOT(4) + 4] = 7;
	expect_refused(b, len, "descriptor slot 4: object ID 0 is invalid");
#undef RESET
}
END_TEST

START_TEST(test_hostile_metadata)
{
	size_t len;
	cleanup_free uint8_t *b = sample_image(&len);
	sb_error_t err = NULL;
	/* unknown hash type: listed without a TYPE, info refused */
	put32(b + SLOT(3) + 201, 9);
	/* unknown partition arch, fs and part type: shown as unknown */
	memcpy(b + SLOT(2) + 209, "am", 3);
	put32(b + SLOT(2) + 201, 77);
	struct sif_image *img = sif_open_buffer(b, len, NULL, &err);
	ck_assert_ptr_nonnull(img);
	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_list(img, &out);
	ck_assert_ptr_nonnull(strstr(out.buf, "|FS (Unknown/*System/unknown)\n"));
	/* as siftool: the row of the bad signature ends after the position */
	const char *tail = "4    |NONE    |1   (G) |32776-32779               ";
	ck_assert_str_eq(out.buf + out.len - strlen(tail), tail);
	sb_strbuf_release(&out);
	ck_assert_int_eq(sif_format_info(sif_get_object(img, 4, &err), &out, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "hash algorithm unsupported");
	sb_error_free(&err);
	sb_strbuf_release(&out);
	/* read-only buffers cannot be changed */
	ck_assert_int_eq(sif_delete_object(img, 1, 0, &err), -1);
	sb_error_free(&err);
	sif_close(img, NULL);
}
END_TEST

START_TEST(test_hostile_two_primaries)
{
	size_t len;
	cleanup_free uint8_t *b = sample_image(&len);
	/* turn the generic object into a second primary partition */
	put32(b + SLOT(0), SIF_DATA_PARTITION);
	put32(b + SLOT(0) + 205, SIF_PART_PRIMARY);
	sb_error_t err = NULL;
	struct sif_image *img = sif_open_buffer(b, len, NULL, &err);
	ck_assert_ptr_nonnull(img);
	ck_assert_ptr_null(sif_get_primary_partition(img, &err));
	ck_assert_str_eq(sb_error_message(err), "multiple objects found");
	sb_error_free(&err);
	sif_close(img, NULL);
}
END_TEST

static Suite *sif_suite(void)
{
	Suite *s = suite_create("sif");
	TCase *tc = tcase_create("golden");
	tcase_add_loop_test(tc, test_golden_create, 0,
			    (int)(sizeof(create_cases) / sizeof(create_cases[0])));
	tcase_add_loop_test(tc, test_golden_create_file, 0,
			    (int)(sizeof(create_cases) / sizeof(create_cases[0])));
	tcase_add_loop_test(tc, test_golden_delete_add, 0,
			    (int)(sizeof(delete_cases) / sizeof(delete_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_loop_test(tc, test_reference_image_list, 0,
			    (int)(sizeof(image_cases) / sizeof(image_cases[0])));
	tcase_add_test(tc, test_busybox_details);
	tcase_add_test(tc, test_metadata_types);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_test(tc, test_primary_partition_rules);
	tcase_add_test(tc, test_limits_and_options);
	tcase_add_test(tc, test_streaming_and_fd);
	tcase_add_test(tc, test_file_roundtrip_and_readonly);
	tcase_add_test(tc, test_names_and_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hostile_truncated);
	tcase_add_test(tc, test_hostile_fields);
	tcase_add_test(tc, test_hostile_metadata);
	tcase_add_test(tc, test_hostile_two_primaries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sif_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
