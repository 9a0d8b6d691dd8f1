/* tests/sandbox/i386calls.c: makes i386-ABI system calls (int $0x80) from an
 * x86-64 static, non-PIE program, so the journal's handling of the 32-bit
 * variants is tested without a 32-bit toolchain. Run inside a journaled
 * %post, it performs on the files given:
 *   i386calls A L B
 *     chown16(A, 0xFFFF, 40)   uid unchanged, gid 40
 *     lchown16(L, 41, 0xFFFF)  on the symlink itself, gid unchanged
 *     chown32(B, 70000, 70001)
 *     statx(B) through the i386 ABI: must report 70000:70001
 * and prints one line per call; exits 0 when every call returned 0 and the
 * statx answer is right, 1 otherwise, 77 on other architectures. Buffers
 * are static so their addresses fit in 32 bits. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifdef __x86_64__
static char path[3][4096];
static struct statx sx;

/* i386 convention: eax = number, ebx ecx edx esi edi = arguments; the
 * kernel zeroes r8-r11 on this entry from 64-bit code. */
static long sys32(long nr, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "r8", "r9", "r10", "r11", "cc");
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	for (int i = 0; i < 3; i++)
		snprintf(path[i], sizeof(path[i]), "%s", argv[i + 1]);
	long r1 = sys32(182, (long)path[0], 0xFFFF, 40, 0, 0); /* chown16 */
	long r2 = sys32(16, (long)path[1], 41, 0xFFFF, 0, 0); /* lchown16 */
	long r3 = sys32(212, (long)path[2], 70000, 70001, 0, 0); /* chown32 */
	/* statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx) */
	long r4 = sys32(383, -100, (long)path[2], 0, STATX_BASIC_STATS, (long)&sx);
	printf("chown16=%ld lchown16=%ld chown32=%ld statx=%ld uid=%u gid=%u\n", r1, r2, r3, r4,
	       sx.stx_uid, sx.stx_gid);
	return r1 == 0 && r2 == 0 && r3 == 0 && r4 == 0 && sx.stx_uid == 70000 &&
			       sx.stx_gid == 70001
		       ? 0
		       : 1;
}
#else
int main(void)
{
	puts("i386 calls: not an x86-64 machine");
	return 77;
}
#endif
