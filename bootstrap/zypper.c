/* bootstrap/zypper.c: Bootstrap: zypper (apptainer-behaviour.md 1.3, 3.3).
 * Header: OSVersion, MirrorURL (required), UpdateURL, Include, OtherURL<N>
 * (numbered from 0 or 1, consecutive, at most 20); environment INCLUDE.
 * SLE registration (Product, User, Regcode, ProductPGP, RegisterURL,
 * Modules: SUSEConnect) is parsed and refused as unsupported. Runs the
 * host's zypper through bootstrap_request.run:
 *
 *   zypper --non-interactive --root ROOTFS ar -f URL NAME   (each repository)
 *   zypper --non-interactive --root ROOTFS --gpg-auto-import-keys
 *          [--releasever=OSV] install --auto-agree-with-licenses
 *          --download-in-advance aaa_base INCLUDE...
 *
 * (exit status 107, "a package's scriptlet failed", only warns, as in
 * Apptainer), with the host's devices bound into ROOTFS/dev; then removes
 * the package cache /var/cache/zypp/packages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/pkgagent.h"
#include "common/cleanup.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

#define MAX_OTHER 20

static int check_other_urls(const struct bootstrap_request *r, sb_error_t *err)
{
	char key[32];
	snprintf(key, sizeof(key), "otherurl0");
	int first = bootstrap_header_get(r, key) ? 0 : 1;
	int last = first - 1;
	for (int i = first; i <= MAX_OTHER; i++) {
		snprintf(key, sizeof(key), "otherurl%d", i);
		const char *u = bootstrap_header_get(r, key);
		if (u == NULL)
			break;
		if (!pkg_url_ok(u))
			return pkg_header_error(r, key, err, "OtherURL%d: '%s' is not a URL", i, u);
		last = i;
	}
	for (size_t i = 0; i < r->n_header; i++) {
		const char *k = r->header[i].key;
		if (strncmp(k, "otherurl", 8) != 0)
			continue;
		int n = atoi(k + 8);
		if (n < first || n > last)
			return pkg_header_error(
				r, k, err,
				"OtherURL%d: OtherURL numbers must start at 0 or 1 and "
				"be consecutive (at most %d)",
				n, MAX_OTHER);
	}
	return 0;
}

static int check_header(const struct bootstrap_request *r, sb_error_t *err)
{
	static const char *const sle[] = { "product",	 "user",	"regcode",
					   "productpgp", "registerurl", "modules" };
	for (size_t i = 0; i < sizeof(sle) / sizeof(sle[0]); i++)
		if (bootstrap_header_get(r, sle[i]) != NULL)
			return pkg_header_error(
				r, sle[i], err,
				"SLE registration (Product/User/Regcode/"
				"ProductPGP/RegisterURL/Modules through SUSEConnect) "
				"is not supported by sifbuild; use openSUSE "
				"repositories with MirrorURL:");
	const char *mirror = bootstrap_header_get(r, "mirrorurl");
	if (mirror == NULL || *mirror == '\0')
		return pkg_header_error(r, "mirrorurl", err,
					"Bootstrap: zypper needs a MirrorURL: line");
	if (!pkg_url_ok(mirror))
		return pkg_header_error(
			r, "mirrorurl", err,
			"MirrorURL: '%s' is not an http(s)://, ftp:// or file:// URL", mirror);
	const char *update = bootstrap_header_get(r, "updateurl");
	if (update != NULL && !pkg_url_ok(update))
		return pkg_header_error(r, "updateurl", err, "UpdateURL: '%s' is not a URL",
					update);
	const char *osv = bootstrap_header_get(r, "osversion");
	if (osv != NULL && (strpbrk(osv, " \t/") != NULL || osv[0] == '-'))
		return pkg_header_error(r, "osversion", err, "OSVersion: bad value '%s'", osv);
	return check_other_urls(r, err);
}

static const char *const tools[] = { "zypper", NULL };

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	struct pkg_list l = { NULL, 0 };
	if (check_header(r, err) < 0 || pkg_list_from_header(r, "include", &l, err) < 0)
		return -1;
	pkg_list_release(&l);
	char *p = pkg_require_tool(tools, "zypper", err);
	free(p);
	return p ? 0 : -1;
}

/* One shell script: add the repositories ($3...: URL NAME pairs after the
 * marker "--"), bind devices, install ($@ after the marker). */
