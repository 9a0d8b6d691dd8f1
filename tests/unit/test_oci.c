/* tests/unit/test_oci.c: bootstrap/oci (platforms, indexes, blob
 * verification, layer application, config metadata) and common/ownership. */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/oci/oci.h"
#include "sif/sqfs.h"
#include "common/fs.h"
#include "defparse/defparse.h"
#include "common/ownership.h"
#include "common/strbuf.h"

/* ------------------------------------------------------------------ helpers */

static char *tmpdir(void)
{
	char *d = sb_strdup("/tmp/test_oci.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void rmtree(char *d)
{
	sb_rm_rf(d, NULL);
	free(d);
}

static char *sha256_hex(const void *p, size_t n)
{
	unsigned char md[32];
	unsigned len;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	char *h = sb_xmalloc(72);
	strcpy(h, "sha256:");
	for (int i = 0; i < 32; i++)
		sprintf(h + 7 + 2 * i, "%02x", md[i]);
	return h;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static char *slurp(const char *path)
{
	size_t n;
	char *s = sb_read_file(path, &n);
	return s;
}

/* A tar layer built in memory with libarchive. */
struct layer {
	struct archive *a;
	char *buf;
	size_t cap, used;
};

static void layer_begin(struct layer *l, bool gzip)
{
	l->cap = 1 << 20;
	l->buf = sb_xcalloc(1, l->cap);
	l->a = archive_write_new();
	archive_write_set_format_pax_restricted(l->a);
	if (gzip)
		archive_write_add_filter_gzip(l->a);
	archive_write_set_bytes_in_last_block(l->a, 1);
	ck_assert_int_eq(archive_write_open_memory(l->a, l->buf, l->cap, &l->used), ARCHIVE_OK);
}

static void add(struct layer *l, const char *name, char type, unsigned mode, const char *data,
		const char *link)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_mtime(e, 1700000000, 0);
	archive_entry_set_perm(e, mode);
	if (type == 'h') {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, link);
		archive_entry_set_size(e, 0);
	} else if (type == 'l') {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, link);
	} else if (type == 'd') {
		archive_entry_set_filetype(e, AE_IFDIR);
	} else if (type == 'c') {
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdev(e, makedev(1, 3));
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
	}
	ck_assert_int_eq(archive_write_header(l->a, e), ARCHIVE_OK);
	if (type == 'f' && data)
		archive_write_data(l->a, data, strlen(data));
	archive_entry_free(e);
}

static void layer_end(struct layer *l)
{
	archive_write_close(l->a);
	archive_write_free(l->a);
}

