/* tests/unit/test_pkgagent.c: the package-manager agents' header checks
 * (FILE:LINE errors, package lists, INCLUDE, architectures, SLE keys) and
 * the bootstrap_request.run contract (what debootstrap is asked to run). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "bootstrap/pkgagent.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

/* A request over the first stage of def (parsed as "t.def"). */
struct fixture {
	struct defparse_def *def;
	struct bootstrap_request rq;
};

static void load(struct fixture *f, const char *text, const char *arch)
{
	sb_error_t err = NULL;
	f->def = defparse_parse_buffer("t.def", text, strlen(text), NULL, &err);
	ck_assert_msg(f->def != NULL, "%s", sb_error_message(err));
	memset(&f->rq, 0, sizeof(f->rq));
	f->rq.header = f->def->stages[0].header;
	f->rq.n_header = f->def->stages[0].n_header;
	f->rq.rootfs = "/nonexistent/rootfs";
	f->rq.arch = arch;
	f->rq.def_path = "t.def";
}

/* The validate error of agent for text ("" when it validates). */
static char *verr(const char *agent, const char *text, const char *arch)
{
	struct fixture f;
	load(&f, text, arch);
	sb_error_t err = NULL;
	const struct bootstrap_agent *a = bootstrap_find(agent);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(a->ops);
	int rc = a->ops->validate(&f.rq, &err);
	char *m = sb_strdup(rc == 0 ? "" : sb_error_message(err));
	if (rc < 0)
		ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	defparse_def_free(f.def);
	return m;
}

static bool have(const char *tool)
{
	char *p = pkg_find_tool(tool);
	free(p);
	return p != NULL;
}

/* want "" means: validates. */
static void expect_err(const char *agent, const char *text, const char *arch, const char *want)
{
	char *m = verr(agent, text, arch);
	bool ok = want[0] == '\0' ? m[0] == '\0' : strstr(m, want) != NULL;
	ck_assert_msg(ok, "got '%s', want '%s'", m, want);
	free(m);
}
#define EXPECT_ERR expect_err

START_TEST(debootstrap_header)
{
	unsetenv("INCLUDE");
	EXPECT_ERR("debootstrap", "Bootstrap: debootstrap\nOSVersion: bookworm\n", NULL,
		   "t.def:1: Bootstrap: debootstrap needs a MirrorURL: line");
	EXPECT_ERR("debootstrap", "\n\nBootstrap: debootstrap\nMirrorURL: http://m/debian\n", NULL,
		   "t.def:3: Bootstrap: debootstrap needs an OSVersion: line");
	EXPECT_ERR("debootstrap", "Bootstrap: debootstrap\nOSVersion: a b\nMirrorURL: http://m/d\n",
		   NULL, "t.def:2: OSVersion: 'a b' is not a suite name");
	EXPECT_ERR("debootstrap", "Bootstrap: debootstrap\nOSVersion: x\nMirrorURL: /srv/d\n", NULL,
		   "t.def:3: MirrorURL: '/srv/d' is not an http(s)://");
	EXPECT_ERR("debootstrap",
		   "Bootstrap: debootstrap\nOSVersion: x\nMirrorURL: http://m/d\nInclude: a -b\n",
		   NULL, "t.def:4: Include: bad package name '-b'");
	const char *good = "Bootstrap: debootstrap\nOSVersion: bookworm\nMirrorURL: http://m/d\n"
			   "Include: less, vim hello\n";
	EXPECT_ERR("debootstrap", good, "sparc", "no Debian architecture for sparc");
	if (have("debootstrap")) {
		const char *ok[] = { "amd64",	"arm64", "arm/v7",  "arm/v5",	"386",
				     "ppc64le", "s390x", "riscv64", "mips64le", "loong64" };
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			EXPECT_ERR("debootstrap", good, ok[i], "");
		EXPECT_ERR("debootstrap", good, NULL, "");
	}
	setenv("INCLUDE", "ok --evil", 1);
	EXPECT_ERR("debootstrap", good, NULL, "INCLUDE (environment): bad package name '--evil'");
	unsetenv("INCLUDE");
}
END_TEST

