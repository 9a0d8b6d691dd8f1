/* builder/inspect.c: `sifbuild inspect`. The metadata comes from the SIF's
 * inspect-metadata.json object, or is computed from the tree the same way
 * the build computes that object (builder/image/inspect.c); the selection
 * and output follow Apptainer's inspect command (sif-format.md 6.4). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "builder/inspect.h"
#include "builder/run.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/gojson.h"
#include "common/strbuf.h"
#include "sif/sif.h"

#define MAX_META (16u << 20)

static void warn(const struct inspect_options *o, const char *msg)
{
	if (o->warn)
		o->warn(o->warn_ctx, msg);
}

/* ------------------------------------------------------- the metadata */

/* Definition file kept in a directory image (newer and older names). */
static char *tree_deffile(int rootfd)
{
	char *s = sb_read_in_root(rootfd, ".singularity.d/Apptainer", MAX_META, NULL);
	return s ? s : sb_read_in_root(rootfd, ".singularity.d/Singularity", MAX_META, NULL);
}

static json_t *parse_meta(const char *text, const char *path, sb_error_t *err)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	json_t *attrs = json_object_get(json_object_get(j, "data"), "attributes");
	if (!json_is_object(attrs)) {
		json_decref(j);
		sb_error_set_status(err, 2, 0, "%s: inspect-metadata.json is not valid metadata%s%s",
				    path, j ? "" : ": ", j ? "" : je.text);
		return NULL;
	}
	json_incref(attrs);
	json_decref(j);
	return attrs;
}

static json_t *tree_meta(const char *rootfs, const char *deffile, const char *path,
			 sb_error_t *err)
{
	cleanup_close int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		sb_error_set(err, errno, "%s", path);
		return NULL;
	}
	cleanup_free char *own = deffile ? NULL : tree_deffile(fd);
	cleanup_free char *text = image_inspect_json(fd, deffile ? deffile : own, err);
	return text ? parse_meta(text, path, err) : NULL;
}

struct sif_meta {
	char *json; /* inspect-metadata.json, or NULL */
	char *def; /* first Def.FILE object, or NULL */
	bool has_def;
};

static int read_sif_meta(const char *path, struct sif_meta *m, sb_error_t *err)
{
	struct sif_image *img = sif_open(path, SIF_OPEN_READ, err);
	if (img == NULL) {
		if (err && *err)
			(*err)->status = 2; /* not a SIF we can read */
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < sif_slot_count(img) && rc == 0; i++) {
		const struct sif_descriptor *d = sif_slot(img, i);
		char **dst = NULL;
		if (!d->used)
			continue;
		if (d->data_type == SIF_DATA_DEFFILE && !m->has_def) {
			m->has_def = true;
			dst = &m->def;
		} else if (d->data_type == SIF_DATA_GENERIC_JSON && m->json == NULL &&
			   strcmp(sif_descriptor_name(d), "inspect-metadata.json") == 0) {
			dst = &m->json;
		}
		if (dst == NULL)
			continue;
		size_t len = 0;
		char *data = sif_read_object_alloc(img, d, &len, err);
		if (data == NULL) {
			rc = sb_error_wrap(err, "%s", path);
			break;
		}
		*dst = sb_strndup(data, len);
		free(data);
	}
	sif_close(img, NULL);
	return rc;
}

/* The full attributes object of the image. */
static json_t *load_meta(const char *path, const struct inspect_options *o, bool want_def,
			 sb_error_t *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		sb_error_set_status(err, 2, errno, "image %s", path);
		return NULL;
	}
	if (S_ISDIR(st.st_mode))
		return tree_meta(path, NULL, path, err);
	struct sif_meta m = { NULL, NULL, false };
	json_t *attrs = NULL;
	if (read_sif_meta(path, &m, err) == 0) {
		if (!m.has_def && want_def)
			warn(o, "No SIF metadata partition, searching in container...");
		if (m.json != NULL) {
			attrs = parse_meta(m.json, path, err);
			if (attrs && !m.has_def)
				json_object_del(attrs, "deffile");
		} else {
			struct image_root r;
			if (image_root_open(path, false, &r, err) == 0) {
				attrs = tree_meta(r.rootfs, m.def, path, err);
				image_root_close(&r);
			}
		}
	}
	free(m.json);
	free(m.def);
	return attrs;
}

/* ------------------------------------------------------ the selection */

static const char *const app_fields[] = { "environment", "labels", "runscript", "test",
					  "helpfile", NULL };

/* Apptainer's app attributes have no startscript. */
static json_t *app_copy(json_t *src)
{
	json_t *a = json_object();
	for (const char *const *f = app_fields; *f; f++) {
		json_t *v = json_object_get(src, *f);
		if (v)
			json_object_set(a, *f, v);
	}
	return a;
}

