/* bootstrap/oci/store.c: blob stores (layout directory, tar read in place)
 * and the verifying blob reader. */
#include "bootstrap/oci/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

struct member {
	char *name;
	char *link;  /* symlink or hard link target (archive path), or NULL */
	uint64_t off, size;
};

struct oci_store {
	bool is_tar;
	int fd;      /* layout: directory fd; tar: the file */
	char *path;
	struct member *m; /* tar: sorted by name */
	size_t n;
};

struct oci_blob {
	int fd;      /* borrowed from the store, or owned (layout) */
	bool own_fd;
	uint64_t off, size, pos;
	EVP_MD_CTX *md;
	char *what;  /* "blob sha256:..." or the member name, for messages */
	char *expect; /* digest or NULL */
	bool checked;
};

void oci_descriptor_clear(struct oci_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	free(d->image_name);
	memset(d, 0, sizeof(*d));
}

int oci_digest_check(const char *digest, sb_error_t *err)
{
	if (digest == NULL)
		return sb_error_set_status(err, 2, 0, "missing digest");
	if (strncmp(digest, "sha256:", 7) == 0) {
		const char *h = digest + 7;
		if (strlen(h) == 64 && strspn(h, "0123456789abcdef") == 64)
			return 0;
	} else if (strncmp(digest, "sha512:", 7) == 0) {
		return sb_error_set_status(err, 2, 0, "digest %.20s...: sha512 is not supported",
					   digest);
	}
	return sb_error_set_status(err, 2, 0, "invalid digest \"%.80s\"", digest);
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

struct oci_store *oci_store_open_dir(const char *dir, sb_error_t *err)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		sb_error_set_status(err, 2, errno, "opening the OCI layout %s", dir);
		return NULL;
	}
	struct oci_store *s = sb_xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->path = sb_strdup(dir);
	return s;
}

/* Member names as tools write them: "./blobs/x" and "blobs/x" are the same. */
static char *clean_member(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (*name == '/')
		name++;
	size_t n = strlen(name);
	while (n > 0 && name[n - 1] == '/')
		n--;
	return sb_strndup(name, n);
}

static int index_tar(struct oci_store *s, sb_error_t *err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	size_t cap = 0;
	int r = archive_read_open_fd(a, s->fd, 65536);
	struct archive_entry *e;
	while (r == ARCHIVE_OK && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (name == NULL)
			continue;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 64;
			s->m = sb_xrealloc(s->m, cap * sizeof(*s->m));
		}
		struct member *m = &s->m[s->n++];
		memset(m, 0, sizeof(*m));
		m->name = clean_member(name);
		const char *ln = archive_entry_hardlink(e);
		if (ln)
			m->link = clean_member(ln);
		else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
			m->link = sb_asprintf("\x01%s", archive_entry_symlink(e)); /* relative */
		m->off = (uint64_t)archive_filter_bytes(a, 0);
		m->size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
	}
	if (r != ARCHIVE_EOF) {
		sb_error_set_status(err, 2, 0, "reading the archive %s: %s", s->path,
				    archive_error_string(a) ? archive_error_string(a)
							    : "not a tar file");
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	if (s->n > 1)
		qsort(s->m, s->n, sizeof(*s->m), cmp_member);
	return 0;
}

static bool compressed(int fd)
{
	unsigned char m[6] = { 0 };
	if (pread(fd, m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return false;
	return (m[0] == 0x1f && m[1] == 0x8b) ||                                  /* gzip */
	       (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) || /* zstd */
	       (m[0] == 0xfd && memcmp(m + 1, "7zXZ", 4) == 0) ||                 /* xz */
	       (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h');                       /* bzip2 */
}

/* An unnamed temporary file (removed when closed) in $TMPDIR. */
static int temp_file(sb_error_t *err)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		cleanup_free char *p = sb_asprintf("%s/sifbuild-archive.XXXXXX", dir);
		fd = mkostemp(p, O_CLOEXEC);
		if (fd >= 0)
			unlink(p);
	}
	if (fd < 0)
		sb_error_set(err, errno, "creating a temporary file in %s", dir);
	return fd;
}

/* A compressed archive (`docker save | gzip`): decompressed once into a
 * temporary file, which is then read in place like a plain one. */
static int decompress(int fd, const char *file, sb_error_t *err)
{
	int out = temp_file(err);
	if (out < 0)
		return -1;
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	int r = archive_read_open_fd(a, fd, 65536);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &e);
	const void *buf;
	size_t len;
	la_int64_t off;
	while ((r == ARCHIVE_OK || r == ARCHIVE_WARN) &&
	       ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
		if (pwrite(out, buf, len, off) != (ssize_t)len) {
			sb_error_set(err, errno, "decompressing %s into a temporary file", file);
			r = ARCHIVE_FATAL - 1;
		}
	}
	if (r != ARCHIVE_EOF) {
		if (r != ARCHIVE_FATAL - 1)
			sb_error_set_status(err, 2, 0, "decompressing %s: %s", file,
					    archive_error_string(a) ? archive_error_string(a)
								    : "damaged archive");
		close(out);
		out = -1;
	}
	archive_read_free(a);
	return out;
}

