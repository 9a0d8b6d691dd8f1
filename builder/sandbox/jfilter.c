/* builder/sandbox/jfilter.c: the journal mode's seccomp filter and the
 * decoding of its notifications (ownership-journal.md 8.2).
 *
 * Default ALLOW on every ABI the kernel runs (an unlisted ABI is allowed,
 * not killed). NOTIFY: the chown family (16- and 32-bit ID variants),
 * mknod/mknodat of character and block devices only, and the stat family:
 * the native layouts (stat, lstat, fstat, newfstatat) on the native ABI and
 * statx everywhere (its layout is the same on every ABI; i386 glibc uses it
 * for stat()). ERRNO(0): the set*id family, setgroups and capset, as in
 * seccomp mode (apt and dpkg drop privileges). */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/strbuf.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static const char *const fake_calls[] = {
	"capset",      "setuid",      "setuid32",    "setgid",	   "setgid32",
	"setreuid",    "setreuid32",  "setregid",    "setregid32", "setresuid",
	"setresuid32", "setresgid",   "setresgid32", "setfsuid",   "setfsuid32",
	"setfsgid",    "setfsgid32",  "setgroups",   "setgroups32",
};

struct jcall {
	const char *name;
	enum sb_jop op;
	bool native_only; /* layout of the native ABI's struct stat */
};

static const struct jcall jcalls[] = {
	{ "chown", SB_JOP_CHOWN, false },	  { "chown32", SB_JOP_CHOWN, false },
	{ "lchown", SB_JOP_LCHOWN, false },	  { "lchown32", SB_JOP_LCHOWN, false },
	{ "fchown", SB_JOP_FCHOWN, false },	  { "fchown32", SB_JOP_FCHOWN, false },
	{ "fchownat", SB_JOP_FCHOWNAT, false },	  { "statx", SB_JOP_STATX, false },
	{ "stat", SB_JOP_STAT, true },		  { "lstat", SB_JOP_LSTAT, true },
	{ "fstat", SB_JOP_FSTAT, true },	  { "newfstatat", SB_JOP_FSTATAT, true },
};
#define NJCALLS (sizeof(jcalls) / sizeof(jcalls[0]))

/* The ABIs besides the native one, per native architecture. */
static size_t compat_arches(uint32_t out[2])
{
	uint32_t native = seccomp_arch_native();
	if (native == SCMP_ARCH_X86_64) {
		out[0] = SCMP_ARCH_X86;
		out[1] = SCMP_ARCH_X32;
		return 2;
	}
	if (native == SCMP_ARCH_AARCH64) {
		out[0] = SCMP_ARCH_ARM;
		return 1;
	}
	return 0;
}

/* Is name the 16-bit ID variant on arch (an arch that also has name32)? */
static bool is_id16(uint32_t arch, const char *name)
{
	if (strstr(name, "chown") == NULL || strstr(name, "32") || strcmp(name, "fchownat") == 0)
		return false;
	char n32[32];
	snprintf(n32, sizeof(n32), "%s32", name);
	return seccomp_syscall_resolve_name_arch(arch, n32) >= 0;
}

struct jdec {
	uint32_t arch;
	int nr;
	enum sb_jop op;
	bool id16;
};

static struct jdec dec_tab[3 * (NJCALLS + 2)];
static size_t dec_n;

static void dec_add(uint32_t arch, const char *name, enum sb_jop op)
{
	int nr = seccomp_syscall_resolve_name_arch(arch, name);
	if (nr < 0 || dec_n == sizeof(dec_tab) / sizeof(dec_tab[0]))
		return;
	dec_tab[dec_n++] = (struct jdec){ arch, nr, op, is_id16(arch, name) };
}

/* Built once: the hot path never looks names up. */
static void dec_build(void)
{
	uint32_t arches[3];
	size_t n = compat_arches(arches + 1) + 1;
	arches[0] = seccomp_arch_native();
	for (size_t a = 0; a < n; a++) {
		for (size_t i = 0; i < NJCALLS; i++)
			if (!jcalls[i].native_only || a == 0)
				dec_add(arches[a], jcalls[i].name, jcalls[i].op);
		dec_add(arches[a], "mknod", SB_JOP_MKNOD);
		dec_add(arches[a], "mknodat", SB_JOP_MKNODAT);
	}
}

enum sb_jop sb_journal_decode(uint32_t arch, int nr, bool *id16)
{
	if (dec_n == 0)
		dec_build();
	*id16 = false;
	for (size_t i = 0; i < dec_n; i++) {
		if (dec_tab[i].arch == arch && dec_tab[i].nr == nr) {
			*id16 = dec_tab[i].id16;
			return dec_tab[i].op;
		}
	}
	return SB_JOP_NONE;
}