static json_t *result_app(json_t *res, const char *name)
{
	json_t *apps = json_object_get(res, "apps");
	if (apps == NULL) {
		apps = json_object();
		json_object_set_new(res, "apps", apps);
	}
	json_t *a = json_object_get(apps, name);
	if (a == NULL) {
		a = json_object();
		json_object_set_new(apps, name, a);
	}
	return a;
}

/* Copies field from the image (or its app) into the result. */
static void take(json_t *res, json_t *src, const char *app, const char *field)
{
	if (app == NULL) {
		json_t *v = json_object_get(src, field);
		if (v)
			json_object_set(res, field, v);
		return;
	}
	json_t *sapp = json_object_get(json_object_get(src, "apps"), app);
	if (sapp == NULL)
		return;
	json_t *a = result_app(res, app);
	json_t *v = json_object_get(sapp, field);
	if (v)
		json_object_set(a, field, v);
}

static json_t *select_attrs(json_t *src, const struct inspect_options *o)
{
	unsigned w = o->what;
	bool all = w & INSPECT_ALL;
	const char *app = all ? NULL : o->app;
	json_t *res = json_object();
	if ((w & (INSPECT_LIST_APPS | INSPECT_ALL)) && json_object_get(src, "apps")) {
		json_t *apps = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(src, "apps"), k, v)
			json_object_set_new(apps, k, app_copy(v));
		json_object_set_new(res, "apps", apps);
	}
	unsigned others = INSPECT_DEFFILE | INSPECT_RUNSCRIPT | INSPECT_STARTSCRIPT | INSPECT_TEST |
			  INSPECT_HELPFILE | INSPECT_ENVIRONMENT | INSPECT_LIST_APPS;
	if ((w & (INSPECT_LABELS | INSPECT_ALL)) || !(w & others))
		take(res, src, app, "labels");
	if (w & (INSPECT_DEFFILE | INSPECT_ALL))
		take(res, src, NULL, "deffile");
	if (w & (INSPECT_HELPFILE | INSPECT_ALL))
		take(res, src, app, "helpfile");
	if (w & (INSPECT_RUNSCRIPT | INSPECT_ALL))
		take(res, src, app, "runscript");
	if ((w & (INSPECT_STARTSCRIPT | INSPECT_ALL)) && app == NULL)
		take(res, src, NULL, "startscript");
	if (w & (INSPECT_TEST | INSPECT_ALL))
		take(res, src, app, "test");
	if (w & (INSPECT_ENVIRONMENT | INSPECT_ALL))
		take(res, src, app, "environment");
	/* Only the requested app is shown, unless listing. */
	json_t *apps = json_object_get(res, "apps");
	if (apps && !(w & (INSPECT_LIST_APPS | INSPECT_ALL))) {
		void *tmp;
		const char *k;
		json_t *v;
		json_object_foreach_safe(apps, tmp, k, v)
			if (app == NULL || strcmp(k, app) != 0)
				json_object_del(apps, k);
	}
	return res;
}

