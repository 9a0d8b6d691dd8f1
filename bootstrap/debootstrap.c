/* bootstrap/debootstrap.c: Bootstrap: debootstrap (apptainer-behaviour.md
 * 1.3 and 3.3). Header: MirrorURL and OSVersion (both required), Include
 * (plus the environment's INCLUDE). Runs the host's debootstrap as Apptainer
 * does:
 *
 *   debootstrap --variant=minbase --exclude=openssl,udev,debconf-i18n,e2fsprogs
 *               --include=apt[,INCLUDE] --arch=ARCH OSVERSION ROOTFS MIRROR
 *
 * through bootstrap_request.run, so it runs as the build sandbox's root in
 * whatever mode was chosen (rootless-modes.md 3.3, 5.5, 9.3), with
 * container=lxc: debootstrap then binds the host's device nodes into the
 * target (in its private mount namespace) when it cannot make them. In
 * subuid mode the files get their real owners (on disk as subordinate IDs);
 * in the other unprivileged modes everything belongs to the caller.
 * debootstrap deletes the downloaded .debs itself; the runscript is
 * "#!/bin/sh\n" and the rootfs mode 0755. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/pkgagent.h"
#include "common/cleanup.h"
#include "common/strbuf.h"

/* Debian's name for an OCI-style --arch (and variant), or NULL. */
static const char *debian_arch(const char *arch, const char *variant)
{
	static const char *const map[][2] = {
		{ "amd64", "amd64" },	    { "x86_64", "amd64" },	{ "386", "i386" },
		{ "i386", "i386" },	    { "arm64", "arm64" },	{ "aarch64", "arm64" },
		{ "armhf", "armhf" },	    { "armel", "armel" },	{ "ppc64le", "ppc64el" },
		{ "ppc64el", "ppc64el" },   { "mipsle", "mipsel" },	{ "mipsel", "mipsel" },
		{ "mips64le", "mips64el" }, { "mips64el", "mips64el" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" },   { "loong64", "loong64" },
	};
	if (strcmp(arch, "arm") == 0 || strncmp(arch, "arm/", 4) == 0) {
		const char *v = arch[3] == '/' ? arch + 4 : variant;
		return v == NULL || strcmp(v, "v7") == 0 || strcmp(v, "v8") == 0 ? "armhf"
										 : "armel";
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(arch, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static const char *host_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return NULL;
	if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i586") == 0)
		return "i386";
	if (strncmp(u.machine, "armv7", 5) == 0)
		return "armhf";
	if (strcmp(u.machine, "loongarch64") == 0)
		return "loong64";
	if (strcmp(u.machine, "mips64") == 0)
		return "mips64el";
	return debian_arch(u.machine, NULL); /* a string of the table, not of u */
}

static const char *target_arch(const struct bootstrap_request *r)
{
	return r->arch ? debian_arch(r->arch, r->arch_variant) : host_arch();
}

static bool suite_ok(const char *s)
{
	if (*s == '\0' || *s == '-' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

static int check_header(const struct bootstrap_request *r, struct pkg_list *inc, sb_error_t *err)
{
	const char *mirror = bootstrap_header_get(r, "mirrorurl");
	const char *osv = bootstrap_header_get(r, "osversion");
	if (mirror == NULL || *mirror == '\0')
		return pkg_header_error(r, "mirrorurl", err,
					"Bootstrap: debootstrap needs a MirrorURL: line "
					"(e.g. MirrorURL: http://<mirror>/debian)");
	if (!pkg_url_ok(mirror))
		return pkg_header_error(
			r, "mirrorurl", err,
			"MirrorURL: '%s' is not an http(s)://, ftp:// or file:// URL", mirror);
	if (osv == NULL || *osv == '\0')
		return pkg_header_error(
			r, "osversion", err,
			"Bootstrap: debootstrap needs an OSVersion: line (the suite, "
			"e.g. OSVersion: bookworm)");
	if (!suite_ok(osv))
		return pkg_header_error(r, "osversion", err, "OSVersion: '%s' is not a suite name",
					osv);
	if (target_arch(r) == NULL)
		return pkg_header_error(r, NULL, err,
					"Bootstrap: debootstrap: no Debian architecture "
					"for %s",
					r->arch ? r->arch : "this host");
	return pkg_list_from_header(r, "include", inc, err);
}

/* Like `apt-get clean`: the downloaded .debs debootstrap leaves in
 * /var/cache/apt/archives; and the empty regular files left in /dev where
 * the host's devices were bound (container=lxc) or a faked mknod "made" a
 * node (seccomp mode): the runtime mounts /dev anyway. Runs as the sandbox's
 * root, since in subuid mode some of it belongs to subordinate IDs. */
static int clean(const struct bootstrap_request *r, char **env, sb_error_t *err)
{
	static const char script[] =
		"rm -f \"$1\"/var/cache/apt/archives/*.deb \"$1\"/var/cache/apt/*.bin || exit 1\n"
		"for d in null zero full random urandom tty console ptmx; do\n"
		"  f=\"$1/dev/$d\"\n"
		"  if [ -f \"$f\" ] && [ ! -L \"$f\" ] && [ ! -s \"$f\" ]; then rm -f \"$f\"; fi\n"
		"done\n";
	const char *args[] = { r->rootfs, NULL };
	return pkg_run_sh(r, "debootstrap", "cleaning the package cache", script, args, env, err);
}

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	struct pkg_list inc = { NULL, 0 };
	if (check_header(r, &inc, err) < 0)
		return -1;
	pkg_list_release(&inc);
	static const char *const tool[] = { "debootstrap", NULL };
	char *p = pkg_require_tool(tool, "debootstrap", err);
	free(p);
	return p ? 0 : -1;
}

/* Runs debootstrap (prog) with the package list pkgs, then clean(). */
static int run_debootstrap(const struct bootstrap_request *r, char *prog, const char *pkgs,
			   sb_error_t *err)
{
	cleanup_free char *include = sb_asprintf("--include=apt%s%s", *pkgs ? "," : "", pkgs);
	cleanup_free char *arch = sb_asprintf("--arch=%s", target_arch(r));
	const char *osv = bootstrap_header_get(r, "osversion");
	const char *mirror = bootstrap_header_get(r, "mirrorurl");
	char *argv[] = { prog,
			 (char *)"--variant=minbase",
			 (char *)"--exclude=openssl,udev,debconf-i18n,e2fsprogs",
			 include,
			 arch,
			 (char *)osv,
			 (char *)r->rootfs,
			 (char *)mirror,
			 NULL };
	/* container=lxc: bind the host's devices instead of mknod. */
	static const char *const extra[] = { "container=lxc", "DEBIAN_FRONTEND=noninteractive",
					     NULL };
	char **env = pkg_tool_env(extra);
	int st = 0;
	int rc = pkg_run(r, "debootstrap", argv, env, &st, err);
	if (rc == 0 && st != 0)
		rc = pkg_tool_failed(r, "mirrorurl", err,
				     "debootstrap of %s from %s failed (exit status %d; its output "
				     "is above)",
				     osv, mirror, st);
	if (rc == 0)
		rc = clean(r, env, err);
	pkg_strv_free(env);
	return rc;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	struct pkg_list inc = { NULL, 0 };
	if (check_header(r, &inc, err) < 0)
		return -1;
	static const char *const tool[] = { "debootstrap", NULL };
	static const char *const used[] = { "mirrorurl", "osversion", "include", NULL };
	cleanup_free char *prog = pkg_require_tool(tool, "debootstrap", err);
	cleanup_free char *pkgs = pkg_list_join(&inc, ",");
	pkg_list_release(&inc);
	if (prog == NULL)
		return -1;
	pkg_warn_unused_keys(r, "debootstrap", used);
	if (run_debootstrap(r, prog, pkgs, err) < 0)
		return -1;
	if (chmod(r->rootfs, 0755) < 0)
		return sb_error_set(err, errno, "chmod %s", r->rootfs);
	res->runscript = sb_strdup("#!/bin/sh\n");
	return 0;
}

const struct bootstrap_ops bootstrap_debootstrap_ops = { validate, materialise };
