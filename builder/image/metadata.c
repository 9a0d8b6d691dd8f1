/* builder/image/metadata.c: the metadata a definition file puts into its
 * image after %post (apptainer-behaviour.md 3.9, 3.10), byte for byte in
 * Apptainer's formats since its runtime and tools read these files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "builder/image/internal.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

#define SD ".singularity.d"
#define MAX_META_FILE (64u << 20)

static bool want(const struct image_meta_options *o, const char *section)
{
	return o->section == NULL || o->section(o->section_ctx, section);
}

/* ------------------------------------------------------------ times */

void image_build_times(int64_t t, bool utc, char **build_date, char **created)
{
	static const char *const wday[] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					    "Thursday", "Friday", "Saturday" };
	static const char *const mon[] = { "January", "February", "March",     "April",
					   "May",     "June",     "July",      "August",
					   "September", "October", "November", "December" };
	time_t tt = (time_t)t;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if ((utc ? gmtime_r(&tt, &tm) : localtime_r(&tt, &tm)) == NULL) {
		tt = 0; /* beyond what struct tm holds: the epoch, not garbage */
		gmtime_r(&tt, &tm);
		utc = true;
	}
	const char *zone = utc ? "UTC" : (tm.tm_zone ? tm.tm_zone : "UTC");
	long off = utc ? 0 : tm.tm_gmtoff;
	*build_date = sb_asprintf("%s_%d_%s_%d_%d:%d:%d_%s", wday[tm.tm_wday % 7], tm.tm_mday,
				  mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
				  tm.tm_sec, zone);
	char tz[32] = "Z";
	if (off != 0) {
		int a = (int)((off < 0 ? -off : off) % 360000); /* offsets are < 24 h */
		snprintf(tz, sizeof(tz), "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600,
			 (a / 60) % 60);
	}
	*created = sb_asprintf("%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
			       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tz);
}

/* ------------------------------------------------------------ scripts */

/* Length of the Unicode white space (Go's unicode.IsSpace) ending at s+n. */
static size_t space_before(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n >= 1 && strchr("\t\n\v\f\r ", u[n - 1]) && u[n - 1])
		return 1;
	if (n >= 2 && u[n - 2] == 0xC2 && (u[n - 1] == 0x85 || u[n - 1] == 0xA0))
		return 2;
	if (n < 3)
		return 0;
	unsigned a = u[n - 3], b = u[n - 2], c = u[n - 1];
	if ((a == 0xE1 && b == 0x9A && c == 0x80) || (a == 0xE3 && b == 0x80 && c == 0x80) ||
	    (a == 0xE2 && b == 0x80 && ((c >= 0x80 && c <= 0x8A) || c == 0xA8 || c == 0xA9 || c == 0xAF)) ||
	    (a == 0xE2 && b == 0x81 && c == 0x9F))
		return 3;
	return 0;
}

/* Length of the Unicode white space starting at s (n bytes available). */
static size_t space_at(const char *s, size_t n)
{
	for (size_t l = 1; l <= 3 && l <= n; l++)
		if (space_before(s, l) == l)
			return l;
	return 0;
}

/* Go's strings.TrimSpace: returns the start, *len the trimmed length. */
static const char *go_trim(const char *s, size_t n, size_t *len)
{
	size_t k;
	while (n > 0 && (k = space_at(s, n)) > 0) {
		s += k;
		n -= k;
	}
	while (n > 0 && (k = space_before(s, n)) > 0)
		n -= k;
	*len = n;
	return s;
}

/* runscript, startscript and test: "<shebang>\n\n<script>\n". A body whose
 * trimmed text starts with "#!" gives its (trimmed) first line as the
 * shebang; section args up to the first '#' are added after a space. */
static char *script_text(const struct defparse_script *s)
{
	const char *text = s->script;
	size_t tl;
	const char *t = go_trim(text, strlen(text), &tl);
	struct sb_strbuf sb = SB_STRBUF_INIT;
	const char *script = text;
	if (tl >= 2 && t[0] == '#' && t[1] == '!') {
		const char *nl = strchr(text, '\n');
		size_t sl;
		const char *sh = go_trim(text, nl ? (size_t)(nl - text) : strlen(text), &sl);
		sb_strbuf_add(&sb, sh, sl);
		script = nl ? nl + 1 : "";
	} else {
		sb_strbuf_adds(&sb, "#!/bin/sh");
	}
	if (s->args && s->args[0]) {
		sb_strbuf_addc(&sb, ' ');
		sb_strbuf_add(&sb, s->args, strcspn(s->args, "#"));
	}
	sb_strbuf_addf(&sb, "\n\n%s\n", script);
	return sb_strbuf_detach(&sb, NULL);
}

