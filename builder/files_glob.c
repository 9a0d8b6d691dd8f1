/* builder/files_glob.c: a %files source as a shell word: quote removal and
 * pathname expansion with bash's globstar and extglob rules, on the host or
 * inside a stage's root filesystem. */
#include "builder/files_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

#ifndef FNM_EXTMATCH
#define FNM_EXTMATCH 0
#endif

/* A parsed word: the pattern (quoted characters backslash-escaped), the
 * literal text (quotes removed) and whether any unquoted glob syntax occurs. */
struct word {
	struct sb_strbuf pat, lit;
	bool glob;
};

static void add_quoted(struct word *w, char ch)
{
	if (strchr("\\*?[]()|+@!", ch))
		sb_strbuf_addc(&w->pat, '\\');
	sb_strbuf_addc(&w->pat, ch);
	sb_strbuf_addc(&w->lit, ch);
}

static void add_plain(struct word *w, const char *s, size_t i)
{
	char ch = s[i];
	if (ch == '*' || ch == '?' || ch == '[' ||
	    ((ch == '+' || ch == '@' || ch == '!') && s[i + 1] == '('))
		w->glob = true;
	sb_strbuf_addc(&w->pat, ch);
	sb_strbuf_addc(&w->lit, ch);
}

static int parse_word(const char *s, struct word *w, sb_error_t *err)
{
	sb_strbuf_adds(&w->pat, "");
	sb_strbuf_adds(&w->lit, "");
	for (size_t i = 0; s[i]; i++) {
		char ch = s[i];
		if (ch == '$' || ch == '`')
			return sb_error_set_status(err, 2, 0,
						   "shell expansion ('%c') is not supported; quote or "
						   "escape it with '\\'",
						   ch);
		if (ch == '\\') {
			add_quoted(w, s[i + 1] ? s[++i] : '\\');
		} else if (ch == '\'') {
			const char *end = strchr(s + i + 1, '\'');
			if (end == NULL)
				return sb_error_set_status(err, 2, 0, "unterminated ' quote");
			for (i++; s + i < end; i++)
				add_quoted(w, s[i]);
		} else if (ch == '"') {
			for (i++; s[i] && s[i] != '"'; i++) {
				if (s[i] == '$' || s[i] == '`')
					return sb_error_set_status(
						err, 2, 0,
						"shell expansion ('%c') is not supported; escape it "
						"with '\\'",
						s[i]);
				if (s[i] == '\\' && s[i + 1] && strchr("\\\"$`", s[i + 1]))
					i++;
				add_quoted(w, s[i]);
			}
			if (s[i] != '"')
				return sb_error_set_status(err, 2, 0, "unterminated \" quote");
		} else {
			add_plain(w, s, i);
		}
	}
	return 0;
}

static bool is_pattern(const char *comp)
{
	for (size_t i = 0; comp[i]; i++) {
		if (comp[i] == '\\') {
			if (comp[i + 1])
				i++;
			continue;
		}
		if (comp[i] == '*' || comp[i] == '?' || comp[i] == '[' ||
		    ((comp[i] == '+' || comp[i] == '@' || comp[i] == '!') && comp[i + 1] == '('))
			return true;
	}
	return false;
}

static char *unescape(const char *comp)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "");
	for (size_t i = 0; comp[i]; i++) {
		if (comp[i] == '\\' && comp[i + 1])
			i++;
		sb_strbuf_addc(&sb, comp[i]);
	}
	return sb_strbuf_detach(&sb, NULL);
}

struct globber {
	int rootfd; /* >= 0: inside a root */
	int basefd; /* host: the base directory */
	char **comps;
	size_t n;
	struct files_list *out;
};

static char *join(const char *dir, const char *name)
{
	if (*dir == '\0')
		return sb_strdup(name);
	size_t l = strlen(dir);
	return sb_asprintf("%s%s%s", dir, dir[l - 1] == '/' ? "" : "/", name);
}