struct mem {
	const char *p;
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

static int apply(struct oci_unpacker *u, struct layer *l, const char *diff, sb_error_t *err)
{
	struct mem m = { l->buf, l->used, 0 };
	int r = oci_unpacker_apply(u, mem_read, &m, "layer test", diff, err);
	free(l->buf);
	return r;
}

static bool exists(const char *root, const char *rel)
{
	char *p = sb_asprintf("%s/%s", root, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static char *content(const char *root, const char *rel)
{
	char *p = sb_asprintf("%s/%s", root, rel);
	char *s = slurp(p);
	free(p);
	return s;
}

/* --------------------------------------------------------------- platforms */

START_TEST(platform_parse_and_match)
{
	struct oci_platform p;
	ck_assert_int_eq(oci_platform_parse("x86_64", NULL, &p, NULL), 0);
	ck_assert_str_eq(p.arch, "amd64");
	ck_assert_int_eq(oci_platform_parse("aarch64", NULL, &p, NULL), 0);
	ck_assert_str_eq(p.arch, "arm64");
	ck_assert_str_eq(p.variant, "v8");
	ck_assert_int_eq(oci_platform_parse("arm/v6", NULL, &p, NULL), 0);
	ck_assert_str_eq(p.arch, "arm");
	ck_assert_str_eq(p.variant, "v6");
	ck_assert_int_eq(oci_platform_parse("linux/arm64/v8", NULL, &p, NULL), 0);
	ck_assert_str_eq(p.os, "linux");
	ck_assert_int_eq(oci_platform_parse("arm", "v5", &p, NULL), 0);
	ck_assert_str_eq(p.variant, "v5");
	sb_error_t err = NULL;
	ck_assert_int_eq(oci_platform_parse("vax", NULL, &p, &err), -1);
	ck_assert_int_eq(err->status, 2);
	ck_assert_ptr_nonnull(strstr(err->msg, "unknown architecture \"vax\""));
	sb_error_free(&err);

	oci_platform_parse("arm64", NULL, &p, NULL);
	ck_assert(oci_platform_match(&p, "linux", "arm64", NULL));
	ck_assert(oci_platform_match(&p, "linux", "arm64", "v8"));
	ck_assert(!oci_platform_match(&p, "linux", "arm", "v7"));
	ck_assert(!oci_platform_match(&p, "windows", "arm64", NULL));
	oci_platform_parse("arm", NULL, &p, NULL);
	ck_assert(oci_platform_match(&p, "linux", "arm", NULL));
	ck_assert(!oci_platform_match(&p, "linux", "arm", "v6"));
	oci_platform_parse("amd64", NULL, &p, NULL);
	ck_assert(oci_platform_match(&p, "linux", "amd64", "v3"));
	oci_platform_host(&p);
	ck_assert_str_eq(p.os, "linux");
	ck_assert(p.arch[0] != '\0');
}
END_TEST

START_TEST(digest_syntax)
{
	sb_error_t err = NULL;
	char ok[80] = "sha256:";
	memset(ok + 7, 'a', 64);
	ok[71] = '\0';
	ck_assert_int_eq(oci_digest_check(ok, NULL), 0);
	ok[10] = 'A';
	ck_assert_int_eq(oci_digest_check(ok, NULL), -1);
	ck_assert_int_eq(oci_digest_check("sha512:abcd", &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "sha512 is not supported"));
	sb_error_free(&err);
	ck_assert_int_eq(oci_digest_check("md5:x", NULL), -1);
	ck_assert_int_eq(oci_digest_check(NULL, NULL), -1);
}
END_TEST

START_TEST(layer_names)
{
	static const struct {
		const char *name;
		int kind; /* -1: error */
		const char *path;
	} cases[] = {
		{ "./usr/bin/", OCI_NAME_ENTRY, "usr/bin" },
		{ "/etc//passwd", OCI_NAME_ENTRY, "etc/passwd" },
		{ "./", OCI_NAME_ROOT, "" },
		{ "/", OCI_NAME_ROOT, "" },
		{ "a/.wh.b", OCI_NAME_WHITEOUT, "a/b" },
		{ ".wh.top", OCI_NAME_WHITEOUT, "top" },
		{ "./a/b/.wh..wh..opq", OCI_NAME_OPAQUE, "a/b" },
		{ ".wh..wh..opq", OCI_NAME_OPAQUE, "" },
		{ "a/.wh..wh.plnk", OCI_NAME_SKIP, NULL },
		{ "a/.wh..", -1, NULL },
		{ "a/.wh...", -1, NULL },
		{ "a/.wh.", -1, NULL },
		{ "../x", -1, NULL },
		{ "a/b/../../../x", -1, NULL },
		{ "a/..b/c", OCI_NAME_ENTRY, "a/..b/c" },
		{ "a/.wh.x/y", OCI_NAME_ENTRY, "a/.wh.x/y" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum oci_name_kind k;
		char *p = NULL;
		sb_error_t err = NULL;
		int r = oci_layer_name(cases[i].name, &k, &p, &err);
		if (cases[i].kind < 0) {
			ck_assert_msg(r == -1, "%s should fail", cases[i].name);
			ck_assert_int_eq(err->status, 2);
			sb_error_free(&err);
			continue;
		}
		ck_assert_msg(r == 0, "%s: %s", cases[i].name, sb_error_message(err));
		ck_assert_int_eq((int)k, cases[i].kind);
		if (cases[i].path)
			ck_assert_str_eq(p, cases[i].path);
		else
			ck_assert_ptr_null(p);
		free(p);
	}
}
END_TEST

/* ----------------------------------------------------------------- indexes */

#define D(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define ENTRY(dg, plat, extra) \
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" dg \
	"\",\"size\":10" plat extra "}"

static const char multi_index[] =
	"{\"schemaVersion\":2,\"manifests\":["
	ENTRY(D("1"), ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}", "") ","
	ENTRY(D("2"), ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}", "") ","
	ENTRY(D("3"), ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}", "") ","
	ENTRY(D("4"), ",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}",
	      ",\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}")
	"]}";

START_TEST(index_platform_selection)
{
	struct oci_platform p;
	struct oci_descriptor d = { 0 };
	oci_platform_parse("arm64", NULL, &p, NULL);
	ck_assert_int_eq(oci_index_select(multi_index, strlen(multi_index), NULL, &p, &d, NULL), 0);
	ck_assert_str_eq(d.digest, D("2"));
	oci_descriptor_clear(&d);
	oci_platform_parse("arm", "v8", &p, NULL); /* v8 arm host takes v7 */
	ck_assert_int_eq(oci_index_select(multi_index, strlen(multi_index), NULL, &p, &d, NULL), 0);
	ck_assert_str_eq(d.digest, D("3"));
	oci_descriptor_clear(&d);
	sb_error_t err = NULL;
	oci_platform_parse("s390x", NULL, &p, NULL);
	ck_assert_int_eq(oci_index_select(multi_index, strlen(multi_index), NULL, &p, &d, &err), -1);
	ck_assert_str_eq(err->msg, "no image for platform linux/s390x in the index; available: "
				   "linux/amd64, linux/arm64/v8, linux/arm/v7");
	sb_error_free(&err);
}
END_TEST

static const char tag_index[] =
	"{\"schemaVersion\":2,\"manifests\":["
	ENTRY(D("a"), "", ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}") ","
	ENTRY(D("b"), "", ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v2\","
	      "\"io.containerd.image.name\":\"docker.io/library/x:v2\"}")
	"]}";

START_TEST(index_refs)
{
	struct oci_descriptor d = { 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(oci_index_select(tag_index, strlen(tag_index), "v2", NULL, &d, NULL), 0);
	ck_assert_str_eq(d.digest, D("b"));
	oci_descriptor_clear(&d);
	ck_assert_int_eq(oci_index_select(tag_index, strlen(tag_index), "docker.io/library/x:v2",
					  NULL, &d, NULL), 0);
	oci_descriptor_clear(&d);
	ck_assert_int_eq(oci_index_select(tag_index, strlen(tag_index), D("a"), NULL, &d, NULL), 0);
	ck_assert_str_eq(d.ref_name, "latest");
	oci_descriptor_clear(&d);
	ck_assert_int_eq(oci_index_select(tag_index, strlen(tag_index), "nope", NULL, &d, &err), -1);
	ck_assert_str_eq(err->msg, "no image \"nope\" in the index; available: latest, v2");
	sb_error_free(&err);
	ck_assert_int_eq(oci_index_select(tag_index, strlen(tag_index), NULL, NULL, &d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "2 images without platforms"));
	sb_error_free(&err);
	ck_assert_int_eq(oci_index_select("{\"manifests\":[{\"digest\":\"sha256:12\"}]}", 38, NULL,
					  NULL, &d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "invalid digest"));
	sb_error_free(&err);
	ck_assert_int_eq(oci_index_select("{", 1, NULL, NULL, &d, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "invalid JSON"));
	sb_error_free(&err);
}
END_TEST

/* ------------------------------------------------------------------- blobs */

START_TEST(blob_verification)
{
	char *dir = tmpdir();
	char *p = sb_asprintf("%s/blobs", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = sb_asprintf("%s/blobs/sha256", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	const char body[] = "{\"hello\":\"blob\"}";
	char *dg = sha256_hex(body, strlen(body));
	char *f = sb_asprintf("%s/%s", p, dg + 7);
	write_file(f, body, strlen(body));
	struct oci_store *s = oci_store_open_dir(dir, NULL);
	ck_assert_ptr_nonnull(s);
	struct oci_descriptor d = { .digest = dg, .size = (int64_t)strlen(body) };
	size_t len;
	sb_error_t err = NULL;
	char *got = oci_store_read(s, &d, NULL, 1024, &len, &err);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, body);
	free(got);
	d.size = 3; /* wrong size */
	ck_assert_ptr_null(oci_store_read(s, &d, NULL, 1024, &len, &err));
	ck_assert_ptr_nonnull(strstr(err->msg, "but its descriptor says 3"));
	sb_error_free(&err);
	d.size = (int64_t)strlen(body);
	write_file(f, "{\"hello\":\"BLOB\"}", strlen(body)); /* same size, other bytes */
	ck_assert_ptr_null(oci_store_read(s, &d, NULL, 1024, &len, &err));
	ck_assert_ptr_nonnull(strstr(err->msg, "digest mismatch"));
	ck_assert_ptr_nonnull(strstr(err->msg, dg));
	sb_error_free(&err);
	ck_assert_ptr_null(oci_store_read(s, &d, NULL, 4, &len, &err)); /* over the limit */
	sb_error_free(&err);
	oci_store_free(s);
	free(f);
	free(dg);
	free(p);
	rmtree(dir);
}
END_TEST

START_TEST(tar_store_in_place)
{
	char *dir = tmpdir();
	char *tarp = sb_asprintf("%s/a.tar", dir);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	ck_assert_int_eq(archive_write_open_filename(a, tarp), ARCHIVE_OK);
	const char body[] = "layer bytes";
	char *dg = sha256_hex(body, strlen(body));
	char *name = sb_asprintf("./blobs/sha256/%s", dg + 7);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)strlen(body));
	archive_write_header(a, e);
	archive_write_data(a, body, strlen(body));
	archive_entry_clear(e);
	archive_entry_set_pathname(e, "dup/layer.tar");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	char *target = sb_asprintf("../blobs/sha256/%s", dg + 7);
	archive_entry_set_symlink(e, target);
	archive_write_header(a, e);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	struct oci_store *s = oci_store_open_tar(tarp, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert(oci_store_has(s, name + 2));
	ck_assert(oci_store_has(s, "dup/layer.tar"));
	ck_assert(!oci_store_has(s, "index.json"));
	struct oci_blob *b = oci_blob_open_name(s, "dup/layer.tar", dg, NULL);
	ck_assert_ptr_nonnull(b);
	char buf[64];
	ck_assert_int_eq(oci_blob_read(b, buf, sizeof(buf), NULL), (ssize_t)strlen(body));
	ck_assert_int_eq(oci_blob_read(b, buf, sizeof(buf), NULL), 0);
	oci_blob_close(b);
	oci_store_free(s);
	free(target);
	free(name);
	free(dg);
	free(tarp);
	rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------------ layers */

static struct oci_unpacker *unpacker(const char *root, struct sb_ownership *m, bool priv)
{
	struct oci_apply_options o = { .privileged = priv, .owners = m };
	struct oci_unpacker *u = oci_unpacker_new(root, &o, NULL);
	ck_assert_ptr_nonnull(u);
	return u;
}

START_TEST(whiteouts_any_position)
{
	char *root = tmpdir();
	struct oci_unpacker *u = unpacker(root, NULL, geteuid() == 0);
	struct layer l;
	layer_begin(&l, true);
	add(&l, "d/", 'd', 0755, NULL, NULL);
	add(&l, "d/old", 'f', 0644, "old", NULL);
	add(&l, "d/gone", 'f', 0644, "gone", NULL);
	add(&l, "o/", 'd', 0755, NULL, NULL);
	add(&l, "o/lower", 'f', 0644, "lower", NULL);
	add(&l, "o/sub/deep", 'f', 0644, "deep", NULL);
	add(&l, "hl-a", 'f', 0644, "v1", NULL);
	add(&l, "hl-b", 'h', 0644, NULL, "hl-a");
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	layer_begin(&l, false);
	add(&l, "d/new", 'f', 0644, "new", NULL);   /* entry first, */
	add(&l, "d/.wh.d", 'f', 0644, "", NULL);     /* (no-op: no d/d) */
	add(&l, ".wh.d", 'f', 0644, "", NULL);       /* whiteout after it: d/new survives */
	add(&l, "o/.wh..wh..opq", 'f', 0644, "", NULL);
	add(&l, "o/upper", 'f', 0644, "upper", NULL);
	add(&l, "hl-a", 'f', 0644, "v2", NULL);      /* unlink before write */
	add(&l, ".wh..wh.plnk", 'f', 0644, "", NULL); /* AUFS bookkeeping, skipped */
	add(&l, "x/y/z", 'f', 0644, "implied", NULL);
	add(&l, "/abs", 'f', 0644, "abs", NULL);
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	ck_assert(exists(root, "d/new"));
	ck_assert(!exists(root, "d/old"));
	ck_assert(!exists(root, "d/gone"));
	ck_assert(exists(root, "o/upper"));
	ck_assert(!exists(root, "o/lower"));
	ck_assert(!exists(root, "o/sub"));
	char *s = content(root, "hl-a");
	ck_assert_str_eq(s, "v2");
	free(s);
	s = content(root, "hl-b");
	ck_assert_str_eq(s, "v1");
	free(s);
	ck_assert(!exists(root, ".wh..wh.plnk"));
	ck_assert(exists(root, "abs"));
	struct stat st;
	char *p = sb_asprintf("%s/x/y", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	free(p);
	oci_unpacker_free(u);
	rmtree(root);
}
END_TEST

START_TEST(hostile_names)
{
	char *root = tmpdir();
	struct oci_unpacker *u = unpacker(root, NULL, false);
	struct layer l;
	sb_error_t err = NULL;
	layer_begin(&l, false);
	add(&l, "a/../../escape", 'f', 0644, "x", NULL);
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "\"..\" in the path"));
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	layer_begin(&l, false);
	add(&l, "out", 'l', 0777, NULL, "/");
	add(&l, "out/etc-file", 'f', 0644, "inside", NULL); /* "/" is the rootfs */
	add(&l, "ln", 'h', 0644, NULL, "/out/etc-file");
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	ck_assert(exists(root, "etc-file"));
	ck_assert(exists(root, "ln"));
	layer_begin(&l, false);
	add(&l, "dir/.wh...", 'f', 0644, "", NULL);
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "whiteout of an invalid name"));
	sb_error_free(&err);
	layer_begin(&l, false);
	add(&l, "h2", 'h', 0644, NULL, "../../etc/passwd");
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "hard link target outside"));
	sb_error_free(&err);
	oci_unpacker_free(u);
	rmtree(root);
}
END_TEST

START_TEST(empty_layers_and_diff_ids)
{
	char *root = tmpdir();
	struct oci_unpacker *u = unpacker(root, NULL, false);
	struct mem zero = { "", 0, 0 };
	char *empty_id = sha256_hex("", 0);
	ck_assert_int_eq(oci_unpacker_apply(u, mem_read, &zero, "empty", empty_id, NULL), 0);
	char blocks[1024] = { 0 };
	struct mem z2 = { blocks, sizeof(blocks), 0 };
	char *zid = sha256_hex(blocks, sizeof(blocks));
	ck_assert_int_eq(oci_unpacker_apply(u, mem_read, &z2, "zeros", zid, NULL), 0);
	z2.pos = 0;
	sb_error_t err = NULL;
	ck_assert_int_eq(oci_unpacker_apply(u, mem_read, &z2, "zeros", empty_id, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "diff_id"));
	sb_error_free(&err);
	free(empty_id);
	free(zid);
	oci_unpacker_free(u);
	rmtree(root);
}
END_TEST

START_TEST(unprivileged_records_owners)
{
	char *root = tmpdir();
	struct sb_ownership *m = sb_ownership_new();
	struct oci_unpacker *u = unpacker(root, m, false);
	struct layer l;
	layer_begin(&l, false);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "owned");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 04750);
	archive_entry_set_uid(e, 1000);
	archive_entry_set_gid(e, 50);
	archive_entry_set_size(e, 0);
	archive_entry_xattr_add_entry(e, "security.capability", "\1\2", 2);
	archive_write_header(l.a, e);
	archive_entry_free(e);
	add(&l, "ro/", 'd', 0555, NULL, NULL);
	add(&l, "ro/f", 'f', 0444, "f", NULL);
	add(&l, "dev/null", 'c', 0666, NULL, NULL);
	add(&l, "owned2", 'h', 0, NULL, "owned");
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	const struct sb_owner_entry *r = sb_ownership_get(m, "owned");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->uid, 1000);
	ck_assert_uint_eq(r->gid, 50);
	ck_assert_uint_eq(r->n_xattrs, 1);
	ck_assert_str_eq(r->xattrs[0].name, "security.capability");
	ck_assert_ptr_nonnull(sb_ownership_get(m, "owned2"));
	r = sb_ownership_get(m, "ro");
	ck_assert_uint_eq(r->mode & 07777, 0555);
	r = sb_ownership_get(m, "dev/null");
	ck_assert_uint_eq(r->mode & S_IFMT, S_IFCHR);
	ck_assert_uint_eq(r->rdev, makedev(1, 3));
	struct stat st;
	char *p = sb_asprintf("%s/ro", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0700, 0700); /* removable by the user */
	free(p);
	p = sb_asprintf("%s/owned", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 04750); /* setuid kept */
	free(p);
	/* A later layer re-declares ro/ as 0755 root: its record goes, the
	 * children's records stay. */
	layer_begin(&l, false);
	add(&l, "ro/", 'd', 0755, NULL, NULL);
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	ck_assert_ptr_null(sb_ownership_get(m, "ro"));
	ck_assert_ptr_nonnull(sb_ownership_get(m, "owned"));
	/* A whiteout drops the records below it. */
	layer_begin(&l, false);
	add(&l, ".wh.dev", 'f', 0644, "", NULL);
	layer_end(&l);
	ck_assert_int_eq(apply(u, &l, NULL, NULL), 0);
	ck_assert_ptr_null(sb_ownership_get(m, "dev/null"));
	oci_unpacker_free(u);
	sb_ownership_free(m);
	rmtree(root);
}
END_TEST

