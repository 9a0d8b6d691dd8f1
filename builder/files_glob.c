/* builder/files_glob.c: a %files source as a shell word: quote removal and
 * pathname expansion with bash's globstar and extglob rules, on the host or
 * inside a stage's root filesystem. */
#include "builder/files_internal.h"

#include <ctype.h>
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

/* One word after brace expansion, the way Apptainer's shell-word expansion
 * reads it (a here-document body: quotes are ordinary characters, a
 * backslash drops itself and keeps the next character, but does not stop it
 * from globbing; a space is always literal). lit is the result, glob tells
 * whether it holds '*', '?' or '[' (only then is it a pattern). */
struct word {
	struct sb_strbuf lit;
	bool glob;
};

static bool param_start(char ch)
{
	return ch == '{' || ch == '(' || ch == '_' || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || (ch && strchr("@*#?$!-", ch));
}

static int parse_word(const char *s, struct word *w, sb_error_t *err)
{
	sb_strbuf_adds(&w->lit, "");
	for (size_t i = 0; s[i]; i++) {
		char ch = s[i];
		if (ch == '`' || (ch == '$' && param_start(s[i + 1])))
			return sb_error_set_status(err, 2, 0,
						   "shell expansion ('%.2s') is not supported; escape "
						   "it with '\\'",
						   s + i);
		if (ch == '\\' && s[i + 1] && s[i + 1] != ' ')
			ch = s[++i];
		if (ch == '*' || ch == '?' || ch == '[')
			w->glob = true;
		sb_strbuf_addc(&w->lit, ch);
	}
	return 0;
}

/* Brace expansion: the first "{...}" with a top-level ',' or a valid
 * sequence ({1..5}, {a..e}, {01..10..3}) is expanded, then the results
 * again; other braces stay. At most BRACE_MAX words. */
#define BRACE_MAX 4096

static size_t brace_close(const char *s, size_t o, bool *comma)
{
	int depth = 0;
	*comma = false;
	for (size_t i = o; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1]) {
			i++;
		} else if (s[i] == '{') {
			depth++;
		} else if (s[i] == '}' && --depth == 0) {
			return i;
		} else if (s[i] == ',' && depth == 1) {
			*comma = true;
		}
	}
	return 0;
}

static bool parse_long(const char *s, long *v)
{
	char *e;
	errno = 0;
	*v = strtol(s, &e, 10);
	return *s && *e == '\0' && errno == 0 && *v > -1000000000L && *v < 1000000000L;
}

static bool zero_padded(const char *s)
{
	s += *s == '-';
	return s[0] == '0' && s[1] != '\0';
}

/* A sequence body "A..B[..STEP]" (numbers or single letters): its words go
 * to alts; false when body is not one. */
static bool brace_sequence(const char *body, struct files_list *alts)
{
	const char *d1 = strstr(body, "..");
	if (d1 == NULL)
		return false;
	const char *d2 = strstr(d1 + 2, "..");
	cleanup_free char *a = sb_strndup(body, (size_t)(d1 - body));
	cleanup_free char *b = d2 ? sb_strndup(d1 + 2, (size_t)(d2 - d1 - 2)) : sb_strdup(d1 + 2);
	long x, y, step = 1;
	if (d2 && !parse_long(d2 + 2, &step))
		return false;
	bool num = parse_long(a, &x) && parse_long(b, &y);
	if (!num) {
		if (strlen(a) != 1 || strlen(b) != 1 || !isalpha((unsigned char)*a) ||
		    !isalpha((unsigned char)*b))
			return false;
		x = (unsigned char)*a;
		y = (unsigned char)*b;
	}
	step = labs(step ? step : 1);
	int width = 0;
	if (num && (zero_padded(a) || zero_padded(b)))
		width = (int)(strlen(a) > strlen(b) ? strlen(a) : strlen(b));
	for (long v = x, k = 0; (x <= y ? v <= y : v >= y) && k <= BRACE_MAX;
	     v += x <= y ? step : -step, k++)
		files_list_add(alts, num ? sb_asprintf("%0*ld", width, v) : sb_asprintf("%c", (char)v));
	return true;
}

