/* builder/image/apps.c: SCIF apps of a definition file (apptainer-behaviour.md
 * 3.7): /scif/apps/<app>, /scif/data/<app>, the app metadata files, the
 * global exports in /.singularity.d/env/94-appsbase.sh and the %appinstall
 * code that runs after %post. The file texts are fixed by what Apptainer's
 * runtime and users of existing images read. */
#include <stdlib.h>
#include <string.h>

#include "builder/image/image.h"
#include "builder/image/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

enum app_sect { A_INSTALL, A_ENV, A_TEST, A_HELP, A_RUN, A_START, A_LABELS, A_FILES, A_COUNT };

static const char *const app_kw[A_COUNT] = {
	"appinstall", "appenv", "apptest", "apphelp", "apprun", "appstart", "applabels", "appfiles",
};

/* The bodies of one app's sections (keys "<keyword> <app>"; the parser
 * rejects keywords in other cases and already joins repeated sections). */
static void app_bodies(const struct defparse_stage *st, const char *app, struct sb_strbuf *b)
{
	for (size_t i = 0; i < st->n_custom; i++) {
		const char *key = st->custom[i].key;
		const char *sp = strchr(key, ' ');
		if (sp == NULL || strcmp(sp + 1, app) != 0)
			continue;
		for (int k = 0; k < A_COUNT; k++)
			if (strlen(app_kw[k]) == (size_t)(sp - key) &&
			    strncmp(key, app_kw[k], (size_t)(sp - key)) == 0)
				sb_strbuf_adds(&b[k], st->custom[i].value);
	}
}

static const char *body(struct sb_strbuf *b)
{
	return b->buf ? b->buf : "";
}

static int put_text(int rootfd, const char *path, const char *text, unsigned mode,
		    sb_error_t *err)
{
	return img_put(rootfd, path, text, strlen(text), mode, 0, err);
}

static int app_dirs(int rootfd, const char *app, sb_error_t *err)
{
	static const char *const sub[] = { "", "/scif", "/bin", "/lib", "/scif/env" };
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		cleanup_free char *p = sb_asprintf("scif/apps/%s%s", app, sub[i]);
		if (img_mkdirs(rootfd, p, 0755, err) < 0)
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		cleanup_free char *p = sb_asprintf("scif/data/%s/%s", app, i ? "output" : "input");
		if (img_mkdirs(rootfd, p, 0755, err) < 0)
			return -1;
	}
	return 0;
}

/* runscript, startscript and test of an app: "#!/bin/sh\n\n<body>\n". */
static int app_script(int rootfd, const char *app, const char *file, const char *text,
		      sb_error_t *err)
{
	if (text[0] == '\0')
		return 0;
	cleanup_free char *p = sb_asprintf("scif/apps/%s/scif/%s", app, file);
	cleanup_free char *s = sb_asprintf("#!/bin/sh\n\n%s\n", text);
	return put_text(rootfd, p, s, 0755, err);
}

static int app_labels(int rootfd, const char *app, const char *text, sb_error_t *err)
{
	struct img_labels l = { NULL, 0 };
	struct defparse_kv *kv = NULL;
	size_t n = 0;
	img_labels_set(&l, "SCIF_APP_NAME", app);
	defparse_parse_labels_text(text, &kv, &n);
	for (size_t i = 0; i < n; i++)
		img_labels_set(&l, kv[i].key, kv[i].value);
	defparse_kv_array_free(kv, n);
	cleanup_free char *json = img_labels_json(&l);
	img_labels_free(&l);
	cleanup_free char *p = sb_asprintf("scif/apps/%s/scif/labels.json", app);
	return put_text(rootfd, p, json, 0644, err);
}

static int app_files(int rootfd, const char *app, struct sb_strbuf *b, sb_error_t *err)
{
	cleanup_free char *base = sb_asprintf("scif/apps/%s/scif/env/01-base.sh", app);
	cleanup_free char *env01 = sb_asprintf(
		"#!/bin/sh\n\n"
		"SCIF_APPNAME=%1$s\n"
		"SCIF_APPROOT=\"/scif/apps/%1$s\"\n"
		"SCIF_APPMETA=\"/scif/apps/%1$s/scif\"\n"
		"SCIF_DATA=\"/scif/data\"\n"
		"SCIF_APPDATA=\"/scif/data/%1$s\"\n"
		"SCIF_APPINPUT=\"/scif/data/%1$s/input\"\n"
		"SCIF_APPOUTPUT=\"/scif/data/%1$s/output\"\n"
		"export SCIF_APPDATA SCIF_APPNAME SCIF_APPROOT SCIF_APPMETA SCIF_APPINPUT "
		"SCIF_APPOUTPUT SCIF_DATA\n",
		app);
	if (app_dirs(rootfd, app, err) < 0 || put_text(rootfd, base, env01, 0755, err) < 0)
		return -1;
	if (body(&b[A_ENV])[0]) {
		cleanup_free char *p = sb_asprintf("scif/apps/%s/scif/env/90-environment.sh", app);
		if (put_text(rootfd, p, body(&b[A_ENV]), 0755, err) < 0)
			return -1;
	}
	if (app_script(rootfd, app, "runscript", body(&b[A_RUN]), err) < 0 ||
	    app_script(rootfd, app, "startscript", body(&b[A_START]), err) < 0 ||
	    app_script(rootfd, app, "test", body(&b[A_TEST]), err) < 0)
		return -1;
	if (body(&b[A_HELP])[0]) {
		cleanup_free char *p = sb_asprintf("scif/apps/%s/scif/runscript.help", app);
		if (put_text(rootfd, p, body(&b[A_HELP]), 0644, err) < 0)
			return -1;
	}
	return app_labels(rootfd, app, body(&b[A_LABELS]), err);
}

