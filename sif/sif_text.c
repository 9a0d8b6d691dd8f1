/* sif/sif_text.c: names of the format's codes and the text that `siftool
 * header|list|info` print (sif-format.md section 8; v2.24 names where Debian's
 * 2.8.3 prints "Unknown"). */
#include "sif/sif_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"

#define NAME_AT(table, i)                                                                          \
	((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) ? table[i] : NULL)

const char *sif_data_type_name(int32_t t)
{
	static const char *const names[] = {
		"Def.FILE",  "Env.Vars",      "JSON.Labels", "FS",
		"Signature", "JSON.Generic",  "Generic/Raw", "Cryptographic Message",
		"SBOM",	     "OCI.RootIndex", "OCI.Blob",
	};
	const char *n = NAME_AT(names, (int64_t)t - SIF_DATA_DEFFILE);
	return n ? n : "Unknown";
}

const char *sif_fs_type_name(int32_t t)
{
	static const char *const names[] = {
		"Squashfs", "Ext3", "Archive", "Raw", "Encrypted squashfs", "Gocryptfs squashfs"
	};
	const char *n = NAME_AT(names, (int64_t)t - 1);
	return n ? n : "Unknown";
}

const char *sif_part_type_name(int32_t t)
{
	static const char *const names[] = { "System", "*System", "Data", "Overlay" };
	const char *n = NAME_AT(names, (int64_t)t - 1);
	return n ? n : "Unknown";
}

const char *sif_hash_type_name(int32_t t)
{
	static const char *const names[] = { "SHA-256", "SHA-384", "SHA-512", "BLAKE2s-256",
					     "BLAKE2b-256" };
	return NAME_AT(names, (int64_t)t - 1);
}

const char *sif_crypto_format_name(int32_t t)
{
	return t == SIF_CRYPTO_OPENPGP ? "OpenPGP" : t == SIF_CRYPTO_PEM ? "PEM" : "Unknown";
}

const char *sif_crypto_message_name(int32_t t)
{
	return t == SIF_MESSAGE_CLEAR_SIGNATURE ? "Clear Signature"
	       : t == SIF_MESSAGE_RSA_OAEP	? "RSA-OAEP"
						: "Unknown";
}

const char *sif_sbom_format_name(int32_t t)
{
	static const char *const names[] = { "cyclonedx-json", "cyclonedx-xml", "github-json",
					     "spdx-json",      "spdx-rdf",	"spdx-tag-value",
					     "spdx-yaml",      "syft-json" };
	const char *n = NAME_AT(names, (int64_t)t - 1);
	return n ? n : "unknown";
}

static const char *const arch_names[] = { "unknown",  "386",	 "amd64",   "arm",    "arm64",
					  "ppc64",    "ppc64le", "mips",    "mipsle", "mips64",
					  "mips64le", "s390x",	 "riscv64", "loong64" };

const char *sif_arch_name(int arch)
{
	const char *n = NAME_AT(arch_names, arch);
	return n ? n : "unknown";
}

int sif_arch_from_name(const char *name)
{
	for (int i = 1; i <= SIF_ARCH_MAX; i++)
		if (strcmp(name, arch_names[i]) == 0)
			return i;
	char *end;
	long v = strtol(name, &end, 10);
	if (*name && *end == '\0' && v >= 1 && v <= SIF_ARCH_MAX)
		return (int)v;
	return 0;
}

