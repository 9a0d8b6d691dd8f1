/* builder/sandbox/plan.c: the list of setup operations (no side effects). */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

struct sb_plan *sb_plan_new(const char *rootfs)
{
	struct sb_plan *p = sb_xcalloc(1, sizeof(*p));
	p->rootfs = sb_strdup(rootfs);
	p->env = sb_xcalloc(1, sizeof(char *));
	p->cwd = sb_strdup("/");
	p->stdio[0] = p->stdio[1] = p->stdio[2] = -1;
	return p;
}

void sb_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **s = v; *s != NULL; s++)
		free(*s);
	free(v);
}

void sb_plan_free(struct sb_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nops; i++) {
		free(p->ops[i].src);
		free(p->ops[i].dst);
		free(p->ops[i].data);
	}
	free(p->ops);
	sb_strv_free(p->env);
	sb_strv_free(p->argv);
	free(p->cwd);
	free(p->rootfs);
	free(p->fakeroot_state);
	free(p->journal_log);
	free(p);
}

static char *dup_or_null(const char *s)
{
	return s == NULL ? NULL : sb_strdup(s);
}

static char **strv_copy(char *const *v, size_t n)
{
	char **c = sb_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c[i] = sb_strdup(v[i]);
	return c;
}

struct sb_plan *sb_plan_copy(const struct sb_plan *p)
{
	struct sb_plan *c = sb_plan_new(p->rootfs);
	free(c->cwd);
	c->cwd = sb_strdup(p->cwd);
	sb_strv_free(c->env);
	c->env = strv_copy(p->env, p->nenv);
	c->nenv = p->nenv;
	if (p->argv != NULL) {
		c->argv = strv_copy(p->argv, (size_t)p->argc);
		c->argc = p->argc;
	}
	memcpy(c->stdio, p->stdio, sizeof(c->stdio));
	c->readonly_root = p->readonly_root;
	c->keep_uid = p->keep_uid;
	c->fakeroot_state = dup_or_null(p->fakeroot_state);
	c->owners = p->owners;
	c->journal_log = dup_or_null(p->journal_log);
	c->ops = sb_xcalloc(p->nops ? p->nops : 1, sizeof(struct sb_op));
	c->capops = p->nops ? p->nops : 1;
	for (size_t i = 0; i < p->nops; i++) {
		c->ops[i] = p->ops[i];
		c->ops[i].src = dup_or_null(p->ops[i].src);
		c->ops[i].dst = sb_strdup(p->ops[i].dst);
		c->ops[i].data = dup_or_null(p->ops[i].data);
	}
	c->nops = p->nops;
	return c;
}

char *sb_path_clean(const char *path)
{
	if (path == NULL || path[0] != '/')
		return NULL;
	struct sb_strbuf sb = SB_STRBUF_INIT;
	const char *s = path;
	while (*s != '\0') {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n == 0)
			break;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			sb_strbuf_release(&sb);
			return NULL;
		}
		if (!(n == 1 && s[0] == '.')) {
			sb_strbuf_addc(&sb, '/');
			sb_strbuf_add(&sb, s, n);
		}
		s += n;
	}
	if (sb.len == 0)
		sb_strbuf_addc(&sb, '/');
	return sb_strbuf_detach(&sb, NULL);
}

bool sb_path_under(const char *dst, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strcmp(prefix, "/") == 0)
		return true;
	return strncmp(dst, prefix, n) == 0 && (dst[n] == '\0' || dst[n] == '/');
}

static int add_op(struct sb_plan *p, enum sb_op_kind kind, const char *src, const char *dst,
		  const char *data, unsigned flags, sb_error_t *err)
{
	char *clean = sb_path_clean(dst);
	if (clean == NULL)
		return sb_error_set_status(
			err, 2, 0, "sandbox destination %s must be an absolute path without '..'",
			dst ? dst : "(null)");
	if (p->nops == p->capops) {
		p->capops = p->capops ? 2 * p->capops : 8;
		p->ops = sb_xrealloc(p->ops, p->capops * sizeof(struct sb_op));
	}
	struct sb_op *op = &p->ops[p->nops++];
	op->kind = kind;
	op->src = dup_or_null(src);
	op->dst = clean;
	op->data = dup_or_null(data);
	op->flags = flags;
	return 0;
}

int sb_plan_add_bind(struct sb_plan *p, const char *src, const char *dst, unsigned flags,
		     sb_error_t *err)
{
	if (src == NULL || src[0] == '\0')
		return sb_error_set_status(err, 2, 0, "bind source is empty");
	return add_op(p, SB_OP_BIND, src, dst, NULL, flags, err);
}

