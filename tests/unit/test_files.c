/* tests/unit/test_files.c: builder/files.c on real temp trees: %files from
 * the host (cp -fLr rules, globbing), from a stage (tar-like), %appfiles,
 * and escape attempts that must leave a sentinel directory untouched. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/files.h"
#include "common/fs.h"
#include "common/strbuf.h"

static char top[64], host[128], rootfs[128], stage[128], sentinel[128];
static char warned[4096];

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	snprintf(warned + strlen(warned), sizeof(warned) - strlen(warned), "%s\n", msg);
}

static struct files_ctx ctx = { .deffile = "test.def", .cwd = host, .warn = on_warn };

static char *P(const char *base, const char *rel)
{
	static char buf[8][512];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, sizeof(buf[0]), "%s/%s", base, rel);
	return b;
}

/* rootfs + the sentinel's host path + "/" + name: where an escape lands
 * when it is resolved inside the root. */
static char *S_IN_ROOT(const char *name)
{
	static char buf[512];
	snprintf(buf, sizeof(buf), "%s%s/%s", rootfs, sentinel, name);
	return buf;
}

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "creating %s", path);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void mkd(const char *path)
{
	ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
}

static void lnk(const char *target, const char *path)
{
	ck_assert_msg(symlink(target, path) == 0, "symlink %s", path);
}

/* Contents of a regular file (not through a symlink), "" when absent. */
static const char *get(const char *path)
{
	static char buf[4][4096];
	static int i;
	char *b = buf[i++ % 4];
	b[0] = '\0';
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return "<absent>";
	ssize_t n = read(fd, b, sizeof(buf[0]) - 1);
	close(fd);
	b[n < 0 ? 0 : n] = '\0';
	return b;
}

static mode_t lmode(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	return st.st_mode;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void setup(void)
{
	umask(0022);
	char tmpl[] = "/tmp/sbfilesXXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(top, sizeof(top), "%s", tmpl);
	snprintf(host, sizeof(host), "%s/host", top);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", top);
	snprintf(stage, sizeof(stage), "%s/stage", top);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", top);
	mkd(host);
	mkd(rootfs);
	mkd(stage);
	mkd(sentinel);
	mkd(P(rootfs, "opt"));
	put(P(host, "a.txt"), "A", 0764);
	put(P(host, "b.txt"), "B", 0644);
	put(P(host, ".hidden.txt"), "H", 0644);
	warned[0] = '\0';
}

static void teardown(void)
{
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_rm_rf(top, &err), 0);
}

static int host_copy(const char *src, const char *dst, int line, sb_error_t *err)
{
	struct defparse_transfer t = { (char *)src, (char *)dst, line };
	return files_copy_from_host(&ctx, rootfs, &t, err);
}

static int stage_copy(const char *src, const char *dst, sb_error_t *err)
{
	struct defparse_transfer t = { (char *)src, (char *)dst, 9 };
	return files_copy_from_stage(&ctx, stage, rootfs, &t, err);
}

#define OK(call)                                                                     \
	do {                                                                         \
		sb_error_t e_ = NULL;                                                \
		int r_ = (call);                                                     \
		ck_assert_msg(r_ == 0, "%s: %s", #call, sb_error_message(e_));       \
	} while (0)

START_TEST(single_file_modes_and_targets)
{
	sb_error_t err = NULL;
	OK(host_copy("a.txt", "/opt/a.txt", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "opt/a.txt")), "A");
	ck_assert_uint_eq(lmode(P(rootfs, "opt/a.txt")) & 07777, 0764);
	/* setuid dropped like cp without -p; Apptainer's umask 0002 applied
	 * whatever the caller's (restored afterwards) */
	put(P(host, "suid"), "S", 04777);
	umask(0077);
	OK(host_copy("suid", "/opt/", 3, &e_));
	ck_assert_uint_eq(umask(0022), 0077);
	ck_assert_uint_eq(lmode(P(rootfs, "opt/suid")) & 07777, 0775);
	/* trailing '/': a new directory (0755) holding the file */
	OK(host_copy("b.txt", "/new/deep/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "new/deep/b.txt")), "B");
	ck_assert_uint_eq(lmode(P(rootfs, "new/deep")) & 07777, 0755);
	/* no destination: the same path in the image, parents created */
	OK(host_copy("a.txt", "", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "a.txt")), "A");
	char abs[256];
	snprintf(abs, sizeof(abs), "%s/b.txt", host);
	OK(host_copy(abs, "", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, abs)), "B");
	/* an existing file is overwritten (cp -f), keeping its mode */
	put(P(rootfs, "opt/over"), "old", 0600);
	OK(host_copy("b.txt", "/opt/over", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "opt/over")), "B");
	ck_assert_uint_eq(lmode(P(rootfs, "opt/over")) & 07777, 0600);
	/* trailing '/' on an existing file is an error */
	ck_assert_int_eq(host_copy("a.txt", "/opt/over/", 4, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "test.def:4: %files: a.txt: "));
	sb_error_free(&err);
}
END_TEST

