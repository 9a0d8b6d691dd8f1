/* tests/fuzz/replay_main.c: runs a libFuzzer entry point over files and
 * directories given on the command line (the corpus), without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	size_t len;
	char *buf = sb_read_file(path, &len);
	if (buf == NULL) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	/* exact size, so ASan sees reads past the end */
	char *exact = sb_xmalloc(len);
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			while (d && (e = readdir(d)) != NULL) {
				if (e->d_name[0] == '.')
					continue;
				char *p = sb_asprintf("%s/%s", argv[i], e->d_name);
				bad += run_file(p) < 0;
				n++;
				free(p);
			}
			if (d)
				closedir(d);
		} else {
			bad += run_file(argv[i]) < 0;
			n++;
		}
	}
	printf("replayed %d inputs, %d unreadable\n", n, bad);
	return bad ? 1 : 0;
}
