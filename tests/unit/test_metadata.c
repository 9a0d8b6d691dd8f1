/* tests/unit/test_metadata.c: builder/image writers for definition-file builds
 * (base environment, SCIF apps, labels.json, definition, scripts), run on
 * real temporary trees from real definition texts and compared byte for byte
 * with Apptainer's documented formats (apptainer-behaviour.md 3.4-3.10). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"
#include "tests/unit/tree_helpers.h"

/* ------------------------------------------------------------ helpers */

static struct defparse_def *parse(const char *text)
{
	sb_error_t err = NULL;
	struct defparse_def *d = defparse_parse_buffer("test.def", text, strlen(text), NULL, &err);
	ck_assert_msg(d != NULL, "%s", sb_error_message(err));
	return d;
}

/* Warnings collected from the writers. */
static struct sb_strbuf warnings;

static void collect(void *ctx, const char *msg)
{
	(void)ctx;
	sb_strbuf_adds(&warnings, msg);
	sb_strbuf_addc(&warnings, '\n');
}

static const char *warned(void)
{
	return warnings.buf ? warnings.buf : "";
}

/* ------------------------------------------------------------ base environment */

static const struct image_skel_entry *skel(const char *path)
{
	size_t n;
	const struct image_skel_entry *e = image_skeleton(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].path, path) == 0)
			return &e[i];
	ck_abort_msg("%s not in the skeleton", path);
	return NULL;
}

static void expect_skeleton(const struct tree *t)
{
	size_t n;
	const struct image_skel_entry *e = image_skeleton(&n);
	for (size_t i = 0; i < n; i++) {
		if (e[i].type == 'd')
			expect_dir(t, e[i].path, e[i].mode);
		else if (e[i].type == 'l')
			expect_link(t, e[i].path, e[i].content);
		else
			expect_file(t, e[i].path, e[i].content, e[i].mode);
	}
}

START_TEST(base_env_fresh_tree)
{
	struct tree t = tree_new();
	ck_assert_int_eq(chmod(t.root, 0555), 0);
	sb_error_t err = NULL;
	ck_assert_msg(image_base_env(t.fd, true, &err) == 0, "%s", sb_error_message(err));
	struct stat st;
	ck_assert_int_eq(stat(t.root, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755); /* owner write added */
	expect_skeleton(&t);
	/* the documented texts the runtime and users rely on */
	expect_file(&t, "etc/hosts", "", 0644);
	expect_link(&t, "environment", ".singularity.d/env/90-environment.sh");
	expect_link(&t, "singularity", ".singularity.d/runscript");
	ck_assert_ptr_nonnull(strstr(skel(".singularity.d/env/90-environment.sh")->content,
				     "\n\n# Custom environment shell code should follow\n"));
	/* idempotent */
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	expect_skeleton(&t);
	tree_free(&t);
}
END_TEST

/* A tree from an image: existing files, symlinks and odd modes. */
static void populate_existing(struct tree *t)
{
	mkdir_in(t, "etc");
	mkdir_in(t, "run");
	mkdir_in(t, "var");
	mkdir_in(t, "var/tmp");
	mkdir_in(t, ".singularity.d");
	put(t, "etc/hosts", "127.0.0.1 image\n", 0444);
	link_in(t, "etc/resolv.conf", "../run/resolv.conf"); /* followed, inside the tree */
	put(t, "run/resolv.conf", "nameserver 10.0.0.1\n", 0600);
	put(t, ".singularity.d/runscript", "#!/bin/sh\necho mine\n", 0700);
	link_in(t, "tmp", "var/tmp");	    /* an existing symlink is a fine directory */
	link_in(t, "home", "/nonexistent");  /* even a dangling one (Apptainer: Lstat) */
	link_in(t, ".run", "elsewhere");      /* a link pointing elsewhere is replaced */
	link_in(t, "singularity", ".singularity.d/runscript");
	put(t, "environment", "not a link\n", 0640); /* a non-link is left alone */
}

START_TEST(base_env_existing_keep_then_overwrite)
{
	struct tree t = tree_new();
	populate_existing(&t);
	sb_error_t err = NULL;
	ck_assert_msg(image_base_env(t.fd, false, &err) == 0, "%s", sb_error_message(err));
	/* overwrite=false: contents kept, modes fixed */
	expect_file(&t, "etc/hosts", "127.0.0.1 image\n", 0644);
	expect_link(&t, "etc/resolv.conf", "../run/resolv.conf");
	expect_file(&t, "run/resolv.conf", "nameserver 10.0.0.1\n", 0644);
	expect_file(&t, ".singularity.d/runscript", "#!/bin/sh\necho mine\n", 0755);
	expect_link(&t, "tmp", "var/tmp");
	expect_link(&t, "home", "/nonexistent");
	expect_link(&t, ".run", ".singularity.d/actions/run");
	expect_link(&t, "singularity", ".singularity.d/runscript");
	expect_file(&t, "environment", "not a link\n", 0640);
	/* missing skeleton files are still written */
	const struct image_skel_entry *e = skel(".singularity.d/actions/exec");
	expect_file(&t, e->path, e->content, 0755);
	e = skel(".singularity.d/startscript");
	expect_file(&t, e->path, e->content, 0755);

	/* overwrite=true: every regular skeleton file rewritten, through links */
	ck_assert_msg(image_base_env(t.fd, true, &err) == 0, "%s", sb_error_message(err));
	expect_file(&t, "etc/hosts", "", 0644);
	expect_link(&t, "etc/resolv.conf", "../run/resolv.conf");
	expect_file(&t, "run/resolv.conf", "", 0644);
	e = skel(".singularity.d/runscript");
	expect_file(&t, e->path, e->content, 0755);
	expect_file(&t, "environment", "not a link\n", 0640);
	expect_link(&t, "home", "/nonexistent");
	tree_free(&t);
}
END_TEST

START_TEST(base_env_dir_in_the_way)
{
	struct tree t = tree_new();
	mkdir_in(&t, "etc");
	mkdir_in(&t, "etc/hosts");
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "/etc/hosts"));
	sb_error_free(&err);
	tree_free(&t);
}
END_TEST

