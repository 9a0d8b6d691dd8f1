/* bootstrap/oci/tree.c: a directory tree copied into the root filesystem
 * through the layer entry code (localimage sandbox sources). */
#include "bootstrap/oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"

int oci_apply_entry(struct oci_unpacker *u, struct archive *a, struct archive_entry *e,
		    sb_error_t *err);

/* A plain user's own entries it cannot read (mode 000 files, 0300 dirs, as
 * images have them) are opened up for the copy and put back after; the copy
 * gets their real modes. */
struct opened {
	char *path; /* relative to the source */
	mode_t mode;
};

struct opened_list {
	struct opened *v;
	size_t n;
};

static void open_up(int at, const char *rel, struct opened_list *l)
{
	int fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_uid != geteuid() || S_ISLNK(st.st_mode))
			continue;
		mode_t need = S_ISDIR(st.st_mode) ? 0700 : 0400;
		char *p = *rel ? sb_asprintf("%s/%s", rel, de->d_name) : sb_strdup(de->d_name);
		if ((st.st_mode & need) != need &&
		    fchmodat(dirfd(d), de->d_name, (st.st_mode & 07777) | need, 0) == 0) {
			l->v = sb_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
			l->v[l->n].path = sb_strdup(p);
			l->v[l->n++].mode = st.st_mode & 07777;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				open_up(sub, p, l);
				close(sub);
			}
		}
		free(p);
	}
	closedir(d);
}

static void put_back(int srcfd, struct opened_list *l)
{
	for (size_t i = l->n; i-- > 0;) { /* children before their parents */
		fchmodat(srcfd, l->v[i].path, l->v[i].mode, 0);
		free(l->v[i].path);
	}
	free(l->v);
}

static const struct opened *find_opened(const struct opened_list *l, const char *rel)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, rel) == 0)
			return &l->v[i];
	return NULL;
}

/* Entry names relative to the source root; its own owner becomes root when a
 * plain user copies its own tree (as the SquashFS packer maps it). */
static void rename_entry(struct oci_unpacker *u, struct archive_entry *e, const char *src,
			 const struct opened_list *opened)
{
	const char *p = archive_entry_pathname(e);
	size_t n = strlen(src);
	while (n > 1 && src[n - 1] == '/')
		n--;
	const char *rel = strncmp(p, src, n) == 0 ? p + n : p;
	while (*rel == '/')
		rel++;
	cleanup_free char *name = sb_asprintf("./%s", rel);
	archive_entry_copy_pathname(e, name);
	const struct opened *o = find_opened(opened, rel);
	if (o)
		archive_entry_set_perm(e, o->mode);
	if (!u->o.privileged) {
		if (archive_entry_uid(e) == (la_int64_t)getuid())
			archive_entry_set_uid(e, 0);
		if (archive_entry_gid(e) == (la_int64_t)getgid())
			archive_entry_set_gid(e, 0);
	}
}

static int copy_tree(struct oci_unpacker *u, const char *src, const struct opened_list *opened,
		     sb_error_t *err)
{
	struct archive *disk = archive_read_disk_new();
	struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
	archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	archive_read_disk_set_symlink_physical(disk);
	u->label = "local image";
	int r = archive_read_disk_open(disk, src) == ARCHIVE_OK ? 0 : -1;
	if (r < 0)
		sb_error_set_status(err, 2, archive_errno(disk), "reading %s: %s", src,
				    archive_error_string(disk));
	while (r == 0) {
		struct archive_entry *e = archive_entry_new(), *spare = NULL;
		int hr = archive_read_next_header2(disk, e);
		if (hr == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (hr < ARCHIVE_WARN) {
			r = sb_error_set_status(err, 2, archive_errno(disk), "reading %s: %s", src,
						archive_error_string(disk));
			archive_entry_free(e);
			break;
		}
		archive_read_disk_descend(disk);
		rename_entry(u, e, src, opened);
		archive_entry_linkify(lr, &e, &spare);
		if (e)
			r = oci_apply_entry(u, disk, e, err);
		archive_entry_free(e);
		archive_entry_free(spare);
	}
	unpack_dir_times(u);
	unpack_touch_reset(u);
	archive_entry_linkresolver_free(lr);
	archive_read_free(disk);
	u->label = NULL;
	return r;
}

int oci_unpacker_copy_tree(struct oci_unpacker *u, const char *src, sb_error_t *err)
{
	struct opened_list opened = { 0 };
	int srcfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srcfd < 0)
		return sb_error_set_status(err, 2, errno, "reading %s", src);
	if (geteuid() != 0)
		open_up(srcfd, "", &opened);
	int r = copy_tree(u, src, &opened, err);
	put_back(srcfd, &opened);
	close(srcfd);
	return r;
}
