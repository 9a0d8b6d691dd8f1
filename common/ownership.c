/* common/ownership.c: the build's ownership map (see ownership.h).
 *
 * A chained hash table keyed by normalised path. A second index by inode
 * (a sorted array) is rebuilt lazily after changes: the packer looks up every
 * file of the tree, the unpacker and the sandbox change the map in bursts. */
#include "common/ownership.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct node {
	char *path;
	size_t hash;
	struct sb_owner_entry e;
	struct node *next;
};

struct sb_ownership {
	struct node **buckets;
	size_t n_buckets;
	size_t count;
	struct node **by_inode; /* records with an identity, sorted by (dev, ino) */
	size_t n_by_inode;
	bool inode_stale;
};

static size_t hash_path(const char *s)
{
	size_t h = 1469598103934665603u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

char *sb_ownership_normalise(const char *path)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			sb_strbuf_release(&sb);
			errno = EINVAL;
			return NULL;
		}
		if (!(n == 1 && p[0] == '.')) {
			if (sb.len > 0)
				sb_strbuf_addc(&sb, '/');
			sb_strbuf_add(&sb, p, n);
		}
		p += n;
	}
	return sb_strbuf_detach(&sb, NULL);
}

struct sb_ownership *sb_ownership_new(void)
{
	struct sb_ownership *m = sb_xcalloc(1, sizeof(*m));
	m->n_buckets = 64;
	m->buckets = sb_xcalloc(m->n_buckets, sizeof(*m->buckets));
	return m;
}

static void entry_clear(struct sb_owner_entry *e)
{
	for (size_t i = 0; i < e->n_xattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	e->xattrs = NULL;
	e->n_xattrs = 0;
}

static void entry_copy(struct sb_owner_entry *dst, const struct sb_owner_entry *src)
{
	*dst = *src;
	dst->xattrs = NULL;
	dst->n_xattrs = 0;
	if (src->n_xattrs == 0)
		return;
	dst->xattrs = sb_xcalloc(src->n_xattrs, sizeof(*dst->xattrs));
	for (size_t i = 0; i < src->n_xattrs; i++) {
		dst->xattrs[i].name = sb_strdup(src->xattrs[i].name);
		dst->xattrs[i].value = sb_xmalloc(src->xattrs[i].size);
		memcpy(dst->xattrs[i].value, src->xattrs[i].value, src->xattrs[i].size);
		dst->xattrs[i].size = src->xattrs[i].size;
	}
	dst->n_xattrs = src->n_xattrs;
}

static void node_free(struct node *n)
{
	entry_clear(&n->e);
	free(n->path);
	free(n);
}

void sb_ownership_free(struct sb_ownership *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct node *n = m->buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			node_free(n);
		}
	}
	free(m->buckets);
	free(m->by_inode);
	free(m);
}

size_t sb_ownership_count(const struct sb_ownership *m)
{
	return m->count;
}

/* The node of normalised path key, and the link that points at it. */
static struct node **find_link(const struct sb_ownership *m, const char *key, size_t h)
{
	struct node **l = &m->buckets[h % m->n_buckets];
	for (; *l; l = &(*l)->next)
		if ((*l)->hash == h && strcmp((*l)->path, key) == 0)
			return l;
	return l;
}

static void grow(struct sb_ownership *m)
{
	size_t nb = m->n_buckets * 2;
	struct node **b = sb_xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct node *n = m->buckets[i], *next;
		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash % nb];
			b[n->hash % nb] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
}

/* The node for normalised key, created empty (nothing recorded) if needed. */
static struct node *get_or_add(struct sb_ownership *m, const char *key)
{
	size_t h = hash_path(key);
	struct node **l = find_link(m, key, h);
	if (*l)
		return *l;
	struct node *n = sb_xcalloc(1, sizeof(*n));
	n->path = sb_strdup(key);
	n->hash = h;
	n->e.uid = n->e.gid = SB_OWNER_UNSET;
	*l = n;
	m->count++;
	m->inode_stale = true;
	if (m->count > m->n_buckets)
		grow(m);
	return n;
}

int sb_ownership_set(struct sb_ownership *m, const char *path, const struct sb_owner_entry *e)
{
	cleanup_free char *key = sb_ownership_normalise(path);
	if (key == NULL)
		return -1;
	struct sb_owner_entry copy; /* e may point into the record it replaces */
	entry_copy(&copy, e);
	struct node *n = get_or_add(m, key);
	entry_clear(&n->e);
	n->e = copy;
	m->inode_stale = true;
	return 0;
}