static bool tolerable(int rc)
{
	return rc == 0 || rc == -EDOM || rc == -EFAULT || rc == -EINVAL;
}

/* The layout-free rules; libseccomp translates each call to the number of
 * every ABI in ctx. */
static int add_rules(scmp_filter_ctx ctx)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(fake_calls) / sizeof(fake_calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(fake_calls[i]);
		if (nr != __NR_SCMP_ERROR && !tolerable(rc = seccomp_rule_add(
							ctx, SCMP_ACT_ERRNO(0), nr, 0)))
			return rc;
		rc = 0;
	}
	for (size_t i = 0; i < NJCALLS; i++) {
		int nr = seccomp_syscall_resolve_name(jcalls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		/* Another ABI's stat/lstat/fstat use other structs. */
		if (jcalls[i].native_only)
			continue;
		if (!tolerable(rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0)))
			return rc;
	}
	static const unsigned types[] = { S_IFCHR, S_IFBLK };
	for (size_t i = 0; i < 2; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(mknod), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]));
		if (!tolerable(rc))
			return rc;
		rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(mknodat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]));
		if (!tolerable(rc))
			return rc;
	}
	return 0;
}

/* The native-layout stat calls, in a context holding only the native arch. */
static int add_native_stat(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < NJCALLS; i++) {
		if (!jcalls[i].native_only)
			continue;
		int nr = seccomp_syscall_resolve_name(jcalls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
		if (!tolerable(rc))
			return rc;
	}
	return 0;
}

static int set_attrs(scmp_filter_ctx ctx)
{
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	/* CAP_SYS_ADMIN in the namespace: no need for no_new_privs. */
	return rc == 0 ? seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) : rc;
}

/* ctx gets the compat ABIs instead of the native one; false if none. */
static bool use_compat_arches(scmp_filter_ctx ctx)
{
	uint32_t extra[2];
	size_t n = compat_arches(extra);
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= seccomp_arch_add(ctx, extra[i]) == 0;
	return any && seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) == 0;
}

/* Loads ctx's program itself, to add SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
 * (5.19+; libseccomp 2.5 has no attribute for it): once the supervisor has
 * received a notification, only a fatal signal interrupts the call, so a
 * chown already journaled never fails with EINTR. Older kernels: without.
 * Returns the listener or -errno. */
static int load_killable(scmp_filter_ctx ctx)
{
	int mfd = memfd_create("sifbuild-bpf", MFD_CLOEXEC);
	if (mfd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, mfd);
	off_t size = rc == 0 ? lseek(mfd, 0, SEEK_END) : -1;
	struct sock_filter *insns = NULL;
	if (rc == 0 && (size <= 0 || size % (off_t)sizeof(*insns) != 0))
		rc = -EINVAL;
	if (rc == 0) {
		insns = sb_xmalloc((size_t)size);
		if (pread(mfd, insns, (size_t)size, 0) != size)
			rc = -EIO;
	}
	close(mfd);
	if (rc == 0) {
		struct sock_fprog prog = { (unsigned short)(size / (off_t)sizeof(*insns)), insns };
		unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
		rc = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
		if (rc < 0 && errno == EINVAL)
			rc = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
		if (rc < 0)
			rc = -errno;
	}
	free(insns);
	return rc;
}

int sb_journal_filter_load(int *listener, sb_error_t *err)
{
	/* Two contexts merged: the compat ABIs get the layout-free rules, the
	 * native ABI those plus its own stat layouts. */
	scmp_filter_ctx compat = seccomp_init(SCMP_ACT_ALLOW);
	scmp_filter_ctx nat = seccomp_init(SCMP_ACT_ALLOW);
	int rc = compat && nat ? 0 : -ENOMEM;
	if (rc == 0)
		rc = set_attrs(compat);
	if (rc == 0)
		rc = set_attrs(nat);
	bool merge = rc == 0 && use_compat_arches(compat);
	if (rc == 0 && merge)
		rc = add_rules(compat);
	if (rc == 0)
		rc = add_rules(nat);
	if (rc == 0)
		rc = add_native_stat(nat);
	if (rc == 0 && merge) {
		rc = seccomp_merge(nat, compat);
		if (rc == 0)
			compat = NULL; /* released by the merge */
	}
	int fd = rc == 0 ? load_killable(nat) : rc;
	seccomp_release(compat);
	seccomp_release(nat);
	if (fd < 0)
		return sb_error_set(err, -fd, "loading the ownership journal's seccomp filter");
	*listener = fd;
	return 0;
}
