/* builder/image/arch.c: the image architecture, from an ELF header. */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "builder/image/image.h"
#include "common/cleanup.h"
#include "common/fs.h"

#ifndef EM_LOONGARCH
#define EM_LOONGARCH 258
#endif

static const char *arch_of(unsigned machine, int is64, int is_le)
{
	switch (machine) {
	case EM_386: return "386";
	case EM_X86_64: return "amd64";
	case EM_ARM: return "arm";
	case EM_AARCH64: return "arm64";
	case EM_PPC64: return is_le ? "ppc64le" : "ppc64";
	case EM_MIPS:
		if (is64)
			return is_le ? "mips64le" : "mips64";
		return is_le ? "mipsle" : "mips";
	case EM_S390: return is64 ? "s390x" : NULL;
	case EM_RISCV: return is64 ? "riscv64" : NULL;
	case EM_LOONGARCH: return is64 ? "loong64" : NULL;
	default: return NULL;
	}
}

const char *image_elf_arch(int rootfd, const char *path)
{
	cleanup_close int fd = sb_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
	unsigned char h[20];
	if (fd < 0 || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return NULL;
	if (memcmp(h, ELFMAG, SELFMAG) != 0)
		return NULL;
	int is64 = h[EI_CLASS] == ELFCLASS64;
	int is_le = h[EI_DATA] == ELFDATA2LSB;
	unsigned machine = is_le ? (unsigned)(h[18] | (h[19] << 8)) : (unsigned)((h[18] << 8) | h[19]);
	return arch_of(machine, is64, is_le);
}

const char *image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__i386__)
	return "386";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__powerpc64__)
	return "ppc64";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__loongarch64)
	return "loong64";
#else
	return "unknown";
#endif
}
