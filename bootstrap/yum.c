/* bootstrap/yum.c: Bootstrap: yum and Bootstrap: dnf, one agent
 * (apptainer-behaviour.md 1.3 and 3.3). Header: MirrorURL (required),
 * UpdateURL, OSVersion, Include, SetOpt; environment INCLUDE and GPG (URL
 * of a key for rpm --import; without it gpgcheck is off, with a warning).
 * "%{OSVERSION}" in either URL (any case) becomes OSVersion, which is then
 * required and passed as --releasever.
 *
 * Runs the host's dnf (or yum) through bootstrap_request.run:
 *
 *   dnf --noplugins -c ROOTFS/etc/bootstrap-yum.conf --installroot ROOTFS
 *       [--releasever=OSV] -y [--setopt VALUE] install /etc/redhat-release
 *       coreutils INCLUDE...
 *
 * with the host's /dev/{null,zero,random,urandom} bound into ROOTFS/dev
 * (instead of Apptainer's mknod, which an unprivileged user cannot do; the
 * binds end with the run's mount namespace and the empty mount points are
 * removed). Afterwards the configuration and the package cache
 * (/var/cache/yum-bootstrap) are removed from the image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/pkgagent.h"
#include "common/cleanup.h"
#include "common/strbuf.h"

#define CONF "/etc/bootstrap-yum.conf"
#define CACHE "/var/cache/yum-bootstrap"

static bool has_osv(const char *url)
{
	for (; url != NULL && *url; url++)
		if (strncasecmp(url, "%{OSVERSION}", 12) == 0)
			return true;
	return false;
}

static int check_header(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *mirror = bootstrap_header_get(r, "mirrorurl");
	const char *update = bootstrap_header_get(r, "updateurl");
	const char *osv = bootstrap_header_get(r, "osversion");
	const char *agent = bootstrap_header_get(r, "bootstrap");
	if (mirror == NULL || *mirror == '\0')
		return pkg_header_error(r, "mirrorurl", err,
					"Bootstrap: %s needs a MirrorURL: line",
					agent ? agent : "yum");
	if (!pkg_url_ok(mirror))
		return pkg_header_error(
			r, "mirrorurl", err,
			"MirrorURL: '%s' is not an http(s)://, ftp:// or file:// URL", mirror);
	if (update != NULL && !pkg_url_ok(update))
		return pkg_header_error(
			r, "updateurl", err,
			"UpdateURL: '%s' is not an http(s)://, ftp:// or file:// URL", update);
	if ((has_osv(mirror) || has_osv(update)) && (osv == NULL || *osv == '\0'))
		return pkg_header_error(r, has_osv(mirror) ? "mirrorurl" : "updateurl", err,
					"%%{OSVERSION} in the URL needs an OSVersion: line");
	if (osv != NULL && (strpbrk(osv, " \t/") != NULL || osv[0] == '-'))
		return pkg_header_error(r, "osversion", err, "OSVersion: bad value '%s'", osv);
	const char *setopt = bootstrap_header_get(r, "setopt");
	if (setopt != NULL && (setopt[0] == '-' || strchr(setopt, '=') == NULL))
		return pkg_header_error(r, "setopt", err,
					"SetOpt: '%s' is not an option=value setting", setopt);
	const char *gpg = getenv("GPG");
	if (gpg != NULL && *gpg != '\0' && strncmp(gpg, "https://", 8) != 0 &&
	    strncmp(gpg, "file://", 7) != 0)
		return sb_error_set_status(
			err, 2, 0, "GPG (environment): '%s' is not an https:// or file:// URL",
			gpg);
	return 0;
}

static const char *const tools[] = { "dnf", "yum", NULL };

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	struct pkg_list l = { NULL, 0 };
	if (check_header(r, err) < 0 || pkg_list_from_header(r, "include", &l, err) < 0)
		return -1;
	pkg_list_release(&l);
	char *p = pkg_require_tool(tools, "dnf", err);
	free(p);
	return p ? 0 : -1;
}

/* The yum/dnf configuration for the install (no host repositories). */
static char *make_conf(const struct bootstrap_request *r, bool gpgcheck)
{
	const char *osv = bootstrap_header_get(r, "osversion");
	cleanup_free char *mirror = pkg_expand_osv(bootstrap_header_get(r, "mirrorurl"), osv);
	const char *u = bootstrap_header_get(r, "updateurl");
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_addf(&sb,
		       "[main]\ncachedir=" CACHE "\nkeepcache=0\ndebuglevel=2\n"
		       "logfile=/var/log/yum.log\nexactarch=1\nobsoletes=1\ngpgcheck=%d\n"
		       "plugins=0\nreposdir=/dev/null\n\n"
		       "[base]\nname=Linux $releasever - $basearch\nbaseurl=%s\nenabled=1\n"
		       "gpgcheck=%d\n",
		       gpgcheck, mirror, gpgcheck);
	if (u != NULL) {
		cleanup_free char *update = pkg_expand_osv(u, osv);
		sb_strbuf_addf(&sb,
			       "\n[updates]\nname=Linux $releasever - $basearch updates\n"
			       "baseurl=%s\nenabled=1\ngpgcheck=%d\n",
			       update, gpgcheck);
	}
	return sb_strbuf_detach(&sb, NULL);
}