int sb_plan_add_bind_spec(struct sb_plan *p, const char *spec, sb_error_t *err)
{
	cleanup_free char *copy = sb_strdup(spec);
	char *src = copy;
	char *dst = NULL, *opt = NULL;
	char *c = strchr(copy, ':');
	if (c != NULL) {
		*c = '\0';
		dst = c + 1;
		c = strchr(dst, ':');
		if (c != NULL) {
			*c = '\0';
			opt = c + 1;
		}
	}
	unsigned flags = 0;
	if (opt != NULL) {
		if (strcmp(opt, "ro") == 0)
			flags = SB_BIND_RO;
		else if (strcmp(opt, "rw") != 0)
			return sb_error_set_status(
				err, 2, 0, "bind %s: unknown option '%s' (ro or rw)", spec, opt);
	}
	if (src[0] == '\0')
		return sb_error_set_status(err, 2, 0, "bind %s: empty source", spec);
	if (dst == NULL || dst[0] == '\0')
		dst = src;
	if (dst[0] != '/' || src[0] != '/')
		return sb_error_set_status(err, 2, 0, "bind %s: paths must be absolute", spec);
	if (add_op(p, SB_OP_BIND, src, dst, NULL, flags, err) < 0)
		return sb_error_wrap(err, "bind %s", spec);
	return 0;
}

int sb_plan_add_tmpfs(struct sb_plan *p, const char *dst, sb_error_t *err)
{
	return add_op(p, SB_OP_TMPFS, NULL, dst, NULL, 0, err);
}

int sb_plan_add_proc(struct sb_plan *p, const char *dst, sb_error_t *err)
{
	return add_op(p, SB_OP_PROC, NULL, dst, NULL, 0, err);
}

int sb_plan_add_sys(struct sb_plan *p, const char *dst, sb_error_t *err)
{
	return add_op(p, SB_OP_SYS, "/sys", dst, NULL, SB_BIND_RO, err);
}

int sb_plan_add_dev(struct sb_plan *p, const char *dst, sb_error_t *err)
{
	return add_op(p, SB_OP_DEV, NULL, dst, NULL, 0, err);
}

int sb_plan_add_file(struct sb_plan *p, const char *dst, const char *content, sb_error_t *err)
{
	return add_op(p, SB_OP_FILE, NULL, dst, content ? content : "", 0, err);
}

int sb_plan_add_standard(struct sb_plan *p, sb_error_t *err)
{
	if (sb_plan_add_proc(p, "/proc", err) < 0 || sb_plan_add_sys(p, "/sys", err) < 0 ||
	    sb_plan_add_dev(p, "/dev", err) < 0 || sb_plan_add_tmpfs(p, "/tmp", err) < 0)
		return -1;
	const unsigned f = SB_BIND_RO | SB_BIND_OPTIONAL;
	if (sb_plan_add_bind(p, "/etc/resolv.conf", "/etc/resolv.conf", f, err) < 0 ||
	    sb_plan_add_bind(p, "/etc/hosts", "/etc/hosts", f, err) < 0)
		return -1;
	return 0;
}

static ssize_t env_index(const struct sb_plan *p, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < p->nenv; i++)
		if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=')
			return (ssize_t)i;
	return -1;
}

int sb_plan_setenv(struct sb_plan *p, const char *name, const char *value, sb_error_t *err)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL)
		return sb_error_set_status(err, 2, 0, "invalid environment variable name '%s'",
					   name ? name : "(null)");
	char *kv = sb_asprintf("%s=%s", name, value ? value : "");
	ssize_t i = env_index(p, name);
	if (i >= 0) {
		free(p->env[i]);
		p->env[i] = kv;
		return 0;
	}
	p->env = sb_xrealloc(p->env, (p->nenv + 2) * sizeof(char *));
	p->env[p->nenv++] = kv;
	p->env[p->nenv] = NULL;
	return 0;
}

const char *sb_plan_getenv(const struct sb_plan *p, const char *name)
{
	ssize_t i = env_index(p, name);
	return i < 0 ? NULL : p->env[i] + strlen(name) + 1;
}