static const char script[] =
	"R=$1; Z=$2; shift 2\n"
	"while [ \"$1\" != -- ]; do\n"
	"  \"$Z\" --non-interactive --root \"$R\" ar -f \"$1\" \"$2\" || exit 1; shift 2\n"
	"done; shift\n"
	"mkdir -p \"$R/dev\" || exit 1; made=''\n"
	"for d in null zero random urandom; do\n"
	"  if [ ! -e \"$R/dev/$d\" ]; then : >\"$R/dev/$d\" && made=\"$made $d\"; fi\n"
	"  mount --bind \"/dev/$d\" \"$R/dev/$d\" || exit 1\n"
	"done\n"
	"\"$Z\" \"$@\"; rc=$?\n"
	"for d in null zero random urandom; do umount \"$R/dev/$d\"; done\n"
	"for d in $made; do rm -f \"$R/dev/$d\"; done\n"
	"rm -rf \"$R/var/cache/zypp/packages\"\n"
	"[ $rc -eq 107 ] && { echo 'zypper: a package scriptlet failed (107), continuing' >&2; "
	"rc=0; }\n"
	"exit $rc\n";

static void add_repos(const struct bootstrap_request *r, struct pkg_list *a)
{
	const char *osv = bootstrap_header_get(r, "osversion");
	static const char *const keys[][2] = { { "mirrorurl", "repo-oss" },
					       { "updateurl", "repo-update" } };
	for (size_t i = 0; i < 2; i++) {
		const char *u = bootstrap_header_get(r, keys[i][0]);
		if (u == NULL)
			continue;
		cleanup_free char *url = pkg_expand_osv(u, osv);
		pkg_list_add(a, url);
		pkg_list_add(a, keys[i][1]);
	}
	for (int i = 0; i <= MAX_OTHER; i++) {
		char key[32], name[32];
		snprintf(key, sizeof(key), "otherurl%d", i);
		const char *u = bootstrap_header_get(r, key);
		if (u == NULL)
			continue;
		snprintf(name, sizeof(name), "repo-other%d", i);
		cleanup_free char *url = pkg_expand_osv(u, osv);
		pkg_list_add(a, url);
		pkg_list_add(a, name);
	}
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	(void)res;
	if (check_header(r, err) < 0)
		return -1;
	cleanup_free char *prog = pkg_require_tool(tools, "zypper", err);
	if (prog == NULL)
		return -1;
	static const char *const used[] = { "mirrorurl",  "updateurl",	"osversion",  "include",
					    "otherurl0",  "otherurl1",	"otherurl2",  "otherurl3",
					    "otherurl4",  "otherurl5",	"otherurl6",  "otherurl7",
					    "otherurl8",  "otherurl9",	"otherurl10", "otherurl11",
					    "otherurl12", "otherurl13", "otherurl14", "otherurl15",
					    "otherurl16", "otherurl17", "otherurl18", "otherurl19",
					    "otherurl20", NULL };
	pkg_warn_unused_keys(r, "zypper", used);
	struct pkg_list a = { NULL, 0 };
	pkg_list_add(&a, r->rootfs);
	pkg_list_add(&a, prog);
	add_repos(r, &a);
	pkg_list_add(&a, "--");
	const char *fixed[] = { "--non-interactive", "--root", r->rootfs, "--gpg-auto-import-keys",
				NULL };
	for (size_t i = 0; fixed[i]; i++)
		pkg_list_add(&a, fixed[i]);
	const char *osv = bootstrap_header_get(r, "osversion");
	if (osv != NULL && *osv) {
		cleanup_free char *rv = sb_asprintf("--releasever=%s", osv);
		pkg_list_add(&a, rv);
	}
	pkg_list_add(&a, "install");
	pkg_list_add(&a, "--auto-agree-with-licenses");
	pkg_list_add(&a, "--download-in-advance");
	pkg_list_add(&a, "aaa_base");
	struct pkg_list inc = { NULL, 0 };
	int rc = pkg_list_from_header(r, "include", &inc, err);
	for (size_t i = 0; rc == 0 && i < inc.n; i++)
		pkg_list_add(&a, inc.v[i]);
	pkg_list_release(&inc);
	char **env = pkg_tool_env(NULL);
	if (rc == 0 &&
	    pkg_run_sh(r, "zypper", "zypper", script, (const char *const *)a.v, env, err) < 0)
		rc = pkg_header_wrap(r, "mirrorurl", err);
	pkg_strv_free(env);
	pkg_list_release(&a);
	return rc;
}

const struct bootstrap_ops bootstrap_zypper_ops = { validate, materialise };
