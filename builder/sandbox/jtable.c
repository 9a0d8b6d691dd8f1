/* builder/sandbox/jtable.c: the ownership journal's inode table, its
 * append-only log and the hand-over to the build's ownership map.
 *
 * The supervisor (a forked process) gets a copy of the table made before the
 * run and appends one text line per change to the log:
 *   C <dev> <ino> <htype> <handle hex or -> <uid> <gid>
 *   N <dev> <ino> <htype> <handle hex or -> <mode octal> <rdev>
 * The caller replays the log into its own table afterwards, so a supervisor
 * that dies leaves a usable prefix. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct sb_jtable {
	struct sb_jentry **slots; /* open addressing by (dev, ino) */
	size_t cap, n;
};

struct sb_jtable *sb_jtable_new(void)
{
	struct sb_jtable *t = sb_xcalloc(1, sizeof(*t));
	t->cap = 256;
	t->slots = sb_xcalloc(t->cap, sizeof(*t->slots));
	return t;
}

void sb_jtable_free(struct sb_jtable *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i]) {
			free(t->slots[i]->src);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	free(t);
}

size_t sb_jtable_count(const struct sb_jtable *t)
{
	return t->n;
}

static size_t slot_of(const struct sb_jtable *t, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15u) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4Fu);
	size_t i = (size_t)(h ^ (h >> 29)) & (t->cap - 1);
	while (t->slots[i] && (t->slots[i]->k.dev != dev || t->slots[i]->k.ino != ino))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static void grow(struct sb_jtable *t)
{
	struct sb_jentry **old = t->slots;
	size_t oldcap = t->cap;
	t->cap *= 2;
	t->slots = sb_xcalloc(t->cap, sizeof(*t->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			t->slots[slot_of(t, old[i]->k.dev, old[i]->k.ino)] = old[i];
	free(old);
}

void sb_jkey_of_fd(int fd, const struct stat *st, struct sb_jkey *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	union {
		struct file_handle fh;
		unsigned char buf[sizeof(struct file_handle) + SB_JHANDLE_MAX];
	} u;
	u.fh.handle_bytes = SB_JHANDLE_MAX;
	int mnt;
	if (name_to_handle_at(fd, "", &u.fh, &mnt, AT_EMPTY_PATH) == 0 &&
	    u.fh.handle_bytes <= SB_JHANDLE_MAX) {
		k->htype = u.fh.handle_type;
		k->hlen = u.fh.handle_bytes;
		memcpy(k->h, u.fh.f_handle, k->hlen);
	}
}

static bool same_handle(const struct sb_jkey *a, const struct sb_jkey *b)
{
	return a->htype == b->htype && a->hlen == b->hlen && memcmp(a->h, b->h, a->hlen) == 0;
}

bool sb_jtable_has_inode(const struct sb_jtable *t, dev_t dev, ino_t ino)
{
	return t->slots[slot_of(t, dev, ino)] != NULL;
}

struct sb_jentry *sb_jtable_find(struct sb_jtable *t, const struct sb_jkey *k)
{
	struct sb_jentry *e = t->slots[slot_of(t, k->dev, k->ino)];
	return e && same_handle(&e->k, k) ? e : NULL;
}

/* The entry of k, created or reset (another handle: a new file). */
static struct sb_jentry *get_or_reset(struct sb_jtable *t, const struct sb_jkey *k)
{
	size_t i = slot_of(t, k->dev, k->ino);
	struct sb_jentry *e = t->slots[i];
	if (e && same_handle(&e->k, k))
		return e;
	if (e == NULL) {
		if (2 * (t->n + 1) > t->cap) {
			grow(t);
			i = slot_of(t, k->dev, k->ino);
		}
		e = t->slots[i] = sb_xcalloc(1, sizeof(*e));
		t->n++;
	}
	free(e->src);
	memset(e, 0, sizeof(*e));
	e->k = *k;
	e->uid = e->gid = SB_OWNER_UNSET;
	return e;
}

static int log_line(int logfd, char kind, const struct sb_jkey *k, unsigned long long a,
		    unsigned long long b)
{
	if (logfd < 0)
		return 0;
	char hex[2 * SB_JHANDLE_MAX + 2] = "-";
	for (unsigned i = 0; i < k->hlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", k->h[i]);
	char line[256];
	int n = snprintf(line, sizeof(line), "%c %llu %llu %d %s %llu %llu\n", kind,
			 (unsigned long long)k->dev, (unsigned long long)k->ino, k->htype, hex, a,
			 b);
	ssize_t w;
	while ((w = write(logfd, line, (size_t)n)) < 0 && errno == EINTR)
		;
	if (w == n)
		return 0;
	if (w >= 0)
		errno = ENOSPC;
	return -1;
}

int sb_jtable_chown(struct sb_jtable *t, const struct sb_jkey *k, uint32_t uid, uint32_t gid,
		    int logfd)
{
	struct sb_jentry *e = get_or_reset(t, k);
	if (uid != SB_OWNER_UNSET)
		e->uid = uid;
	if (gid != SB_OWNER_UNSET)
		e->gid = gid;
	return log_line(logfd, 'C', k, uid, gid);
}

int sb_jtable_mknod(struct sb_jtable *t, const struct sb_jkey *k, uint32_t mode, dev_t rdev,
		    int logfd)
{
	struct sb_jentry *e = get_or_reset(t, k);
	e->mode = mode;
	e->rdev = rdev;
	return log_line(logfd, 'N', k, mode, (unsigned long long)rdev);
}

/* ------------------------------------------------------------------ replay */

static bool parse_key(char **s, struct sb_jkey *k)
{
	char *end;
	memset(k, 0, sizeof(*k));
	k->dev = (dev_t)strtoull(*s, &end, 10);
	k->ino = (ino_t)strtoull(end, &end, 10);
	k->htype = (int)strtol(end, &end, 10);
	while (*end == ' ')
		end++;
	if (*end == '-') {
		end++;
	} else {
		while (k->hlen < SB_JHANDLE_MAX && sscanf(end, "%2hhx", &k->h[k->hlen]) == 1) {
			k->hlen++;
			end += 2;
			if (*end == ' ')
				break;
		}
	}
	*s = end;
	return *end == ' ';
}

int sb_jtable_replay(struct sb_jtable *t, int logfd, off_t from, sb_error_t *err)
{
	off_t end = lseek(logfd, 0, SEEK_END);
	if (end < 0)
		return sb_error_set(err, errno, "ownership journal log");
	off_t size = end > from ? end - from : 0;
	char *text = sb_xmalloc((size_t)size + 1);
	ssize_t n = pread(logfd, text, (size_t)size, from);
	if (n != size) {
		free(text);
		return sb_error_set(err, n < 0 ? errno : EIO, "reading the ownership journal log");
	}
	text[size] = '\0';
	for (char *l = text; *l;) {
		char *nl = strchr(l, '\n');
		if (nl == NULL)
			break; /* a torn last line */
		*nl = '\0';
		struct sb_jkey k;
		char *s = l + 1;
		if ((l[0] == 'C' || l[0] == 'N') && parse_key(&s, &k)) {
			unsigned long long a = strtoull(s, &s, 10), b = strtoull(s, &s, 10);
			if (l[0] == 'C')
				sb_jtable_chown(t, &k, (uint32_t)a, (uint32_t)b, -1);
			else
				sb_jtable_mknod(t, &k, (uint32_t)a, (dev_t)b, -1);
		}
		l = nl + 1;
	}
	free(text);
	return 0;
}

/* -------------------------------------------------------------- map <-> t */

struct load_ctx {
	struct sb_jtable *t;
	int rootfd;
	struct sb_ownership *map;
};

static int load_one(void *arg, const char *path, const struct sb_owner_entry *oe)
{
	struct load_ctx *c = arg;
	cleanup_close int fd = path[0] ? sb_open_in_root(c->rootfd, path, O_PATH | O_NOFOLLOW)
				       : dup(c->rootfd);
	struct stat st;
	if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH) < 0)
		return 0; /* gone: the record stays, unused */
	if ((oe->dev != 0 || oe->ino != 0) && (oe->dev != st.st_dev || oe->ino != st.st_ino))
		return 0; /* stale */
	struct sb_jkey k;
	sb_jkey_of_fd(fd, &st, &k);
	struct sb_jentry *e = get_or_reset(c->t, &k);
	e->uid = oe->uid;
	e->gid = oe->gid;
	e->mode = oe->mode;
	e->rdev = oe->rdev;
	free(e->src); /* hard links: several records, one inode */
	e->src = sb_strdup(path);
	return 0;
}

int sb_jtable_load(struct sb_jtable *t, struct sb_ownership *map, const char *rootfs,
		   sb_error_t *err)
{
	if (map == NULL || sb_ownership_count(map) == 0)
		return 0;
	cleanup_close int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sb_error_set(err, errno, "%s", rootfs);
	struct load_ctx c = { t, rootfd, map };
	return sb_ownership_foreach(map, load_one, &c);
}

/* One decision of the walk, applied after it (sets read the records that
 * the loaded entries came from, so nothing is removed before). */
struct mat_item {
	char *path;
	struct sb_jentry *e; /* NULL: drop path's record */
	struct stat st;
};

struct mat_ctx {
	struct sb_jtable *t;
	struct sb_ownership *map;
	size_t rootlen;
	struct mat_item *items;
	size_t n, cap;
};

static struct mat_ctx *mat_cur; /* nftw has no context argument */

static int mat_visit(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	struct mat_ctx *c = mat_cur;
	const char *rel = fpath + c->rootlen;
	while (*rel == '/')
		rel++;
	struct sb_jkey k = { .dev = st->st_dev, .ino = st->st_ino };
	struct sb_jentry *e = c->t->slots[slot_of(c->t, k.dev, k.ino)];
	if (e == NULL && sb_ownership_get(c->map, rel) == NULL)
		return 0;
	if (e != NULL) {
		int fd = open(fpath, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			sb_jkey_of_fd(fd, st, &k);
			close(fd);
		}
		if (fd < 0 || !same_handle(&e->k, &k))
			e = NULL; /* a new file on a journaled inode number */
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->items = sb_xrealloc(c->items, c->cap * sizeof(*c->items));
	}
	c->items[c->n++] = (struct mat_item){ sb_strdup(rel), e, *st };
	return 0;
}

static void mat_apply(struct mat_ctx *c, struct mat_item *it)
{
	struct sb_jentry *e = it->e;
	const struct sb_owner_entry *base = e->src ? sb_ownership_get(c->map, e->src) : NULL;
	struct sb_owner_entry oe = { .uid = SB_OWNER_UNSET, .gid = SB_OWNER_UNSET };
	if (base)
		oe = *base; /* its xattrs are copied by sb_ownership_set */
	oe.uid = e->uid;
	oe.gid = e->gid;
	oe.mode = e->mode;
	oe.rdev = e->rdev;
	/* mknod -m chmods the placeholder afterwards: its current bits win. */
	if (S_ISCHR(e->mode) || S_ISBLK(e->mode))
		oe.mode = (e->mode & S_IFMT) | (it->st.st_mode & 07777);
	oe.dev = it->st.st_dev;
	oe.ino = it->st.st_ino;
	sb_ownership_set(c->map, it->path, &oe);
}

int sb_jtable_materialize(struct sb_jtable *t, struct sb_ownership *map, const char *rootfs,
			  sb_error_t *err)
{
	if (map == NULL || (t->n == 0 && sb_ownership_count(map) == 0))
		return 0;
	struct mat_ctx c = { .t = t, .map = map, .rootlen = strlen(rootfs) };
	mat_cur = &c;
	int rc = nftw(rootfs, mat_visit, 64, FTW_PHYS | FTW_MOUNT);
	mat_cur = NULL;
	if (rc != 0)
		rc = sb_error_set(err, errno, "walking %s for the ownership journal", rootfs);
	for (size_t i = 0; rc == 0 && i < c.n; i++)
		if (c.items[i].e)
			mat_apply(&c, &c.items[i]);
	for (size_t i = 0; i < c.n; i++) {
		if (rc == 0 && c.items[i].e == NULL)
			sb_ownership_remove(map, c.items[i].path);
		free(c.items[i].path);
	}
	free(c.items);
	return rc;
}
