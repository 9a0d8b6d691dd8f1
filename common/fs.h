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

/* A new unique temporary path beside target: "<dir>/.<base>.sifbuild-XXXXXX"
 * (the file is created empty, mode 0600). Returns the path or NULL. */
char *sb_temp_beside(const char *target, sb_error_t *err);

#endif
