/* tests/unit/test_sandbox_plan.c: the sandbox's side-effect-free parts (the
 * plan, bind specs, mode additions, subuid parsing, scriptlet argv and
 * environment) plus mount-point preparation and tree removal in a scratch
 * directory, which need no privilege. Namespaces and mounts themselves are
 * exercised by tests/integration/sandbox.sh. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sandbox/internal.h"
#include "common/strbuf.h"

/* ------------------------------------------------------------ helpers */

static void check_describe(const struct sb_plan *p, const char *want)
{
	char *d = sb_plan_describe(p);
	ck_assert_str_eq(d, want);
	free(d);
}

static void set_cmd(struct sb_plan *p)
{
	const char *argv[] = { "/bin/true" };
	ck_assert_int_eq(sb_plan_set_argv(p, 1, argv, NULL), 0);
}

static char *scratch(void)
{
	char tmpl[] = "/tmp/sbplan.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return sb_strdup(tmpl);
}

static void rm_rf(const char *path)
{
	sb_error_t err = NULL;
	ck_assert_msg(sb_sandbox_remove_tree(NULL, path, &err) == 0, "%s", sb_error_message(err));
}

static bool exists(const char *dir, const char *rel)
{
	char *p = sb_asprintf("%s/%s", dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* --------------------------------------------------------------- plan */

START_TEST(t_plan_defaults)
{
	struct sb_plan *p = sb_plan_new("/r");
	ck_assert_str_eq(p->rootfs, "/r");
	ck_assert_str_eq(p->cwd, "/");
	ck_assert_int_eq(p->nenv, 0);
	ck_assert_ptr_null(p->env[0]);
	ck_assert_int_eq(p->stdio[0], -1);
	ck_assert_int_eq(p->stdio[2], -1);
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_plan_validate(p, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "sandbox command is not set");
	sb_error_free(&err);
	set_cmd(p);
	ck_assert_int_eq(sb_plan_validate(p, &err), 0);
	check_describe(p, "");
	sb_plan_free(p);
}
END_TEST

START_TEST(t_plan_standard)
{
	struct sb_plan *p = sb_plan_new("/r");
	ck_assert_int_eq(sb_plan_add_standard(p, NULL), 0);
	check_describe(p, "proc /proc\n"
			  "sys /sys\n"
			  "dev /dev\n"
			  "tmpfs /tmp\n"
			  "bind ro optional /etc/resolv.conf -> /etc/resolv.conf\n"
			  "bind ro optional /etc/hosts -> /etc/hosts\n");
	ck_assert(p->ops[1].flags & SB_BIND_RO);
	ck_assert_str_eq(p->ops[1].src, "/sys");
	sb_plan_free(p);
}
END_TEST

START_TEST(t_bind_spec)
{
	struct sb_plan *p = sb_plan_new("/r");
	ck_assert_int_eq(sb_plan_add_bind_spec(p, "/a", NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind_spec(p, "/a:/b", NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind_spec(p, "/a:/b/c/:ro", NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind_spec(p, "/a:/d:rw", NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind_spec(p, "/a::ro", NULL), 0);
	check_describe(p, "bind /a -> /a\n"
			  "bind /a -> /b\n"
			  "bind ro /a -> /b/c\n"
			  "bind /a -> /d\n"
			  "bind ro /a -> /a\n");
	sb_plan_free(p);
}
END_TEST

static void bad_spec(const char *spec, const char *msg)
{
	struct sb_plan *p = sb_plan_new("/r");
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_plan_add_bind_spec(p, spec, &err), -1);
	ck_assert_str_eq(sb_error_message(err), msg);
	ck_assert_int_eq(p->nops, 0);
	sb_error_free(&err);
	sb_plan_free(p);
}

START_TEST(t_bind_spec_errors)
{
	bad_spec("/a:/b:xx", "bind /a:/b:xx: unknown option 'xx' (ro or rw)");
	bad_spec(":/b", "bind :/b: empty source");
	bad_spec("", "bind : empty source");
	bad_spec("rel:/b", "bind rel:/b: paths must be absolute");
	bad_spec("/a:rel", "bind /a:rel: paths must be absolute");
	bad_spec("/a:/b/../c", "bind /a:/b/../c: sandbox destination /b/../c must be an "
			       "absolute path without '..'");
}
END_TEST

START_TEST(t_path_clean)
{
	const char *cases[][2] = {
		{ "/", "/" },		{ "//", "/" }, { "/a/./b/", "/a/b" },
		{ "//a//b", "/a/b" },	{ "/.", "/" }, { "/a/.hidden", "/a/.hidden" },
		{ "/a/..b", "/a/..b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = sb_path_clean(cases[i][0]);
		ck_assert_ptr_nonnull(c);
		ck_assert_str_eq(c, cases[i][1]);
		free(c);
	}
	ck_assert_ptr_null(sb_path_clean("a/b"));
	ck_assert_ptr_null(sb_path_clean("/a/../b"));
	ck_assert_ptr_null(sb_path_clean("/.."));
	ck_assert_ptr_null(sb_path_clean(""));
	ck_assert_ptr_null(sb_path_clean(NULL));
	ck_assert(sb_path_under("/a/b", "/a"));
	ck_assert(sb_path_under("/a", "/a"));
	ck_assert(!sb_path_under("/ab", "/a"));
	ck_assert(sb_path_under("/x", "/"));
}
END_TEST

START_TEST(t_env)
{
	struct sb_plan *p = sb_plan_new("/r");
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_plan_setenv(p, "A", "1", NULL), 0);
	ck_assert_int_eq(sb_plan_setenv(p, "AB", "2", NULL), 0);
	ck_assert_int_eq(sb_plan_setenv(p, "A", "3", NULL), 0);
	ck_assert_int_eq(p->nenv, 2);
	ck_assert_str_eq(p->env[0], "A=3");
	ck_assert_str_eq(p->env[1], "AB=2");
	ck_assert_ptr_null(p->env[2]);
	ck_assert_str_eq(sb_plan_getenv(p, "AB"), "2");
	ck_assert_ptr_null(sb_plan_getenv(p, "B"));
	ck_assert_int_eq(sb_plan_setenv(p, "X=Y", "1", &err), -1);
	ck_assert_str_eq(sb_error_message(err), "invalid environment variable name 'X=Y'");
	sb_error_free(&err);
	ck_assert_int_eq(sb_plan_setenv(p, "", "1", &err), -1);
	sb_error_free(&err);
	sb_plan_free(p);
}
END_TEST

START_TEST(t_argv_cwd)
{
	struct sb_plan *p = sb_plan_new("/r");
	sb_error_t err = NULL;
	const char *empty[] = { "" };
	ck_assert_int_eq(sb_plan_set_argv(p, 1, empty, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "sandbox command is empty");
	sb_error_free(&err);
	const char *argv[] = { "sh", "-c", "x" };
	ck_assert_int_eq(sb_plan_set_argv(p, 3, argv, NULL), 0);
	/* Re-setting from the plan's own vector must not read freed memory. */
	ck_assert_int_eq(sb_plan_set_argv(p, 2, (const char *const *)p->argv + 1, NULL), 0);
	ck_assert_int_eq(p->argc, 2);
	ck_assert_str_eq(p->argv[0], "-c");
	ck_assert_ptr_null(p->argv[2]);
	ck_assert_int_eq(sb_plan_set_cwd(p, "/a//b/", NULL), 0);
	ck_assert_str_eq(p->cwd, "/a/b");
	ck_assert_int_eq(sb_plan_set_cwd(p, "rel", &err), -1);
	sb_error_free(&err);
	sb_plan_set_stdio(p, 5, 6, 7);
	ck_assert_int_eq(p->stdio[1], 6);
	sb_plan_free(p);
}
END_TEST

START_TEST(t_validate)
{
	sb_error_t err = NULL;
	struct sb_plan *p = sb_plan_new("/r");
	set_cmd(p);
	ck_assert_int_eq(sb_plan_add_file(p, "/etc/x", "hi", NULL), 0);
	ck_assert_int_eq(sb_plan_validate(p, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "sandbox file /etc/x must lie under an "
						"earlier tmpfs");
	sb_error_free(&err);
	sb_plan_free(p);

	p = sb_plan_new("/r");
	set_cmd(p);
	ck_assert_int_eq(sb_plan_add_tmpfs(p, "/t", NULL), 0);
	ck_assert_int_eq(sb_plan_add_file(p, "/t/x", "hi", NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind(p, "/h", "/t/b", 0, NULL), 0);
	ck_assert_int_eq(sb_plan_add_bind(p, "/h", "/t", 0, NULL), 0);
	ck_assert_int_eq(sb_plan_validate(p, NULL), 0);
	ck_assert(!sb_plan_dst_in_fresh_fs(p, 0));
	ck_assert(sb_plan_dst_in_fresh_fs(p, 1));
	ck_assert(sb_plan_dst_in_fresh_fs(p, 2));
	ck_assert(!sb_plan_dst_in_fresh_fs(p, 3)); /* same path: over it */
	ck_assert_int_eq(sb_plan_add_tmpfs(p, "/", NULL), 0);
	ck_assert_int_eq(sb_plan_validate(p, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "cannot mount over the sandbox root");
	sb_error_free(&err);
	sb_plan_free(p);

	p = sb_plan_new("rel");
	set_cmd(p);
	ck_assert_int_eq(sb_plan_validate(p, &err), -1);
	sb_error_free(&err);
	sb_plan_free(p);
}
END_TEST

START_TEST(t_identity)
{
	struct sb_plan *p = sb_plan_new("/r");
	set_cmd(p);
	ck_assert(!p->keep_uid);
	char *d = sb_plan_describe(p);
	ck_assert_ptr_null(strstr(d, "identity"));
	free(d);
	sb_plan_set_identity(p, true);
	sb_plan_set_readonly_root(p, true);
	struct sb_plan *c = sb_plan_copy(p);
	ck_assert(c->keep_uid);
	d = sb_plan_describe(c);
	ck_assert_str_eq(d, "root ro\nidentity caller\n");
	free(d);
	sb_plan_set_identity(c, false);
	ck_assert(!c->keep_uid);
	ck_assert(p->keep_uid);
	sb_plan_free(p);
	sb_plan_free(c);
}
END_TEST

START_TEST(t_copy)
{
	struct sb_plan *p = sb_plan_new("/r");
	set_cmd(p);
	sb_plan_add_standard(p, NULL);
	sb_plan_setenv(p, "A", "1", NULL);
	sb_plan_set_readonly_root(p, true);
	struct sb_plan *c = sb_plan_copy(p);
	sb_plan_setenv(p, "A", "2", NULL);
	sb_plan_add_tmpfs(p, "/x", NULL);
	ck_assert_str_eq(sb_plan_getenv(c, "A"), "1");
	ck_assert_int_eq(c->nops, 6);
	ck_assert_str_eq(c->argv[0], "/bin/true");
	ck_assert_ptr_ne(c->ops[4].src, p->ops[4].src);
	ck_assert_str_eq(c->ops[4].src, "/etc/resolv.conf");
	ck_assert(c->readonly_root);
	char *d = sb_plan_describe(c);
	ck_assert_ptr_eq(strstr(d, "root ro\nproc /proc\n"), d);
	free(d);
	sb_plan_free(p);
	sb_plan_free(c);
}
END_TEST

/* ------------------------------------------------------------- modes */

START_TEST(t_mode_names)
{
	enum sb_mode m;
	sb_error_t err = NULL;
	const char *names[] = { "auto", "subuid", "seccomp", "fakeroot", "rootmap", "journal" };
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(sb_mode_parse(names[i], &m, NULL), 0);
		ck_assert_str_eq(sb_mode_name(m), names[i]);
	}
	ck_assert_str_eq(sb_mode_name(SB_MODE_ROOT), "root");
	ck_assert_int_eq(sb_mode_parse("root", &m, &err), -1);
	ck_assert_int_eq(err->status, 2);
	ck_assert_str_eq(sb_error_message(err), "invalid --userns-mode 'root' (auto, subuid, "
						"journal, seccomp, fakeroot or rootmap)");
	sb_error_free(&err);
	ck_assert(sb_mode_uses_userns(SB_MODE_SECCOMP));
	ck_assert(!sb_mode_uses_userns(SB_MODE_ROOT));
}
END_TEST

static struct sb_plan *moded(enum sb_mode mode, struct sb_sandbox *sb)
{
	struct sb_plan *p = sb_plan_new("/r");
	const char *argv[] = { "/bin/sh", "-ex", "/.post.script" };
	sb_plan_set_argv(p, 3, argv, NULL);
	sb_plan_add_standard(p, NULL);
	memset(sb, 0, sizeof(*sb));
	sb->mode = mode;
	sb_error_t err = NULL;
	ck_assert_msg(sb_plan_apply_mode(p, sb, &err) == 0, "%s", sb_error_message(err));
	ck_assert_int_eq(sb_plan_validate(p, NULL), 0);
	return p;
}

START_TEST(t_mode_plain)
{
	struct sb_sandbox sb;
	enum sb_mode modes[] = { SB_MODE_ROOT, SB_MODE_SUBUID, SB_MODE_ROOTMAP };
	for (size_t i = 0; i < 3; i++) {
		struct sb_plan *p = moded(modes[i], &sb);
		ck_assert_int_eq(p->nops, 6);
		ck_assert_int_eq(p->nenv, 0);
		ck_assert_str_eq(p->argv[0], "/bin/sh");
		sb_plan_free(p);
	}
}
END_TEST

START_TEST(t_mode_seccomp)
{
	struct sb_sandbox sb;
	struct sb_plan *p = moded(SB_MODE_SECCOMP, &sb);
	ck_assert_int_eq(p->nops, 8);
	ck_assert_int_eq(p->ops[6].kind, SB_OP_TMPFS);
	ck_assert_str_eq(p->ops[6].dst, "/.sifbuild");
	ck_assert_int_eq(p->ops[7].kind, SB_OP_FILE);
	ck_assert_str_eq(p->ops[7].dst, "/.sifbuild/apt.conf");
	ck_assert_str_eq(p->ops[7].data, "APT::Sandbox::User \"root\";\n");
	ck_assert_str_eq(sb_plan_getenv(p, "APT_CONFIG"), "/.sifbuild/apt.conf");
	ck_assert_str_eq(p->argv[0], "/bin/sh");
	sb_plan_free(p);
	/* A caller's APT_CONFIG is kept. */
	p = sb_plan_new("/r");
	set_cmd(p);
	sb_plan_setenv(p, "APT_CONFIG", "/mine", NULL);
	ck_assert_int_eq(sb_plan_apply_mode(p, &sb, NULL), 0);
	ck_assert_str_eq(sb_plan_getenv(p, "APT_CONFIG"), "/mine");
	sb_plan_free(p);
	ck_assert_int_ge(sb_seccomp_fake_count(), 25);
}
END_TEST

START_TEST(t_mode_fakeroot)
{
	struct sb_sandbox sb;
	memset(&sb, 0, sizeof(sb));
	sb.mode = SB_MODE_FAKEROOT;
	sb.fr.script = "/usr/bin/fakeroot-sysv";
	sb.fr.faked = "/usr/bin/faked-sysv";
	sb.fr.lib = "/usr/lib/libfakeroot-sysv.so";
	sb.fr.getopt = "/usr/bin/getopt";
	struct sb_plan *p = sb_plan_new("/r");
	const char *argv[] = { "/bin/sh", "-ex", "/.post.script" };
	sb_plan_set_argv(p, 3, argv, NULL);
	sb_plan_setenv(p, "PATH", "/bin", NULL);
	ck_assert_int_eq(sb_plan_apply_mode(p, &sb, NULL), 0);
	check_describe(p, "tmpfs /.sifbuild\n"
			  "bind ro /usr/bin/fakeroot-sysv -> /.sifbuild/fakeroot/fakeroot\n"
			  "bind ro /usr/bin/faked-sysv -> /.sifbuild/fakeroot/faked\n"
			  "bind ro /usr/lib/libfakeroot-sysv.so -> "
			  "/.sifbuild/fakeroot/libfakeroot.so\n"
			  "bind ro /usr/bin/getopt -> /.sifbuild/fakeroot/getopt\n");
	ck_assert_str_eq(sb_plan_getenv(p, "FAKEROOTDONTTRYCHOWN"), "1");
	ck_assert_str_eq(sb_plan_getenv(p, "PATH"), "/bin:/.sifbuild/fakeroot");
	const char *want[] = { "/.sifbuild/fakeroot/fakeroot",
			       "-f",
			       "/.sifbuild/fakeroot/faked",
			       "-l",
			       "/.sifbuild/fakeroot/libfakeroot.so",
			       "--",
			       "/bin/sh",
			       "-ex",
			       "/.post.script" };
	ck_assert_int_eq(p->argc, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_str_eq(p->argv[i], want[i]);
	ck_assert_ptr_null(p->argv[9]);
	ck_assert(sb_plan_dst_in_fresh_fs(p, 1));
	sb_plan_free(p);
}
END_TEST

/* The image's own fakeroot: no binds, looked up in the image's PATH. */
START_TEST(t_mode_fakeroot_image)
{
	struct sb_sandbox sb;
	memset(&sb, 0, sizeof(sb));
	sb.mode = SB_MODE_FAKEROOT;
	struct sb_plan *p = sb_plan_new("/r");
	const char *argv[] = { "/bin/true" };
	sb_plan_set_argv(p, 1, argv, NULL);
	ck_assert_int_eq(sb_plan_apply_mode(p, &sb, NULL), 0);
	check_describe(p, "tmpfs /.sifbuild\n");
	ck_assert_int_eq(p->argc, 3);
	ck_assert_str_eq(p->argv[0], "fakeroot");
	ck_assert_str_eq(p->argv[1], "--");
	ck_assert_str_eq(sb_plan_getenv(p, "FAKEROOTDONTTRYCHOWN"), "1");
	ck_assert_ptr_null(sb_plan_getenv(p, "PATH"));
	sb_plan_free(p);
}
END_TEST

/* With a state directory: -s always, -i once a database exists. */
START_TEST(t_mode_fakeroot_state)
{
	struct sb_sandbox sb;
	memset(&sb, 0, sizeof(sb));
	sb.mode = SB_MODE_FAKEROOT;
	sb.fr.script = "/f";
	sb.fr.faked = "/d";
	sb.fr.lib = "/l";
	char *dir = scratch();
	for (int round = 0; round < 2; round++) {
		struct sb_plan *p = sb_plan_new("/r");
		const char *argv[] = { "/bin/true" };
		sb_plan_set_argv(p, 1, argv, NULL);
		ck_assert_int_eq(sb_plan_set_fakeroot_state(p, dir, NULL), 0);
		ck_assert_int_eq(sb_plan_apply_mode(p, &sb, NULL), 0);
		ck_assert_str_eq(p->ops[p->nops - 1].dst, "/.sifbuild/fakeroot-state");
		ck_assert_str_eq(p->ops[p->nops - 1].src, dir);
		int i = 5;
		if (round == 1) {
			ck_assert_str_eq(p->argv[i++], "-i");
			ck_assert_str_eq(p->argv[i++], "/.sifbuild/fakeroot-state/faked.db");
		}
		ck_assert_str_eq(p->argv[i++], "-s");
		ck_assert_str_eq(p->argv[i++], "/.sifbuild/fakeroot-state/faked.db");
		ck_assert_str_eq(p->argv[i++], "--");
		ck_assert_str_eq(p->argv[i++], "/bin/true");
		ck_assert_int_eq(p->argc, i);
		sb_plan_free(p);
		char *db = sb_asprintf("%s/faked.db", dir);
		close(open(db, O_CREAT | O_WRONLY, 0644));
		free(db);
	}
	sb_error_t err = NULL;
	struct sb_plan *p = sb_plan_new("/r");
	ck_assert_int_eq(sb_plan_set_fakeroot_state(p, "rel", &err), -1);
	sb_error_free(&err);
	sb_plan_free(p);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(t_fakeroot_find)
{
	struct sb_fakeroot_host fr;
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_fakeroot_find("/nonexistent/fakeroot", &fr, &err), -1);
	sb_error_free(&err);
	if (access("/usr/bin/fakeroot-sysv", X_OK) != 0)
		return;
	ck_assert_msg(sb_fakeroot_find("/usr/bin/fakeroot-sysv", &fr, &err) == 0, "%s",
		      sb_error_message(err));
	ck_assert_str_eq(fr.faked, "/usr/bin/faked-sysv");
	ck_assert_ptr_nonnull(strstr(fr.lib, "libfakeroot-sysv.so"));
	ck_assert_int_eq(access(fr.lib, R_OK), 0);
	sb_fakeroot_release(&fr);
}
END_TEST

/* Root mode needs no probe: chosen by auto as root, refused otherwise. */
START_TEST(t_select_root)
{
	struct sb_mode_request req;
	memset(&req, 0, sizeof(req));
	struct sb_sandbox *sb = NULL;
	sb_error_t err = NULL;
	req.mode = SB_MODE_ROOT;
	if (geteuid() != 0) {
		ck_assert_int_eq(sb_sandbox_select(&req, NULL, &sb, &err), -1);
		ck_assert_ptr_null(sb);
		ck_assert_str_eq(sb_error_message(err), "root mode needs root: Operation not "
							"permitted");
		sb_error_free(&err);
		return;
	}
	req.mode = SB_MODE_AUTO;
	ck_assert_int_eq(sb_sandbox_select(&req, NULL, &sb, NULL), 0);
	ck_assert_int_eq(sb_sandbox_mode(sb), SB_MODE_ROOT);
	ck_assert_str_eq(sb_sandbox_info(sb), "running as root: build scripts run in private "
					      "mount and PID namespaces");
	ck_assert_int_eq(sb_sandbox_note_count(sb), 0);
	ck_assert_ptr_null(sb_sandbox_note(sb, 0));
	sb_sandbox_free(sb);
}
END_TEST

/* ------------------------------------------------------------ subuid */

static void pick_ok(const char *text, const char *user, uid_t uid, unsigned long start,
		    unsigned long count)
{
	struct sb_idrange r = { 0, 0 };
	sb_error_t err = NULL;
	ck_assert_msg(sb_subid_pick(text, user, uid, &r, &err) == 0, "%s", sb_error_message(err));
	ck_assert_uint_eq(r.start, start);
	ck_assert_uint_eq(r.count, count);
}

static void pick_fail(const char *text, const char *user, uid_t uid, const char *msg)
{
	struct sb_idrange r = { 0, 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_subid_pick(text, user, uid, &r, &err), -1);
	ck_assert_str_eq(sb_error_message(err), msg);
	sb_error_free(&err);
}

START_TEST(t_subid)
{
	pick_ok("sbtest:100000:65536\n", "sbtest", 1001, 100000, 65536);
	pick_ok("other:1:65536\nsbtest:200000:65536", "sbtest", 1001, 200000, 65536);
	/* Exactly 65536 beats larger; else the largest above 65536. */
	pick_ok("u:1000000:131072\nu:300000:65536\n", "u", 7, 300000, 65536);
	pick_ok("u:1000000:131072\nu:300000:200000\n", "u", 7, 300000, 200000);
	/* Numeric UID entries when the name has none. */
	pick_ok("1001:500000:65536\n", "sbtest", 1001, 500000, 65536);
	pick_ok("x:1:2\n1001:500000:65536\n", NULL, 1001, 500000, 65536);
	pick_fail("sbtest:100000:1000\n", "sbtest", 1001, "range count lower than 65536");
	pick_fail("sbtestx:100000:65536\nsbtes:1:65536\n", "sbtest", 1001, "no entry for sbtest");
	pick_fail("sbtest:abc:65536\nsbtest:1:\nsbtest:\n", "sbtest", 1001, "no entry for sbtest");
	pick_fail("", "u", 1, "no entry for u");
}
END_TEST

/* ----------------------------------------------------------- scripts */

static void argv_is(const char *args, const char *const *want, int n)
{
	int argc = 0;
	char **v = sb_script_argv("%post", args, "/.post.script", &argc, NULL);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(argc, n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(v[i], want[i]);
	ck_assert_ptr_null(v[n]);
	sb_strv_free(v);
}

START_TEST(t_script_argv)
{
	const char *a[] = { "/bin/sh", "-ex", "/.post.script" };
	argv_is(NULL, a, 3);
	argv_is("  # comment", a, 3);
	const char *b[] = { "/bin/sh", "-ex", "-u", "/.post.script" };
	argv_is("-u", b, 4);
	const char *c[] = { "/bin/sh", "-ex", "-c", "/bin/bash -l /.post.script" };
	argv_is(" -c /bin/bash -l # login shell", c, 4);
	sb_error_t err = NULL;
	int argc;
	ck_assert_ptr_null(sb_script_argv("%setup", "-c", "/s", &argc, &err));
	ck_assert_str_eq(sb_error_message(err), "bad setup section '-c' parameter: missing "
						"arguments");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
}
END_TEST

START_TEST(t_script_env)
{
	setenv("TERM", "xterm-test", 1);
	setenv("https_proxy", "http://proxy:3128", 1);
	setenv("SECRET_TOKEN", "nope", 1);
	struct sb_plan *p = sb_plan_new("/r");
	ck_assert_int_eq(sb_script_post_env(p, "x.sif", NULL), 0);
	ck_assert_str_eq(sb_plan_getenv(p, "HOME"), "/root");
	ck_assert_str_eq(sb_plan_getenv(p, "LANG"), "C");
	ck_assert_str_eq(sb_plan_getenv(p, "APPTAINER_ENVIRONMENT"),
			 "/.singularity.d/env/91-environment.sh");
	ck_assert_str_eq(sb_plan_getenv(p, "SINGULARITY_ENVIRONMENT"),
			 "/.singularity.d/env/91-environment.sh");
	ck_assert_str_eq(sb_plan_getenv(p, "APPTAINER_LABELS"), "/.build.labels");
	ck_assert_str_eq(sb_plan_getenv(p, "APPTAINER_NAME"), "x.sif");
	ck_assert_str_eq(sb_plan_getenv(p, "TERM"), "xterm-test");
	ck_assert_str_eq(sb_plan_getenv(p, "https_proxy"), "http://proxy:3128");
	ck_assert_ptr_null(sb_plan_getenv(p, "SECRET_TOKEN"));
	ck_assert_ptr_nonnull(strstr(sb_plan_getenv(p, "PATH"), "/usr/bin"));
	sb_plan_free(p);
	unsetenv("SECRET_TOKEN");
}
END_TEST

START_TEST(t_source_image_env)
{
	struct sb_plan *p = sb_plan_new("/r");
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_plan_source_image_env(p, &err), -1);
	sb_error_free(&err);
	const char *argv[] = { "/bin/sh", "-ex", "/.post.script" };
	sb_plan_set_argv(p, 3, argv, NULL);
	ck_assert_int_eq(sb_plan_source_image_env(p, NULL), 0);
	ck_assert_int_eq(p->argc, 7);
	ck_assert_str_eq(p->argv[0], "/bin/sh");
	ck_assert_str_eq(p->argv[1], "-c");
	ck_assert_ptr_nonnull(strstr(p->argv[2], "/.singularity.d/env/*.sh"));
	ck_assert_ptr_nonnull(strstr(p->argv[2], "exec \"$@\""));
	ck_assert_str_eq(p->argv[3], "sifbuild-env");
	ck_assert_str_eq(p->argv[4], "/bin/sh");
	ck_assert_str_eq(p->argv[6], "/.post.script");
	sb_plan_free(p);
}
END_TEST

/* ------------------------------------------- mount points in a scratch dir */

START_TEST(t_mountpoints)
{
	char *root = scratch();
	char *etc = sb_asprintf("%s/etc", root);
	mkdir(etc, 0755);
	struct sb_plan *p = sb_plan_new(root);
	set_cmd(p);
	sb_plan_add_standard(p, NULL);
	sb_plan_add_bind(p, "/etc/passwd", "/opt/deep/file", 0, NULL);
	sb_plan_add_bind(p, "/nonexistent", "/opt/optional", SB_BIND_OPTIONAL, NULL);
	sb_plan_add_bind(p, "/etc/passwd", "/dev/passwd-in-dev-tmpfs", 0, NULL);
	struct sb_created made = { NULL, 0 };
	sb_error_t err = NULL;
	ck_assert_msg(sb_mountpoints_prepare(p, &made, &err) == 0, "%s", sb_error_message(err));
	ck_assert(exists(root, "proc") && exists(root, "sys") && exists(root, "dev"));
	ck_assert(exists(root, "tmp") && exists(root, "opt/deep/file"));
	ck_assert(!exists(root, "opt/optional"));
	ck_assert(!exists(root, "dev/passwd-in-dev-tmpfs")); /* made later, in the tmpfs */
	struct stat st;
	char *f = sb_asprintf("%s/opt/deep/file", root);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 0);
	/* A mount point that got content is kept. */
	char *keep = sb_asprintf("%s/tmp/keep", root);
	close(open(keep, O_CREAT | O_WRONLY, 0644));
	sb_mountpoints_cleanup(root, &made);
	ck_assert(!exists(root, "proc") && !exists(root, "sys") && !exists(root, "dev"));
	ck_assert(!exists(root, "opt") && exists(root, "tmp/keep") && exists(root, "etc"));
	if (access("/etc/resolv.conf", F_OK) == 0)
		ck_assert(!exists(root, "etc/resolv.conf"));
	ck_assert_int_eq(made.n, 0);
	sb_plan_free(p);
	rm_rf(root);
	free(f);
	free(keep);
	free(etc);
	free(root);
}
END_TEST

/* An image symlink pointing at an absolute host path is resolved inside the
 * rootfs: nothing is created outside, and a dangling one is an error. */
START_TEST(t_mountpoints_symlink)
{
	char *root = scratch();
	char *outside = scratch();
	char *link = sb_asprintf("%s/etc", root);
	ck_assert_int_eq(symlink(outside, link), 0);
	struct sb_plan *p = sb_plan_new(root);
	set_cmd(p);
	sb_plan_add_bind(p, "/etc/passwd", "/etc/x", 0, NULL);
	struct sb_created made = { NULL, 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_mountpoints_prepare(p, &made, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "creating mount point /etc/x"));
	sb_error_free(&err);
	ck_assert(!exists(outside, "x"));
	sb_mountpoints_cleanup(root, &made);
	/* With the target present inside the rootfs, x is made there. */
	char *cmd = sb_asprintf("mkdir -p %s%s", root, outside);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(sb_mountpoints_prepare(p, &made, &err) == 0, "%s", sb_error_message(err));
	ck_assert(!exists(outside, "x"));
	char *inside = sb_asprintf("%s%s/x", root, outside);
	struct stat st;
	ck_assert_int_eq(stat(inside, &st), 0);
	sb_mountpoints_cleanup(root, &made);
	ck_assert_int_ne(stat(inside, &st), 0);
	ck_assert_int_eq(lstat(link, &st), 0);
	sb_plan_free(p);
	rm_rf(root);
	rm_rf(outside);
	free(cmd);
	free(inside);
	free(link);
	free(root);
	free(outside);
}
END_TEST

START_TEST(t_mountpoints_missing_source)
{
	char *root = scratch();
	struct sb_plan *p = sb_plan_new(root);
	set_cmd(p);
	sb_plan_add_tmpfs(p, "/tmp", NULL);
	sb_plan_add_bind(p, "/nonexistent/src", "/mnt", 0, NULL);
	struct sb_created made = { NULL, 0 };
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_mountpoints_prepare(p, &made, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "bind source /nonexistent/src: No such file or "
						"directory");
	sb_error_free(&err);
	sb_mountpoints_cleanup(root, &made);
	ck_assert(!exists(root, "tmp") && !exists(root, "mnt"));
	sb_plan_free(p);
	rm_rf(root);
	free(root);
}
END_TEST

START_TEST(t_remove_tree)
{
	char *root = scratch();
	char *d = sb_asprintf("%s/a/b", root);
	char *cmd = sb_asprintf("mkdir -p %s && touch %s/f && ln -s / %s/up && chmod 0500 %s "
				"%s/..",
				d, d, d, d, d);
	ck_assert_int_eq(system(cmd), 0);
	rm_rf(root);
	struct stat st;
	ck_assert_int_ne(lstat(root, &st), 0);
	ck_assert_int_eq(lstat("/etc/passwd", &st), 0); /* the symlink was not followed */
	rm_rf(root); /* missing: not an error */
	free(cmd);
	free(d);
	free(root);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("plan");
	tcase_add_test(tc, t_plan_defaults);
	tcase_add_test(tc, t_identity);
	tcase_add_test(tc, t_plan_standard);
	tcase_add_test(tc, t_bind_spec);
	tcase_add_test(tc, t_bind_spec_errors);
	tcase_add_test(tc, t_path_clean);
	tcase_add_test(tc, t_env);
	tcase_add_test(tc, t_argv_cwd);
	tcase_add_test(tc, t_validate);
	tcase_add_test(tc, t_copy);
	suite_add_tcase(s, tc);
	tc = tcase_create("modes");
	tcase_add_test(tc, t_mode_names);
	tcase_add_test(tc, t_mode_plain);
	tcase_add_test(tc, t_mode_seccomp);
	tcase_add_test(tc, t_mode_fakeroot);
	tcase_add_test(tc, t_mode_fakeroot_image);
	tcase_add_test(tc, t_mode_fakeroot_state);
	tcase_add_test(tc, t_fakeroot_find);
	tcase_add_test(tc, t_subid);
	tcase_add_test(tc, t_select_root);
	suite_add_tcase(s, tc);
	tc = tcase_create("scripts");
	tcase_add_test(tc, t_script_argv);
	tcase_add_test(tc, t_script_env);
	tcase_add_test(tc, t_source_image_env);
	suite_add_tcase(s, tc);
	tc = tcase_create("rootfs");
	tcase_add_test(tc, t_mountpoints);
	tcase_add_test(tc, t_mountpoints_symlink);
	tcase_add_test(tc, t_mountpoints_missing_source);
	tcase_add_test(tc, t_remove_tree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