/* The app's block of 94-appsbase.sh. The variable suffix is the name with
 * every byte outside [A-Za-z0-9_] made '_', and Apptainer uses that same
 * form inside the paths too (so /scif/apps/my_app for an app "my-app"); the
 * optional exports are there when the app's file (real name) exists. */
static void global_exports(struct sb_strbuf *sb, int rootfd, const char *app)
{
	cleanup_free char *v = sb_strdup(app);
	for (char *c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
	sb_strbuf_addf(sb,
		       "## App Global Exports For: %1$s\n\n"
		       "SCIF_APPDATA_%1$s=/scif/data/%1$s\n"
		       "SCIF_APPMETA_%1$s=/scif/apps/%1$s/scif\n"
		       "SCIF_APPROOT_%1$s=/scif/apps/%1$s\n"
		       "SCIF_APPBIN_%1$s=/scif/apps/%1$s/bin\n"
		       "SCIF_APPLIB_%1$s=/scif/apps/%1$s/lib\n\n"
		       "export SCIF_APPDATA_%1$s SCIF_APPMETA_%1$s SCIF_APPROOT_%1$s "
		       "SCIF_APPBIN_%1$s SCIF_APPLIB_%1$s\n",
		       v);
	static const struct {
		const char *var, *file;
	} opt[] = { { "APPENV", "env/90-environment.sh" },
		    { "APPLABELS", "labels.json" },
		    { "APPRUN", "runscript" },
		    { "APPSTART", "startscript" } };
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		cleanup_free char *p = sb_asprintf("scif/apps/%s/scif/%s", app, opt[i].file);
		if (img_stat(rootfd, p, NULL) == 0)
			sb_strbuf_addf(sb, "export SCIF_%s_%s=\"/scif/apps/%s/scif/%s\"\n", opt[i].var,
				       v, v, opt[i].file);
	}
}

static bool app_name_ok(const char *app)
{
	return app[0] != '\0' && strcmp(app, ".") != 0 && strcmp(app, "..") != 0 &&
	       strchr(app, '/') == NULL;
}

int image_apps(int rootfd, const struct defparse_stage *st, char **post_extra, sb_error_t *err)
{
	struct sb_strbuf env94 = SB_STRBUF_INIT, post = SB_STRBUF_INIT;
	*post_extra = NULL;
	int r = 0;
	for (size_t i = 0; i < st->n_apps && r == 0; i++) {
		const char *app = st->app_order[i];
		if (!app_name_ok(app)) {
			r = sb_error_set_status(err, 2, 0, "invalid app name \"%s\"", app);
			break;
		}
		struct sb_strbuf b[A_COUNT];
		for (int k = 0; k < A_COUNT; k++)
			b[k] = (struct sb_strbuf)SB_STRBUF_INIT;
		app_bodies(st, app, b);
		r = app_files(rootfd, app, b, err);
		if (r == 0) {
			global_exports(&env94, rootfd, app);
			sb_strbuf_addf(&post,
				       "\ncd /\n. /scif/apps/%1$s/scif/env/01-base.sh\n\n"
				       "cd /scif/apps/%1$s\n%2$s\n\ncd /\n",
				       app, body(&b[A_INSTALL]));
		}
		for (int k = 0; k < A_COUNT; k++)
			sb_strbuf_release(&b[k]);
	}
	if (r == 0 && (img_mkdirs(rootfd, ".singularity.d/env", 0755, err) < 0 ||
		       img_put(rootfd, ".singularity.d/env/94-appsbase.sh", body(&env94), env94.len,
			       0755, 0, err) < 0))
		r = -1;
	sb_strbuf_release(&env94);
	if (r < 0) {
		sb_strbuf_release(&post);
		return -1;
	}
	*post_extra = sb_strbuf_detach(&post, NULL);
	return 0;
}
