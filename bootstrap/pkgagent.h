/* bootstrap/pkgagent.h: what the package-manager agents (debootstrap,
 * yum/dnf, zypper) share: header errors at FILE:LINE, host tool lookup,
 * package lists, the environment of the tool and running it through
 * bootstrap_request.run. Internal to bootstrap/. */
#ifndef SB_BOOTSTRAP_PKGAGENT_H
#define SB_BOOTSTRAP_PKGAGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "bootstrap/bootstrap.h"

/* Sets a status-2 error "FILE:LINE: message" where the line is that of
 * header key (or of "bootstrap" when key is absent or NULL). Returns -1. */
int pkg_header_error(const struct bootstrap_request *r, const char *key, sb_error_t *err,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same "FILE:LINE: message" with exit status 1: the tool failed. */
int pkg_tool_failed(const struct bootstrap_request *r, const char *key, sb_error_t *err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Prefixes *err with "FILE:LINE: Bootstrap: AGENT: " (line of key). -1. */
int pkg_header_wrap(const struct bootstrap_request *r, const char *key, sb_error_t *err);

/* Warns (r->warn) about each header key that is not in used (NULL-ended):
 * Apptainer ignores them, so a typo would otherwise go unnoticed. */
void pkg_warn_unused_keys(const struct bootstrap_request *r, const char *agent,
			  const char *const *used);

/* Absolute path of name in $PATH, then /usr/sbin and /sbin (new string), or
 * NULL. */
char *pkg_find_tool(const char *name);

/* url with each %{OSVERSION} (any case) replaced by osv (NULL: ""); a new
 * string (yum/dnf and zypper MirrorURL/UpdateURL/OtherURL). */
char *pkg_expand_osv(const char *url, const char *osv);

/* Fails with "NAME not found in PATH: install the Debian package PKG" when
 * none of the NULL-ended names is found; else returns the first found. */
char *pkg_require_tool(const char *const *names, const char *debian_pkg, sb_error_t *err);

/* The header's key value plus the environment variable INCLUDE, as one list
 * of package names (split at spaces and commas). Checks each name (letters,
 * digits, "+-._:/" and no leading '-'; the paths for yum's
 * "/etc/redhat-release"): a bad one is a FILE:LINE error. */
struct pkg_list {
	char **v;
	size_t n;
};
int pkg_list_from_header(const struct bootstrap_request *r, const char *key, struct pkg_list *l,
			 sb_error_t *err);
void pkg_list_add(struct pkg_list *l, const char *name);
/* The names joined by sep (new string). */
char *pkg_list_join(const struct pkg_list *l, const char *sep);
void pkg_list_release(struct pkg_list *l);

/* True when url starts with one of the schemes http://, https://, ftp://,
 * file:// and has something after it. */
bool pkg_url_ok(const char *url);

/* The tool's environment: a fixed PATH, LANG=C, and HOME, TMPDIR and the
 * proxy variables from the caller's environment, plus extra ("K=V",
 * NULL-ended, may be NULL). Free with pkg_strv_free. */
char **pkg_tool_env(const char *const *extra);
void pkg_strv_free(char **v);

/* Runs argv through r->run (see bootstrap.h); without it, directly, which
 * needs real root (else a one-line error naming what). *status as run. */
int pkg_run(const struct bootstrap_request *r, const char *agent, char *const argv[],
	    char *const envp[], int *status, sb_error_t *err);

/* Runs /bin/sh -c script with the arguments args (NULL-ended; $1...) via
 * pkg_run with env; a non-zero status becomes an error naming what. */
int pkg_run_sh(const struct bootstrap_request *r, const char *agent, const char *what,
	       const char *script, const char *const *args, char *const envp[], sb_error_t *err);

#endif