const struct sb_owner_entry *sb_ownership_get(const struct sb_ownership *m, const char *path)
{
	cleanup_free char *key = sb_ownership_normalise(path);
	if (key == NULL)
		return NULL;
	struct node *n = *find_link(m, key, hash_path(key));
	return n ? &n->e : NULL;
}

int sb_ownership_add_xattr(struct sb_ownership *m, const char *path, const char *name,
			   const void *value, size_t size)
{
	cleanup_free char *key = sb_ownership_normalise(path);
	if (key == NULL)
		return -1;
	struct sb_owner_entry *e = &get_or_add(m, key)->e;
	size_t i = 0;
	while (i < e->n_xattrs && strcmp(e->xattrs[i].name, name) != 0)
		i++;
	if (i == e->n_xattrs) {
		e->xattrs = sb_xrealloc(e->xattrs, (e->n_xattrs + 1) * sizeof(*e->xattrs));
		e->xattrs[i].name = sb_strdup(name);
		e->n_xattrs++;
	} else {
		free(e->xattrs[i].value);
	}
	e->xattrs[i].value = sb_xmalloc(size);
	memcpy(e->xattrs[i].value, value, size);
	e->xattrs[i].size = size;
	return 0;
}

static bool remove_key(struct sb_ownership *m, const char *key)
{
	struct node **l = find_link(m, key, hash_path(key));
	if (*l == NULL)
		return false;
	struct node *n = *l;
	*l = n->next;
	node_free(n);
	m->count--;
	m->inode_stale = true;
	return true;
}

bool sb_ownership_remove(struct sb_ownership *m, const char *path)
{
	cleanup_free char *key = sb_ownership_normalise(path);
	return key ? remove_key(m, key) : false;
}

