/* builder/files.c: %files, %files from STAGE and %appfiles (see files.h):
 * source expansion, destination resolution inside the rootfs, then the
 * copier of files_copy.c. */
#include "builder/files.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/files_internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/ownership.h"
#include "common/strbuf.h"

/* The last component of path (trailing slashes ignored), "" for "/". */
static char *base_name(const char *path)
{
	size_t l = strlen(path);
	while (l > 0 && path[l - 1] == '/')
		l--;
	size_t s = l;
	while (s > 0 && path[s - 1] != '/')
		s--;
	return sb_strndup(path + s, l - s);
}

/* path's parent and last component for openat: ("x/y/", "z") style; the
 * parent is "." or "/" when there is no slash or only the leading one. */
static char *split_parent(const char *path, char **name)
{
	size_t l = strlen(path);
	while (l > 1 && path[l - 1] == '/')
		l--;
	size_t s = l;
	while (s > 0 && path[s - 1] != '/')
		s--;
	*name = s == l ? sb_strdup(".") : sb_strndup(path + s, l - s);
	if (s == 0)
		return sb_strdup(".");
	return s == 1 ? sb_strdup("/") : sb_strndup(path, s - 1);
}

static bool ends_with_slash(const char *s)
{
	size_t l = strlen(s);
	return l > 0 && s[l - 1] == '/';
}

static int stat_in_root(int rootfd, const char *rel, struct stat *st)
{
	cleanup_close int fd = sb_open_in_root(rootfd, *rel ? rel : ".", O_PATH);
	return fd < 0 ? -1 : fstat(fd, st);
}

/* The destination (clean, relative to the root) that an item named srcbase
 * lands on for `dst`: secure join, parents created (the whole path for a
 * trailing '/') when mkdirs, and into it when it is a directory. */