/* ----------------------------------------------------------- ownership map */

START_TEST(ownership_map_api)
{
	struct sb_ownership *m = sb_ownership_new();
	char *n = sb_ownership_normalise("/./a//b/");
	ck_assert_str_eq(n, "a/b");
	free(n);
	ck_assert_ptr_null(sb_ownership_normalise("a/../b"));
	struct sb_owner_entry e = { .uid = 5, .gid = SB_OWNER_UNSET };
	ck_assert_int_eq(sb_ownership_set(m, "/a/b", &e), 0);
	ck_assert_int_eq(sb_ownership_set(m, "a/b/c", &e), 0);
	ck_assert_int_eq(sb_ownership_set(m, "a/bc", &e), 0);
	ck_assert_int_eq(sb_ownership_set(m, "../x", &e), -1);
	ck_assert_uint_eq(sb_ownership_count(m), 3);
	ck_assert_uint_eq(sb_ownership_get(m, "a/b")->uid, 5);
	ck_assert_int_eq(sb_ownership_link(m, "l", "a/b"), 0);
	ck_assert_uint_eq(sb_ownership_get(m, "l")->uid, 5);
	ck_assert_int_eq(sb_ownership_rename(m, "a/b", "z"), 0);
	ck_assert_ptr_nonnull(sb_ownership_get(m, "z/c"));
	ck_assert_ptr_null(sb_ownership_get(m, "a/b"));
	ck_assert_ptr_nonnull(sb_ownership_get(m, "a/bc"));
	ck_assert_uint_eq(sb_ownership_remove_tree(m, "z"), 2);
	ck_assert(sb_ownership_remove(m, "l"));
	ck_assert(!sb_ownership_remove(m, "l"));
	ck_assert_uint_eq(sb_ownership_count(m), 1);
	for (int i = 0; i < 1000; i++) { /* grows past the initial table */
		char k[32];
		snprintf(k, sizeof(k), "many/%d", i);
		struct sb_owner_entry ei = { .uid = (uint32_t)i, .gid = 1, .dev = 9,
					     .ino = (ino_t)(100 + i) };
		sb_ownership_set(m, k, &ei);
	}
	ck_assert_uint_eq(sb_ownership_get(m, "many/777")->uid, 777);
	struct stat st = { .st_dev = 9, .st_ino = 100 + 42, .st_mode = S_IFREG | 0644 };
	/* lookups go by path only (inode numbers are reused) */
	ck_assert_ptr_null(sb_ownership_lookup(m, "elsewhere", &st));
	ck_assert_uint_eq(sb_ownership_lookup(m, "many/42", &st)->uid, 42);
	const char *where = NULL;
	const struct sb_owner_entry *r = sb_ownership_find_inode(m, 9, 100 + 42, &where);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->uid, 42);
	ck_assert_str_eq(where, "many/42");
	ck_assert_ptr_null(sb_ownership_find_inode(m, 9, 5, NULL));
	st.st_ino = 5; /* replaced file: its path record is stale */
	ck_assert_ptr_null(sb_ownership_lookup(m, "many/42", &st));
	ck_assert_uint_eq(sb_ownership_remove_tree(m, "many"), 1000);
	sb_ownership_free(m);
}
END_TEST