static bool under(const char *p, const char *root)
{
	size_t n = strlen(root);
	if (n == 0)
		return true;
	return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Unlinks every node at or below key from the table; returns them chained. */
static struct node *take_tree(struct sb_ownership *m, const char *key, size_t *count)
{
	struct node *taken = NULL;
	*count = 0;
	for (size_t i = 0; i < m->n_buckets && m->count > 0; i++) {
		struct node **l = &m->buckets[i];
		while (*l) {
			struct node *n = *l;
			if (!under(n->path, key)) {
				l = &n->next;
				continue;
			}
			*l = n->next;
			n->next = taken;
			taken = n;
			m->count--;
			(*count)++;
		}
	}
	if (*count)
		m->inode_stale = true;
	return taken;
}

size_t sb_ownership_remove_tree(struct sb_ownership *m, const char *path)
{
	cleanup_free char *key = sb_ownership_normalise(path);
	if (key == NULL || m->count == 0)
		return 0;
	size_t count;
	struct node *n = take_tree(m, key, &count), *next;
	for (; n; n = next) {
		next = n->next;
		node_free(n);
	}
	return count;
}

int sb_ownership_link(struct sb_ownership *m, const char *newpath, const char *target)
{
	cleanup_free char *nk = sb_ownership_normalise(newpath);
	cleanup_free char *tk = sb_ownership_normalise(target);
	if (nk == NULL || tk == NULL)
		return -1;
	struct node *t = *find_link(m, tk, hash_path(tk));
	if (t == NULL) {
		remove_key(m, nk);
		return 0;
	}
	struct sb_owner_entry copy;
	entry_copy(&copy, &t->e);
	struct node *n = get_or_add(m, nk);
	entry_clear(&n->e);
	n->e = copy;
	return 0;
}

int sb_ownership_rename(struct sb_ownership *m, const char *from, const char *to)
{
	cleanup_free char *fk = sb_ownership_normalise(from);
	cleanup_free char *tk = sb_ownership_normalise(to);
	if (fk == NULL || tk == NULL)
		return -1;
	if (*fk == '\0' || under(tk, fk)) {
		errno = EINVAL;
		return strcmp(fk, tk) == 0 ? 0 : -1;
	}
	size_t count;
	struct node *moved = take_tree(m, fk, &count), *next;
	sb_ownership_remove_tree(m, tk);
	size_t fl = strlen(fk);
	for (struct node *n = moved; n; n = next) {
		next = n->next;
		const char *rest = n->path + fl;
		char *np = *tk ? sb_asprintf("%s%s", tk, rest) : sb_strdup(rest[0] ? rest + 1 : "");
		struct node *d = get_or_add(m, np);
		entry_clear(&d->e);
		d->e = n->e;
		n->e.xattrs = NULL;
		n->e.n_xattrs = 0;
		free(np);
		node_free(n);
	}
	return 0;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
	if (x->e.dev != y->e.dev)
		return x->e.dev < y->e.dev ? -1 : 1;
	if (x->e.ino != y->e.ino)
		return x->e.ino < y->e.ino ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void rebuild_inode_index(struct sb_ownership *m)
{
	free(m->by_inode);
	m->by_inode = sb_xcalloc(m->count ? m->count : 1, sizeof(*m->by_inode));
	m->n_by_inode = 0;
	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct node *n = m->buckets[i]; n; n = n->next)
			if (n->e.dev != 0 || n->e.ino != 0)
				m->by_inode[m->n_by_inode++] = n;
	qsort(m->by_inode, m->n_by_inode, sizeof(*m->by_inode), cmp_inode);
	m->inode_stale = false;
}

const struct sb_owner_entry *sb_ownership_lookup(struct sb_ownership *m, const char *path,
						 const struct stat *st)
{
	if (m == NULL || m->count == 0)
		return NULL;
	cleanup_free char *key = sb_ownership_normalise(path);
	if (key == NULL)
		return NULL;
	struct node *n = *find_link(m, key, hash_path(key));
	if (n && ((n->e.dev == 0 && n->e.ino == 0) ||
		  (n->e.dev == st->st_dev && n->e.ino == st->st_ino)))
		return &n->e;
	return NULL;
}

const struct sb_owner_entry *sb_ownership_find_inode(struct sb_ownership *m, dev_t dev, ino_t ino,
						     const char **path)
{
	if (m == NULL || m->count == 0)
		return NULL;
	if (m->inode_stale)
		rebuild_inode_index(m);
	size_t lo = 0, hi = m->n_by_inode;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct node *x = m->by_inode[mid];
		if (x->e.dev == dev && x->e.ino == ino) {
			if (path)
				*path = x->path;
			return &x->e;
		}
		if (x->e.dev < dev || (x->e.dev == dev && x->e.ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void sb_ownership_resolve(const struct sb_owner_entry *e, const struct stat *st, uint32_t *uid,
			  uint32_t *gid, uint32_t *mode, dev_t *rdev)
{
	if (e == NULL)
		return;
	if (e->uid != SB_OWNER_UNSET)
		*uid = e->uid;
	if (e->gid != SB_OWNER_UNSET)
		*gid = e->gid;
	if (e->mode == 0)
		return;
	*mode = (*mode & ~07777u) | (e->mode & 07777u);
	uint32_t t = e->mode & S_IFMT;
	bool node = t == S_IFCHR || t == S_IFBLK || t == S_IFIFO || t == S_IFSOCK;
	if (node && S_ISREG(st->st_mode)) {
		*mode = t | (*mode & 07777u);
		*rdev = (t == S_IFCHR || t == S_IFBLK) ? e->rdev : 0;
	}
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->path, (*(struct node *const *)b)->path);
}

int sb_ownership_foreach(const struct sb_ownership *m, sb_ownership_fn fn, void *ctx)
{
	struct node **all = sb_xcalloc(m->count ? m->count : 1, sizeof(*all));
	size_t k = 0;
	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct node *n = m->buckets[i]; n; n = n->next)
			all[k++] = n;
	qsort(all, k, sizeof(*all), cmp_path);
	int r = 0;
	for (size_t i = 0; i < k && r == 0; i++)
		r = fn(ctx, all[i]->path, &all[i]->e);
	free(all);
	return r;
}

long sb_ownership_rekey(struct sb_ownership *m, int rootfd, sb_error_t *err)
{
	long dropped = 0;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct node **l = &m->buckets[i];
		while (*l) {
			struct node *n = *l;
			struct stat st;
			const char *p = n->path[0] ? n->path : ".";
			if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				n->e.dev = st.st_dev;
				n->e.ino = st.st_ino;
				l = &n->next;
				continue;
			}
			if (errno != ENOENT && errno != ENOTDIR)
				return sb_error_set(err, errno, "ownership map: checking %s", n->path);
			*l = n->next;
			node_free(n);
			m->count--;
			dropped++;
		}
	}
	m->inode_stale = true;
	return dropped;
}

/* ---------------------------------------------------------------- save/load */

