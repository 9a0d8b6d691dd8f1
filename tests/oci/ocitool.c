/* tests/oci/ocitool.c: drives the bootstrap agents for the shell tests.
 *
 *   ocitool unpack AGENT FROM ROOTFS [--map FILE] [--meta DIR] [--arch A]
 *                  [--variant V] [--user]
 *       runs AGENT (oci, oci-archive, docker-archive, localimage, scratch,
 *       busybox) into ROOTFS (created); saves the ownership map and, for OCI
 *       sources, Apptainer's metadata files (env.sh, runscript, labels.json,
 *       oci-config.json). --user: behave as a plain user even as root.
 *       Exit 1 with the error on stderr; warnings as "warning: ...".
 *   ocitool list ROOTFS [--map FILE] [--no-owners]
 *       one line per entry, sorted: path type mode uid gid size nlink
 *       link-target|rdev|sha256. With --map, owners and modes come through the
 *       ownership map, the caller's own ids read as 0 (what the SIF gets).
 *   ocitool pack ROOTFS OUT.squashfs [--map FILE]
 *       packs the tree with sif/'s SquashFS writer, the ownership map
 *       applied by bootstrap_owner_hook (a plain user's ids become 0). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bootstrap/bootstrap.h"
#include "common/ownership.h"
#include "sif/sqfs.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "warning: %s\n", msg);
}

static int write_file(const char *dir, const char *name, const char *data)
{
	char *p = sb_asprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	free(p);
	if (f == NULL)
		return -1;
	fputs(data, f);
	return fclose(f);
}

static int unpack(int argc, char **argv)
{
	const char *agent = argv[0], *from = argv[1], *rootfs = argv[2], *map = NULL, *meta = NULL;
	struct bootstrap_request rq = { .rootfs = rootfs, .warn = warn };
	rq.privileged = geteuid() == 0;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--map") == 0 && i + 1 < argc)
			map = argv[++i];
		else if (strcmp(argv[i], "--meta") == 0 && i + 1 < argc)
			meta = argv[++i];
		else if (strcmp(argv[i], "--arch") == 0 && i + 1 < argc)
			rq.arch = argv[++i];
		else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc)
			rq.arch_variant = argv[++i];
		else if (strcmp(argv[i], "--user") == 0)
			rq.privileged = false;
	}
	struct defparse_kv kv[3] = { { (char *)"bootstrap", (char *)agent, 1 },
				     { (char *)"from", (char *)from, 2 },
				     { (char *)"mirrorurl", (char *)from, 3 } };
	rq.header = kv;
	rq.n_header = 3;
	rq.owners = sb_ownership_new();
	const struct bootstrap_agent *a = bootstrap_find(agent);
	sb_error_t err = NULL;
	struct bootstrap_result res = { 0 };
	int rc = 1;
	if (a == NULL || a->ops == NULL) {
		fprintf(stderr, "ocitool: no agent %s\n", agent);
		goto out;
	}
	if (mkdir(rootfs, 0755) < 0 && errno != EEXIST) {
		perror(rootfs);
		goto out;
	}
	if (a->ops->validate(&rq, &err) < 0 || a->ops->materialise(&rq, &res, &err) < 0) {
		fprintf(stderr, "error: %s\n", sb_error_message(err));
		goto out;
	}
	if (map && sb_ownership_save(rq.owners, map, &err) < 0) {
		fprintf(stderr, "error: %s\n", sb_error_message(err));
		goto out;
	}
	if (meta)
		mkdir(meta, 0755);
	if (meta && res.oci_config) {
		struct bootstrap_oci_meta m;
		if (bootstrap_oci_meta(res.oci_config, res.oci_config_len, warn, NULL, &m, &err) < 0) {
			fprintf(stderr, "error: %s\n", sb_error_message(err));
			goto out;
		}
		write_file(meta, "env.sh", m.env_script);
		write_file(meta, "runscript", m.runscript);
		write_file(meta, "labels.json", m.labels_json);
		write_file(meta, "oci-config.json", m.oci_config);
		bootstrap_oci_meta_release(&m);
	}
	if (meta && res.runscript)
		write_file(meta, "runscript", res.runscript);
	rc = 0;
out:
	bootstrap_result_release(&res);
	sb_ownership_free(rq.owners);
	sb_error_free(&err);
	return rc;
}

struct lister {
	struct sb_ownership *map;
	bool owners;
	uid_t self_uid;
	gid_t self_gid;
};

static void content_hash(int dirfd, const char *name, char *out)
{
	unsigned char md[32];
	unsigned n = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno == EACCES && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_uid == getuid()) { /* our own mode-000 file: read it, put the mode back */
		fchmodat(dirfd, name, 0400, 0);
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		fchmodat(dirfd, name, st.st_mode & 07777, 0);
	}
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t r;
	while (fd >= 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(c, buf, (size_t)r);
	EVP_DigestFinal_ex(c, md, &n);
	EVP_MD_CTX_free(c);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	if (fd < 0)
		strcpy(out, "unreadable");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_entry(struct lister *l, int dirfd, const char *name, const char *path,
		       const struct stat *st)
{
	uint32_t uid = st->st_uid, gid = st->st_gid, mode = st->st_mode;
	dev_t rdev = st->st_rdev;
	if (l->map) {
		if (uid == l->self_uid)
			uid = 0;
		if (gid == l->self_gid)
			gid = 0;
		sb_ownership_resolve(sb_ownership_lookup(l->map, path, st), st, &uid, &gid, &mode,
				     &rdev);
	}
	char type = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISCHR(mode) ? 'c'
		    : S_ISBLK(mode) ? 'b' : S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : 'f';
	char extra[4200] = "-";
	if (type == 'l') {
		ssize_t n = readlinkat(dirfd, name, extra, sizeof(extra) - 1);
		extra[n < 0 ? 0 : n] = '\0';
	} else if (type == 'c' || type == 'b') {
		snprintf(extra, sizeof(extra), "%u:%u", major(rdev), minor(rdev));
	} else if (type == 'f') {
		content_hash(dirfd, name, extra);
	}
	long long size = type == 'f' ? (long long)st->st_size : 0;
	printf("/%s %c %04o", path, type, type == 'l' ? 0777 : mode & 07777);
	if (l->owners)
		printf(" %u %u", uid, gid);
	printf(" %lld %lu %s\n", size, type == 'd' ? 0UL : (unsigned long)st->st_nlink, extra);
}

static void walk(struct lister *l, int at, const char *path)
{
	int fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			names = sb_xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = sb_strdup(de->d_name);
		}
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char *p = *path ? sb_asprintf("%s/%s", path, names[i]) : sb_strdup(names[i]);
		struct stat st;
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			list_entry(l, dirfd(d), names[i], p, &st);
			if (S_ISDIR(st.st_mode)) {
				int sub = openat(dirfd(d), names[i],
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0) {
					walk(l, sub, p);
					close(sub);
				}
			}
		}
		free(p);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