/* ------------------------------------------------------------ SCIF apps */

static const char apps_def[] =
	"Bootstrap: docker\n"
	"From: alpine\n"
	"\n"
	"%post\n"
	"    echo post\n"
	"\n"
	"%appinstall foo\n"
	"    make install\n"
	"\n"
	"%appenv foo\n"
	"    export FOO=1\n"
	"\n"
	"%apprun foo\n"
	"    exec foo \"$@\"\n"
	"\n"
	"%apphelp foo\n"
	"    foo help\n"
	"\n"
	"%apptest foo\n"
	"    foo --version\n"
	"\n"
	"%applabels foo\n"
	"    Maintainer A <a@example.org>\n"
	"    SCIF_APP_NAME renamed\n"
	"\n"
	"%appstart my-app\n"
	"    start-my\n"
	"\n"
	"%apprun my-app\n"
	"    run-my\n"
	"\n"
	"%applabels my-app\n"
	"    Mixed case\n";

static const char env94_want[] =
	"## App Global Exports For: foo\n"
	"\n"
	"SCIF_APPDATA_foo=/scif/data/foo\n"
	"SCIF_APPMETA_foo=/scif/apps/foo/scif\n"
	"SCIF_APPROOT_foo=/scif/apps/foo\n"
	"SCIF_APPBIN_foo=/scif/apps/foo/bin\n"
	"SCIF_APPLIB_foo=/scif/apps/foo/lib\n"
	"\n"
	"export SCIF_APPDATA_foo SCIF_APPMETA_foo SCIF_APPROOT_foo SCIF_APPBIN_foo SCIF_APPLIB_foo\n"
	"export SCIF_APPENV_foo=\"/scif/apps/foo/scif/env/90-environment.sh\"\n"
	"export SCIF_APPLABELS_foo=\"/scif/apps/foo/scif/labels.json\"\n"
	"export SCIF_APPRUN_foo=\"/scif/apps/foo/scif/runscript\"\n"
	"## App Global Exports For: my_app\n"
	"\n"
	"SCIF_APPDATA_my_app=/scif/data/my_app\n"
	"SCIF_APPMETA_my_app=/scif/apps/my_app/scif\n"
	"SCIF_APPROOT_my_app=/scif/apps/my_app\n"
	"SCIF_APPBIN_my_app=/scif/apps/my_app/bin\n"
	"SCIF_APPLIB_my_app=/scif/apps/my_app/lib\n"
	"\n"
	"export SCIF_APPDATA_my_app SCIF_APPMETA_my_app SCIF_APPROOT_my_app SCIF_APPBIN_my_app "
	"SCIF_APPLIB_my_app\n"
	"export SCIF_APPLABELS_my_app=\"/scif/apps/my_app/scif/labels.json\"\n"
	"export SCIF_APPRUN_my_app=\"/scif/apps/my_app/scif/runscript\"\n"
	"export SCIF_APPSTART_my_app=\"/scif/apps/my_app/scif/startscript\"\n";