START_TEST(ownership_resolve_and_save)
{
	struct sb_ownership *m = sb_ownership_new();
	struct sb_owner_entry e = { .uid = SB_OWNER_UNSET, .gid = 7, .mode = S_IFBLK | 0660,
				    .rdev = makedev(7, 1) };
	sb_ownership_set(m, "dev/loop1", &e);
	sb_ownership_add_xattr(m, "dev/loop1", "security.x", "a b\n%", 5);
	struct stat st = { .st_mode = S_IFREG | 0600 };
	uint32_t uid = 0, gid = 0, mode = S_IFREG | 0600;
	dev_t rdev = 0;
	sb_ownership_resolve(sb_ownership_lookup(m, "dev/loop1", &st), &st, &uid, &gid, &mode, &rdev);
	ck_assert_uint_eq(uid, 0);
	ck_assert_uint_eq(gid, 7);
	ck_assert_uint_eq(mode, S_IFBLK | 0660);
	ck_assert_uint_eq(rdev, makedev(7, 1));
	char *dir = tmpdir();
	char *f = sb_asprintf("%s/map", dir);
	sb_error_t err = NULL;
	struct sb_owner_entry sp = { .uid = 1, .gid = 2 };
	sb_ownership_set(m, "with space/ünï%", &sp);
	ck_assert_int_eq(sb_ownership_save(m, f, &err), 0);
	struct sb_ownership *m2 = sb_ownership_new();
	ck_assert_int_eq(sb_ownership_load(m2, f, &err), 0);
	ck_assert_uint_eq(sb_ownership_count(m2), 2);
	const struct sb_owner_entry *r = sb_ownership_get(m2, "dev/loop1");
	ck_assert_uint_eq(r->mode, S_IFBLK | 0660);
	ck_assert_uint_eq(r->uid, SB_OWNER_UNSET);
	ck_assert_uint_eq(r->n_xattrs, 1);
	ck_assert_mem_eq(r->xattrs[0].value, "a b\n%", 5);
	ck_assert_uint_eq(sb_ownership_get(m2, "with space/ünï%")->gid, 2);
	/* rekey: identities refreshed from a tree, vanished paths dropped */
	struct sb_ownership *m3 = sb_ownership_new();
	char *kept = sb_asprintf("%s/kept", dir);
	write_file(kept, "k", 1);
	struct sb_owner_entry ke = { .uid = 3, .gid = 3, .dev = 1, .ino = 1 };
	sb_ownership_set(m3, "kept", &ke);
	sb_ownership_set(m3, "gone", &ke);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(sb_ownership_rekey(m3, dfd, &err), 1);
	close(dfd);
	struct stat kst;
	ck_assert_int_eq(lstat(kept, &kst), 0);
	ck_assert_uint_eq(sb_ownership_get(m3, "kept")->ino, kst.st_ino);
	ck_assert_ptr_nonnull(sb_ownership_lookup(m3, "kept", &kst));
	ck_assert_ptr_null(sb_ownership_get(m3, "gone"));
	sb_ownership_free(m3);
	free(kept);
	write_file(f, "garbage\n", 8);
	ck_assert_int_eq(sb_ownership_load(m2, f, &err), -1);
	sb_error_free(&err);
	sb_ownership_free(m2);
	sb_ownership_free(m);
	free(f);
	rmtree(dir);
}
END_TEST

