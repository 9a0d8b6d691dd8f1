/* tests/sif/sqfs_pack.c: a small driver for the SquashFS writer and extractor
 * (sif/sqfs.h), used by tests/integration/sqfs.sh and bench/pack.sh.
 *
 *   sqfs_pack pack [--offset N] [--jobs N] [--comp NAME[:LEVEL]] [--block-size N]
 *                  [--all-root] DIR OUT      (SOURCE_DATE_EPOCH is honoured)
 *   sqfs_pack extract [--offset N] IMAGE OUTDIR
 *   sqfs_pack craft dotdot|abslink OUT   (hostile images, via the writer)
 *   sqfs_pack setxattr PATH KEY VALUE       (no attr package needed)
 *   sqfs_pack xattrs DIR                    (sorted "path key=hex" lines)
 *
 * pack fills the OUT bytes before --offset with 'P' and prints "size N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/error.h"
#include "sif/sqfs.h"

static void warn_sink(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "warning: %s\n", msg);
}

static int die(sb_error_t *err)
{
	fprintf(stderr, "sqfs_pack: %s\n", sb_error_message(*err));
	sb_error_free(err);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: sqfs_pack pack|extract|craft|setxattr|xattrs ...\n");
	return 2;
}

static int open_out(const char *path, unsigned long long offset)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	char buf[4096];
	memset(buf, 'P', sizeof(buf));
	for (unsigned long long done = 0; done < offset;) {
		size_t n = offset - done > sizeof(buf) ? sizeof(buf) : (size_t)(offset - done);
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		done += n;
	}
	return fd;
}

static int cmd_pack(int argc, char **argv)
{
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.warn = warn_sink;
	unsigned long long offset = 0;
	sb_error_t err = NULL;
	int i = 0;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--all-root") == 0) {
			o.all_root = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--offset") == 0)
			offset = strtoull(v, NULL, 10);
		else if (strcmp(a, "--jobs") == 0)
			o.jobs = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--block-size") == 0)
			o.block_size = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--comp") == 0) {
			if (sif_sqfs_parse_compression(v, &o, &err) < 0)
				return die(&err);
		} else
			return usage();
	}
	if (argc - i != 2)
		return usage();
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	if (epoch != NULL && *epoch && sif_sqfs_parse_epoch(epoch, &o, &err) < 0)
		return die(&err);
	int fd = open_out(argv[i + 1], offset);
	if (fd < 0) {
		perror(argv[i + 1]);
		return 1;
	}
	uint64_t size = 0;
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, offset, &o, &err);
	int ret = w && sif_sqfs_pack_dir(w, argv[i], NULL, &err) == 0 &&
				  sif_sqfs_writer_finish(w, &size, &err) == 0
			  ? 0
			  : 1;
	sif_sqfs_writer_free(w);
	close(fd);
	if (ret != 0)
		return die(&err);
	printf("size %llu\n", (unsigned long long)size);
	return 0;
}

static int cmd_extract(int argc, char **argv)
{
	unsigned long long offset = 0;
	int i = 0;
	if (argc >= 2 && strcmp(argv[0], "--offset") == 0) {
		offset = strtoull(argv[1], NULL, 10);
		i = 2;
	}
	if (argc - i != 2)
		return usage();
	int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[i]);
		return 1;
	}
	struct sif_sqfs_extract_options eo = {.warn = warn_sink};
	sb_error_t err = NULL;
	int ret = sif_sqfs_extract(fd, offset, argv[i + 1], &eo, &err);
	close(fd);
	return ret < 0 ? die(&err) : 0;
}

static ssize_t read_text(void *ctx, void *buf, size_t len, sb_error_t *err)
{
	const char **p = ctx;
	size_t n = strlen(*p);
	(void)err;
	if (n > len)
		n = len;
	memcpy(buf, *p, n);
	*p += n;
	return (ssize_t)n;
}

/* Hostile images made through the writer's unsafe_names test switch. */
static int craft(struct sif_sqfs_writer *w, const char *kind, sb_error_t *err)
{
	struct sif_sqfs_attr dir = {.mode = 0755}, file = {.mode = 0644};
	const char *text = "escaped\n";
	if (strcmp(kind, "dotdot") == 0)
		return sif_sqfs_writer_add_file(w, "../x", &file, read_text, &text, err);
	if (strcmp(kind, "abslink") == 0) {
		/* "link" is a symlink to an absolute directory, and again a
		 * directory holding "x": an extractor that follows paths would
		 * write x into the symlink's target. */
		const char *target = getenv("CRAFT_TARGET");
		if (sif_sqfs_writer_add_symlink(w, "link", &dir, target ? target : "/tmp", err) <
			    0 ||
		    sif_sqfs_writer_add_dir(w, "link", &dir, err) < 0)
			return -1;
		return sif_sqfs_writer_add_file(w, "link/x", &file, read_text, &text, err);
	}
	return sb_error_set(err, 0, "unknown craft kind %s", kind);
}

static int cmd_craft(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	struct sif_sqfs_options o;
	sif_sqfs_options_init(&o);
	o.unsafe_names = true;
	o.jobs = 1;
	sb_error_t err = NULL;
	int fd = open_out(argv[1], 0);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct sif_sqfs_writer *w = sif_sqfs_writer_open(fd, 0, &o, &err);
	int ret = w && craft(w, argv[0], &err) == 0 && sif_sqfs_writer_finish(w, NULL, &err) == 0
			  ? 0
			  : 1;
	sif_sqfs_writer_free(w);
	close(fd);
	return ret ? die(&err) : 0;
}

static int cmd_setxattr(int argc, char **argv)
{
	if (argc != 3)
		return usage();
	if (lsetxattr(argv[0], argv[1], argv[2], strlen(argv[2]), 0) != 0) {
		fprintf(stderr, "setxattr %s %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	return 0;
}

/* Prints "path key=hex" for every xattr under dir (paths relative; run
 * through sort by the caller). */
static void dump_one(const char *top, const char *path)
{
	char names[65536];
	ssize_t len = llistxattr(path, names, sizeof(names));
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1) {
		unsigned char val[65536];
		ssize_t n = lgetxattr(path, names + i, val, sizeof(val));
		if (n < 0)
			continue;
		printf("%s %s=", path + strlen(top), names + i);
		for (ssize_t k = 0; k < n; k++)
			printf("%02x", val[k]);
		printf("\n");
	}
}

static int dump_tree(const char *top, const char *path)
{
	dump_one(top, path);
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	int dfd = open(path, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (d == NULL)
		return 0;
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char child[8192];
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		dump_tree(top, child);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "pack") == 0)
		return cmd_pack(argc, argv);
	if (strcmp(cmd, "extract") == 0)
		return cmd_extract(argc, argv);
	if (strcmp(cmd, "craft") == 0)
		return cmd_craft(argc, argv);
	if (strcmp(cmd, "setxattr") == 0)
		return cmd_setxattr(argc, argv);
	if (strcmp(cmd, "xattrs") == 0 && argc == 1)
		return dump_tree(argv[0], argv[0]);
	return usage();
}