struct oci_store *oci_store_open_tar(const char *file, sb_error_t *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sb_error_set_status(err, 2, errno, "opening %s", file);
		return NULL;
	}
	if (compressed(fd)) {
		int plain = decompress(fd, file, err);
		close(fd);
		if (plain < 0)
			return NULL;
		fd = plain;
	}
	struct oci_store *s = sb_xcalloc(1, sizeof(*s));
	s->is_tar = true;
	s->fd = fd;
	s->path = sb_strdup(file);
	if (index_tar(s, err) < 0) {
		oci_store_free(s);
		return NULL;
	}
	return s;
}

void oci_store_free(struct oci_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->m[i].name);
		free(s->m[i].link);
	}
	free(s->m);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
}

static const struct member *find_member(const struct oci_store *s, const char *name)
{
	if (s->n == 0)
		return NULL;
	cleanup_free char *c = clean_member(name);
	struct member key = { .name = c };
	return bsearch(&key, s->m, s->n, sizeof(*s->m), cmp_member);
}

/* Follows links between members (docker save dedups layers with symlinks). */
static const struct member *resolve_member(const struct oci_store *s, const char *name)
{
	const struct member *m = find_member(s, name);
	for (int hops = 0; m && m->link && hops < 16; hops++) {
		cleanup_free char *t = NULL;
		if (m->link[0] == '\x01') {
			const char *slash = strrchr(m->name, '/');
			t = slash ? sb_asprintf("%.*s/%s", (int)(slash - m->name), m->name, m->link + 1)
				  : sb_strdup(m->link + 1);
		} else {
			t = sb_strdup(m->link);
		}
		cleanup_free char *norm = oci_path_clean(t);
		m = norm ? find_member(s, norm) : NULL;
	}
	return m && m->link ? NULL : m;
}

bool oci_store_has(struct oci_store *s, const char *name)
{
	if (s->is_tar)
		return resolve_member(s, name) != NULL;
	struct stat st;
	cleanup_close int fd = sb_open_in_root(s->fd, name, O_PATH);
	return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static struct oci_blob *blob_new(int fd, bool own, uint64_t off, uint64_t size, const char *what,
				 const char *expect)
{
	struct oci_blob *b = sb_xcalloc(1, sizeof(*b));
	b->fd = fd;
	b->own_fd = own;
	b->off = off;
	b->size = size;
	b->what = sb_strdup(what);
	b->expect = expect ? sb_strdup(expect) : NULL;
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL || EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1)
		abort();
	return b;
}

/* Locates name in the store: fd, offset, size. */
static int locate(struct oci_store *s, const char *name, int *fd, bool *own, uint64_t *off,
		  uint64_t *size, sb_error_t *err)
{
	if (s->is_tar) {
		const struct member *m = resolve_member(s, name);
		if (m == NULL)
			return sb_error_set_status(err, 2, ENOENT, "%s: %s", s->path, name);
		*fd = s->fd;
		*own = false;
		*off = m->off;
		*size = m->size;
		return 0;
	}
	int f = sb_open_in_root(s->fd, name, O_RDONLY);
	struct stat st;
	if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = f < 0 ? errno : EINVAL;
		if (f >= 0)
			close(f);
		return sb_error_set_status(err, 2, e, "%s/%s", s->path, name);
	}
	*fd = f;
	*own = true;
	*off = 0;
	*size = (uint64_t)st.st_size;
	return 0;
}