START_TEST(packer_hook)
{
	struct sb_ownership *m = sb_ownership_new();
	struct sb_owner_entry e = { .uid = 1000, .gid = SB_OWNER_UNSET, .mode = S_IFCHR | 0620,
				    .rdev = makedev(4, 1) };
	sb_ownership_set(m, "dev/tty1", &e);
	sb_ownership_add_xattr(m, "dev/tty1", "security.capability", "cap", 3);
	sb_ownership_add_xattr(m, "dev/tty1", "user.a", "map", 3);
	struct bootstrap_owner_ctx oc = { .map = m };
	struct stat st = { .st_mode = S_IFREG | 0600, .st_dev = 1, .st_ino = 2 };
	struct sif_sqfs_xattr disk[2] = { { "user.a", "disk", 4 }, { "user.b", "b", 1 } };
	struct sif_sqfs_attr a = { .mode = S_IFREG | 0600, .uid = 0, .gid = 0, .xattrs = disk,
				   .n_xattrs = 2 };
	ck_assert_int_eq(bootstrap_owner_hook(&oc, -1, "tty1", "dev/tty1", &st, &a, NULL), 0);
	ck_assert_uint_eq(a.mode, S_IFCHR | 0620);
	ck_assert_uint_eq(a.rdev, makedev(4, 1));
	ck_assert_uint_eq(a.uid, 1000);
	ck_assert_uint_eq(a.gid, 0);
	ck_assert_uint_eq(a.n_xattrs, 3);
	ck_assert_str_eq(a.xattrs[0].key, "user.b");
	ck_assert_str_eq(a.xattrs[2].key, "user.a");
	ck_assert_mem_eq(a.xattrs[2].value, "map", 3);
	struct sif_sqfs_attr b = { .mode = S_IFDIR | 0755 };
	struct stat dst = { .st_mode = S_IFDIR | 0755 };
	ck_assert_int_eq(bootstrap_owner_hook(&oc, -1, "x", "x", &dst, &b, NULL), 0);
	ck_assert_uint_eq(b.mode, S_IFDIR | 0755); /* no record: unchanged */
	bootstrap_owner_ctx_release(&oc);
	sb_ownership_free(m);
}
END_TEST