START_TEST(directories)
{
	sb_error_t err = NULL;
	mkd(P(host, "d"));
	mkd(P(host, "d/sub"));
	put(P(host, "d/x"), "X", 0644);
	put(P(host, "d/sub/y"), "Y", 0600);
	mkd(P(host, "d/ro"));
	put(P(host, "d/ro/z"), "Z", 0444);
	chmod(P(host, "d/ro"), 0555);
	chmod(P(host, "d/sub"), 0777);
	/* into an existing directory: the item goes inside it */
	OK(host_copy("d", "/opt", 5, &e_));
	ck_assert_str_eq(get(P(rootfs, "opt/d/x")), "X");
	ck_assert_str_eq(get(P(rootfs, "opt/d/sub/y")), "Y");
	ck_assert_str_eq(get(P(rootfs, "opt/d/ro/z")), "Z");
	ck_assert_uint_eq(lmode(P(rootfs, "opt/d/ro")) & 07777, 0555);
	ck_assert_uint_eq(lmode(P(rootfs, "opt/d/sub/y")) & 07777, 0600);
	ck_assert_uint_eq(lmode(P(rootfs, "opt/d/sub")) & 07777, 0775);
	/* to a new name: the directory becomes it */
	OK(host_copy("d/", "/fresh", 5, &e_));
	ck_assert_str_eq(get(P(rootfs, "fresh/sub/y")), "Y");
	/* again: cp puts it inside the now existing directory, merging */
	OK(host_copy("d", "/fresh", 5, &e_));
	ck_assert_str_eq(get(P(rootfs, "fresh/d/x")), "X");
	/* "." copies the contents */
	mkd(P(rootfs, "dot"));
	struct files_ctx sub = ctx;
	char dpath[256];
	snprintf(dpath, sizeof(dpath), "%s/d", host);
	sub.cwd = dpath;
	struct defparse_transfer t = { ".", "/dot", 5 };
	ck_assert_int_eq(files_copy_from_host(&sub, rootfs, &t, &err), 0);
	ck_assert_str_eq(get(P(rootfs, "dot/x")), "X");
	/* a directory onto a file, a file onto a directory: cp's errors */
	put(P(rootfs, "afile"), "f", 0644);
	ck_assert_int_eq(host_copy("d", "/afile", 6, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "non-directory"));
	sb_error_free(&err);
	mkd(P(rootfs, "m"));
	mkd(P(rootfs, "m/d"));
	mkd(P(rootfs, "m/d/x"));
	ck_assert_int_eq(host_copy("d", "/m", 6, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "with non-directory"));
	sb_error_free(&err);
	/* FIFOs are recreated, not read */
	ck_assert_int_eq(mkfifo(P(host, "fifo"), 0640), 0);
	OK(host_copy("fifo", "/opt/", 7, &e_));
	ck_assert(S_ISFIFO(lmode(P(rootfs, "opt/fifo"))));
}
END_TEST

START_TEST(missing_source_and_empty_source)
{
	sb_error_t err = NULL;
	ck_assert_int_eq(host_copy("nomatch*", "/opt/", 7, &err), -1);
	ck_assert_msg(strncmp(sb_error_message(err), "test.def:7: %files: nomatch*: ", 30) == 0,
		      "%s", sb_error_message(err));
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "No such file or directory"));
	ck_assert_int_eq(err->status, 2);
	sb_error_free(&err);
	ck_assert_int_eq(host_copy("", "/opt/", 8, &err), 0);
	ck_assert_str_eq(warned, "Attempt to copy file with no name, skipping.\n");
	ck_assert_int_eq(host_copy("$HOME/x", "/opt/", 9, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "test.def:9: %files: $HOME/x: shell"));
	sb_error_free(&err);
	ck_assert_int_eq(host_copy("`id`", "/opt/", 9, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "not supported"));
	sb_error_free(&err);
}
END_TEST

