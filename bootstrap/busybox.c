/* bootstrap/busybox.c: Bootstrap: busybox, MirrorURL: a busybox binary.
 *
 * As Apptainer does: /etc/passwd, /etc/group and /etc/hosts with its exact
 * bytes, the binary as /bin/busybox (0755) and its applets installed in /bin
 * as hard links (the applet list comes from running `busybox --list` on the
 * host, as Apptainer runs `busybox --install`); runscript "#!/bin/sh\n".
 * MirrorURL may be file://PATH or a path; http(s) downloads need the HTTP
 * client of bootstrap/registry and are refused for now. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "common/cleanup.h"
#include "common/strbuf.h"

extern char **environ;

static const char *local_path(const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		return url + 7;
	if (strstr(url, "://"))
		return NULL;
	return url;
}

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	const char *url = bootstrap_header_get(r, "mirrorurl");
	if (url == NULL || *url == '\0')
		return sb_error_set_status(err, 2, 0, "Bootstrap: busybox needs a MirrorURL: line");
	if (local_path(url) == NULL)
		return sb_error_set_status(err, 2, 0, "MirrorURL: %s: only file:// URLs and paths "
					   "are supported so far", url);
	return 0;
}

static int write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	cleanup_close int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
				      mode);
	if (fd < 0 || fchmod(fd, mode) < 0)
		return -1;
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int copy_binary(const char *src, int bindir, sb_error_t *err)
{
	size_t len;
	cleanup_free char *data = sb_read_file(src, &len);
	if (data == NULL)
		return sb_error_set_status(err, 2, errno, "MirrorURL: %s", src);
	if (write_at(bindir, "busybox", data, len, 0755) < 0)
		return sb_error_set(err, errno, "writing /bin/busybox");
	return 0;
}

/* `busybox --list`: one applet name per line. */
static char *applet_list(const char *binary, sb_error_t *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe"), NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	char *argv[] = { (char *)binary, (char *)"--list", NULL };
	pid_t pid;
	int e = posix_spawn(&pid, binary, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e != 0) {
		close(p[0]);
		sb_error_set(err, e, "running %s --list", binary);
		return NULL;
	}
	struct sb_strbuf sb = SB_STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		sb_strbuf_add(&sb, buf, (size_t)n);
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sb_strbuf_release(&sb);
		sb_error_set(err, 0, "%s --list failed", binary);
		return NULL;
	}
	return sb_strbuf_detach(&sb, NULL);
}

static int install_applets(int bindir, const char *binary, const struct bootstrap_request *r)
{
	sb_error_t e = NULL;
	cleanup_free char *list = applet_list(binary, &e);
	if (list == NULL) {
		if (r->warn) {
			cleanup_free char *m = sb_asprintf("busybox applets not installed: %s",
							   sb_error_message(e));
			r->warn(r->warn_ctx, m);
		}
		sb_error_free(&e);
		return 0;
	}
	for (char *s = list, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl == NULL)
			nl = s + strlen(s) - 1;
		else
			*nl = '\0';
		if (*s && strcmp(s, "busybox") != 0 && strchr(s, '/') == NULL &&
		    strcmp(s, ".") != 0 && strcmp(s, "..") != 0) {
			unlinkat(bindir, s, 0);
			linkat(bindir, "busybox", bindir, s, 0);
		}
	}
	return 0;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	if (validate(r, err) < 0)
		return -1;
	cleanup_close int root = open(r->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return sb_error_set(err, errno, "opening %s", r->rootfs);
	mkdirat(root, "etc", 0755);
	mkdirat(root, "bin", 0755);
	cleanup_close int etc = openat(root, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int bin = openat(root, "bin", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	static const char passwd[] = "root:!:0:0:root:/root:/bin/sh", group[] = " root:x:0:",
			  hosts[] = "127.0.0.1   localhost localhost.localdomain localhost4 "
				    "localhost4.localdomain4";
	if (etc < 0 || bin < 0 || write_at(etc, "passwd", passwd, strlen(passwd), 0644) < 0 ||
	    write_at(etc, "group", group, strlen(group), 0644) < 0 ||
	    write_at(etc, "hosts", hosts, strlen(hosts), 0644) < 0)
		return sb_error_set(err, errno, "writing the busybox base files in %s", r->rootfs);
	if (copy_binary(local_path(bootstrap_header_get(r, "mirrorurl")), bin, err) < 0)
		return -1;
	cleanup_free char *binary = sb_asprintf("%s/bin/busybox", r->rootfs);
	install_applets(bin, binary, r);
	res->runscript = sb_strdup("#!/bin/sh\n");
	return 0;
}

const struct bootstrap_ops bootstrap_busybox_ops = { validate, materialise };