START_TEST(yum_and_zypper_header)
{
	EXPECT_ERR("yum", "Bootstrap: yum\nInclude: x\n", NULL,
		   "t.def:1: Bootstrap: yum needs a MirrorURL: line");
	EXPECT_ERR("dnf", "Bootstrap: dnf\nMirrorURL: http://m/%{OSversion}/os\n", NULL,
		   "t.def:2: %{OSVERSION} in the URL needs an OSVersion: line");
	EXPECT_ERR("dnf", "Bootstrap: dnf\nMirrorURL: http://m/os\nUpdateURL: m/%{OSVERSION}\n",
		   NULL, "t.def:3: UpdateURL: 'm/%{OSVERSION}' is not an http");
	EXPECT_ERR("dnf", "Bootstrap: dnf\nMirrorURL: http://m/os\nSetOpt: nope\n", NULL,
		   "t.def:3: SetOpt: 'nope' is not an option=value setting");
	if (!have("dnf") && !have("yum"))
		EXPECT_ERR("dnf", "Bootstrap: dnf\nMirrorURL: http://m/os\n", NULL,
			   "dnf not found in PATH: install the Debian package dnf");
	EXPECT_ERR("zypper", "Bootstrap: zypper\nMirrorURL: http://m/os\nRegcode: 1\n", NULL,
		   "t.def:3: SLE registration");
	EXPECT_ERR("zypper", "Bootstrap: zypper\nOSVersion: 15.6\n", NULL,
		   "t.def:1: Bootstrap: zypper needs a MirrorURL: line");
	EXPECT_ERR("zypper", "Bootstrap: zypper\nMirrorURL: http://m/os\nOtherURL2: http://a/\n",
		   NULL, "t.def:3: OtherURL2: OtherURL numbers must start at 0 or 1");
	if (!have("zypper"))
		EXPECT_ERR("zypper",
			   "Bootstrap: zypper\nMirrorURL: http://m/os\nOtherURL0: http://a/\n"
			   "OtherURL1: http://b/\n",
			   NULL, "zypper not found in PATH: install the Debian package zypper");
}
END_TEST

START_TEST(lists_and_urls)
{
	struct fixture f;
	load(&f, "Bootstrap: debootstrap\nInclude: a,b  c\n", NULL);
	setenv("INCLUDE", "d e,f", 1);
	struct pkg_list l = { NULL, 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(pkg_list_from_header(&f.rq, "include", &l, &err), 0);
	char *j = pkg_list_join(&l, ",");
	ck_assert_str_eq(j, "a,b,c,d,e,f");
	free(j);
	pkg_list_release(&l);
	unsetenv("INCLUDE");
	f.rq.def_path = NULL;
	ck_assert_int_eq(pkg_header_error(&f.rq, "include", &err, "x %d", 1), -1);
	ck_assert_str_eq(sb_error_message(err), "line 2: x 1");
	sb_error_free(&err);
	defparse_def_free(f.def);
	ck_assert(pkg_url_ok("http://h/p"));
	ck_assert(pkg_url_ok("FILE:///srv/repo"));
	ck_assert(!pkg_url_ok("http://"));
	ck_assert(!pkg_url_ok("http://h/a b"));
	ck_assert(!pkg_url_ok("rsync://h/"));
}
END_TEST

/* The run callback: records argv and envp, reports a failing status. */
struct record {
	char *argv;
	char *envp;
	int calls;
};

static int record_run(void *ctx, char *const argv[], char *const envp[], int *status,
		      sb_error_t *err)
{
	(void)err;
	struct record *r = ctx;
	struct sb_strbuf a = SB_STRBUF_INIT, e = SB_STRBUF_INIT;
	for (size_t i = 0; argv[i]; i++)
		sb_strbuf_addf(&a, "%s\n", argv[i]);
	for (size_t i = 0; envp[i]; i++)
		sb_strbuf_addf(&e, "%s\n", envp[i]);
	if (r->calls++ == 0) {
		r->argv = sb_strbuf_detach(&a, NULL);
		r->envp = sb_strbuf_detach(&e, NULL);
	} else {
		sb_strbuf_release(&a);
		sb_strbuf_release(&e);
	}
	*status = 3;
	return 0;
}

START_TEST(debootstrap_runs_through_callback)
{
	if (!have("debootstrap"))
		return;
	struct fixture f;
	load(&f,
	     "Bootstrap: debootstrap\nOSVersion: bookworm\nMirrorURL: http://m/debian\n"
	     "Include: less\n",
	     "arm64");
	setenv("INCLUDE", "hello", 1);
	struct record rec = { 0 };
	f.rq.run = record_run;
	f.rq.run_ctx = &rec;
	struct bootstrap_result res = { 0 };
	sb_error_t err = NULL;
	const struct bootstrap_agent *a = bootstrap_find("debootstrap");
	ck_assert_int_eq(a->ops->materialise(&f.rq, &res, &err), -1);
	unsetenv("INCLUDE");
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_str_eq(err->msg, "t.def:3: debootstrap of bookworm from http://m/debian failed "
				   "(exit status 3; its output is above)");
	ck_assert_int_eq(err->status, 1);
	const char *want = "--variant=minbase\n--exclude=openssl,udev,debconf-i18n,e2fsprogs\n"
			   "--include=apt,less,hello\n--arch=arm64\nbookworm\n/nonexistent/rootfs\n"
			   "http://m/debian\n";
	ck_assert_msg(strstr(rec.argv, want) != NULL, "argv: %s", rec.argv);
	ck_assert(strstr(rec.envp, "container=lxc\n") != NULL);
	ck_assert(strncmp(rec.envp, "PATH=", 5) == 0);
	free(rec.argv);
	free(rec.envp);
	sb_error_free(&err);
	bootstrap_result_release(&res);
	defparse_def_free(f.def);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pkgagent");
	TCase *t = tcase_create("core");
	tcase_add_test(t, debootstrap_header);
	tcase_add_test(t, yum_and_zypper_header);
	tcase_add_test(t, lists_and_urls);
	tcase_add_test(t, debootstrap_runs_through_callback);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