static char *resolve_dest(int rootfd, const char *dst, const char *srcbase, bool mkdirs,
			  sb_error_t *err)
{
	bool slash = ends_with_slash(dst);
	cleanup_free char *joined = files_secure_join(rootfd, dst);
	if (joined == NULL) {
		sb_error_set_status(err, 2, errno, "resolving the destination %s", dst);
		return NULL;
	}
	struct stat st;
	if (mkdirs && stat_in_root(rootfd, joined, &st) < 0) {
		const char *sl = strrchr(joined, '/');
		cleanup_free char *dir = slash ? sb_strdup(joined)
				       : sl    ? sb_strndup(joined, (size_t)(sl - joined))
					       : sb_strdup("");
		if (*dir && sb_mkdir_in_root(rootfd, dir, 0755, err) < 0)
			return NULL;
	}
	if (stat_in_root(rootfd, joined, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (*srcbase == '\0' || strcmp(srcbase, ".") == 0 || strcmp(srcbase, "..") == 0)
			return steal_pointer(&joined);
		return *joined ? sb_asprintf("%s/%s", joined, srcbase) : sb_strdup(srcbase);
	}
	if (slash) {
		sb_error_set_status(err, 2, ENOTDIR, "destination %s", dst);
		return NULL;
	}
	return steal_pointer(&joined);
}

/* Apptainer builds with umask 0002; every copy here runs with it. */
#define FILES_UMASK 0002

/* cp -fLr of the host path src (relative to basefd) to dst in the root. */
static int copy_host_one(const struct files_ctx *c, int rootfd, int basefd, const char *src,
			 const char *dst, bool mkdirs, sb_error_t *err)
{
	cleanup_free char *sb = base_name(src);
	cleanup_free char *rel = resolve_dest(rootfd, dst, sb, mkdirs, err);
	if (rel == NULL)
		return -1;
	cleanup_free char *sname = NULL;
	cleanup_free char *sparent = split_parent(src, &sname);
	cleanup_close int sdirfd = openat(basefd, sparent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sdirfd < 0)
		return sb_error_set_status(err, errno == ENOENT || errno == ENOTDIR ? 2 : 1, errno,
					   "reading %s", src);
	struct files_copier cp = { .mode = FILES_CP, .rootfd = rootfd, .umask = FILES_UMASK,
				   .warn = c->warn, .warn_ctx = c->warn_ctx };
	int r = files_copy_tree(&cp, sdirfd, sname, src, rel, err);
	files_copier_release(&cp);
	return r;
}

static int open_root(const char *rootfs, sb_error_t *err)
{
	int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		sb_error_set(err, errno, "opening the root filesystem %s", rootfs);
	return fd;
}

static int open_base(const struct files_ctx *c, sb_error_t *err)
{
	const char *cwd = c->cwd && *c->cwd ? c->cwd : ".";
	int fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		sb_error_set(err, errno, "opening the working directory %s", cwd);
	return fd;
}

static bool empty_source(const struct files_ctx *c, const struct defparse_transfer *t)
{
	if (t->src != NULL && *t->src != '\0')
		return false;
	sb_warnf(c->warn, c->warn_ctx, "Attempt to copy file with no name, skipping.");
	return true;
}

static int host_impl(const struct files_ctx *c, const char *rootfs,
		     const struct defparse_transfer *t, sb_error_t *err)
{
	if (empty_source(c, t))
		return 0;
	cleanup_close int rootfd = open_root(rootfs, err);
	cleanup_close int basefd = rootfd < 0 ? -1 : open_base(c, err);
	struct files_list srcs = { NULL, 0 };
	int r = basefd < 0 ? -1 : files_expand(t->src, -1, c->cwd, &srcs, err);
	for (size_t i = 0; r == 0 && i < srcs.n; i++) {
		const char *dst = t->dst && *t->dst ? t->dst : srcs.v[i];
		r = copy_host_one(c, rootfd, basefd, srcs.v[i], dst, true, err);
	}
	files_list_free(&srcs);
	if (r < 0)
		sb_error_wrap(err, "%s:%d: %%files: %s", c->deffile, t->line, t->src);
	return r;
}

/* Carries the source stage's ownership records of res (and below) to rel. */
struct carry {
	const struct files_ctx *c;
	int srcfd, rootfd;
	const char *res, *rel;
	size_t res_len;
};

static int stat_nofollow(int rootfd, const char *rel, struct stat *st)
{
	cleanup_close int fd = sb_open_in_root(rootfd, *rel ? rel : ".", O_PATH | O_NOFOLLOW);
	return fd < 0 ? -1 : fstat(fd, st);
}

static int carry_one(void *ctx, const char *path, const struct sb_owner_entry *e)
{
	(void)e;
	struct carry *k = ctx;
	if (k->res_len && (strncmp(path, k->res, k->res_len) != 0 ||
			   (path[k->res_len] != '\0' && path[k->res_len] != '/')))
		return 0;
	/* rest: "" for res itself, "/x/y" below it; with res the root, path */
	const char *rest = path + k->res_len;
	struct stat sst, dst;
	if (stat_nofollow(k->srcfd, path, &sst) < 0)
		return 0;
	const struct sb_owner_entry *valid = sb_ownership_lookup(k->c->src_owners, path, &sst);
	if (valid == NULL)
		return 0;
	cleanup_free char *to = NULL;
	if (k->res_len == 0 && *k->rel && *rest)
		to = sb_asprintf("%s/%s", k->rel, rest);
	else if (*k->rel)
		to = sb_asprintf("%s%s", k->rel, rest);
	else
		to = sb_strdup(*rest == '/' ? rest + 1 : rest);
	if (stat_nofollow(k->rootfd, to, &dst) < 0)
		return 0;
	struct sb_owner_entry copy = *valid;
	copy.dev = dst.st_dev;
	copy.ino = dst.st_ino;
	sb_ownership_set(k->c->dst_owners, to, &copy);
	return 0;
}

static void carry_records(const struct files_ctx *c, int srcfd, int rootfd, const char *res,
			  const char *rel)
{
	if (c->src_owners == NULL || c->dst_owners == NULL)
		return;
	struct carry k = { c, srcfd, rootfd, res, rel, strlen(res) };
	sb_ownership_foreach(c->src_owners, carry_one, &k);
}

/* Tar-like copy of the stage path m (clean, "/..." inside srcfd's root). */
static int copy_stage_one(const struct files_ctx *c, int srcfd, int rootfd, const char *m,
			  const char *dst, sb_error_t *err)
{
	cleanup_free char *res = files_secure_join(srcfd, m);
	if (res == NULL)
		return sb_error_set_status(err, 2, errno, "resolving %s in the stage", m);
	cleanup_free char *sb = base_name(m);
	cleanup_free char *rel = resolve_dest(rootfd, dst, sb, true, err);
	if (rel == NULL)
		return -1;
	cleanup_free char *sname = NULL;
	cleanup_free char *sparent = split_parent(*res ? res : ".", &sname);
	cleanup_close int sdirfd = sb_open_in_root(srcfd, sparent, O_PATH | O_DIRECTORY);
	if (sdirfd < 0)
		return sb_error_set_status(err, errno == ENOENT || errno == ENOTDIR ? 2 : 1, errno,
					   "reading %s in the stage", m);
	struct files_copier cp = { .mode = FILES_TAR, .rootfd = rootfd, .umask = FILES_UMASK,
				   .warn = c->warn, .warn_ctx = c->warn_ctx };
	cleanup_free char *spath = sb_asprintf("%s (stage)", m);
	int r = files_copy_tree(&cp, sdirfd, sname, spath, rel, err);
	files_copier_release(&cp);
	if (r == 0)
		carry_records(c, srcfd, rootfd, res, rel);
	return r;
}

static int stage_impl(const struct files_ctx *c, const char *src_rootfs, const char *rootfs,
		      const struct defparse_transfer *t, sb_error_t *err)
{
	if (empty_source(c, t))
		return 0;
	cleanup_close int rootfd = open_root(rootfs, err);
	cleanup_close int srcfd = rootfd < 0 ? -1 : open_root(src_rootfs, err);
	struct files_list srcs = { NULL, 0 };
	int r = srcfd < 0 ? -1 : files_expand(t->src, srcfd, NULL, &srcs, err);
	for (size_t i = 0; r == 0 && i < srcs.n; i++) {
		const char *dst = t->dst && *t->dst ? t->dst : srcs.v[i];
		r = copy_stage_one(c, srcfd, rootfd, srcs.v[i], dst, err);
	}
	files_list_free(&srcs);
	if (r < 0)
		sb_error_wrap(err, "%s:%d: %%files: %s", c->deffile, t->line, t->src);
	return r;
}

/* Lexical clean of "scif/apps/APP/dst" (like Go's filepath.Join): ".."
 * never goes above the root. */
static char *app_dest(const char *app, const char *dst)
{
	cleanup_free char *raw = sb_asprintf("scif/apps/%s/%s", app, dst);
	struct sb_strbuf out = SB_STRBUF_INIT;
	sb_strbuf_adds(&out, "/");
	for (char *p = raw; *p;) {
		size_t l = strcspn(p, "/");
		if (l == 2 && strncmp(p, "..", 2) == 0) {
			char *sl = strrchr(out.buf, '/');
			out.len = sl && sl != out.buf ? (size_t)(sl - out.buf) : 1;
			out.buf[out.len] = '\0';
		} else if (l > 0 && !(l == 1 && *p == '.')) {
			if (out.len > 1)
				sb_strbuf_addc(&out, '/');
			sb_strbuf_add(&out, p, l);
		}
		p += l + (p[l] == '/');
	}
	return sb_strbuf_detach(&out, NULL);
}

static char *trim(char *s)
{
	s += strspn(s, " \t\r\v\f");
	size_t l = strlen(s);
	while (l > 0 && strchr(" \t\r\v\f", s[l - 1]))
		s[--l] = '\0';
	return s;
}

static int app_line(const struct files_ctx *c, int rootfd, int basefd, const char *app,
		    char *line, int lineno, sb_error_t *err)
{
	line = trim(line);
	if (*line == '\0' || *line == '#')
		return 0;
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	line = trim(line);
	char *sp = strchr(line, ' ');
	const char *src = line, *dst = line;
	if (sp) {
		*sp = '\0';
		dst = trim(sp + 1);
		if (*dst == '\0')
			dst = src;
	}
	cleanup_free char *d = app_dest(app, dst);
	if (copy_host_one(c, rootfd, basefd, src, d, false, err) < 0)
		return sb_error_wrap(err, "%s:%d: %%appfiles %s: %s", c->deffile, lineno, app, src);
	return 0;
}

static int app_impl(const struct files_ctx *c, const char *rootfs, const char *app,
		    const char *body, int first_line, sb_error_t *err)
{
	if (body == NULL || *body == '\0')
		return 0;
	cleanup_close int rootfd = open_root(rootfs, err);
	cleanup_close int basefd = rootfd < 0 ? -1 : open_base(c, err);
	if (basefd < 0)
		return -1;
	cleanup_free char *copy = sb_strdup(body);
	int lineno = first_line, r = 0;
	for (char *p = copy; r == 0 && p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		r = app_line(c, rootfd, basefd, app, p, lineno++, err);
		p = nl ? nl + 1 : NULL;
	}
	return r;
}

int files_copy_from_host(const struct files_ctx *c, const char *rootfs,
			 const struct defparse_transfer *t, sb_error_t *err)
{
	mode_t saved = umask(FILES_UMASK);
	int r = host_impl(c, rootfs, t, err);
	umask(saved);
	return r;
}

int files_copy_from_stage(const struct files_ctx *c, const char *src_rootfs, const char *rootfs,
			  const struct defparse_transfer *t, sb_error_t *err)
{
	mode_t saved = umask(FILES_UMASK);
	int r = stage_impl(c, src_rootfs, rootfs, t, err);
	umask(saved);
	return r;
}

int files_copy_app(const struct files_ctx *c, const char *rootfs, const char *app,
		   const char *body, int first_line, sb_error_t *err)
{
	mode_t saved = umask(FILES_UMASK);
	int r = app_impl(c, rootfs, app, body, first_line, err);
	umask(saved);
	return r;
}