static DIR *open_dir(struct globber *g, const char *path)
{
	const char *p = *path ? path : ".";
	int fd = g->rootfd >= 0 ? sb_open_in_root(g->rootfd, p, O_RDONLY | O_DIRECTORY)
				: openat(g->basefd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (d == NULL)
		close(fd);
	return d;
}

/* lstat-like existence, or (dir) whether path is a directory after following
 * symlinks (inside the root when there is one). */
static bool exists(struct globber *g, const char *path, bool dir)
{
	const char *p = *path ? path : ".";
	if (g->rootfd >= 0) {
		int fd = sb_open_in_root(g->rootfd, p, O_PATH | (dir ? O_DIRECTORY : O_NOFOLLOW));
		if (fd >= 0)
			close(fd);
		return fd >= 0;
	}
	struct stat st;
	if (fstatat(g->basefd, p, &st, dir ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return !dir || S_ISDIR(st.st_mode);
}

static bool is_real_dir(struct globber *g, DIR *d, const struct dirent *e)
{
	(void)g;
	if (e->d_type == DT_DIR)
		return true;
	if (e->d_type != DT_UNKNOWN)
		return false;
	struct stat st;
	return fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void walk(struct globber *g, const char *path, size_t i, bool verified);

/* "**": zero or more directories (symlinks not followed, hidden ones
 * skipped); as the last component every entry below path. */
static void walk_globstar(struct globber *g, const char *path, size_t i)
{
	bool last = i + 1 == g->n;
	if (!last)
		walk(g, path, i + 1, true);
	DIR *d = open_dir(g, path);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		cleanup_free char *p = join(path, e->d_name);
		if (last)
			files_list_add(g->out, sb_strdup(p));
		if (is_real_dir(g, d, e))
			walk_globstar(g, p, i);
	}
	closedir(d);
}

static void walk_pattern(struct globber *g, const char *path, size_t i)
{
	bool last = i + 1 == g->n;
	DIR *d = open_dir(g, path);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fnmatch(g->comps[i], e->d_name, FNM_PERIOD | FNM_EXTMATCH) != 0)
			continue;
		cleanup_free char *p = join(path, e->d_name);
		if (last)
			files_list_add(g->out, sb_strdup(p));
		else if (exists(g, p, true))
			walk(g, p, i + 1, true);
	}
	closedir(d);
}

static void walk(struct globber *g, const char *path, size_t i, bool verified)
{
	if (i == g->n) {
		if (verified || exists(g, path, false))
			files_list_add(g->out, sb_strdup(path));
		return;
	}
	const char *comp = g->comps[i];
	if (strcmp(comp, "**") == 0)
		return walk_globstar(g, path, i);
	if (is_pattern(comp))
		return walk_pattern(g, path, i);
	cleanup_free char *name = unescape(comp);
	cleanup_free char *p = join(path, name);
	walk(g, p, i + 1, false);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits pat on '/'; inside a root, "." and "" go and ".." drops the
 * previous component (a lexical clean, never above the root). */
static void split(const char *pat, bool in_root, struct files_list *comps)
{
	const char *p = pat;
	while (*p) {
		size_t l = strcspn(p, "/");
		char *c = sb_strndup(p, l);
		p += l;
		while (*p == '/')
			p++;
		if (in_root && (*c == '\0' || strcmp(c, ".") == 0)) {
			free(c);
		} else if (in_root && strcmp(c, "..") == 0) {
			free(c);
			if (comps->n)
				free(comps->v[--comps->n]);
		} else {
			files_list_add(comps, c);
		}
	}
}

/* The word itself when nothing matched: inside a root, the cleaned path. */
static char *literal(const struct word *w, bool in_root, struct files_list *comps)
{
	if (!in_root)
		return sb_strdup(w->lit.buf);
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "/");
	for (size_t i = 0; i < comps->n; i++) {
		cleanup_free char *u = unescape(comps->v[i]);
		sb_strbuf_addf(&sb, "%s%s", i ? "/" : "", u);
	}
	return sb_strbuf_detach(&sb, NULL);
}

int files_expand(const char *word, int rootfd, const char *base, struct files_list *l,
		 sb_error_t *err)
{
	struct word w = { SB_STRBUF_INIT, SB_STRBUF_INIT, false };
	struct files_list comps = { NULL, 0 };
	int r = parse_word(word, &w, err);
	if (r < 0)
		goto out;
	bool in_root = rootfd >= 0;
	bool absolute = in_root || w.pat.buf[0] == '/';
	const char *rest = w.pat.buf;
	if (!in_root)
		rest += strspn(rest, "/");
	split(rest, in_root, &comps);
	if (w.glob) {
		struct globber g = { rootfd, AT_FDCWD, comps.v, comps.n, l };
		if (!in_root && base && *base)
			g.basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
		size_t before = l->n;
		walk(&g, absolute ? "/" : "", 0, true);
		if (g.basefd >= 0)
			close(g.basefd);
		if (l->n > before) {
			qsort(l->v + before, l->n - before, sizeof(*l->v), cmp_str);
			goto out;
		}
	}
	files_list_add(l, literal(&w, in_root, &comps));
out:
	sb_strbuf_release(&w.pat);
	sb_strbuf_release(&w.lit);
	files_list_free(&comps);
	return r;
}