static const char post_want[] = "\ncd /\n. /scif/apps/foo/scif/env/01-base.sh\n\n"
				"cd /scif/apps/foo\n    make install\n\n\n\ncd /\n"
				"\ncd /\n. /scif/apps/my-app/scif/env/01-base.sh\n\n"
				"cd /scif/apps/my-app\n\n\ncd /\n";

static void expect_env01(const struct tree *t, const char *app)
{
	char *rel = sb_asprintf("scif/apps/%s/scif/env/01-base.sh", app);
	char *want = sb_asprintf(
		"#!/bin/sh\n\nSCIF_APPNAME=%s\nSCIF_APPROOT=\"/scif/apps/%s\"\n"
		"SCIF_APPMETA=\"/scif/apps/%s/scif\"\nSCIF_DATA=\"/scif/data\"\n"
		"SCIF_APPDATA=\"/scif/data/%s\"\nSCIF_APPINPUT=\"/scif/data/%s/input\"\n"
		"SCIF_APPOUTPUT=\"/scif/data/%s/output\"\n"
		"export SCIF_APPDATA SCIF_APPNAME SCIF_APPROOT SCIF_APPMETA SCIF_APPINPUT "
		"SCIF_APPOUTPUT SCIF_DATA\n",
		app, app, app, app, app, app);
	expect_file(t, rel, want, 0755);
	free(rel);
	free(want);
}