static int list(int argc, char **argv)
{
	struct lister l = { .owners = true, .self_uid = getuid(), .self_gid = getgid() };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--map") == 0 && i + 1 < argc) {
			sb_error_t err = NULL;
			l.map = sb_ownership_new();
			if (sb_ownership_load(l.map, argv[++i], &err) < 0) {
				fprintf(stderr, "error: %s\n", sb_error_message(err));
				return 1;
			}
		} else if (strcmp(argv[i], "--no-owners") == 0) {
			l.owners = false;
		}
	}
	int fd = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[0]);
		return 1;
	}
	struct stat st;
	fstat(fd, &st);
	list_entry(&l, fd, ".", "", &st);
	walk(&l, fd, "");
	close(fd);
	sb_ownership_free(l.map);
	return 0;
}

static int pack(int argc, char **argv)
{
	struct sb_ownership *map = sb_ownership_new();
	sb_error_t err = NULL;
	int rc = 1;
	if (argc >= 4 && strcmp(argv[2], "--map") == 0 && sb_ownership_load(map, argv[3], &err) < 0)
		goto out;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		goto out;
	}
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.all_root = geteuid() != 0;
	o.jobs = 1;
	struct bootstrap_owner_ctx oc = { .map = map };
	struct sif_sqfs_walk_options wo = { .owner_hook = bootstrap_owner_hook, .owner_ctx = &oc,
					    .one_file_system = true };
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, &o, &err);
	if (w && sif_sqfs_pack_dir(w, argv[0], &wo, &err) == 0 &&
	    sif_sqfs_writer_finish(w, NULL, &err) == 0)
		rc = 0;
	sif_sqfs_writer_free(w);
	bootstrap_owner_ctx_release(&oc);
	close(fd);
out:
	if (rc)
		fprintf(stderr, "error: %s\n", sb_error_message(err));
	sb_error_free(&err);
	sb_ownership_free(map);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "pack") == 0)
		return pack(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "unpack") == 0)
		return unpack(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "list") == 0)
		return list(argc - 2, argv + 2);
	fprintf(stderr, "usage: ocitool unpack AGENT FROM ROOTFS [options] | list ROOTFS [options]\n");
	return 2;
}