static void put_escaped(FILE *f, const unsigned char *s, size_t n)
{
	if (n == 0)
		fputs("%", f); /* "%" alone stands for the empty string */
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '%')
			fprintf(f, "%%%02x", s[i]);
		else
			fputc(s[i], f);
	}
}

static int save_one(void *ctx, const char *path, const struct sb_owner_entry *e)
{
	FILE *f = ctx;
	fprintf(f, "R %ld %ld %o %u:%u %ju %ju ", e->uid == SB_OWNER_UNSET ? -1L : (long)e->uid,
		e->gid == SB_OWNER_UNSET ? -1L : (long)e->gid, e->mode, major(e->rdev),
		minor(e->rdev), (uintmax_t)e->dev, (uintmax_t)e->ino);
	put_escaped(f, (const unsigned char *)path, strlen(path));
	fputc('\n', f);
	for (size_t i = 0; i < e->n_xattrs; i++) {
		fputs("X ", f);
		put_escaped(f, (const unsigned char *)e->xattrs[i].name, strlen(e->xattrs[i].name));
		fputc(' ', f);
		put_escaped(f, e->xattrs[i].value, e->xattrs[i].size);
		fputc('\n', f);
	}
	return 0;
}

int sb_ownership_save(const struct sb_ownership *m, const char *file, sb_error_t *err)
{
	cleanup_free char *tmp = sb_asprintf("%s.tmp-%ld", file, (long)getpid());
	FILE *f = fopen(tmp, "we");
	if (f == NULL)
		return sb_error_set(err, errno, "writing the ownership map %s", tmp);
	fputs("sifbuild-ownership 1\n", f);
	sb_ownership_foreach(m, save_one, f);
	if (ferror(f) | (fclose(f) != 0) || rename(tmp, file) < 0) {
		int e = errno;
		unlink(tmp);
		return sb_error_set(err, e, "writing the ownership map %s", file);
	}
	return 0;
}

/* Decodes an escaped field in place; returns its length or -1. */
static long unescape(char *s)
{
	if (strcmp(s, "%") == 0)
		return 0;
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		unsigned v;
		if (sscanf(p + 1, "%2x", &v) != 1)
			return -1;
		*o++ = (char)v;
		p += 2;
	}
	*o = '\0';
	return o - s;
}

static int load_line(struct sb_ownership *m, char *line, char **cur)
{
	if (line[0] == 'R') {
		long uid, gid;
		unsigned mode, ma, mi;
		uintmax_t dev, ino;
		char path[8192];
		if (sscanf(line, "R %ld %ld %o %u:%u %ju %ju %8191s", &uid, &gid, &mode, &ma, &mi,
			   &dev, &ino, path) != 8 || unescape(path) < 0)
			return -1;
		struct sb_owner_entry e = { .uid = uid < 0 ? SB_OWNER_UNSET : (uint32_t)uid,
					    .gid = gid < 0 ? SB_OWNER_UNSET : (uint32_t)gid,
					    .mode = mode, .rdev = makedev(ma, mi),
					    .dev = (dev_t)dev, .ino = (ino_t)ino };
		free(*cur);
		*cur = sb_strdup(path);
		return sb_ownership_set(m, path, &e);
	}
	if (line[0] == 'X' && *cur) {
		char *name = line + 2, *val = strchr(name, ' ');
		if (val == NULL)
			return -1;
		*val++ = '\0';
		val[strcspn(val, "\n")] = '\0';
		long nl = unescape(name), vl = unescape(val);
		if (nl <= 0 || vl < 0)
			return -1;
		return sb_ownership_add_xattr(m, *cur, name, val, (size_t)vl);
	}
	return -1;
}

int sb_ownership_load(struct sb_ownership *m, const char *file, sb_error_t *err)
{
	cleanup_file FILE *f = fopen(file, "re");
	if (f == NULL)
		return sb_error_set(err, errno, "reading the ownership map %s", file);
	char *line = NULL;
	size_t cap = 0;
	cleanup_free char *cur = NULL;
	long no = 0;
	int r = 0;
	while (r == 0 && getline(&line, &cap, f) > 0) {
		no++;
		if (no == 1) {
			if (strcmp(line, "sifbuild-ownership 1\n") != 0)
				r = -1;
			continue;
		}
		r = load_line(m, line, &cur);
	}
	free(line);
	if (r < 0)
		return sb_error_set(err, 0, "%s:%ld: not a sifbuild ownership map line", file, no);
	return 0;
}