void sif_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sif_uuid_parse(const char *s, uint8_t out[16])
{
	if (strlen(s) != 36)
		return -1;
	int k = 0;
	for (int i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -1;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* Go's time.Time.UTC().String() for whole seconds. */
static void format_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(out, n, "%lld (Unix seconds)", (long long)t);
		return;
	}
	snprintf(out, n, "%04d-%02d-%02d %02d:%02d:%02d +0000 UTC", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* siftool's readableSize: B below 1024, else the largest unit, rounded half
 * away from zero. */
static void format_size(int64_t size, char *out, size_t n)
{
	if (-1024 < size && size < 1024) {
		snprintf(out, n, "%lld B", (long long)size);
		return;
	}
	static const char units[] = "KMGTPE";
	uint64_t div = 1024;
	int exp = 0;
	for (int64_t q = size / 1024; q <= -1024 || q >= 1024; q /= 1024) {
		div *= 1024;
		exp++;
	}
	uint64_t mag = size < 0 ? -(uint64_t)size : (uint64_t)size;
	uint64_t r = mag / div + (mag % div >= div / 2 ? 1 : 0);
	snprintf(out, n, "%s%llu %ciB", size < 0 ? "-" : "", (unsigned long long)r, units[exp]);
}

/* Lines of "label\tvalue" laid out as Go's tabwriter does: values start at
 * the longest label plus `pad` columns, after `indent`. */
struct table {
	struct sb_strbuf labels, values; /* NUL-separated */
	size_t n, width;
};

static void table_add(struct table *t, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void table_add(struct table *t, const char *label, const char *fmt, ...)
{
	char v[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	sb_strbuf_add(&t->labels, label, strlen(label) + 1);
	sb_strbuf_add(&t->values, v, strlen(v) + 1);
	if (strlen(label) > t->width)
		t->width = strlen(label);
	t->n++;
}

static void table_flush(struct table *t, struct sb_strbuf *out, const char *indent, size_t pad)
{
	const char *l = t->labels.buf, *v = t->values.buf;
	for (size_t i = 0; i < t->n; i++) {
		sb_strbuf_addf(out, "%s%-*s%s\n", indent, (int)(t->width + pad), l, v);
		l += strlen(l) + 1;
		v += strlen(v) + 1;
	}
	sb_strbuf_release(&t->labels);
	sb_strbuf_release(&t->values);
}

void sif_format_header(const struct sif_image *img, struct sb_strbuf *out)
{
	const struct sif_header *h = &img->h;
	struct table t = { SB_STRBUF_INIT, SB_STRBUF_INIT, 0, 0 };
	char buf[64];
	static const uint8_t nil[16];

	char ls[33];
	size_t n = strlen(h->launch_script);
	memcpy(ls, h->launch_script, n + 1);
	if (n > 0 && ls[n - 1] == '\n')
		ls[--n] = '\0';
	if (h->launch_script[0])
		table_add(&t, "Launch Script:", "%s", ls);
	table_add(&t, "Version:", "%s", h->version);
	if (sif_header_arch(img) != 0)
		table_add(&t, "Primary Architecture:", "%s", sif_arch_name(sif_header_arch(img)));
	if (memcmp(h->uuid, nil, 16) != 0) {
		sif_uuid_format(h->uuid, buf);
		table_add(&t, "ID:", "%s", buf);
	}
	if (h->created_at != SIF_TIME_DETERMINISTIC) {
		format_time(h->created_at, buf, sizeof(buf));
		table_add(&t, "Created At:", "%s", buf);
	}
	if (h->modified_at != SIF_TIME_DETERMINISTIC) {
		format_time(h->modified_at, buf, sizeof(buf));
		table_add(&t, "Modified At:", "%s", buf);
	}
	table_add(&t, "Descriptors Free:", "%lld", (long long)h->descriptors_free);
	table_add(&t, "Descriptors Total:", "%lld", (long long)h->descriptors_total);
	table_add(&t, "Descriptors Offset:", "%lld", (long long)h->descriptors_offset);
	format_size(h->descriptors_size, buf, sizeof(buf));
	table_add(&t, "Descriptors Size:", "%s", buf);
	table_add(&t, "Data Offset:", "%lld", (long long)h->data_offset);
	format_size(h->data_size, buf, sizeof(buf));
	table_add(&t, "Data Size:", "%s", buf);
	table_flush(&t, out, "", 1);
}

/* The TYPE column of `list`; false when the metadata cannot be decoded (the
 * reference then prints nothing for the column). */
static bool type_column(const struct sif_descriptor *d, char *out, size_t n)
{
	const char *dt = sif_data_type_name(d->data_type);
	struct sif_partition_info p;
	int32_t a, b;
	uint8_t fp[20];
	bool has;
	switch (d->data_type) {
	case SIF_DATA_PARTITION:
		sif_descriptor_partition(d, &p, NULL);
		snprintf(out, n, "%s (%s/%s/%s)", dt, sif_fs_type_name(p.fs_type),
			 sif_part_type_name(p.part_type), sif_arch_name(p.arch));
		return true;
	case SIF_DATA_SIGNATURE:
		if (sif_descriptor_signature(d, &a, fp, &has, NULL) < 0)
			return false;
		snprintf(out, n, "%s (%s)", dt, sif_hash_type_name(a));
		return true;
	case SIF_DATA_CRYPTO_MESSAGE:
		sif_descriptor_crypto_message(d, &a, &b, NULL);
		snprintf(out, n, "%s (%s/%s)", dt, sif_crypto_format_name(a),
			 sif_crypto_message_name(b));
		return true;
	case SIF_DATA_SBOM:
		sif_descriptor_sbom(d, &a, NULL);
		snprintf(out, n, "%s (%s)", dt, sif_sbom_format_name(a));
		return true;
	default:
		snprintf(out, n, "%s", dt);
		return true;
	}
}

void sif_format_list(const struct sif_image *img, struct sb_strbuf *out)
{
	static const char rule[] =
		"------------------------------------------------------------------------------\n";
	sb_strbuf_adds(out, rule);
	sb_strbuf_addf(out, "%-4s %-8s %-8s %-26s %s\n", "ID", "|GROUP", "|LINK",
		       "|SIF POSITION (start-end)", "|TYPE");
	sb_strbuf_adds(out, rule);
	for (size_t i = 0; i < img->nslots; i++) {
		const struct sif_descriptor *d = &img->d[i];
		char pos[64], type[128];
		bool is_group;
		if (!d->used)
			continue;
		sb_strbuf_addf(out, "%-4u ", (unsigned)d->id);
		uint32_t g = sif_descriptor_group(d), l = sif_descriptor_link(d, &is_group);
		if (g == 0)
			sb_strbuf_addf(out, "|%-7s ", "NONE");
		else
			sb_strbuf_addf(out, "|%-7u ", (unsigned)g);
		if (l == 0)
			sb_strbuf_addf(out, "|%-7s ", "NONE");
		else if (is_group)
			sb_strbuf_addf(out, "|%-3u (G) ", (unsigned)l);
		else
			sb_strbuf_addf(out, "|%-7u ", (unsigned)l);
		snprintf(pos, sizeof(pos), "|%lld-%lld ", (long long)d->offset,
			 (long long)(d->offset + d->size));
		sb_strbuf_addf(out, "%-26s ", pos);
		if (type_column(d, type, sizeof(type)))
			sb_strbuf_addf(out, "|%s\n", type);
	}
}

static void info_metadata(const struct sif_descriptor *d, struct table *t)
{
	struct sif_partition_info p;
	int32_t a, b;
	uint8_t fp[20];
	bool has;
	char digest[SIF_EXTRA_SIZE + 1];

	switch (d->data_type) {
	case SIF_DATA_PARTITION:
		sif_descriptor_partition(d, &p, NULL);
		table_add(t, "Filesystem Type:", "%s", sif_fs_type_name(p.fs_type));
		table_add(t, "Partition Type:", "%s", sif_part_type_name(p.part_type));
		table_add(t, "Architecture:", "%s", sif_arch_name(p.arch));
		break;
	case SIF_DATA_SIGNATURE:
		sif_descriptor_signature(d, &a, fp, &has, NULL);
		table_add(t, "Hash Type:", "%s", sif_hash_type_name(a));
		if (has) {
			char hex[41];
			for (int i = 0; i < 20; i++)
				snprintf(hex + 2 * i, 3, "%02X", fp[i]);
			table_add(t, "Entity:", "%s", hex);
		}
		break;
	case SIF_DATA_CRYPTO_MESSAGE:
		sif_descriptor_crypto_message(d, &a, &b, NULL);
		table_add(t, "Format Type:", "%s", sif_crypto_format_name(a));
		table_add(t, "Message Type:", "%s", sif_crypto_message_name(b));
		break;
	case SIF_DATA_SBOM:
		sif_descriptor_sbom(d, &a, NULL);
		table_add(t, "Format:", "%s", sif_sbom_format_name(a));
		break;
	case SIF_DATA_OCI_ROOT_INDEX:
	case SIF_DATA_OCI_BLOB:
		sif_descriptor_oci_digest(d, digest, NULL);
		table_add(t, "Digest:", "%s", digest);
		break;
	default:
		break;
	}
}

int sif_format_info(const struct sif_descriptor *d, struct sb_strbuf *out, sb_error_t *err)
{
	char buf[64], digest[SIF_EXTRA_SIZE + 1];
	bool is_group;
	int32_t ht;
	uint8_t fp[20];

	/* fail before printing anything, as the reference does */
	if (d->data_type == SIF_DATA_SIGNATURE &&
	    sif_descriptor_signature(d, &ht, fp, &is_group, err) < 0)
		return -1;
	if ((d->data_type == SIF_DATA_OCI_ROOT_INDEX || d->data_type == SIF_DATA_OCI_BLOB) &&
	    sif_descriptor_oci_digest(d, digest, err) < 0)
		return -1;

	struct table t = { SB_STRBUF_INIT, SB_STRBUF_INIT, 0, 0 };
	table_add(&t, "Data Type:", "%s", sif_data_type_name(d->data_type));
	table_add(&t, "ID:", "%u", (unsigned)d->id);
	uint32_t g = sif_descriptor_group(d), l = sif_descriptor_link(d, &is_group);
	if (g == 0)
		table_add(&t, "Group ID:", "NONE");
	else
		table_add(&t, "Group ID:", "%u", (unsigned)g);
	if (l == 0)
		table_add(&t, "Linked ID:", "NONE");
	else
		table_add(&t, "Linked ID:", "%u%s", (unsigned)l, is_group ? " (G)" : "");
	table_add(&t, "Offset:", "%lld", (long long)d->offset);
	table_add(&t, "Size:", "%lld", (long long)d->size);
	if (d->created_at != SIF_TIME_DETERMINISTIC) {
		format_time(d->created_at, buf, sizeof(buf));
		table_add(&t, "Created At:", "%s", buf);
	}
	if (d->modified_at != SIF_TIME_DETERMINISTIC) {
		format_time(d->modified_at, buf, sizeof(buf));
		table_add(&t, "Modified At:", "%s", buf);
	}
	if (d->name[0])
		table_add(&t, "Name:", "%s", d->name);
	info_metadata(d, &t);
	table_flush(&t, out, "  ", 2);
	return 0;
}
