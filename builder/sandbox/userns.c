/* builder/sandbox/userns.c: subordinate ID ranges and writing ID maps. */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

bool sb_mode_uses_userns(enum sb_mode mode)
{
	return mode != SB_MODE_ROOT && mode != SB_MODE_AUTO;
}

/* Parses "start:count" after the owner field; returns false on garbage. */
static bool parse_range(const char *s, struct sb_idrange *r)
{
	char *end;
	errno = 0;
	unsigned long start = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != ':')
		return false;
	const char *c = end + 1;
	unsigned long count = strtoul(c, &end, 10);
	if (errno != 0 || end == c || (*end != '\0' && *end != '\n'))
		return false;
	r->start = start;
	r->count = count;
	return true;
}

/* Apptainer's rule: a range of exactly 65536 wins, else the largest range
 * above it; smaller ones are not used (we fall back instead of failing). */
static void consider(struct sb_idrange *best, const struct sb_idrange *r, bool *found)
{
	if (r->count < 65536)
		return;
	if (!*found || (best->count != 65536 && (r->count == 65536 || r->count > best->count))) {
		*best = *r;
		*found = true;
	}
}

int sb_subid_pick(const char *text, const char *user, uid_t uid, struct sb_idrange *r,
		  sb_error_t *err)
{
	char num[32];
	snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
	bool found = false, small = false;
	const char *names[2] = { user, num };
	for (int pass = 0; pass < 2 && !found; pass++) {
		if (names[pass] == NULL)
			continue;
		size_t n = strlen(names[pass]);
		for (const char *l = text; l != NULL && *l != '\0';) {
			const char *nl = strchr(l, '\n');
			cleanup_free char *line =
				nl ? sb_strndup(l, (size_t)(nl - l)) : sb_strdup(l);
			l = nl ? nl + 1 : NULL;
			struct sb_idrange cand;
			if (strncmp(line, names[pass], n) != 0 || line[n] != ':' ||
			    !parse_range(line + n + 1, &cand))
				continue;
			if (cand.count < 65536)
				small = true;
			consider(r, &cand, &found);
		}
	}
	if (found)
		return 0;
	if (small)
		return sb_error_set(err, 0, "range count lower than 65536");
	return sb_error_set(err, 0, "no entry for %s", user ? user : num);
}

static bool has_file_caps(const char *path)
{
	return getxattr(path, "security.capability", NULL, 0) > 0;
}

char *sb_find_in_path(const char *name)
{
	const char *env = getenv("PATH");
	cleanup_free char *dirs = sb_asprintf("%s:/usr/sbin:/sbin",
					      env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = sb_asprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

char *sb_userns_find_helper(const char *name, const char *given, sb_error_t *err)
{
	char *path = given != NULL ? sb_strdup(given) : sb_find_in_path(name);
	if (path == NULL) {
		sb_error_set(err, 0, "%s not found (Debian package uidmap)", name);
		return NULL;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
		sb_error_set(err, 0, "%s is not an executable file", path);
		free(path);
		return NULL;
	}
	/* Setuid root, or file capabilities (not checked: then only the trial
	 * mapping tells). */
	if ((st.st_mode & S_ISUID) == 0 || st.st_uid != 0) {
		if (!has_file_caps(path)) {
			sb_error_set(err, 0, "%s is neither setuid root nor has file capabilities",
				     path);
			free(path);
			return NULL;
		}
	}
	return path;
}

static int write_file(const char *path, const char *text, sb_error_t *err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "opening %s", path);
	ssize_t len = (ssize_t)strlen(text);
	if (write(fd, text, (size_t)len) != len)
		return sb_error_set(err, errno, "writing '%.*s' to %s", (int)strcspn(text, "\n"),
				    text, path);
	return 0;
}

int sb_userns_map_self(pid_t pid, uid_t uid, gid_t gid, sb_error_t *err)
{
	return sb_userns_map_one(pid, 0, uid, 0, gid, err);
}

int sb_userns_map_one(pid_t pid, uid_t in_uid, uid_t uid, gid_t in_gid, gid_t gid,
		      sb_error_t *err)
{
	char path[64], line[64];
	/* Order matters: uid_map, then "deny" in setgroups, which the kernel
	 * requires before an unprivileged gid_map write. */
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof(line), "%lu %lu 1\n", (unsigned long)in_uid, (unsigned long)uid);
	if (write_file(path, line, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	if (write_file(path, "deny", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof(line), "%lu %lu 1\n", (unsigned long)in_gid, (unsigned long)gid);
	return write_file(path, line, err);
}

/* Runs helper with argv, capturing its stderr for the error message. */
static int run_helper(char *const argv[], sb_error_t *err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return sb_error_set(err, errno, "fork");
	}
	if (pid == 0) {
		dup2(pfd[1], 2);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	char buf[512];
	size_t len = 0;
	ssize_t n;
	while ((n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			len += (size_t)n;
	close(pfd[0]);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return sb_error_set(err, 0, "%s failed: %s", argv[0], len ? buf : "no message");
}

int sb_userns_map_subid(const struct sb_sandbox *sb, pid_t pid, sb_error_t *err)
{
	char spid[24], id[24], start[24], count[24];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	/* Apptainer's order: gid map first, then uid map. Inside, 0 is the
	 * caller and 1..count the subordinate range. */
	snprintf(id, sizeof(id), "%lu", (unsigned long)sb->gid);
	snprintf(start, sizeof(start), "%lu", sb->subgid.start);
	snprintf(count, sizeof(count), "%lu", sb->subgid.count);
	char *gargv[] = { sb->newgidmap, spid, "0", id, "1", "1", start, count, NULL };
	if (run_helper(gargv, err) < 0)
		return -1;
	snprintf(id, sizeof(id), "%lu", (unsigned long)sb->uid);
	snprintf(start, sizeof(start), "%lu", sb->subuid.start);
	snprintf(count, sizeof(count), "%lu", sb->subuid.count);
	char *uargv[] = { sb->newuidmap, spid, "0", id, "1", "1", start, count, NULL };
	return run_helper(uargv, err);
}

int sb_userns_write_maps(const struct sb_sandbox *sb, pid_t pid, bool keep_uid, sb_error_t *err)
{
	if (keep_uid)
		return sb_userns_map_one(pid, sb->uid, sb->uid, sb->gid, sb->gid, err);
	if (sb->mode == SB_MODE_SUBUID)
		return sb_userns_map_subid(sb, pid, err);
	return sb_userns_map_self(pid, sb->uid, sb->gid, err);
}