/* The comma-separated alternatives of a brace body (nested braces kept). */
static void brace_alternatives(const char *body, struct files_list *alts)
{
	int depth = 0;
	size_t start = 0;
	for (size_t i = 0;; i++) {
		if (body[i] == '\\' && body[i + 1]) {
			i++;
		} else if (body[i] == '{') {
			depth++;
		} else if (body[i] == '}') {
			depth--;
		} else if ((body[i] == ',' && depth == 0) || body[i] == '\0') {
			files_list_add(alts, sb_strndup(body + start, i - start));
			start = i + 1;
			if (body[i] == '\0')
				return;
		}
	}
}

static int brace_expand(const char *s, struct files_list *out, sb_error_t *err)
{
	for (size_t o = 0; s[o]; o++) {
		if (s[o] == '\\' && s[o + 1]) {
			o++;
			continue;
		}
		bool comma;
		size_t c = s[o] == '{' ? brace_close(s, o, &comma) : 0;
		if (c == 0)
			continue;
		struct files_list alts = { NULL, 0 };
		cleanup_free char *body = sb_strndup(s + o + 1, c - o - 1);
		if (comma)
			brace_alternatives(body, &alts);
		else if (!brace_sequence(body, &alts))
			continue;
		int r = 0;
		for (size_t i = 0; r == 0 && i < alts.n; i++) {
			cleanup_free char *w = sb_asprintf("%.*s%s%s", (int)o, s, alts.v[i], s + c + 1);
			r = brace_expand(w, out, err);
			if (r == 0 && out->n > BRACE_MAX)
				r = sb_error_set_status(err, 2, 0, "brace expansion gives more than %d words",
							BRACE_MAX);
		}
		files_list_free(&alts);
		return r;
	}
	files_list_add(out, sb_strdup(s));
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
static void walk_globstar(struct globber *g, const char *path, size_t i, bool nested)
{
	bool last = i + 1 == g->n;
	if (!last)
		walk(g, path, i + 1, true);
	else if (*path && !nested)
		files_list_add(g->out, join(path, ""));
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
			walk_globstar(g, p, i, true);
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
		return walk_globstar(g, path, i, false);
	if (is_pattern(comp))
		return walk_pattern(g, path, i);
	cleanup_free char *p = join(path, comp);
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
	for (size_t i = 0; i < comps->n; i++)
		sb_strbuf_addf(&sb, "%s%s", i ? "/" : "", comps->v[i]);
	return sb_strbuf_detach(&sb, NULL);
}

static int expand_one(const char *word, int rootfd, int basefd, struct files_list *l,
		      sb_error_t *err)
{
	struct word w = { SB_STRBUF_INIT, false };
	struct files_list comps = { NULL, 0 };
	int r = parse_word(word, &w, err);
	if (r < 0)
		goto out;
	bool in_root = rootfd >= 0;
	const char *rest = w.lit.buf;
	if (!in_root)
		rest += strspn(rest, "/");
	split(rest, in_root, &comps);
	if (w.glob) {
		struct globber g = { rootfd, basefd, comps.v, comps.n, l };
		size_t before = l->n;
		walk(&g, in_root || w.lit.buf[0] == '/' ? "/" : "", 0, true);
		if (l->n > before) {
			qsort(l->v + before, l->n - before, sizeof(*l->v), cmp_str);
			goto out;
		}
	}
	files_list_add(l, literal(&w, in_root, &comps));
out:
	sb_strbuf_release(&w.lit);
	files_list_free(&comps);
	return r;
}

int files_expand(const char *word, int rootfd, const char *base, struct files_list *l,
		 sb_error_t *err)
{
	struct files_list words = { NULL, 0 };
	int r = brace_expand(word, &words, err);
	int basefd = AT_FDCWD;
	if (r == 0 && rootfd < 0 && base && *base) {
		basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (basefd < 0)
			r = sb_error_set(err, errno, "opening the working directory %s", base);
	}
	for (size_t i = 0; r == 0 && i < words.n; i++)
		r = expand_one(words.v[i], rootfd, basefd, l, err);
	if (basefd >= 0)
		close(basefd);
	files_list_free(&words);
	return r;
}