START_TEST(agent_table)
{
	const char *names[] = { "oci", "oci-archive", "docker-archive", "localimage", "scratch",
				"busybox" };
	for (size_t i = 0; i < 6; i++) {
		const struct bootstrap_agent *a = bootstrap_find(names[i]);
		ck_assert_ptr_nonnull(a);
		ck_assert(a->implemented);
		ck_assert_ptr_nonnull(a->ops);
		ck_assert_ptr_null(bootstrap_agent_status(names[i]));
	}
	ck_assert_ptr_nonnull(bootstrap_agent_status("shub"));
	ck_assert_ptr_null(bootstrap_find("nope"));
	const char *agent;
	char *from = NULL;
	ck_assert_int_eq(bootstrap_parse_source("oci-archive:x.tar:v1", &agent, &from), 0);
	ck_assert_str_eq(agent, "oci-archive");
	ck_assert_str_eq(from, "x.tar:v1");
	free(from);
	ck_assert_int_eq(bootstrap_parse_source("docker-archive:d.tar:a/b:c", &agent, &from), 0);
	ck_assert_str_eq(agent, "docker-archive");
	free(from);
	ck_assert_int_eq(bootstrap_parse_source("oci:dir@sha256:1", &agent, &from), 0);
	ck_assert_str_eq(agent, "oci");
	free(from);
	ck_assert_int_eq(bootstrap_parse_source("/tmp", &agent, &from), 0);
	ck_assert_str_eq(agent, "localimage");
	free(from);
	ck_assert_int_eq(bootstrap_parse_source("docker://busybox", &agent, &from), 1);
	ck_assert_int_eq(bootstrap_parse_source("x.def", &agent, &from), 1);
	/* validation before any work */
	struct defparse_kv kv[2] = { { (char *)"bootstrap", (char *)"oci", 1 },
				     { (char *)"from", (char *)"", 2 } };
	struct bootstrap_request rq = { .header = kv, .n_header = 2 };
	sb_error_t err = NULL;
	ck_assert_int_eq(bootstrap_find("oci")->ops->validate(&rq, &err), -1);
	ck_assert_str_eq(err->msg, "Bootstrap: oci needs a From: line");
	sb_error_free(&err);
	kv[1].value = (char *)"dir";
	rq.arch = "pdp11";
	ck_assert_int_eq(bootstrap_find("oci")->ops->validate(&rq, &err), -1);
	sb_error_free(&err);
	kv[0].value = (char *)"busybox";
	kv[1].key = (char *)"mirrorurl";
	kv[1].value = (char *)"https://busybox.net/x";
	ck_assert_int_eq(bootstrap_find("busybox")->ops->validate(&rq, &err), -1);
	ck_assert_ptr_nonnull(strstr(err->msg, "only file:// URLs"));
	sb_error_free(&err);
	ck_assert_str_eq(bootstrap_header_get(&rq, "mirrorurl"), "https://busybox.net/x");
	ck_assert_ptr_null(bootstrap_header_get(&rq, "from"));
}
END_TEST

