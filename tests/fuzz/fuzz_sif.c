/* tests/fuzz/fuzz_sif.c: libFuzzer entry point for the SIF reader.
 *
 * Any input must open or be refused cleanly: no crash, no leak, no sanitizer
 * report. An input that opens is read in every way the CLI reads it (header,
 * list, info, every object's data and metadata). It is then copied into an
 * anonymous memory file and changed (add, set-primary, delete with
 * compaction); the result must open again, so the writer never turns a valid
 * image into one the reader refuses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sif/sif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_everything(struct sif_image *img)
{
	struct sb_strbuf out = SB_STRBUF_INIT;
	sif_format_header(img, &out);
	sif_format_list(img, &out);
	for (size_t i = 0; i < sif_slot_count(img); i++) {
		const struct sif_descriptor *d = sif_slot(img, i);
		sb_error_t err = NULL;
		if (!d->used)
			continue;
		sif_format_info(d, &out, &err);
		sb_error_free(&err);
		uint8_t buf[64];
		size_t n = d->size < (int64_t)sizeof(buf) ? (size_t)d->size : sizeof(buf);
		if (sif_read_object(img, d, 0, buf, n, &err) < 0)
			abort(); /* open checked that every object is inside the file */
		if (sif_read_object(img, d, d->size - (int64_t)n, buf, n, &err) < 0)
			abort();
		if (sif_read_object(img, d, d->size, buf, 1, &err) == 0)
			abort(); /* past the end */
		sb_error_free(&err);
		const struct sif_descriptor *byid = sif_get_object(img, d->id, &err);
		if (byid != d)
			abort();
	}
	sb_error_t err = NULL;
	sif_get_primary_partition(img, &err);
	sb_error_free(&err);
	sb_strbuf_release(&out);
}

static void reopen_or_die(const char *path)
{
	sb_error_t err = NULL;
	struct sif_image *img = sif_open(path, SIF_OPEN_READ, &err);
	if (img == NULL) {
		fprintf(stderr, "fuzz_sif: changed image refused: %s\n", sb_error_message(err));
		abort();
	}
	read_everything(img);
	sif_close(img, NULL);
}

static void change(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_sif", MFD_CLOEXEC);
	if (fd < 0)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	sb_error_t err = NULL;
	struct sif_image *img = sif_open(path, SIF_OPEN_WRITE, &err);
	if (img == NULL)
		abort(); /* the same bytes opened from memory */
	struct sif_object_input in;
	sif_object_input_init(&in, SIF_DATA_GENERIC);
	if (sif_add_object(img, &in, "fuzz", 4, &err) < 0)
		sb_error_free(&err);
	uint32_t first = 0;
	for (size_t i = 0; i < sif_slot_count(img); i++) {
		const struct sif_descriptor *d = sif_slot(img, i);
		if (!d->used)
			continue;
		if (!first)
			first = d->id;
		if (d->data_type == SIF_DATA_PARTITION &&
		    sif_set_primary_partition(img, d->id, &err) < 0)
			sb_error_free(&err);
	}
	sif_close(img, NULL);
	reopen_or_die(path);
	img = sif_open(path, SIF_OPEN_WRITE, &err);
	if (img == NULL)
		abort();
	if (first && sif_delete_object(img, first, SIF_DELETE_ZERO | SIF_DELETE_COMPACT, &err) < 0)
		sb_error_free(&err);
	sif_close(img, NULL);
	reopen_or_die(path);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_error_t err = NULL;
	struct sif_image *img = sif_open_buffer(data, size, "fuzz", &err);
	if (img == NULL) {
		sb_error_free(&err);
		return 0;
	}
	read_everything(img);
	sif_close(img, NULL);
	change(data, size);
	return 0;
}