static int write_conf(const struct bootstrap_request *r, const char *text, sb_error_t *err)
{
	cleanup_free char *etc = sb_asprintf("%s/etc", r->rootfs);
	cleanup_free char *path = sb_asprintf("%s" CONF, r->rootfs);
	if (mkdir(etc, 0755) < 0 && errno != EEXIST)
		return sb_error_set(err, errno, "creating %s", etc);
	cleanup_close int fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return sb_error_set(err, errno, "writing %s", path);
	return 0;
}

/* Binds the host's devices into ROOTFS/dev for the install ("$@"), then
 * removes the mount points it made. */
static const char dev_script[] =
	"R=$1; shift; made=''\n"
	"mkdir -p \"$R/dev\" || exit 1\n"
	"for d in null zero random urandom; do\n"
	"  if [ ! -e \"$R/dev/$d\" ]; then : >\"$R/dev/$d\" && made=\"$made $d\"; fi\n"
	"  mount --bind \"/dev/$d\" \"$R/dev/$d\" || exit 1\n"
	"done\n"
	"\"$@\"; rc=$?\n"
	"for d in null zero random urandom; do umount \"$R/dev/$d\"; done\n"
	"for d in $made; do rm -f \"$R/dev/$d\"; done\n"
	"exit $rc\n";

static int install(const struct bootstrap_request *r, const char *prog, bool gpgcheck, char **env,
		   sb_error_t *err)
{
	struct pkg_list a = { NULL, 0 };
	pkg_list_add(&a, r->rootfs);
	pkg_list_add(&a, prog);
	pkg_list_add(&a, "--noplugins");
	pkg_list_add(&a, "-c");
	cleanup_free char *conf = sb_asprintf("%s" CONF, r->rootfs);
	pkg_list_add(&a, conf);
	pkg_list_add(&a, "--installroot");
	pkg_list_add(&a, r->rootfs);
	const char *osv = bootstrap_header_get(r, "osversion");
	if (osv != NULL && *osv) {
		cleanup_free char *rv = sb_asprintf("--releasever=%s", osv);
		pkg_list_add(&a, rv);
	}
	pkg_list_add(&a, "-y");
	const char *setopt = bootstrap_header_get(r, "setopt");
	if (setopt != NULL) {
		pkg_list_add(&a, "--setopt");
		pkg_list_add(&a, setopt);
	}
	if (!gpgcheck)
		pkg_list_add(&a, "--nogpgcheck");
	pkg_list_add(&a, "install");
	pkg_list_add(&a, "/etc/redhat-release");
	pkg_list_add(&a, "coreutils");
	struct pkg_list inc = { NULL, 0 };
	int rc = pkg_list_from_header(r, "include", &inc, err);
	for (size_t i = 0; rc == 0 && i < inc.n; i++)
		pkg_list_add(&a, inc.v[i]);
	pkg_list_release(&inc);
	if (rc == 0)
		rc = pkg_run_sh(r, "yum", prog, dev_script, (const char *const *)a.v, env, err);
	pkg_list_release(&a);
	return rc;
}

static int import_key(const struct bootstrap_request *r, const char *url, char **env,
		      sb_error_t *err)
{
	static const char *const rpmtool[] = { "rpm", NULL };
	cleanup_free char *rpm = pkg_require_tool(rpmtool, "rpm", err);
	if (rpm == NULL)
		return -1;
	const char *args[] = { rpm, r->rootfs, url, NULL };
	return pkg_run_sh(r, "yum", "rpm --import of the GPG key",
			  "\"$1\" --root \"$2\" --import \"$3\"", args, env, err);
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	(void)res;
	if (check_header(r, err) < 0)
		return -1;
	cleanup_free char *prog = pkg_require_tool(tools, "dnf", err);
	if (prog == NULL)
		return -1;
	static const char *const used[] = { "mirrorurl", "updateurl", "osversion",
					    "include",	 "setopt",    NULL };
	pkg_warn_unused_keys(r, bootstrap_header_get(r, "bootstrap") ?: "yum", used);
	const char *gpg = getenv("GPG");
	bool gpgcheck = gpg != NULL && *gpg != '\0';
	if (!gpgcheck && r->warn)
		r->warn(r->warn_ctx, "no GPG key given (environment GPG): package signatures "
				     "are not checked");
	cleanup_free char *conf = make_conf(r, gpgcheck);
	if (write_conf(r, conf, err) < 0)
		return -1;
	char **env = pkg_tool_env(NULL);
	int rc = gpgcheck ? import_key(r, gpg, env, err) : 0;
	if (rc == 0)
		rc = install(r, prog, gpgcheck, env, err);
	if (rc < 0) {
		pkg_strv_free(env);
		return pkg_header_wrap(r, "mirrorurl", err);
	}
	const char *args[] = { r->rootfs, NULL };
	rc = pkg_run_sh(r, "yum", "removing the package cache",
			"rm -rf \"$1\"" CACHE " \"$1\"" CONF, args, env, err);
	pkg_strv_free(env);
	return rc;
}

const struct bootstrap_ops bootstrap_yum_ops = { validate, materialise };