/* ---------------------------------------------------------------- metadata */

static const char cfg_json[] =
	"{\"architecture\":\"amd64\",\"config\":{"
	"\"Env\":[\"PATH=/bin:$X\",\"A=it's \\\"q\\\" `c` \\\\\",\"EMPTY=\",\"NOVAL\",\"1BAD=x\",\"B-C=y\"],"
	"\"Entrypoint\":[\"/e p\",\"it's\"],\"Cmd\":null,\"WorkingDir\":\"/w\","
	"\"Labels\":{\"z\":\"<&>\",\"a\":\"\\u2028\"},\"Tty\":true,\"OpenStdin\":false,"
	"\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000,\"Retries\":0},"
	"\"Volumes\":{},\"User\":\"\"}}";

START_TEST(metadata_exact)
{
	struct oci_config *c = oci_config_parse(cfg_json, strlen(cfg_json), NULL);
	ck_assert_ptr_nonnull(c);
	char *env = oci_meta_env_script(c, NULL, NULL);
	ck_assert_str_eq(env, "#!/bin/sh\n"
			      "export PATH=\"/bin:\\$X\"\n"
			      "export A=\"${A:-\"it's \\\"q\\\" \\`c\\` \\\\\"}\"\n"
			      "export EMPTY=\"${EMPTY:-\"\"}\"\n"
			      "export NOVAL=\"${NOVAL:-}\"\n");
	free(env);
	char *rs = oci_meta_runscript(c);
	ck_assert_ptr_nonnull(strstr(rs, "#!/bin/sh\nOCI_ENTRYPOINT='\"/e p\" \"it'\"'\"'s\"'\nOCI_CMD=''\n"));
	ck_assert_ptr_nonnull(strstr(rs, "\neval \"set ${SINGULARITY_OCI_RUN}\"\nexec \"$@\"\n"));
	ck_assert_ptr_nonnull(strstr(rs, "    set -- 'it'\"'\"'s' \"$@\"\n    set -- '/e p' \"$@\"\n"));
	free(rs);
	char *lj = oci_meta_labels_json(c);
	ck_assert_str_eq(lj, "{\n\t\"a\": \"\\u2028\",\n\t\"z\": \"\\u003c\\u0026\\u003e\"\n}");
	free(lj);
	char *cj = oci_meta_config_json(c);
	ck_assert_str_eq(cj, "{\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000},"
			     "\"Entrypoint\":[\"/e p\",\"it's\"],"
			     "\"Env\":[\"PATH=/bin:$X\",\"A=it's \\\"q\\\" `c` \\\\\",\"EMPTY=\",\"NOVAL\",\"1BAD=x\",\"B-C=y\"],"
			     "\"Labels\":{\"a\":\"\\u2028\",\"z\":\"\\u003c\\u0026\\u003e\"},"
			     "\"Tty\":true,\"WorkingDir\":\"/w\"}");
	free(cj);
	ck_assert_str_eq(oci_config_get(c, "WorkingDir"), "/w");
	ck_assert_ptr_null(oci_config_get(c, "User"));
	ck_assert_str_eq(oci_config_get(c, "architecture"), "amd64");
	oci_config_free(c);
	c = oci_config_parse("{}", 2, NULL);
	lj = oci_meta_labels_json(c);
	ck_assert_str_eq(lj, "null");
	free(lj);
	cj = oci_meta_config_json(c);
	ck_assert_str_eq(cj, "{}");
	free(cj);
	oci_config_free(c);
	c = oci_config_parse("{\"config\":{\"Labels\":{}}}", 24, NULL);
	lj = oci_meta_labels_json(c);
	ck_assert_str_eq(lj, "{}");
	free(lj);
	oci_config_free(c);
	char *g = oci_go_json_string("a\xff\x01\t\xe2\x80\xa9");
	ck_assert_str_eq(g, "\"a\\ufffd\\u0001\\t\\u2029\"");
	free(g);
	sb_error_t err = NULL;
	ck_assert_ptr_null(oci_config_parse("[1]", 3, &err));
	sb_error_free(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("oci");
	TCase *t = tcase_create("oci");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, platform_parse_and_match);
	tcase_add_test(t, digest_syntax);
	tcase_add_test(t, layer_names);
	tcase_add_test(t, index_platform_selection);
	tcase_add_test(t, index_refs);
	tcase_add_test(t, blob_verification);
	tcase_add_test(t, tar_store_in_place);
	tcase_add_test(t, whiteouts_any_position);
	tcase_add_test(t, hostile_names);
	tcase_add_test(t, empty_layers_and_diff_ids);
	tcase_add_test(t, unprivileged_records_owners);
	tcase_add_test(t, ownership_map_api);
	tcase_add_test(t, ownership_resolve_and_save);
	tcase_add_test(t, packer_hook);
	tcase_add_test(t, agent_table);
	tcase_add_test(t, metadata_exact);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
