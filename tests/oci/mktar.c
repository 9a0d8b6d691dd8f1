/* tests/oci/mktar.c: writes tar layers from a spec, including entries no
 * archiver would make (".." names, device nodes as a user, headers that
 * claim more data than follows), for the OCI fixtures and the malicious-layer
 * corpus. No libarchive: every byte is chosen here.
 *
 *   mktar [-F ustar|pax|gnu] < SPEC > LAYER.tar
 *
 * SPEC: one entry per line, fields separated by TABs; "\n" in content means
 * a newline; blank lines and lines starting with '#' are ignored.
 *   f NAME MODE UID GID CONTENT      regular file
 *   F NAME MODE UID GID HOSTFILE     regular file with a host file's bytes
 *   d NAME MODE UID GID              directory
 *   l NAME TARGET                    symbolic link
 *   h NAME TARGET                    hard link
 *   c|b NAME MODE MAJOR MINOR        character / block device
 *   p NAME MODE                      fifo
 *   x KEY VALUE                      xattr (PAX SCHILY.xattr) of the next entry
 *   T NAME CLAIMED-SIZE CONTENT      header claims CLAIMED-SIZE bytes; only
 *                                    CONTENT follows, then the stream ends
 * Modes are octal. Every entry has mtime 1700000000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *format = "pax";
static char xattrs[65536];
static size_t xattrs_len;

static void put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n)
		exit(1);
}

static void pad(size_t n)
{
	static const char zero[512];
	if (n % 512)
		put(zero, 512 - n % 512);
}

static void octal(char *field, size_t width, unsigned long long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, v);
	memcpy(field, tmp + strlen(tmp) - (width - 1), width - 1);
}

static void header(const char *name, const char *link, char type, unsigned mode, unsigned uid,
		   unsigned gid, unsigned long long size, unsigned maj, unsigned min)
{
	char h[512];
	memset(h, 0, sizeof(h));
	size_t nl = strlen(name);
	if (nl <= 100) {
		memcpy(h, name, nl);
	} else { /* ustar prefix split; long names got an extension record before */
		const char *sl = strchr(name + nl - 100 > name ? name + nl - 101 : name, '/');
		if (sl && (size_t)(sl - name) <= 155 && strlen(sl + 1) <= 100) {
			memcpy(h + 345, name, (size_t)(sl - name));
			memcpy(h, sl + 1, strlen(sl + 1));
		} else {
			memcpy(h, name, 100);
		}
	}
	octal(h + 100, 8, mode);
	octal(h + 108, 8, uid);
	octal(h + 116, 8, gid);
	if (size > 077777777777ULL) { /* base-256, as GNU tar does for big sizes */
		h[124] = (char)0x80;
		for (int i = 11; i > 0; i--, size >>= 8)
			h[124 + i] = (char)(size & 0xff);
	} else {
		octal(h + 124, 12, size);
	}
	octal(h + 136, 12, 1700000000ULL);
	h[156] = type;
	if (link)
		strncpy(h + 157, link, 100);
	if (strcmp(format, "gnu") == 0)
		memcpy(h + 257, "ustar  ", 8);
	else
		memcpy(h + 257, "ustar\00000", 8);
	octal(h + 329, 8, maj);
	octal(h + 337, 8, min);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	put(h, 512);
}

static void pax_record(char *buf, size_t *len, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, n = body + 1;
	while (snprintf(NULL, 0, "%zu", n) + body != n)
		n++;
	*len += (size_t)sprintf(buf + *len, "%zu %s=%s\n", n, key, val);
}

/* Extension records for names and links too long for ustar, and xattrs. */
static void extensions(const char *name, const char *link)
{
	if (strcmp(format, "gnu") == 0) {
		const char *v[2] = { name, link };
		for (int i = 0; i < 2; i++) {
			if (v[i] == NULL || strlen(v[i]) < 100)
				continue;
			header("././@LongLink", NULL, i ? 'K' : 'L', 0, 0, 0, strlen(v[i]) + 1, 0, 0);
			put(v[i], strlen(v[i]) + 1);
			pad(strlen(v[i]) + 1);
		}
		return;
	}
	char buf[70000];
	size_t len = 0;
	if (strlen(name) > 100 && strcmp(format, "pax") == 0)
		pax_record(buf, &len, "path", name);
	if (link && strlen(link) >= 100)
		pax_record(buf, &len, "linkpath", link);
	memcpy(buf + len, xattrs, xattrs_len);
	len += xattrs_len;
	xattrs_len = 0;
	if (len == 0)
		return;
	header("./PaxHeaders/x", NULL, 'x', 0644, 0, 0, len, 0, 0);
	put(buf, len);
	pad(len);
}

static char *unescape(char *s)
{
	char *o = s, *r = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return r;
}

static void entry(char **f, int n)
{
	char t = f[0][0];
	unsigned long mode = n > 2 ? strtoul(f[2], NULL, 8) : 0;
	if (t == 'x') {
		char key[4096];
		snprintf(key, sizeof(key), "SCHILY.xattr.%s", f[1]);
		pax_record(xattrs, &xattrs_len, key, n > 2 ? f[2] : "");
		return;
	}
	const char *link = (t == 'l' || t == 'h') ? f[2] : NULL;
	extensions(f[1], link);
	if (t == 'f' || t == 'F') {
		size_t len = 0;
		char *data = NULL;
		if (t == 'f') {
			data = unescape(n > 5 ? f[5] : (char *)"");
			len = strlen(data);
		} else {
			FILE *in = fopen(f[5], "rb");
			if (in == NULL) {
				perror(f[5]);
				exit(1);
			}
			data = malloc(64u << 20);
			len = fread(data, 1, 64u << 20, in);
			fclose(in);
		}
		header(f[1], NULL, '0', (unsigned)mode, (unsigned)atoi(f[3]), (unsigned)atoi(f[4]),
		       len, 0, 0);
		put(data, len);
		pad(len);
		if (t == 'F')
			free(data);
	} else if (t == 'd') {
		header(f[1], NULL, '5', (unsigned)mode, (unsigned)atoi(f[3]), (unsigned)atoi(f[4]), 0,
		       0, 0);
	} else if (t == 'l' || t == 'h') {
		header(f[1], link, t == 'l' ? '2' : '1', 0777, 0, 0, 0, 0, 0);
	} else if (t == 'c' || t == 'b') {
		header(f[1], NULL, t == 'c' ? '3' : '4', (unsigned)mode, 0, 0, 0,
		       (unsigned)atoi(f[3]), (unsigned)atoi(f[4]));
	} else if (t == 'p') {
		header(f[1], NULL, '6', (unsigned)mode, 0, 0, 0, 0, 0);
	} else if (t == 'T') {
		char *data = unescape(n > 3 ? f[3] : (char *)"");
		header(f[1], NULL, '0', 0644, 0, 0, strtoull(f[2], NULL, 10), 0, 0);
		put(data, strlen(data));
		fflush(stdout);
		exit(0); /* the stream ends here */
	} else {
		fprintf(stderr, "mktar: unknown entry type %c\n", t);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-F") == 0)
		format = argv[2];
	char line[1 << 16];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		char *f[8];
		int n = 0;
		for (char *p = line; n < 8;) {
			f[n++] = p;
			char *tab = strchr(p, '\t');
			if (tab == NULL)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		entry(f, n);
	}
	static const char zero[1024];
	put(zero, sizeof(zero));
	return fflush(stdout) == 0 ? 0 : 1;
}