START_TEST(globs_dotfiles_globstar_extglob)
{
	OK(host_copy("*.txt", "/g/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "g/a.txt")), "A");
	ck_assert_str_eq(get(P(rootfs, "g/b.txt")), "B");
	ck_assert_str_eq(get(P(rootfs, "g/.hidden.txt")), "<absent>");
	OK(host_copy(".*.txt", "/h/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "h/.hidden.txt")), "H");
	ck_assert_int_eq(count_entries(P(rootfs, "h")), 1);
	OK(host_copy("[ab].t?t", "/k/", 3, &e_));
	ck_assert_int_eq(count_entries(P(rootfs, "k")), 2);

	mkd(P(host, "tree"));
	mkd(P(host, "tree/x"));
	mkd(P(host, "tree/x/y"));
	mkd(P(host, "tree/.h"));
	put(P(host, "tree/a.c"), "a", 0644);
	put(P(host, "tree/x/b.c"), "b", 0644);
	put(P(host, "tree/x/y/c.c"), "c", 0644);
	put(P(host, "tree/x/y/c.h"), "h", 0644);
	put(P(host, "tree/.h/d.c"), "d", 0644);
	OK(host_copy("tree/**/*.c", "/src/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "src/a.c")), "a");
	ck_assert_str_eq(get(P(rootfs, "src/b.c")), "b");
	ck_assert_str_eq(get(P(rootfs, "src/c.c")), "c");
	ck_assert_str_eq(get(P(rootfs, "src/d.c")), "<absent>");
	ck_assert_int_eq(count_entries(P(rootfs, "src")), 3);
	/* no destination: each match at its own path */
	OK(host_copy("tree/*/*/*.h", "", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "tree/x/y/c.h")), "h");
	/* extended globs (a word globs only with '*', '?' or '[' in it) */
	OK(host_copy("tree/x/*(b|z).c", "/ext/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "ext/b.c")), "b");
	ck_assert_int_eq(count_entries(P(rootfs, "ext")), 1);
	/* a final "**": the directory itself ("tree/") and everything below */
	OK(host_copy("tree/x/**", "/all/", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "all/x/b.c")), "b");
	ck_assert_str_eq(get(P(rootfs, "all/y/c.h")), "h");
	ck_assert_str_eq(get(P(rootfs, "all/c.c")), "c");
	/* brace expansion, literal quotes, backslashes, spaces */
	put(P(host, "it's"), "Q", 0644);
	put(P(host, "with space"), "S", 0644);
	put(P(host, "f1"), "1", 0644);
	put(P(host, "f2"), "2", 0644);
	OK(host_copy("{a,b}.txt", "/br/", 3, &e_));
	OK(host_copy("f{1..2}", "/br/", 3, &e_));
	ck_assert_int_eq(count_entries(P(rootfs, "br")), 4);
	ck_assert_str_eq(get(P(rootfs, "br/f2")), "2");
	OK(host_copy("it's", "/q/", 3, &e_));
	OK(host_copy("with space", "/q/", 3, &e_));
	put(P(host, "{a,b}.txt"), "L", 0644);
	OK(host_copy("\\{a,b}.txt", "/q/", 3, &e_));
	OK(host_copy("\\a\\.txt", "/q/", 3, &e_));
	ck_assert_int_eq(count_entries(P(rootfs, "q")), 4);
	ck_assert_str_eq(get(P(rootfs, "q/with space")), "S");
	ck_assert_str_eq(get(P(rootfs, "q/it's")), "Q");
	ck_assert_str_eq(get(P(rootfs, "q/{a,b}.txt")), "L");
	ck_assert_str_eq(get(P(rootfs, "q/a.txt")), "A");
	sb_error_t err = NULL;
	/* Apptainer's quirks: "\ " keeps its backslash, quotes are characters */
	ck_assert_int_eq(host_copy("with\\ space", "/q/", 4, &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(host_copy("\"a.txt\"", "/q/", 4, &err), -1);
	sb_error_free(&err);
}
END_TEST

START_TEST(host_symlinks_dereferenced)
{
	sb_error_t err = NULL;
	lnk("a.txt", P(host, "link"));
	mkd(P(host, "d"));
	lnk("../b.txt", P(host, "d/inner"));
	lnk("d", P(host, "dlink"));
	OK(host_copy("link", "/opt/", 3, &e_));
	ck_assert(S_ISREG(lmode(P(rootfs, "opt/link"))));
	ck_assert_str_eq(get(P(rootfs, "opt/link")), "A");
	OK(host_copy("dlink", "/opt/", 3, &e_));
	ck_assert(S_ISDIR(lmode(P(rootfs, "opt/dlink"))));
	ck_assert(S_ISREG(lmode(P(rootfs, "opt/dlink/inner"))));
	ck_assert_str_eq(get(P(rootfs, "opt/dlink/inner")), "B");
	/* a loop through a symlink is an error, not endless recursion */
	mkd(P(host, "loop"));
	lnk("..", P(host, "loop/up"));
	ck_assert_int_eq(host_copy("loop", "/opt/", 4, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "loop"));
	sb_error_free(&err);
	/* a dangling host symlink fails */
	lnk("nowhere", P(host, "dangling"));
	ck_assert_int_eq(host_copy("dangling", "/opt/", 5, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "test.def:5: %files: dangling: "));
	sb_error_free(&err);
}
END_TEST

/* Compares trees a and b: names, types, modes, contents, link targets. */
static void same_tree(const char *a, const char *b)
{
	struct stat sa, sb;
	ck_assert_msg(lstat(a, &sa) == 0, "missing %s", a);
	ck_assert_msg(lstat(b, &sb) == 0, "missing %s (present: %s)", b, a);
	ck_assert_msg((sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT), "type of %s", b);
	ck_assert_msg((sa.st_mode & 07777) == (sb.st_mode & 07777), "mode of %s: %o, cp: %o", b,
		      sb.st_mode & 07777, sa.st_mode & 07777);
	if (S_ISREG(sa.st_mode))
		ck_assert_str_eq(get(a), get(b));
	if (!S_ISDIR(sa.st_mode))
		return;
	ck_assert_int_eq(count_entries(a), count_entries(b));
	DIR *d = opendir(a);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *ca = sb_asprintf("%s/%s", a, e->d_name);
		char *cb = sb_asprintf("%s/%s", b, e->d_name);
		same_tree(ca, cb);
		free(ca);
		free(cb);
	}
	closedir(d);
}

/* The same %files lines through GNU cp -fLr (umask 0002, parents made 0755
 * like Apptainer's MkdirAll) and through files_copy_from_host give the same
 * trees. */
START_TEST(same_as_cp)
{
	mkd(P(host, "t"));
	mkd(P(host, "t/sub"));
	mkd(P(host, "t/ro"));
	put(P(host, "t/sub/f"), "f", 0751);
	put(P(host, "t/ro/g"), "g", 0444);
	put(P(host, "t/s"), "s", 06775);
	chmod(P(host, "t/sub"), 0777);
	chmod(P(host, "t/ro"), 0555);
	lnk("../a.txt", P(host, "t/la"));
	lnk("sub", P(host, "t/ldir"));
	char ref[256];
	snprintf(ref, sizeof(ref), "%s/ref", top);
	mkd(ref);
	mkd(P(ref, "opt"));
	static const char *cases[][2] = {
		{ "a.txt", "/n1" },   { "a.txt", "/opt" },   { "t", "/copy" }, { "t", "/copy" },
		{ "t", "/opt/" },     { "t/", "/deep/er/" }, { "t/la", "" },   { "t/sub", "/opt" },
		{ "t/ldir", "/opt" }, { "b.txt", "/n1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *src = cases[i][0], *dst = *cases[i][1] ? cases[i][1] : "/t/la";
		char cmd[2048];
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && umask 0022 && d='%s%s' && case \"$d\" in */) mkdir -p \"$d\";; "
			 "*) [ -e \"$d\" ] || mkdir -p \"$(dirname \"$d\")\";; esac && umask 0002 && "
			 "cp -fLr '%s' \"$d\"",
			 host, ref, dst, src);
		ck_assert_msg(system(cmd) == 0, "%s", cmd);
		OK(host_copy(src, cases[i][1], 3, &e_));
	}
	same_tree(ref, rootfs);
}
END_TEST

static void make_stage(void)
{
	mkd(P(stage, "opt"));
	mkd(P(stage, "opt/app"));
	mkd(P(stage, "opt/app/bin"));
	mkd(P(stage, "opt/share"));
	mkd(P(stage, "etc"));
	put(P(stage, "opt/app/bin/tool"), "T", 0750);
	put(P(stage, "opt/share/data"), "D", 0640);
	lnk("../share", P(stage, "opt/app/lib"));
	lnk("/opt/share/data", P(stage, "opt/app/abs"));
	lnk("/opt/app", P(stage, "opt/current"));
	put(P(stage, "etc/conf"), "inside", 0644);
	lnk("/etc/conf", P(stage, "opt/cfg"));
	ck_assert_int_eq(link(P(stage, "opt/app/bin/tool"), P(stage, "opt/app/bin/tool2")), 0);
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, P(stage, "opt/app/bin/tool"), ts, 0), 0);
}

START_TEST(stage_copies)
{
	make_stage();
	/* a first-level absolute symlink resolves inside the stage; the name is kept */
	OK(stage_copy("/opt/current", "/opt/", &e_));
	ck_assert(S_ISDIR(lmode(P(rootfs, "opt/current"))));
	ck_assert_str_eq(get(P(rootfs, "opt/current/bin/tool")), "T");
	ck_assert_uint_eq(lmode(P(rootfs, "opt/current/bin/tool")) & 07777, 0750);
	struct stat st, st2;
	ck_assert_int_eq(lstat(P(rootfs, "opt/current/bin/tool"), &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000000000);
	ck_assert_int_eq(lstat(P(rootfs, "opt/current/bin/tool2"), &st2), 0);
	ck_assert_int_eq(st.st_ino, st2.st_ino);
	/* nested symlinks are kept as they are */
	char t[PATH_MAX];
	ssize_t n = readlink(P(rootfs, "opt/current/lib"), t, sizeof(t) - 1);
	ck_assert_int_gt(n, 0);
	t[n] = '\0';
	ck_assert_str_eq(t, "../share");
	n = readlink(P(rootfs, "opt/current/abs"), t, sizeof(t) - 1);
	ck_assert_int_gt(n, 0);
	t[n] = '\0';
	ck_assert_str_eq(t, "/opt/share/data");
	/* an absolute symlink as the source: its target inside the stage */
	OK(stage_copy("/opt/cfg", "/etc/cfg", &e_));
	ck_assert_str_eq(get(P(rootfs, "etc/cfg")), "inside");
	/* symlinks met while globbing and resolving stay inside the stage too */
	mkd(P(stage, "usr"));
	mkd(P(stage, "usr/lib"));
	put(P(stage, "usr/lib/a.so"), "so", 0755);
	lnk("/usr/lib", P(stage, "lib"));
	lnk("../../../../../../../etc", P(stage, "opt/evil"));
	OK(stage_copy("/lib/*.so", "", &e_));
	ck_assert_str_eq(get(P(rootfs, "lib/a.so")), "so");
	OK(stage_copy("/opt/evil/co*", "/evil", &e_));
	ck_assert_str_eq(get(P(rootfs, "evil")), "inside");
	/* ".." stays inside the stage */
	OK(stage_copy("../../../../../etc/conf", "/fromstage", &e_));
	ck_assert_str_eq(get(P(rootfs, "fromstage")), "inside");
	/* globbing inside the stage; no destination = same path */
	OK(stage_copy("/opt/*/bin/t*", "", &e_));
	ck_assert_str_eq(get(P(rootfs, "opt/app/bin/tool")), "T");
	ck_assert_str_eq(get(P(rootfs, "opt/app/bin/tool2")), "T");
	sb_error_t err = NULL;
	ck_assert_int_eq(stage_copy("/nothing*", "/x", &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "test.def:9: %files: /nothing*: "));
	sb_error_free(&err);
	/* the destination itself resolves (a symlink to a directory: inside it) */
	lnk("/opt", P(rootfs, "tolink"));
	OK(stage_copy("/opt/share/data", "/tolink", &e_));
	ck_assert(S_ISLNK(lmode(P(rootfs, "tolink"))));
	ck_assert_str_eq(get(P(rootfs, "opt/data")), "D");
	/* below it, an existing symlink in the way is replaced, not followed */
	mkd(P(rootfs, "t"));
	mkd(P(rootfs, "t/app"));
	lnk("/elsewhere", P(rootfs, "t/app/bin"));
	OK(stage_copy("/opt/app", "/t", &e_));
	ck_assert(S_ISDIR(lmode(P(rootfs, "t/app/bin"))));
	ck_assert_str_eq(get(P(rootfs, "t/app/bin/tool")), "T");
	ck_assert(S_ISDIR(lmode(P(rootfs, "elsewhere"))) == 0);
}
END_TEST

START_TEST(escapes_stay_inside)
{
	/* absolute and relative rootfs symlinks pointing outside */
	lnk(sentinel, P(rootfs, "etc"));
	lnk("../sentinel", P(rootfs, "rel"));
	OK(host_copy("a.txt", "/etc/x", 3, &e_));
	ck_assert_str_eq(get(S_IN_ROOT("x")), "A");
	OK(host_copy("a.txt", "/rel/y", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "sentinel/y")), "A");
	OK(host_copy("b.txt", "../../../../sentinel/z", 3, &e_));
	ck_assert_str_eq(get(P(rootfs, "sentinel/z")), "B");
	OK(host_copy("b.txt", "/etc/", 3, &e_));
	/* nested: merging a directory through a symlinked subdirectory and a
	 * dangling symlink to outside at a file's place */
	mkd(P(host, "d"));
	mkd(P(host, "d/sub"));
	put(P(host, "d/sub/y"), "Y", 0644);
	put(P(host, "d/f"), "F", 0644);
	mkd(P(rootfs, "opt/d"));
	lnk(sentinel, P(rootfs, "opt/d/sub"));
	char out[256];
	snprintf(out, sizeof(out), "%s/f", sentinel);
	lnk(out, P(rootfs, "opt/d/f"));
	OK(host_copy("d", "/opt", 3, &e_));
	ck_assert_str_eq(get(S_IN_ROOT("y")), "Y");
	ck_assert(S_ISREG(lmode(P(rootfs, "opt/d/f"))));
	/* stage copies through the same traps */
	make_stage();
	OK(stage_copy("/opt/share/data", "/etc/data", &e_));
	OK(stage_copy("/opt/app", "/rel/", &e_));
	ck_assert_str_eq(get(P(rootfs, "sentinel/app/bin/tool")), "T");
	/* %appfiles with ".." */
	mkd(P(rootfs, "scif"));
	lnk(sentinel, P(rootfs, "scif/apps"));
	OK(files_copy_app(&ctx, rootfs, "foo", "a.txt ../../../../../../q\n", 1, &e_));
	ck_assert_str_eq(get(P(rootfs, "q")), "A");
	OK(files_copy_app(&ctx, rootfs, "foo", "b.txt ../zz\n", 1, &e_));
	ck_assert_str_eq(get(S_IN_ROOT("zz")), "B");
	ck_assert_int_eq(count_entries(sentinel), 0);
}
END_TEST

START_TEST(appfiles)
{
	sb_error_t err = NULL;
	mkd(P(rootfs, "scif"));
	mkd(P(rootfs, "scif/apps"));
	mkd(P(rootfs, "scif/apps/foo"));
	mkd(P(host, "d"));
	put(P(host, "d/x"), "X", 0644);
	const char *body = "# a comment\n\na.txt\n  b.txt renamed.txt   # trailing comment\n"
			   "d\n*.txt\n";
	ck_assert_int_eq(files_copy_app(&ctx, rootfs, "foo", body, 20, &err), -1);
	/* no globbing: the last line names a missing "*.txt" at line 25 */
	ck_assert_msg(strncmp(sb_error_message(err), "test.def:25: %appfiles foo: *.txt: ", 35) == 0,
		      "%s", sb_error_message(err));
	sb_error_free(&err);
	ck_assert_str_eq(get(P(rootfs, "scif/apps/foo/a.txt")), "A");
	ck_assert_str_eq(get(P(rootfs, "scif/apps/foo/renamed.txt")), "B");
	ck_assert_str_eq(get(P(rootfs, "scif/apps/foo/d/x")), "X");
	ck_assert_int_eq(count_entries(P(rootfs, "scif/apps/foo")), 3);
	/* a destination whose parent is missing fails like cp (no parents made) */
	ck_assert_int_eq(files_copy_app(&ctx, rootfs, "foo", "a.txt no/such/dir", 30, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "test.def:30: %appfiles foo: a.txt: "));
	sb_error_free(&err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("files");
	TCase *tc = tcase_create("copy");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, single_file_modes_and_targets);
	tcase_add_test(tc, directories);
	tcase_add_test(tc, missing_source_and_empty_source);
	tcase_add_test(tc, globs_dotfiles_globstar_extglob);
	tcase_add_test(tc, host_symlinks_dereferenced);
	tcase_add_test(tc, same_as_cp);
	tcase_add_test(tc, stage_copies);
	tcase_add_test(tc, escapes_stay_inside);
	tcase_add_test(tc, appfiles);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
