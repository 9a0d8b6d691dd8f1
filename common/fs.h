/* common/fs.h: file system helpers that never trust paths from images. */
#ifndef SB_COMMON_FS_H
#define SB_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Opens path (absolute or relative, read as relative to rootfd) with every
 * symlink on the way resolved inside rootfd, as if rootfd were "/" (".."
 * stops at the root). flags are open(2) flags; O_NOFOLLOW applies to the last
 * component. Uses openat2(RESOLVE_IN_ROOT), or a component walk on kernels
 * without it. Returns an fd, or -1 with errno set. */
int sb_open_in_root(int rootfd, const char *path, int flags);

/* The component-walk fallback of sb_open_in_root, exposed so tests can run
 * it on kernels that have openat2. */
int sb_open_in_root_walk(int rootfd, const char *path, int flags);

/* Reads the regular file at path inside rootfd (see sb_open_in_root) into a
 * NUL-terminated buffer. NULL with errno ENOENT when absent, EISDIR/EINVAL
 * when it is not a regular file; at most max bytes (EFBIG beyond). */
char *sb_read_in_root(int rootfd, const char *path, size_t max, size_t *len);

/* Creates directory path (and missing parents, mode 0755) inside rootfd; an
 * existing directory or symlink to one is fine. */
int sb_mkdir_in_root(int rootfd, const char *path, unsigned mode, sb_error_t *err);

/* Writes len bytes to path inside rootfd (parent resolved inside the root,
 * the file itself never followed if it is a symlink: it is replaced), with
 * mode; append adds to an existing file instead of replacing it. */
int sb_write_in_root(int rootfd, const char *path, const void *data, size_t len, unsigned mode,
		     int append, sb_error_t *err);

/* A new unique temporary path beside target: "<dir>/.<base>.sifbuild-XXXXXX"
 * (the file is created empty, mode 0600). Returns the path or NULL. */
char *sb_temp_beside(const char *target, sb_error_t *err);

/* The base directory for temporary build files: dir when not NULL, else
 * $SIFBUILD_TMPDIR, $APPTAINER_TMPDIR, $SINGULARITY_TMPDIR, $TMPDIR (the
 * first set and non-empty), else /var/tmp when writable, else /tmp. */
const char *sb_tmp_base(const char *dir);

/* Absolute path (malloc'd) of the executable name found in $PATH then in
 * the colon-separated extra directories (may be NULL), or NULL. */
char *sb_find_program(const char *name, const char *extra);

/* Removes path and everything under it without following symlinks; makes
 * unreadable directories (mode 000 inside images) readable first. ENOENT is
 * not an error. */
int sb_rm_rf(const char *path, sb_error_t *err);

/* Paths to remove if sifbuild is interrupted (SIGINT, SIGTERM, SIGHUP): a
 * small fixed registry the signal handler reads. Files are unlinked; directory
 * trees are removed by an exec'd /bin/rm -rf (fork, execve and waitpid are
 * async-signal-safe). Then the signal is raised again with its default action.
 * sb_cleanup_add copies path; returns -1 when the registry is full. */
void sb_cleanup_install(void);
int sb_cleanup_add(const char *path, int is_dir);
void sb_cleanup_remove(const char *path);

#endif