struct oci_blob *oci_blob_open(struct oci_store *s, const struct oci_descriptor *d,
			       sb_error_t *err)
{
	if (oci_digest_check(d->digest, err) < 0)
		return NULL;
	cleanup_free char *name = sb_asprintf("blobs/sha256/%s", d->digest + 7);
	int fd;
	bool own;
	uint64_t off, size;
	if (locate(s, name, &fd, &own, &off, &size, err) < 0) {
		sb_error_wrap(err, "blob %s", d->digest);
		return NULL;
	}
	if (d->size >= 0 && (uint64_t)d->size != size) {
		if (own)
			close(fd);
		sb_error_set_status(err, 2, 0, "blob %s: size %ju, but its descriptor says %jd",
				    d->digest, (uintmax_t)size, (intmax_t)d->size);
		return NULL;
	}
	cleanup_free char *what = sb_asprintf("blob %s", d->digest);
	return blob_new(fd, own, off, size, what, d->digest);
}

struct oci_blob *oci_blob_open_name(struct oci_store *s, const char *name,
				    const char *expect_digest, sb_error_t *err)
{
	int fd;
	bool own;
	uint64_t off, size;
	if (locate(s, name, &fd, &own, &off, &size, err) < 0)
		return NULL;
	return blob_new(fd, own, off, size, name, expect_digest);
}

static int blob_check(struct oci_blob *b, sb_error_t *err)
{
	if (b->checked || b->expect == NULL)
		return 0;
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(b->md, md, &n);
	char hex[65];
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	b->checked = true;
	if (strncmp(b->expect, "sha256:", 7) != 0 || strcmp(b->expect + 7, hex) != 0)
		return sb_error_set_status(err, 2, 0,
					   "%s: digest mismatch: content has sha256:%s, expected %s",
					   b->what, hex, b->expect);
	return 0;
}

ssize_t oci_blob_read(void *blob, void *buf, size_t len, sb_error_t *err)
{
	struct oci_blob *b = blob;
	if (b->pos >= b->size) {
		if (blob_check(b, err) < 0)
			return -1;
		return 0;
	}
	if (len > b->size - b->pos)
		len = (size_t)(b->size - b->pos);
	ssize_t n = pread(b->fd, buf, len, (off_t)(b->off + b->pos));
	if (n < 0)
		return sb_error_set(err, errno, "reading %s", b->what);
	if (n == 0)
		return sb_error_set_status(err, 2, 0, "%s: short: %ju of %ju bytes", b->what,
					   (uintmax_t)b->pos, (uintmax_t)b->size);
	EVP_DigestUpdate(b->md, buf, (size_t)n);
	b->pos += (uint64_t)n;
	return n;
}

int oci_blob_finish(struct oci_blob *b, sb_error_t *err)
{
	char buf[65536];
	ssize_t n;
	while ((n = oci_blob_read(b, buf, sizeof(buf), err)) > 0)
		;
	return n < 0 ? -1 : 0;
}

void oci_blob_close(struct oci_blob *b)
{
	if (b == NULL)
		return;
	if (b->own_fd)
		close(b->fd);
	EVP_MD_CTX_free(b->md);
	free(b->what);
	free(b->expect);
	free(b);
}

char *oci_store_read(struct oci_store *s, const struct oci_descriptor *d, const char *name,
		     size_t max, size_t *len, sb_error_t *err)
{
	struct oci_blob *b = d ? oci_blob_open(s, d, err) : oci_blob_open_name(s, name, NULL, err);
	if (b == NULL)
		return NULL;
	if (b->size > max) {
		sb_error_set_status(err, 2, 0, "%s: %ju bytes, more than the %zu allowed", b->what,
				    (uintmax_t)b->size, max);
		oci_blob_close(b);
		return NULL;
	}
	char *buf = sb_xmalloc((size_t)b->size + 1);
	size_t got = 0;
	ssize_t n;
	while ((n = oci_blob_read(b, buf + got, (size_t)b->size + 1 - got, err)) > 0)
		got += (size_t)n;
	oci_blob_close(b);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	if (len)
		*len = got;
	return buf;
}
