/* bootstrap/registry/cache.c: the content-addressed blob store.
 *
 * Layout of a store root:
 *   blobs/sha256/HEX   verified blobs, mode 0444, only ever created by rename
 *   tmp/HEX.partial    a download in progress or interrupted (resumable)
 *   locks/HEX.lock     flock()ed by the process downloading HEX
 *   refs/KEY           "sha256:..." manifest digest a tag resolved to last
 * Several processes share the cache: a blob is downloaded by whoever holds
 * its lock; the others wait and then find it in blobs/. Nothing is renamed
 * into blobs/ before its sha256 and size were checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"

static int mkdir_p(const char *path, sb_error_t *err)
{
	cleanup_free char *p = sb_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return sb_error_set(err, errno, "creating %s", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return sb_error_set(err, errno, "creating %s", p);
	return 0;
}

char *sb_registry_cache_dir(sb_error_t *err)
{
	const char *d = getenv("SIFBUILD_CACHEDIR");
	if (d != NULL && *d)
		return sb_strdup(d);
	d = getenv("APPTAINER_CACHEDIR");
	if (d != NULL && *d)
		return sb_asprintf("%s/sifbuild", d);
	d = getenv("HOME");
	if (d == NULL || *d == '\0') {
		sb_error_set(err, 0, "no cache directory: set SIFBUILD_CACHEDIR or HOME");
		return NULL;
	}
	return sb_asprintf("%s/.cache/sifbuild", d);
}

int sb_reg_store_open(struct sb_reg_store *st, const char *root, bool shared, sb_error_t *err)
{
	static const char *const subdirs[] = {"blobs/sha256", "tmp", "locks", "refs"};
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < 4; i++) {
		if (!shared && i > 1)
			break;
		cleanup_free char *d = sb_asprintf("%s/%s", root, subdirs[i]);
		if (mkdir_p(d, err) < 0)
			return sb_error_wrap(err, "blob cache");
	}
	st->root = sb_strdup(root);
	st->shared = shared;
	return 0;
}

void sb_reg_store_release(struct sb_reg_store *st)
{
	free(st->root);
	st->root = NULL;
}

char *sb_reg_store_path(const struct sb_reg_store *st, const char *digest)
{
	return sb_asprintf("%s/blobs/sha256/%s", st->root, digest + 7);
}

char *sb_reg_store_partial(const struct sb_reg_store *st, const char *digest)
{
	return sb_asprintf("%s/tmp/%s.partial", st->root, digest + 7);
}

bool sb_reg_store_has(const struct sb_reg_store *st, const char *digest, int64_t size)
{
	cleanup_free char *p = sb_reg_store_path(st, digest);
	struct stat sb;
	if (stat(p, &sb) < 0 || !S_ISREG(sb.st_mode))
		return false;
	if (size >= 0 && sb.st_size != size)
		return false;
	if (st->shared)
		utimensat(AT_FDCWD, p, NULL, 0); /* last use, for cache clean --days */
	return true;
}

/* True when fd is still the file at path (cache clean may have unlinked
 * the lock file between our open and our flock). */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int sb_reg_store_lock(const struct sb_reg_store *st, const char *digest, bool wait, int *fd,
		      sb_error_t *err)
{
	*fd = -1;
	if (!st->shared)
		return 0;
	cleanup_free char *p = sb_asprintf("%s/locks/%s.lock", st->root, digest + 7);
	for (;;) {
		int lfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lfd < 0)
			return sb_error_set(err, errno, "opening lock %s", p);
		if (flock(lfd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
			int e = errno;
			close(lfd);
			if (e == EINTR)
				continue;
			if (e == EWOULDBLOCK)
				return 1;
			return sb_error_set(err, e, "locking %s", p);
		}
		if (same_file(lfd, p)) {
			*fd = lfd;
			return 0;
		}
		close(lfd); /* unlinked meanwhile: lock the new file */
	}
}

void sb_reg_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock; cache clean removes unused lock files */
}

