/* bootstrap/pkgagent.c: shared parts of the package-manager agents. */
#include "bootstrap/pkgagent.h"

#include <ctype.h>
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static const struct defparse_kv *header_kv(const struct bootstrap_request *r, const char *key)
{
	for (size_t i = r->n_header; key != NULL && i-- > 0;)
		if (strcmp(r->header[i].key, key) == 0)
			return &r->header[i];
	return NULL;
}

static char *where(const struct bootstrap_request *r, const char *key)
{
	const struct defparse_kv *kv = header_kv(r, key);
	if (kv == NULL)
		kv = header_kv(r, "bootstrap");
	int line = kv ? kv->line : 0;
	if (r->def_path != NULL)
		return sb_asprintf("%s:%d", r->def_path, line);
	return sb_asprintf("line %d", line);
}

static int vheader_error(const struct bootstrap_request *r, const char *key, sb_error_t *err,
			 int status, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	cleanup_free char *w = where(r, key);
	return sb_error_set_status(err, status, 0, "%s: %s", w, buf);
}

int pkg_header_error(const struct bootstrap_request *r, const char *key, sb_error_t *err,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vheader_error(r, key, err, 2, fmt, ap);
	va_end(ap);
	return -1;
}

int pkg_tool_failed(const struct bootstrap_request *r, const char *key, sb_error_t *err,
		    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vheader_error(r, key, err, 1, fmt, ap);
	va_end(ap);
	return -1;
}

int pkg_header_wrap(const struct bootstrap_request *r, const char *key, sb_error_t *err)
{
	cleanup_free char *w = where(r, key);
	const char *agent = bootstrap_header_get(r, "bootstrap");
	return sb_error_wrap(err, "%s: Bootstrap: %s", w, agent ? agent : "?");
}

void pkg_warn_unused_keys(const struct bootstrap_request *r, const char *agent,
			  const char *const *used)
{
	if (r->warn == NULL)
		return;
	for (size_t i = 0; i < r->n_header; i++) {
		const char *k = r->header[i].key;
		bool known = strcmp(k, "bootstrap") == 0 || strcmp(k, "stage") == 0;
		for (size_t j = 0; !known && used[j] != NULL; j++)
			known = strcmp(k, used[j]) == 0;
		if (known)
			continue;
		cleanup_free char *w = where(r, k);
		cleanup_free char *m = sb_asprintf("%s: header key '%s' is not used by "
						   "Bootstrap: %s (ignored)",
						   w, k, agent);
		r->warn(r->warn_ctx, m);
	}
}

char *pkg_find_tool(const char *name)
{
	/* debootstrap lives in /usr/sbin, which users' PATH often lacks. */
	return sb_find_program(name, "/usr/sbin:/sbin");
}

char *pkg_require_tool(const char *const *names, const char *debian_pkg, sb_error_t *err)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		char *p = pkg_find_tool(names[i]);
		if (p != NULL)
			return p;
	}
	sb_error_set_status(err, 2, 0, "%s not found in PATH: install the Debian package %s",
			    names[0], debian_pkg);
	return NULL;
}

bool pkg_url_ok(const char *url)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "file://" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i]);
		if (strncasecmp(url, schemes[i], n) == 0 && url[n] != '\0' &&
		    strpbrk(url, " \t\n") == NULL)
			return true;
	}
	return false;
}

void pkg_list_add(struct pkg_list *l, const char *name)
{
	l->v = sb_xrealloc(l->v, (l->n + 2) * sizeof(char *));
	l->v[l->n++] = sb_strdup(name);
	l->v[l->n] = NULL;
}

static bool name_ok(const char *s)
{
	if (s[0] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("+-._:/()@~", *s) == NULL)
			return false;
	return true;
}

/* Adds the words of text; the first bad one fails. */
static int add_words(const struct bootstrap_request *r, const char *key, const char *text,
		     struct pkg_list *l, sb_error_t *err)
{
	cleanup_free char *copy = sb_strdup(text);
	for (char *save, *w = strtok_r(copy, " \t\n,", &save); w;
	     w = strtok_r(NULL, " \t\n,", &save)) {
		if (!name_ok(w)) {
			if (key == NULL)
				return sb_error_set_status(
					err, 2, 0, "INCLUDE (environment): bad package name '%s'",
					w);
			return pkg_header_error(r, key, err, "Include: bad package name '%s'", w);
		}
		pkg_list_add(l, w);
	}
	return 0;
}

