/* builder/sandbox/seccomp.c: mode (d) root emulation. The calls a package
 * manager makes to give files away or drop privileges report success without
 * doing anything (a "lazy liar": stat still shows the real owner). */
#include "builder/sandbox/internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Resolved per architecture by libseccomp; names an architecture lacks
 * (chown32 on x86-64) are skipped. kexec_load is only there for the
 * self-test: a real call with null arguments must fail. */
static const char *const fake_calls[] = {
	"capset",    "chown",	    "chown32",	  "fchown",	"fchown32",  "fchownat",
	"lchown",    "lchown32",    "setuid",	  "setuid32",	"setgid",    "setgid32",
	"setreuid",  "setreuid32",  "setregid",	  "setregid32", "setresuid", "setresuid32",
	"setresgid", "setresgid32", "setfsuid",	  "setfsuid32", "setfsgid",  "setfsgid32",
	"setgroups", "setgroups32", "kexec_load",
};

int sb_seccomp_fake_count(void)
{
	return (int)(sizeof(fake_calls) / sizeof(fake_calls[0]));
}

/* The compat ABIs the native architecture can also run. */
static void add_compat_arches(scmp_filter_ctx ctx)
{
	static const uint32_t arches[] = {
		SCMP_ARCH_X86_64, SCMP_ARCH_X86,   SCMP_ARCH_X32,     SCMP_ARCH_AARCH64,
		SCMP_ARCH_ARM,	  SCMP_ARCH_PPC64, SCMP_ARCH_PPC64LE, SCMP_ARCH_PPC,
		SCMP_ARCH_S390X,  SCMP_ARCH_S390,
	};
	uint32_t native = seccomp_arch_native();
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		uint32_t a = arches[i];
		bool compat = false;
		if (native == SCMP_ARCH_X86_64)
			compat = a == SCMP_ARCH_X86 || a == SCMP_ARCH_X32;
		else if (native == SCMP_ARCH_AARCH64)
			compat = a == SCMP_ARCH_ARM;
		else if (native == SCMP_ARCH_PPC64 || native == SCMP_ARCH_PPC64LE)
			compat = a == SCMP_ARCH_PPC;
		else if (native == SCMP_ARCH_S390X)
			compat = a == SCMP_ARCH_S390;
		if (compat)
			seccomp_arch_add(ctx, a); /* failure: that ABI stays unfiltered */
	}
}

static int add_rules(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < sizeof(fake_calls) / sizeof(fake_calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(fake_calls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 0);
		if (rc < 0 && rc != -EDOM && rc != -EFAULT)
			return rc;
	}
	/* Device nodes only; FIFOs, sockets and files reach the kernel. */
	static const unsigned types[] = { S_IFCHR, S_IFBLK };
	for (size_t i = 0; i < 2; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(mknod), 1,
					  SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(mknodat), 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, types[i]));
		if (rc < 0 && rc != -EDOM && rc != -EFAULT)
			return rc;
	}
	return 0;
}

int sb_seccomp_install(sb_error_t *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return sb_error_set(err, ENOMEM, "seccomp_init");
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	/* We hold CAP_SYS_ADMIN in the namespace: no need for no_new_privs. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc == 0) {
		add_compat_arches(ctx);
		rc = add_rules(ctx);
	}
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return sb_error_set(err, -rc, "loading the seccomp root-emulation filter");
	if (syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL) != 0)
		return sb_error_set(err, errno,
				    "seccomp root emulation self-test failed (is this "
				    "architecture supported?)");
	return 0;
}