int sb_reg_store_commit(const struct sb_reg_store *st, const char *digest, const char *tmp,
			sb_error_t *err)
{
	cleanup_free char *dst = sb_reg_store_path(st, digest);
	if (chmod(tmp, 0444) < 0)
		return sb_error_set(err, errno, "chmod %s", tmp);
	if (rename(tmp, dst) < 0)
		return sb_error_set(err, errno, "storing blob %s", digest);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int sb_reg_store_put(const struct sb_reg_store *st, const char *digest, const void *data,
		     size_t len, sb_error_t *err)
{
	if (sb_reg_verify_bytes(data, len, digest, digest, err) < 0)
		return -1;
	if (sb_reg_store_has(st, digest, (int64_t)len))
		return 0;
	cleanup_free char *tmp = sb_asprintf("%s/tmp/%s.XXXXXX", st->root, digest + 7);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "creating %s", tmp);
	if (write_all(fd, data, len) < 0 || close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "writing %s", tmp);
	}
	if (sb_reg_store_commit(st, digest, tmp, err) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* refs/KEY: KEY is the sha256 of the canonical reference + platform so any
 * reference text maps to a safe file name. */
static char *ref_path(const struct sb_reg_store *st, const char *key)
{
	cleanup_free char *h = sb_reg_sha256_digest(key, strlen(key));
	return sb_asprintf("%s/refs/%s", st->root, h + 7);
}

int sb_reg_store_ref_set(const struct sb_reg_store *st, const char *key, const char *digest)
{
	if (!st->shared)
		return 0;
	cleanup_free char *p = ref_path(st, key);
	cleanup_free char *tmp = sb_asprintf("%s.XXXXXX", p);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	cleanup_free char *line = sb_asprintf("%s\n%s\n", digest, key);
	int rc = write_all(fd, line, strlen(line));
	if (close(fd) < 0 || rc < 0 || rename(tmp, p) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

char *sb_reg_store_ref_get(const struct sb_reg_store *st, const char *key)
{
	if (!st->shared)
		return NULL;
	cleanup_free char *p = ref_path(st, key);
	cleanup_free char *text = sb_read_file(p, NULL);
	if (text == NULL)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	if (sb_reg_digest_check(text, NULL) < 0)
		return NULL;
	return sb_strdup(text);
}

/* ------------------------------------------------------------ list, clean */

struct walk_item {
	char *name;
	int64_t size;
	int64_t mtime;
};

static int cmp_items(const void *a, const void *b)
{
	return strcmp(((const struct walk_item *)a)->name, ((const struct walk_item *)b)->name);
}

/* Regular files of dir, sorted; *n items. A missing dir is empty. */
static struct walk_item *list_dir(const char *dir, size_t *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	struct walk_item *items = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			items = sb_xrealloc(items, cap * sizeof(*items));
		}
		items[(*n)++] = (struct walk_item){sb_strdup(de->d_name), (int64_t)sb.st_size,
						   (int64_t)sb.st_mtime};
	}
	closedir(d);
	if (*n > 0)
		qsort(items, *n, sizeof(*items), cmp_items);
	return items;
}

static void free_items(struct walk_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

int sb_registry_cache_list(const char *dir,
			   void (*fn)(void *data, const struct sb_registry_cache_entry *e),
			   void *data, int64_t *total_bytes, sb_error_t *err)
{
	static const char *const sub[] = {"blobs/sha256", "tmp"};
	int64_t total = 0;
	for (size_t k = 0; k < 2; k++) {
		cleanup_free char *d = sb_asprintf("%s/%s", dir, sub[k]);
		size_t n = 0;
		struct walk_item *items = list_dir(d, &n);
		for (size_t i = 0; i < n; i++) {
			const char *suffix = k == 1 ? strstr(items[i].name, ".partial") : NULL;
			if (k == 1 && suffix == NULL)
				continue;
			cleanup_free char *digest = sb_asprintf(
				"sha256:%.*s", (int)strcspn(items[i].name, "."), items[i].name);
			struct sb_registry_cache_entry e = {digest, items[i].size, items[i].mtime,
							    k == 0 ? "blob" : "partial"};
			total += items[i].size;
			if (fn != NULL)
				fn(data, &e);
		}
		free_items(items, n);
	}
	if (total_bytes != NULL)
		*total_bytes = total;
	(void)err;
	return 0;
}

/* Removes old files of dir/sub; blobs locked by a download are kept. */
static void clean_sub(const char *dir, const char *sub, time_t cutoff, size_t *n_removed,
		      int64_t *bytes)
{
	struct sb_reg_store st = {(char *)dir, true};
	cleanup_free char *d = sb_asprintf("%s/%s", dir, sub);
	size_t n = 0;
	struct walk_item *items = list_dir(d, &n);
	for (size_t i = 0; i < n; i++) {
		if (cutoff > 0 && items[i].mtime >= cutoff)
			continue;
		cleanup_free char *digest =
			sb_asprintf("sha256:%.*s", (int)strcspn(items[i].name, "."), items[i].name);
		int lfd = -1;
		bool lockable = strlen(digest) == 71;
		if (lockable && sb_reg_store_lock(&st, digest, false, &lfd, NULL) != 0)
			continue;
		cleanup_free char *p = sb_asprintf("%s/%s", d, items[i].name);
		if (unlink(p) == 0) {
			(*n_removed)++;
			*bytes += items[i].size;
		}
		sb_reg_store_unlock(lfd);
	}
	free_items(items, n);
}

/* Lock files of blobs no longer cached (and not being downloaded) go; they
 * are unlinked while held, and lockers check they locked the current file. */
static void clean_locks(const char *dir)
{
	struct sb_reg_store st = {(char *)dir, true};
	cleanup_free char *d = sb_asprintf("%s/locks", dir);
	size_t n = 0;
	struct walk_item *items = list_dir(d, &n);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *digest =
			sb_asprintf("sha256:%.*s", (int)strcspn(items[i].name, "."), items[i].name);
		int lfd = -1;
		cleanup_free char *blob =
			strlen(digest) == 71 ? sb_reg_store_path(&st, digest) : NULL;
		/* (not sb_reg_store_has: that would refresh the blob's last use) */
		if (blob == NULL || access(blob, F_OK) == 0 ||
		    sb_reg_store_lock(&st, digest, false, &lfd, NULL) != 0)
			continue;
		cleanup_free char *partial = sb_reg_store_partial(&st, digest);
		if (access(partial, F_OK) != 0) {
			cleanup_free char *p = sb_asprintf("%s/%s", d, items[i].name);
			unlink(p);
		}
		sb_reg_store_unlock(lfd);
	}
	free_items(items, n);
}

int sb_registry_cache_clean(const char *dir, int days, size_t *n_removed, int64_t *bytes_removed,
			    sb_error_t *err)
{
	size_t n = 0;
	int64_t bytes = 0;
	time_t cutoff = days > 0 ? time(NULL) - (time_t)days * 86400 : 0;
	clean_sub(dir, "blobs/sha256", cutoff, &n, &bytes);
	clean_sub(dir, "tmp", cutoff, &n, &bytes);
	size_t nref = 0;
	int64_t bref = 0;
	clean_sub(dir, "refs", cutoff, &nref, &bref);
	clean_locks(dir);
	if (n_removed != NULL)
		*n_removed = n;
	if (bytes_removed != NULL)
		*bytes_removed = bytes;
	(void)err;
	return 0;
}