int pkg_list_from_header(const struct bootstrap_request *r, const char *key, struct pkg_list *l,
			 sb_error_t *err)
{
	const char *hv = bootstrap_header_get(r, key);
	const char *ev = getenv("INCLUDE");
	if ((hv != NULL && add_words(r, key, hv, l, err) < 0) ||
	    (ev != NULL && add_words(r, NULL, ev, l, err) < 0)) {
		pkg_list_release(l);
		return -1;
	}
	return 0;
}

char *pkg_list_join(const struct pkg_list *l, const char *sep)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	for (size_t i = 0; i < l->n; i++)
		sb_strbuf_addf(&sb, "%s%s", i ? sep : "", l->v[i]);
	if (sb.len == 0)
		sb_strbuf_adds(&sb, "");
	return sb_strbuf_detach(&sb, NULL);
}

void pkg_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void pkg_list_release(struct pkg_list *l)
{
	pkg_strv_free(l->v);
	l->v = NULL;
	l->n = 0;
}

char **pkg_tool_env(const char *const *extra)
{
	static const char *const pass[] = { "HOME",	   "TMPDIR",	  "TERM",      "http_proxy",
					    "https_proxy", "ftp_proxy",	  "no_proxy",  "all_proxy",
					    "HTTP_PROXY",  "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY",
					    "ALL_PROXY" };
	struct pkg_list l = { NULL, 0 };
	pkg_list_add(&l, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	pkg_list_add(&l, "LANG=C");
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		const char *v = getenv(pass[i]);
		if (v != NULL) {
			cleanup_free char *kv = sb_asprintf("%s=%s", pass[i], v);
			pkg_list_add(&l, kv);
		}
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		pkg_list_add(&l, extra[i]);
	return l.v;
}

/* Without a runner: spawn and wait (real root only). */
static int run_direct(char *const argv[], char *const envp[], int *status, sb_error_t *err)
{
	pid_t pid;
	int e = posix_spawn(&pid, argv[0], NULL, NULL, argv, envp);
	if (e != 0)
		return sb_error_set(err, e, "running %s", argv[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return sb_error_set(err, errno, "waiting for %s", argv[0]);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

int pkg_run(const struct bootstrap_request *r, const char *agent, char *const argv[],
	    char *const envp[], int *status, sb_error_t *err)
{
	if (r->run != NULL)
		return r->run(r->run_ctx, argv, envp, status, err);
	if (geteuid() != 0)
		return sb_error_set(err, 0,
				    "Bootstrap: %s needs the build sandbox to run %s as an "
				    "unprivileged user",
				    agent, argv[0]);
	return run_direct(argv, envp, status, err);
}

int pkg_run_sh(const struct bootstrap_request *r, const char *agent, const char *what,
	       const char *script, const char *const *args, char *const envp[], sb_error_t *err)
{
	struct pkg_list l = { NULL, 0 };
	pkg_list_add(&l, "/bin/sh");
	pkg_list_add(&l, "-c");
	pkg_list_add(&l, script);
	pkg_list_add(&l, "sifbuild");
	for (size_t i = 0; args != NULL && args[i] != NULL; i++)
		pkg_list_add(&l, args[i]);
	int st = 0;
	int rc = pkg_run(r, agent, l.v, envp, &st, err);
	pkg_list_release(&l);
	if (rc == 0 && st != 0)
		rc = sb_error_set(err, 0, "%s failed (exit status %d)", what, st);
	return rc;
}

/* url with each %{OSVERSION} (any case) replaced by osv (new string). */
char *pkg_expand_osv(const char *url, const char *osv)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	while (*url != '\0') {
		if (strncasecmp(url, "%{OSVERSION}", 12) == 0) {
			sb_strbuf_adds(&sb, osv ? osv : "");
			url += 12;
		} else {
			sb_strbuf_addc(&sb, *url++);
		}
	}
	return sb_strbuf_detach(&sb, NULL);
}
