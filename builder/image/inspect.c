/* builder/image/inspect.c: inspect-metadata.json, the object Apptainer's
 * `inspect` reads instead of starting the container (sif-format.md 6.4). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"

#define MAX_META (16u << 20)

/* A file of the image: from the tree, else from the skeleton, else NULL. */
static char *image_file(int rootfd, const char *path)
{
	char *s = sb_read_in_root(rootfd, path, MAX_META, NULL);
	if (s)
		return s;
	size_t n;
	const struct image_skel_entry *sk = image_skeleton(&n);
	for (size_t i = 0; i < n; i++)
		if (sk[i].type == 'f' && strcmp(sk[i].path, path) == 0)
			return sb_strdup(sk[i].content);
	return NULL;
}

/* Apptainer's inspect trims trailing white space from every text it shows. */
static char *rtrim(char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void set_text(json_t *o, const char *key, char *text_taken)
{
	rtrim(text_taken);
	if (text_taken && text_taken[0])
		json_object_set_new(o, key, json_string(text_taken));
	free(text_taken);
}

static json_t *labels_of(int rootfd, const char *path)
{
	cleanup_free char *s = image_file(rootfd, path);
	if (s == NULL)
		return NULL;
	json_t *j = json_loads(s, 0, NULL);
	if (!json_is_object(j) || json_object_size(j) == 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* /.singularity.d/env/10-docker*.sh and 9*-environment.sh, by path. */
static json_t *environment_of(int rootfd, const char *envdir)
{
	json_t *env = json_object();
	cleanup_close int dfd = sb_open_in_root(rootfd, envdir, O_RDONLY | O_DIRECTORY);
	DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (fnmatch("10-docker*.sh", e->d_name, 0) != 0 &&
		    fnmatch("9*-environment.sh", e->d_name, 0) != 0)
			continue;
		cleanup_free char *p = sb_asprintf("%s/%s", envdir, e->d_name);
		char *s = rtrim(sb_read_in_root(rootfd, p, MAX_META, NULL));
		if (s) {
			cleanup_free char *key = sb_asprintf("/%s", p);
			json_object_set_new(env, key, json_string(s));
			free(s);
		}
	}
	if (d)
		closedir(d);
	if (dfd < 0) {
		cleanup_free char *p = sb_asprintf("%s/90-environment.sh", envdir);
		char *s = rtrim(image_file(rootfd, p));
		if (s) {
			cleanup_free char *key = sb_asprintf("/%s", p);
			json_object_set_new(env, key, json_string(s));
			free(s);
		}
	}
	if (json_object_size(env) == 0) {
		json_decref(env);
		return NULL;
	}
	return env;
}

static void fill_attributes(json_t *a, int rootfd, const char *meta)
{
	cleanup_free char *envdir = sb_asprintf("%s/env", meta);
	json_t *env = environment_of(rootfd, envdir);
	if (env)
		json_object_set_new(a, "environment", env);
	cleanup_free char *lp = sb_asprintf("%s/labels.json", meta);
	json_t *labels = labels_of(rootfd, lp);
	if (labels)
		json_object_set_new(a, "labels", labels);
	const char *names[][2] = { { "runscript", "runscript" },
				   { "test", "test" },
				   { "helpfile", "runscript.help" } };
	for (size_t i = 0; i < 3; i++) {
		cleanup_free char *p = sb_asprintf("%s/%s", meta, names[i][1]);
		set_text(a, names[i][0], image_file(rootfd, p));
	}
}

static json_t *apps_of(int rootfd)
{
	json_t *apps = json_object();
	cleanup_close int dfd = sb_open_in_root(rootfd, "scif/apps", O_RDONLY | O_DIRECTORY);
	DIR *d = dfd >= 0 ? fdopendir(dup(dfd)) : NULL;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		json_t *app = json_object();
		cleanup_free char *meta = sb_asprintf("scif/apps/%s/scif", e->d_name);
		fill_attributes(app, rootfd, meta);
		cleanup_free char *sp = sb_asprintf("%s/startscript", meta);
		set_text(app, "startscript", sb_read_in_root(rootfd, sp, MAX_META, NULL));
		json_object_set_new(apps, e->d_name, app);
	}
	if (d)
		closedir(d);
	if (json_object_size(apps) == 0) {
		json_decref(apps);
		return NULL;
	}
	return apps;
}

char *image_inspect_json(int rootfd, const char *deffile, sb_error_t *err)
{
	json_t *a = json_object();
	json_t *apps = apps_of(rootfd);
	if (apps)
		json_object_set_new(a, "apps", apps);
	fill_attributes(a, rootfd, ".singularity.d");
	set_text(a, "deffile", deffile ? sb_strdup(deffile) : NULL);
	set_text(a, "startscript", image_file(rootfd, ".singularity.d/startscript"));
	json_t *top = json_pack("{s:{s:o},s:s}", "data", "attributes", a, "type", "container");
	char *s = top ? json_dumps(top, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(top);
	if (s == NULL)
		sb_error_set(err, 0, "encoding inspect-metadata.json");
	return s;
}