START_TEST(apps_two_apps)
{
	struct tree t = tree_new();
	umask(077); /* modes must not depend on the umask */
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	struct defparse_def *d = parse(apps_def);
	char *post = NULL;
	ck_assert_msg(image_apps(t.fd, &d->stages[0], &post, &err) == 0, "%s",
		      sb_error_message(err));
	ck_assert_str_eq(post, post_want);
	free(post);
	static const char *const dirs[] = { "scif",	       "scif/apps",	     "scif/apps/foo",
					    "scif/apps/foo/scif", "scif/apps/foo/bin", "scif/apps/foo/lib",
					    "scif/apps/foo/scif/env", "scif/data",  "scif/data/foo",
					    "scif/data/foo/input", "scif/data/foo/output",
					    "scif/apps/my-app/scif/env", "scif/data/my-app/output" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		expect_dir(&t, dirs[i], 0755);
	expect_env01(&t, "foo");
	expect_env01(&t, "my-app");
	expect_file(&t, "scif/apps/foo/scif/env/90-environment.sh", "    export FOO=1\n\n", 0755);
	expect_file(&t, "scif/apps/foo/scif/runscript", "#!/bin/sh\n\n    exec foo \"$@\"\n\n\n",
		    0755);
	expect_file(&t, "scif/apps/foo/scif/test", "#!/bin/sh\n\n    foo --version\n\n\n", 0755);
	expect_file(&t, "scif/apps/foo/scif/runscript.help", "    foo help\n\n", 0644);
	expect_absent(&t, "scif/apps/foo/scif/startscript");
	expect_file(&t, "scif/apps/foo/scif/labels.json",
		    "{\n\t\"Maintainer\": \"A \\u003ca@example.org\\u003e\",\n"
		    "\t\"SCIF_APP_NAME\": \"renamed\"\n}",
		    0644);
	expect_file(&t, "scif/apps/my-app/scif/startscript", "#!/bin/sh\n\n    start-my\n\n\n",
		    0755);
	expect_file(&t, "scif/apps/my-app/scif/runscript", "#!/bin/sh\n\n    run-my\n\n\n", 0755);
	expect_file(&t, "scif/apps/my-app/scif/labels.json",
		    "{\n\t\"Mixed\": \"case\",\n\t\"SCIF_APP_NAME\": \"my-app\"\n}", 0644);
	expect_absent(&t, "scif/apps/my-app/scif/env/90-environment.sh");
	expect_absent(&t, "scif/apps/my-app/scif/test");
	expect_absent(&t, "scif/apps/my_app");
	expect_file(&t, ".singularity.d/env/94-appsbase.sh", env94_want, 0755);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(apps_none_and_bad_name)
{
	struct tree t = tree_new();
	sb_error_t err = NULL;
	struct defparse_def *d = parse("Bootstrap: scratch\n\n%post\n    true\n");
	char *post = NULL;
	ck_assert_int_eq(image_apps(t.fd, &d->stages[0], &post, &err), 0);
	ck_assert_str_eq(post, "");
	free(post);
	expect_file(&t, ".singularity.d/env/94-appsbase.sh", "", 0755);
	expect_absent(&t, "scif");
	defparse_def_free(d);

	d = parse("Bootstrap: scratch\n\n%apprun ..\n    true\n");
	post = (char *)"unchanged";
	ck_assert_int_eq(image_apps(t.fd, &d->stages[0], &post, &err), -1);
	ck_assert_ptr_null(post);
	ck_assert_str_eq(sb_error_message(err), "invalid app name \"..\"");
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	expect_absent(&t, "scif");
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

/* ------------------------------------------------------------ metadata */

static const char meta_def[] =
	"Bootstrap: docker\n"
	"From: alpine:3.19\n"
	"Stage: final\n"
	"\n"
	"%help\n"
	"    Usage: run it\n"
	"\n"
	"%labels\n"
	"    Author me\n"
	"    org.label-schema.build-arch riscv\n"
	"    Base override\n"
	"    Extra <x&y>\n"
	"\n"
	"%environment\n"
	"    export FOO=bar\n"
	"\n"
	"%startscript -e\n"
	"    exec daemon\n"
	"\n"
	"%runscript -x # comment\n"
	"#!/bin/bash\n"
	"echo \"hello $@\"\n"
	"\n"
	"%test\n"
	"    test -x /bin/sh\n";

static const struct image_label base_labels[] = {
	{ "org.opencontainers.image.base.name", "docker.io/library/alpine:3.19" },
	{ "org.opencontainers.image.base.digest", "sha256:0123abcd" },
};

static struct image_meta_options meta_opts(void)
{
	struct image_meta_options o = {
		.build_time = 1785834307, /* Tuesday 4 August 2026 09:05:07 UTC */
		.utc = true,
		.arch = "arm64",
		.variant = "v8",
		.version = "9.9.9-test",
		.extra = base_labels,
		.n_extra = 2,
		.warn = collect,
	};
	return o;
}

static const char labels_head[] =
	"{\n"
	"\t\"Author\": \"me\",\n"
	"\t\"Base\": \"%s\",\n"
	"\t\"Extra\": \"\\u003cx\\u0026y\\u003e\",\n"
	"\t\"Old\": \"replaced\",\n"
	"\t\"Post\": \"value from post\",\n"
	"\t\"org.label-schema.build-arch\": \"%s\",\n"
	"\t\"org.label-schema.build-date\": \"Tuesday_4_August_2026_9:5:7_UTC\",\n"
	"\t\"org.label-schema.schema-version\": \"1.0\",\n"
	"\t\"org.label-schema.usage\": \"/.singularity.d/runscript.help\",\n"
	"\t\"org.label-schema.usage.apptainer.runscript.help\": \"/.singularity.d/runscript.help\",\n"
	"\t\"org.label-schema.usage.apptainer.version\": \"9.9.9-test\",\n"
	"%s"
	"\t\"org.opencontainers.image.architecture\": \"arm64\",\n"
	"\t\"org.opencontainers.image.base.digest\": \"sha256:0123abcd\",\n"
	"\t\"org.opencontainers.image.base.name\": \"docker.io/library/alpine:3.19\",\n"
	"\t\"org.opencontainers.image.created\": \"2026-08-04T09:05:07Z\",\n"
	"\t\"org.opencontainers.image.variant\": \"v8\"\n"
	"}";

static const char deffile_labels[] =
	"\t\"org.label-schema.usage.singularity.deffile.bootstrap\": \"docker\",\n"
	"\t\"org.label-schema.usage.singularity.deffile.from\": \"alpine:3.19\",\n"
	"\t\"org.label-schema.usage.singularity.deffile.stage\": \"final\",\n";

/* An image tree as %post leaves it: base labels, /.build.labels. */
static void prepare_meta_tree(struct tree *t)
{
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t->fd, true, &err), 0);
	put(t, ".singularity.d/labels.json",
	    "{\"Base\": \"from-image\", \"org.label-schema.schema-version\": \"0.9\", \"Old\": \"x\"}",
	    0644);
	put(t, ".build.labels",
	    "Post value from post\n# comment\nOld replaced\n\n  Base   from-post  \n", 0644);
}

START_TEST(metadata_full)
{
	struct tree t = tree_new();
	prepare_meta_tree(&t);
	struct defparse_def *d = parse(meta_def);
	struct image_meta_options o = meta_opts();
	sb_error_t err = NULL;
	warnings = (struct sb_strbuf)SB_STRBUF_INIT;
	ck_assert_msg(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err) == 0, "%s",
		      sb_error_message(err));
	/* labels: image < /.build.labels < automatic < %labels (no override) */
	char *want = sb_asprintf(labels_head, "from-post", "arm64", deffile_labels);
	expect_file(&t, ".singularity.d/labels.json", want, 0644);
	free(want);
	ck_assert_str_eq(warned(),
			 "Label: org.label-schema.build-arch already exists and force option is "
			 "false, not overwriting\n"
			 "Label: Base already exists and force option is false, not overwriting\n");
	expect_absent(&t, ".build.labels");
	expect_file(&t, ".singularity.d/runscript.help", "    Usage: run it\n\n\n", 0644);
	expect_file(&t, ".singularity.d/Singularity", meta_def, 0644);
	expect_absent(&t, ".singularity.d/bootstrap_history");
	const struct image_skel_entry *e = skel(".singularity.d/env/90-environment.sh");
	char *env = sb_asprintf("%s\n    export FOO=bar\n\n\n", e->content);
	expect_file(&t, ".singularity.d/env/90-environment.sh", env, 0755);
	free(env);
	/* shebang of the body, args up to '#' (the trailing space stays) */
	expect_file(&t, ".singularity.d/runscript",
		    "#!/bin/bash -x \n\necho \"hello $@\"\n\n\n", 0755);
	expect_file(&t, ".singularity.d/startscript", "#!/bin/sh -e\n\n    exec daemon\n\n\n",
		    0755);
	expect_file(&t, ".singularity.d/test", "#!/bin/sh\n\n    test -x /bin/sh\n\n", 0755);
	sb_strbuf_release(&warnings);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(metadata_force_overrides)
{
	struct tree t = tree_new();
	prepare_meta_tree(&t);
	put(&t, ".singularity.d/runscript.help", "old help\n", 0644);
	struct defparse_def *d = parse(meta_def);
	struct image_meta_options o = meta_opts();
	o.force = true;
	sb_error_t err = NULL;
	warnings = (struct sb_strbuf)SB_STRBUF_INIT;
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	char *want = sb_asprintf(labels_head, "override", "riscv", deffile_labels);
	expect_file(&t, ".singularity.d/labels.json", want, 0644);
	free(want);
	ck_assert_str_eq(warned(), "");
	expect_file(&t, ".singularity.d/runscript.help", "    Usage: run it\n\n\n", 0644);
	sb_strbuf_release(&warnings);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(metadata_help_kept_update_no_deffile_labels)
{
	struct tree t = tree_new();
	prepare_meta_tree(&t);
	put(&t, ".singularity.d/runscript.help", "old help\n", 0600);
	struct defparse_def *d = parse(meta_def);
	struct image_meta_options o = meta_opts();
	o.update = true;
	sb_error_t err = NULL;
	warnings = (struct sb_strbuf)SB_STRBUF_INIT;
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	expect_file(&t, ".singularity.d/runscript.help", "old help\n", 0600);
	ck_assert_ptr_nonnull(strstr(warned(), "Help message already exists and force option is "
					       "false, not overwriting\n"));
	/* the help labels still name the (existing) help file */
	char *want = sb_asprintf(labels_head, "from-post", "arm64", "");
	expect_file(&t, ".singularity.d/labels.json", want, 0644);
	free(want);
	sb_strbuf_release(&warnings);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

static bool only_runscript(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "runscript") == 0;
}

START_TEST(metadata_section_filter)
{
	struct tree t = tree_new();
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	struct defparse_def *d = parse(meta_def);
	struct image_meta_options o = meta_opts();
	o.section = only_runscript;
	o.extra = NULL;
	o.n_extra = 0;
	o.variant = NULL;
	/* an existing read-only runscript is rewritten and keeps its mode (Apptainer) */
	put(&t, ".singularity.d/runscript", "#!/bin/sh\nold\n", 0555);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	expect_absent(&t, ".singularity.d/runscript.help");
	expect_absent(&t, ".singularity.d/test");
	const struct image_skel_entry *e = skel(".singularity.d/env/90-environment.sh");
	expect_file(&t, e->path, e->content, 0755);
	e = skel(".singularity.d/startscript");
	expect_file(&t, e->path, e->content, 0755);
	expect_file(&t, ".singularity.d/runscript", "#!/bin/bash -x \n\necho \"hello $@\"\n\n\n",
		    0555);
	/* no %labels, no help labels; the definition is always stored */
	expect_file(&t, ".singularity.d/labels.json",
		    "{\n"
		    "\t\"org.label-schema.build-arch\": \"arm64\",\n"
		    "\t\"org.label-schema.build-date\": \"Tuesday_4_August_2026_9:5:7_UTC\",\n"
		    "\t\"org.label-schema.schema-version\": \"1.0\",\n"
		    "\t\"org.label-schema.usage.apptainer.version\": \"9.9.9-test\",\n"
		    "\t\"org.label-schema.usage.singularity.deffile.bootstrap\": \"docker\",\n"
		    "\t\"org.label-schema.usage.singularity.deffile.from\": \"alpine:3.19\",\n"
		    "\t\"org.label-schema.usage.singularity.deffile.stage\": \"final\",\n"
		    "\t\"org.opencontainers.image.architecture\": \"arm64\",\n"
		    "\t\"org.opencontainers.image.created\": \"2026-08-04T09:05:07Z\"\n"
		    "}",
		    0644);
	expect_file(&t, ".singularity.d/Singularity", meta_def, 0644);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(metadata_bootstrap_history)
{
	struct tree t = tree_new();
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	struct defparse_def *d = parse("Bootstrap: localimage\nFrom: base.sif\n\n%post\n    true\n");
	struct image_meta_options o = meta_opts();
	put(&t, ".singularity.d/Singularity", "first\n", 0644);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	expect_dir(&t, ".singularity.d/bootstrap_history", 0755);
	expect_file(&t, ".singularity.d/bootstrap_history/Apptainer0", "first\n", 0644);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	expect_file(&t, ".singularity.d/bootstrap_history/Apptainer1", d->fullraw, 0644);
	/* N = entries already there; a taken name is never overwritten */
	put(&t, ".singularity.d/bootstrap_history/Apptainer3", "kept\n", 0644);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	expect_file(&t, ".singularity.d/bootstrap_history/Apptainer3", "kept\n", 0644);
	expect_file(&t, ".singularity.d/bootstrap_history/Apptainer4", d->fullraw, 0644);
	expect_file(&t, ".singularity.d/Singularity", d->fullraw, 0644);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(metadata_environment_created_and_bad_labels)
{
	struct tree t = tree_new();
	sb_error_t err = NULL;
	struct defparse_def *d =
		parse("Bootstrap: scratch\n\n%environment\n    A=1\n%runscript\n\n  #!/bin/zsh\n");
	struct image_meta_options o = meta_opts();
	ck_assert_msg(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err) == 0, "%s",
		      sb_error_message(err));
	expect_file(&t, ".singularity.d/env/90-environment.sh", "#!/bin/sh\n\n    A=1\n\n", 0755);
	/* blank lines before "#!": the empty first line is the shebang (Apptainer) */
	expect_file(&t, ".singularity.d/runscript", "\n\n  #!/bin/zsh\n\n", 0755);
	/* a labels.json that is not a string map is an error naming it */
	put(&t, ".singularity.d/labels.json", "{\"a\": 1}", 0644);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), -1);
	ck_assert_str_eq(sb_error_message(err), "/.singularity.d/labels.json in the image: the "
						"value of label \"a\" is not a string");
	sb_error_free(&err);
	put(&t, ".singularity.d/labels.json", "null", 0644);
	ck_assert_int_eq(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err), 0);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(build_times_formats)
{
	char *date, *created;
	image_build_times(1785834307, true, &date, &created);
	ck_assert_str_eq(date, "Tuesday_4_August_2026_9:5:7_UTC");
	ck_assert_str_eq(created, "2026-08-04T09:05:07Z");
	free(date);
	free(created);
	/* local time: the zone's abbreviation and offset (POSIX TZ strings) */
	setenv("TZ", "XST-2", 1);
	tzset();
	image_build_times(1767227400, false, &date, &created);
	ck_assert_str_eq(date, "Thursday_1_January_2026_2:30:0_XST");
	ck_assert_str_eq(created, "2026-01-01T02:30:00+02:00");
	free(date);
	free(created);
	setenv("TZ", "YST5", 1);
	tzset();
	image_build_times(1767227400, false, &date, &created);
	ck_assert_str_eq(date, "Wednesday_31_December_2025_19:30:0_YST");
	ck_assert_str_eq(created, "2025-12-31T19:30:00-05:00");
	free(date);
	free(created);
	/* utc ignores TZ */
	image_build_times(0, true, &date, &created);
	ck_assert_str_eq(date, "Thursday_1_January_1970_0:0:0_UTC");
	ck_assert_str_eq(created, "1970-01-01T00:00:00Z");
	free(date);
	free(created);
	unsetenv("TZ");
	tzset();
}
END_TEST

/* ------------------------------------------------------------ hostile trees */

/* Every write of the three writers with /.singularity.d, /scif, /etc and
 * /.build.labels pointing out of the tree: absolute and ../ links. */
static void run_all(struct tree *t, bool expect_ok)
{
	struct defparse_def *d = parse(meta_def);
	struct defparse_def *a = parse(apps_def);
	struct image_meta_options o = meta_opts();
	sb_error_t e1 = NULL, e2 = NULL, e3 = NULL;
	char *post = NULL;
	int r1 = image_base_env(t->fd, true, &e1);
	int r2 = image_apps(t->fd, &a->stages[0], &post, &e2);
	int r3 = image_insert_metadata(t->fd, d, &d->stages[0], &o, &e3);
	if (expect_ok) {
		ck_assert_msg(r1 == 0 && r2 == 0 && r3 == 0, "%d %d %d: %s", r1, r2, r3,
			      sb_error_message(e1 ? e1 : e2 ? e2 : e3));
	} else {
		/* /.singularity.d leads nowhere inside the tree: clear errors */
		const char *want = "creating directory /.singularity.d in the image: "
				   "No such file or directory";
		ck_assert_int_eq(r1, -1);
		ck_assert_str_eq(sb_error_message(e1), want);
		ck_assert_int_eq(r2, -1);
		ck_assert_str_eq(sb_error_message(e2), want);
		ck_assert_int_eq(r3, -1);
		ck_assert_str_eq(sb_error_message(e3), want);
	}
	sb_error_free(&e1);
	sb_error_free(&e2);
	sb_error_free(&e3);
	free(post);
	defparse_def_free(d);
	defparse_def_free(a);
}

static void hostile_links(struct tree *t)
{
	char *sp = sb_asprintf("%s/secret", t->out);
	FILE *f = fopen(sp, "w");
	ck_assert_ptr_nonnull(f);
	fputs("Secret leaked\n", f);
	fclose(f);
	free(sp);
	link_in(t, ".singularity.d", t->out);
	link_in(t, "scif", "../../../../../../../..");
	char *up = sb_asprintf("../../../../../../../..%s/hosts", t->out);
	mkdir_in(t, "etc");
	link_in(t, "etc/hosts", up);
	free(up);
	char *secret = sb_asprintf("%s/secret", t->out);
	link_in(t, ".build.labels", secret);
	free(secret);
}

START_TEST(hostile_links_dangling)
{
	struct tree t = tree_new();
	hostile_links(&t);
	run_all(&t, false);
	expect_outside_untouched(&t);
	tree_free(&t);
}
END_TEST

START_TEST(hostile_links_resolved_inside)
{
	struct tree t = tree_new();
	hostile_links(&t);
	/* the tree has its own copy of the outside path: writes land there */
	char *inner = sb_asprintf("%s%s", t.root, t.out);
	char *cmd = sb_asprintf("mkdir -p '%s'", inner);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	run_all(&t, true);
	expect_outside_untouched(&t);
	char *rel = sb_asprintf("%s/labels.json", t.out + 1);
	char *p = path_in(&t, rel);
	size_t len;
	char *labels = sb_read_file(p, &len); /* /.singularity.d/labels.json, inside */
	ck_assert_ptr_nonnull(labels);
	ck_assert_ptr_nonnull(strstr(labels, "\"Author\": \"me\""));
	ck_assert_ptr_null(strstr(labels, "leaked"));
	free(labels);
	free(p);
	free(rel);
	rel = sb_asprintf("%s/env/94-appsbase.sh", t.out + 1);
	expect_file(&t, rel, env94_want, 0755);
	free(rel);
	rel = sb_asprintf("%s/hosts", t.out + 1);
	expect_file(&t, rel, "", 0644);
	free(rel);
	expect_file(&t, "apps/foo/scif/runscript", "#!/bin/sh\n\n    exec foo \"$@\"\n\n\n", 0755);
	free(inner);
	tree_free(&t);
}
END_TEST

START_TEST(hostile_file_links)
{
	/* files that are links out of the tree: the link is replaced, never followed out */
	struct tree t = tree_new();
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	char *victim = sb_asprintf("%s/secret", t.out);
	FILE *f = fopen(victim, "w");
	ck_assert_ptr_nonnull(f);
	fputs("Secret leaked\n", f);
	fclose(f);
	char *rs = path_in(&t, ".singularity.d/runscript");
	char *lj = path_in(&t, ".singularity.d/labels.json");
	char *up = sb_asprintf("../../../../../../../..%s", victim);
	ck_assert_int_eq(unlink(rs), 0);
	ck_assert_int_eq(symlink(victim, rs), 0);
	ck_assert_int_eq(symlink(up, lj), 0);
	struct defparse_def *d = parse(meta_def);
	struct image_meta_options o = meta_opts();
	ck_assert_msg(image_insert_metadata(t.fd, d, &d->stages[0], &o, &err) == 0, "%s",
		      sb_error_message(err));
	expect_outside_untouched(&t);
	expect_file(&t, ".singularity.d/runscript", "#!/bin/bash -x \n\necho \"hello $@\"\n\n\n",
		    0755);
	size_t len;
	char *got = sb_read_file(lj, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_null(strstr(got, "leaked"));
	free(got);
	free(up);
	free(lj);
	free(rs);
	free(victim);
	defparse_def_free(d);
	tree_free(&t);
}
END_TEST

START_TEST(base_env_symlinked_singularity_d)
{
	/* a symlinked parent of a file: resolved like the kernel does, inside */
	struct tree t = tree_new();
	mkdir_in(&t, "real");
	link_in(&t, ".singularity.d", "real");
	sb_error_t err = NULL;
	ck_assert_int_eq(image_base_env(t.fd, true, &err), 0);
	expect_link(&t, ".singularity.d", "real");
	const struct image_skel_entry *e = skel(".singularity.d/actions/run");
	expect_file(&t, "real/actions/run", e->content, 0755);
	tree_free(&t);
}
END_TEST

static Suite *metadata_suite(void)
{
	Suite *s = suite_create("metadata");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, base_env_fresh_tree);
	tcase_add_test(tc, base_env_existing_keep_then_overwrite);
	tcase_add_test(tc, base_env_dir_in_the_way);
	tcase_add_test(tc, apps_two_apps);
	tcase_add_test(tc, apps_none_and_bad_name);
	tcase_add_test(tc, metadata_full);
	tcase_add_test(tc, metadata_force_overrides);
	tcase_add_test(tc, metadata_help_kept_update_no_deffile_labels);
	tcase_add_test(tc, metadata_section_filter);
	tcase_add_test(tc, metadata_bootstrap_history);
	tcase_add_test(tc, metadata_environment_created_and_bad_labels);
	tcase_add_test(tc, build_times_formats);
	tcase_add_test(tc, hostile_links_dangling);
	tcase_add_test(tc, hostile_links_resolved_inside);
	tcase_add_test(tc, hostile_file_links);
	tcase_add_test(tc, base_env_symlinked_singularity_d);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	umask(022);
	SRunner *sr = srunner_create(metadata_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
