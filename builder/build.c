/* builder/build.c: what kind of SOURCE and TARGET a build has, and which path
 * of the pipeline serves it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "builder/build.h"
#include "builder/internal.h"
#include "common/cleanup.h"
#include "common/strbuf.h"
#include "sif/sif.h"

static bool has_sif_magic(const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char buf[SIF_HEADER_SIZE];
	return fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) &&
	       memcmp(buf + 32, "SIF_MAGIC", 9) == 0;
}

static const char *const uri_prefixes[] = {
	"docker://", "oras://", "library://", "shub://", "http://", "https://",
	"docker-archive:", "docker-daemon:", "oci-archive:", "oci:", NULL,
};

enum source_kind build_source_kind(const char *source)
{
	for (const char *const *p = uri_prefixes; *p; p++)
		if (strncmp(source, *p, strlen(*p)) == 0)
			return SOURCE_URI;
	struct stat st;
	if (stat(source, &st) == 0 && S_ISDIR(st.st_mode))
		return SOURCE_DIR;
	if (has_sif_magic(source) || bootstrap_image_file_kind(source, NULL) > 0)
		return SOURCE_SIF; /* a SIF or a bare SquashFS image */
	return SOURCE_DEF;
}

/* Refuses to replace an existing target without --force, before any work. */
static int check_target(const struct build_options *o, sb_error_t *err)
{
	struct stat st;
	if (lstat(o->target, &st) < 0)
		return 0;
	if (!o->force)
		return sb_error_set_status(err, 2, 0, "%s already exists: use --force to replace it",
					   o->target);
	if (o->sandbox && !S_ISDIR(st.st_mode))
		return sb_error_set_status(err, 2, 0, "%s exists and is not a directory: refusing to "
					   "replace it with a sandbox", o->target);
	if (!o->sandbox && S_ISDIR(st.st_mode))
		return sb_error_set_status(err, 2, 0, "%s is a directory: use --sandbox to build a "
					   "sandbox, or give an image file name", o->target);
	return 0;
}

static int not_yet(const char *source, const char *what, sb_error_t *err)
{
	return sb_error_set_status(err, 1, 0, "%s: %s are not supported by this version of "
				   "sifbuild yet (it builds SIF images from directories and from "
				   "oci:, oci-archive:, docker-archive: and docker:// images, SIF "
				   "and SquashFS files, and SIF -> --sandbox DIR)",
				   source, what);
}

int build_run(const struct build_options *o, sb_error_t *err)
{
	enum source_kind kind = build_source_kind(o->source);
	if (kind == SOURCE_URI) {
		if (o->sandbox)
			return not_yet(o->source, "image references to --sandbox", err);
		if (check_target(o, err) < 0)
			return -1;
		if (strncmp(o->source, "oras://", 7) == 0)
			return convert_oras(o, err);
		return convert_reference(o, err);
	}
	if (kind == SOURCE_DEF) {
		struct stat st;
		if (stat(o->source, &st) < 0)
			return sb_error_set_status(err, 2, errno, "%s: cannot read the build source",
						   o->source);
		return build_definition(o, err);
	}
	if (check_target(o, err) < 0)
		return -1;
	if (kind == SOURCE_DIR && !o->sandbox)
		return assemble_sif_from_dir(o, o->source, err);
	if (kind == SOURCE_SIF && o->sandbox)
		return extract_sif_to_dir(o, o->source, err);
	if (kind == SOURCE_SIF) /* the localimage agent, then packed */
		return convert_reference(o, err);
	return not_yet(o->source, "directory -> --sandbox copies", err);
}