/* ----------------------------------------------------------- output */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of a JSON object, sorted byte-wise (Go's map order). */
static const char **sorted_keys(json_t *obj, size_t *n)
{
	*n = json_object_size(obj);
	const char **keys = sb_xcalloc(*n ? *n : 1, sizeof(char *));
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, *n, sizeof(char *), cmp_str);
	return keys;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void indent(struct sb_strbuf *sb, int depth)
{
	sb_strbuf_addc(sb, '\n');
	for (int i = 0; i < depth; i++)
		sb_strbuf_addc(sb, '\t');
}

/* Go's MarshalIndent of a struct member: omitted when empty (omitempty). */
struct go_member {
	struct sb_strbuf *sb;
	int depth;
	bool first;
};

static void member_key(struct go_member *m, const char *key)
{
	sb_strbuf_adds(m->sb, m->first ? "{" : ",");
	m->first = false;
	indent(m->sb, m->depth + 1);
	sb_go_json_string(m->sb, key);
	sb_strbuf_adds(m->sb, ": ");
}

static void member_end(struct go_member *m)
{
	if (m->first) {
		sb_strbuf_adds(m->sb, "{}");
		return;
	}
	indent(m->sb, m->depth);
	sb_strbuf_addc(m->sb, '}');
}

static void emit_string_map(struct go_member *m, const char *key, json_t *map)
{
	if (json_object_size(map) == 0)
		return;
	member_key(m, key);
	struct go_member in = { m->sb, m->depth + 1, true };
	size_t n;
	const char **keys = sorted_keys(map, &n);
	for (size_t i = 0; i < n; i++) {
		member_key(&in, keys[i]);
		sb_go_json_string(m->sb, str_of(map, keys[i]));
	}
	free(keys);
	member_end(&in);
}

static void emit_string(struct go_member *m, const char *key, json_t *obj)
{
	const char *s = str_of(obj, key);
	if (s[0] == '\0')
		return;
	member_key(m, key);
	sb_go_json_string(m->sb, s);
}

static void emit_app(struct sb_strbuf *sb, int depth, json_t *app)
{
	struct go_member m = { sb, depth, true };
	emit_string_map(&m, "environment", json_object_get(app, "environment"));
	emit_string_map(&m, "labels", json_object_get(app, "labels"));
	emit_string(&m, "runscript", app);
	emit_string(&m, "test", app);
	emit_string(&m, "helpfile", app);
	member_end(&m);
}

static void emit_attributes(struct sb_strbuf *sb, int depth, json_t *a)
{
	struct go_member m = { sb, depth, true };
	json_t *apps = json_object_get(a, "apps");
	if (json_object_size(apps) > 0) {
		member_key(&m, "apps");
		struct go_member in = { sb, depth + 1, true };
		size_t n;
		const char **keys = sorted_keys(apps, &n);
		for (size_t i = 0; i < n; i++) {
			member_key(&in, keys[i]);
			emit_app(sb, depth + 2, json_object_get(apps, keys[i]));
		}
		free(keys);
		member_end(&in);
	}
	emit_string_map(&m, "environment", json_object_get(a, "environment"));
	emit_string_map(&m, "labels", json_object_get(a, "labels"));
	const char *strs[] = { "runscript", "test", "helpfile", "deffile", "startscript" };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		emit_string(&m, strs[i], a);
	member_end(&m);
}

static void emit_json(struct sb_strbuf *sb, json_t *attrs)
{
	sb_strbuf_adds(sb, "{\n\t\"data\": {\n\t\t\"attributes\": ");
	emit_attributes(sb, 2, attrs);
	sb_strbuf_adds(sb, "\n\t},\n\t\"type\": \"container\"\n}\n");
}

static void print_map(struct sb_strbuf *sb, json_t *map, bool env)
{
	size_t n;
	const char **keys = sorted_keys(map, &n);
	for (size_t i = 0; i < n; i++) {
		if (env)
			sb_strbuf_addf(sb, "=== %s ===\n%s\n\n", keys[i], str_of(map, keys[i]));
		else
			sb_strbuf_addf(sb, "%s: %s\n", keys[i], str_of(map, keys[i]));
	}
	free(keys);
}

/* A top-level text, else the app's. */
static void print_text(struct sb_strbuf *sb, json_t *a, json_t *app, const char *key)
{
	const char *s = str_of(a, key);
	if (s[0] == '\0' && app != NULL)
		s = str_of(app, key);
	if (s[0] != '\0')
		sb_strbuf_addf(sb, "%s\n", s);
}

static void print_plain(struct sb_strbuf *sb, json_t *a, const struct inspect_options *o)
{
	json_t *apps = json_object_get(a, "apps");
	json_t *app = o->app ? json_object_get(apps, o->app) : NULL;
	if (o->what & INSPECT_LIST_APPS) {
		size_t n;
		const char **keys = sorted_keys(apps, &n);
		for (size_t i = 0; i < n; i++)
			sb_strbuf_addf(sb, "%s\n", keys[i]);
		free(keys);
	}
	print_text(sb, a, NULL, "deffile");
	print_text(sb, a, app, "runscript");
	print_text(sb, a, NULL, "startscript");
	print_text(sb, a, app, "test");
	print_text(sb, a, app, "helpfile");
	const char *maps[] = { "environment", "labels" };
	for (size_t i = 0; i < 2; i++) {
		json_t *m = json_object_get(a, maps[i]);
		if (json_object_size(m) == 0 && app != NULL)
			m = json_object_get(app, maps[i]);
		print_map(sb, m, i == 0);
	}
}

int inspect_image(const char *path, const struct inspect_options *o, struct sb_strbuf *out,
		  sb_error_t *err)
{
	bool want_def = o->what & (INSPECT_DEFFILE | INSPECT_ALL);
	json_t *src = load_meta(path, o, want_def, err);
	if (src == NULL)
		return -1;
	json_t *res = select_attrs(src, o);
	if (o->json || (o->what & INSPECT_ALL))
		emit_json(out, res);
	else
		print_plain(out, res, o);
	json_decref(res);
	json_decref(src);
	return 0;
}