int sb_plan_set_argv(struct sb_plan *p, int argc, const char *const *argv, sb_error_t *err)
{
	if (argc <= 0 || argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return sb_error_set_status(err, 2, 0, "sandbox command is empty");
	/* Copy first: argv may point into the current vector. */
	char **copy = strv_copy((char *const *)argv, (size_t)argc);
	sb_strv_free(p->argv);
	p->argv = copy;
	p->argc = argc;
	return 0;
}

int sb_plan_set_cwd(struct sb_plan *p, const char *cwd, sb_error_t *err)
{
	char *c = sb_path_clean(cwd);
	if (c == NULL)
		return sb_error_set_status(err, 2, 0, "working directory %s must be absolute",
					   cwd ? cwd : "(null)");
	free(p->cwd);
	p->cwd = c;
	return 0;
}

void sb_plan_set_stdio(struct sb_plan *p, int in, int out, int errfd)
{
	p->stdio[0] = in;
	p->stdio[1] = out;
	p->stdio[2] = errfd;
}

int sb_plan_set_fakeroot_state(struct sb_plan *p, const char *dir, sb_error_t *err)
{
	if (dir == NULL || dir[0] != '/')
		return sb_error_set_status(err, 2, 0, "fakeroot state directory must be absolute");
	free(p->fakeroot_state);
	p->fakeroot_state = sb_strdup(dir);
	return 0;
}

void sb_plan_set_readonly_root(struct sb_plan *p, bool readonly)
{
	p->readonly_root = readonly;
}

void sb_plan_set_identity(struct sb_plan *p, bool keep_uid)
{
	p->keep_uid = keep_uid;
}

bool sb_plan_dst_in_fresh_fs(const struct sb_plan *p, size_t i)
{
	for (size_t j = 0; j < i && j < p->nops; j++) {
		enum sb_op_kind k = p->ops[j].kind;
		if (k == SB_OP_BIND)
			continue;
		if (k == SB_OP_FILE)
			continue;
		if (sb_path_under(p->ops[i].dst, p->ops[j].dst) &&
		    strcmp(p->ops[i].dst, p->ops[j].dst) != 0)
			return true;
	}
	return false;
}

int sb_plan_validate(const struct sb_plan *p, sb_error_t *err)
{
	if (p->rootfs == NULL || p->rootfs[0] != '/')
		return sb_error_set_status(err, 2, 0, "sandbox rootfs must be an absolute path");
	if (p->argv == NULL || p->argc == 0)
		return sb_error_set_status(err, 2, 0, "sandbox command is not set");
	for (size_t i = 0; i < p->nops; i++) {
		const struct sb_op *op = &p->ops[i];
		if (strcmp(op->dst, "/") == 0)
			return sb_error_set_status(err, 2, 0, "cannot mount over the sandbox root");
		if (op->kind == SB_OP_FILE && !sb_plan_dst_in_fresh_fs(p, i))
			return sb_error_set_status(
				err, 2, 0, "sandbox file %s must lie under an earlier tmpfs",
				op->dst);
	}
	return 0;
}

static const char *kind_name(enum sb_op_kind k)
{
	switch (k) {
	case SB_OP_BIND:
		return "bind";
	case SB_OP_TMPFS:
		return "tmpfs";
	case SB_OP_PROC:
		return "proc";
	case SB_OP_SYS:
		return "sys";
	case SB_OP_DEV:
		return "dev";
	case SB_OP_FILE:
		return "file";
	}
	return "?";
}

char *sb_plan_describe(const struct sb_plan *p)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (p->readonly_root)
		sb_strbuf_adds(&sb, "root ro\n");
	if (p->keep_uid)
		sb_strbuf_adds(&sb, "identity caller\n");
	for (size_t i = 0; i < p->nops; i++) {
		const struct sb_op *op = &p->ops[i];
		sb_strbuf_adds(&sb, kind_name(op->kind));
		if (op->kind == SB_OP_BIND) {
			if (op->flags & SB_BIND_RO)
				sb_strbuf_adds(&sb, " ro");
			if (op->flags & SB_BIND_OPTIONAL)
				sb_strbuf_adds(&sb, " optional");
			sb_strbuf_addf(&sb, " %s ->", op->src);
		}
		sb_strbuf_addf(&sb, " %s\n", op->dst);
	}
	return sb_strbuf_detach(&sb, NULL);
}

void sb_plan_set_ownership(struct sb_plan *p, struct sb_ownership *map)
{
	p->owners = map;
}

void sb_plan_set_journal_log(struct sb_plan *p, const char *path)
{
	free(p->journal_log);
	p->journal_log = path ? sb_strdup(path) : NULL;
}