static int insert_script(int rootfd, const struct defparse_stage *st, enum defparse_script_id id,
			 const char *file, const struct image_meta_options *o, sb_error_t *err)
{
	const struct defparse_script *s = &st->scripts[id];
	if (!want(o, defparse_script_name(id)) || s->script == NULL || s->script[0] == '\0')
		return 0;
	cleanup_free char *text = script_text(s);
	cleanup_free char *path = sb_asprintf(SD "/%s", file);
	return img_put(rootfd, path, text, strlen(text), 0755, 0, err);
}

static bool has_help(const struct defparse_stage *st, const struct image_meta_options *o)
{
	const char *h = st->scripts[DEFPARSE_HELP].script;
	return want(o, "help") && h && h[0];
}

static int insert_help(int rootfd, const struct defparse_stage *st,
		       const struct image_meta_options *o, sb_error_t *err)
{
	if (!has_help(st, o))
		return 0;
	if (img_stat(rootfd, SD "/runscript.help", NULL) == 0 && !o->force) {
		sb_warnf(o->warn, o->warn_ctx,
			 "Help message already exists and force option is false, not overwriting");
		return 0;
	}
	cleanup_free char *text = sb_asprintf("%s\n", st->scripts[DEFPARSE_HELP].script);
	return img_put(rootfd, SD "/runscript.help", text, strlen(text), 0644, 0, err);
}

static int insert_environment(int rootfd, const struct defparse_stage *st,
			      const struct image_meta_options *o, sb_error_t *err)
{
	const char *env = st->scripts[DEFPARSE_ENVIRONMENT].script;
	if (!want(o, "environment") || env == NULL || env[0] == '\0')
		return 0;
	const char *path = SD "/env/90-environment.sh";
	bool exists = img_stat(rootfd, path, NULL) == 0;
	cleanup_free char *text = sb_asprintf("%s\n%s\n", exists ? "" : "#!/bin/sh\n", env);
	return img_put(rootfd, path, text, strlen(text), 0755, exists ? IMG_APPEND : 0, err);
}

/* ------------------------------------------------------------ labels */

/* labels.json already in the tree (base image, OCI config labels). */
static int existing_labels(int rootfd, struct img_labels *l, sb_error_t *err)
{
	const char *path = SD "/labels.json";
	size_t len;
	cleanup_free char *s = sb_read_in_root(rootfd, path, MAX_META_FILE, &len);
	if (s == NULL)
		return errno == ENOENT ? 0 : sb_error_set(err, errno, "reading /%s in the image", path);
	size_t tl;
	go_trim(s, len, &tl);
	if (tl == 0)
		return 0;
	json_error_t je;
	json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &je);
	if (j == NULL || !(json_is_object(j) || json_is_null(j))) {
		json_decref(j);
		return sb_error_set_status(err, 2, 0, "/%s in the image: %s", path,
					   j ? "not a JSON object" : je.text);
	}
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		if (!json_is_string(v) && !json_is_null(v)) {
			sb_error_set_status(err, 2, 0,
					    "/%s in the image: the value of label \"%s\" is not a string",
					    path, k);
			json_decref(j);
			return -1;
		}
		img_labels_set(l, k, json_is_string(v) ? json_string_value(v) : "");
	}
	json_decref(j);
	return 0;
}

/* "key value" lines %post appended to $APPTAINER_LABELS; the file goes. */
static int build_labels(int rootfd, struct img_labels *l, sb_error_t *err)
{
	cleanup_free char *s = sb_read_in_root(rootfd, ".build.labels", MAX_META_FILE, NULL);
	if (s == NULL)
		return errno == ENOENT ? 0 : sb_error_set(err, errno, "reading /.build.labels in the image");
	if (unlinkat(rootfd, ".build.labels", 0) < 0)
		return sb_error_set(err, errno, "removing /.build.labels from the image");
	struct defparse_kv *kv = NULL;
	size_t n = 0;
	defparse_parse_labels_text(s, &kv, &n);
	for (size_t i = 0; i < n; i++)
		img_labels_set(l, kv[i].key, kv[i].value);
	defparse_kv_array_free(kv, n);
	return 0;
}

static void automatic_labels(struct img_labels *l, const struct defparse_stage *st,
			     const struct image_meta_options *o)
{
	img_labels_set(l, "org.label-schema.schema-version", "1.0");
	cleanup_free char *date = NULL, *created = NULL;
	image_build_times(o->build_time, o->utc, &date, &created);
	img_labels_set(l, "org.opencontainers.image.created", created);
	img_labels_set(l, "org.label-schema.build-date", date);
	img_labels_set(l, "org.label-schema.usage.apptainer.version", o->version ? o->version : "");
	if (has_help(st, o)) {
		img_labels_set(l, "org.label-schema.usage", "/" SD "/runscript.help");
		img_labels_set(l, "org.label-schema.usage.apptainer.runscript.help",
			       "/" SD "/runscript.help");
	}
	if (!o->update) {
		for (size_t i = 0; i < st->n_header; i++) {
			cleanup_free char *k = sb_asprintf("org.label-schema.usage.singularity.deffile.%s",
							   st->header[i].key);
			img_labels_set(l, k, st->header[i].value);
		}
	}
	for (size_t i = 0; i < o->n_extra; i++)
		img_labels_set(l, o->extra[i].key, o->extra[i].value);
	const char *arch = o->arch ? o->arch : image_host_arch();
	img_labels_set(l, "org.opencontainers.image.architecture", arch);
	if (o->variant && o->variant[0])
		img_labels_set(l, "org.opencontainers.image.variant", o->variant);
	img_labels_set(l, "org.label-schema.build-arch", arch);
}

static int insert_labels(int rootfd, const struct defparse_stage *st,
			 const struct image_meta_options *o, sb_error_t *err)
{
	struct img_labels l = { NULL, 0 };
	if (existing_labels(rootfd, &l, err) < 0 || build_labels(rootfd, &l, err) < 0) {
		img_labels_free(&l);
		return -1;
	}
	automatic_labels(&l, st, o);
	for (size_t i = 0; want(o, "labels") && i < st->n_labels; i++) {
		const struct defparse_kv *kv = &st->labels[i];
		if (img_labels_get(&l, kv->key) && !o->force)
			sb_warnf(o->warn, o->warn_ctx,
				 "Label: %s already exists and force option is false, not overwriting",
				 kv->key);
		else
			img_labels_set(&l, kv->key, kv->value);
	}
	cleanup_free char *json = img_labels_json(&l);
	img_labels_free(&l);
	return img_put(rootfd, SD "/labels.json", json, strlen(json), 0644, 0, err);
}

/* ------------------------------------------------------------ definition */

static int count_entries(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* An existing /.singularity.d/Singularity moves to bootstrap_history/
 * Apptainer<N>, N = the number of entries there (the next free number when
 * that name is taken: Apptainer would overwrite it). */
static int keep_old_definition(int rootfd, sb_error_t *err)
{
	const char *hist = SD "/bootstrap_history";
	if (img_stat(rootfd, SD "/Singularity", NULL) < 0)
		return 0;
	if (img_stat(rootfd, hist, NULL) < 0 && img_mkdirs(rootfd, hist, 0755, err) < 0)
		return -1;
	cleanup_close int hfd = sb_open_in_root(rootfd, hist, O_RDONLY | O_DIRECTORY);
	cleanup_close int sfd = sb_open_in_root(rootfd, SD, O_PATH | O_DIRECTORY);
	int n = hfd >= 0 ? count_entries(hfd) : -1;
	if (n < 0 || sfd < 0)
		return sb_error_set(err, errno, "reading /%s in the image", hist);
	char name[32];
	struct stat st;
	do
		snprintf(name, sizeof(name), "Apptainer%d", n++);
	while (fstatat(hfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0);
	if (renameat(sfd, "Singularity", hfd, name) < 0)
		return sb_error_set(err, errno, "moving /" SD "/Singularity to /%s/%s in the image",
				    hist, name);
	return 0;
}

static int insert_definition(int rootfd, const struct defparse_def *def, sb_error_t *err)
{
	if (keep_old_definition(rootfd, err) < 0)
		return -1;
	const char *raw = def->fullraw ? def->fullraw : "";
	size_t len = def->fullraw ? def->fullraw_len : 0;
	return img_put(rootfd, SD "/Singularity", raw, len, 0644, 0, err);
}

int image_insert_metadata(int rootfd, const struct defparse_def *def,
			  const struct defparse_stage *st, const struct image_meta_options *o,
			  sb_error_t *err)
{
	if (img_mkdirs(rootfd, SD "/env", 0755, err) < 0 || insert_help(rootfd, st, o, err) < 0 ||
	    insert_labels(rootfd, st, o, err) < 0 || insert_definition(rootfd, def, err) < 0 ||
	    insert_environment(rootfd, st, o, err) < 0 ||
	    insert_script(rootfd, st, DEFPARSE_STARTSCRIPT, "startscript", o, err) < 0 ||
	    insert_script(rootfd, st, DEFPARSE_RUNSCRIPT, "runscript", o, err) < 0 ||
	    insert_script(rootfd, st, DEFPARSE_TEST, "test", o, err) < 0)
		return -1;
	return 0;
}
