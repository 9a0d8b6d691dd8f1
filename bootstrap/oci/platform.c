/* bootstrap/oci/platform.c: platform names, the host's, and matching, plus
 * small helpers shared by the folder (paths, JSON, descriptors, warnings). */
#include "bootstrap/oci/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/strbuf.h"

/* Spellings (uname -m, Debian, Go, Apptainer's --arch keys) -> Go arch/variant. */
static const struct {
	const char *name, *arch, *variant;
} arch_names[] = {
	{ "x86_64", "amd64", "" },   { "amd64", "amd64", "" },     { "aarch64", "arm64", "v8" },
	{ "arm64", "arm64", "v8" },  { "arm64v8", "arm64", "v8" }, { "armv7l", "arm", "v7" },
	{ "armhf", "arm", "v7" },    { "arm", "arm", "v7" },       { "arm32v7", "arm", "v7" },
	{ "armv6l", "arm", "v6" },   { "armel", "arm", "v6" },     { "arm32v6", "arm", "v6" },
	{ "arm32v5", "arm", "v5" },  { "i386", "386", "" },        { "i486", "386", "" },
	{ "i586", "386", "" },       { "i686", "386", "" },        { "386", "386", "" },
	{ "ppc64le", "ppc64le", "" }, { "ppc64el", "ppc64le", "" }, { "s390x", "s390x", "" },
	{ "riscv64", "riscv64", "" }, { "mips64le", "mips64le", "" }, { "mips64el", "mips64le", "" },
	{ "loong64", "loong64", "" }, { "loongarch64", "loong64", "" },
};

static bool set_arch(struct oci_platform *p, const char *name)
{
	for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++) {
		if (strcmp(arch_names[i].name, name) == 0) {
			snprintf(p->arch, sizeof(p->arch), "%s", arch_names[i].arch);
			snprintf(p->variant, sizeof(p->variant), "%s", arch_names[i].variant);
			return true;
		}
	}
	return false;
}

void oci_platform_host(struct oci_platform *p)
{
	struct utsname u;
	memset(p, 0, sizeof(*p));
	snprintf(p->os, sizeof(p->os), "linux");
	if (uname(&u) < 0 || !set_arch(p, u.machine))
		snprintf(p->arch, sizeof(p->arch), "%.31s", uname(&u) == 0 ? u.machine : "unknown");
}

int oci_platform_parse(const char *arch, const char *variant, struct oci_platform *p,
		       sb_error_t *err)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->os, sizeof(p->os), "linux");
	char buf[96];
	snprintf(buf, sizeof(buf), "%s", arch ? arch : "");
	char *a = buf, *v = NULL, *slash = strchr(buf, '/');
	if (slash) { /* arch/variant, os/arch or os/arch/variant */
		*slash = '\0';
		struct oci_platform probe;
		if (set_arch(&probe, buf) && strchr(slash + 1, '/') == NULL) {
			v = slash + 1;
		} else {
			snprintf(p->os, sizeof(p->os), "%.31s", buf);
			a = slash + 1;
			if ((slash = strchr(a, '/')) != NULL) {
				*slash = '\0';
				v = slash + 1;
			}
		}
	}
	if (!set_arch(p, a))
		return sb_error_set_status(err, 2, 0,
					   "unknown architecture \"%s\" (try amd64, arm64, arm/v7, "
					   "386, ppc64le, s390x, riscv64)", arch ? arch : "");
	if (variant && *variant)
		v = (char *)variant;
	if (v)
		snprintf(p->variant, sizeof(p->variant), "%s", v);
	return 0;
}

/* The variant an entry means when it names none. */
static const char *default_variant(const char *arch)
{
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	return "";
}

bool oci_platform_match(const struct oci_platform *want, const char *os, const char *arch,
			const char *variant)
{
	if (os == NULL || arch == NULL || strcmp(os, want->os) != 0)
		return false;
	struct oci_platform e;
	memset(&e, 0, sizeof(e));
	if (!set_arch(&e, arch))
		return false;
	if (strcmp(e.arch, want->arch) != 0)
		return false;
	const char *ev = variant && *variant ? variant : default_variant(e.arch);
	const char *wv = want->variant[0] ? want->variant : default_variant(want->arch);
	if (*wv == '\0' && strcmp(e.arch, "arm") != 0 && strcmp(e.arch, "arm64") != 0)
		return true; /* amd64 microarchitecture levels and the like */
	return strcmp(ev, wv) == 0;
}

/* ------------------------------------------------------------------ helpers */

char *oci_path_clean_ex(const char *path, bool *escaped)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "");
	if (escaped)
		*escaped = false;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *sl = strrchr(sb.buf, '/');
			if (sb.len == 0 && escaped)
				*escaped = true;
			sb.len = sl ? (size_t)(sl - sb.buf) : 0;
			sb.buf[sb.len] = '\0';
		} else if (!(n == 1 && p[0] == '.')) {
			if (sb.len > 0)
				sb_strbuf_addc(&sb, '/');
			sb_strbuf_add(&sb, p, n);
		}
		p += n;
	}
	return sb_strbuf_detach(&sb, NULL);
}

json_t *oci_json_get(json_t *o, const char *key)
{
	if (!json_is_object(o))
		return NULL;
	json_t *v = json_object_get(o, key);
	if (v)
		return v;
	const char *k;
	json_object_foreach(o, k, v) {
		if (strcasecmp(k, key) == 0)
			return v;
	}
	return NULL;
}

const char *oci_json_str(json_t *o, const char *key)
{
	json_t *v = oci_json_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? sb_strdup(s) : NULL;
}

int oci_descriptor_parse(json_t *o, struct oci_descriptor *d, sb_error_t *err)
{
	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return sb_error_set_status(err, 2, 0, "a descriptor is not a JSON object");
	const char *dg = oci_json_str(o, "digest");
	if (oci_digest_check(dg, err) < 0)
		return -1;
	d->digest = sb_strdup(dg);
	d->media_type = dup_or_null(oci_json_str(o, "mediaType"));
	json_t *sz = oci_json_get(o, "size");
	d->size = json_is_integer(sz) ? json_integer_value(sz) : -1;
	json_t *pl = oci_json_get(o, "platform");
	d->os = dup_or_null(oci_json_str(pl, "os"));
	d->arch = dup_or_null(oci_json_str(pl, "architecture"));
	d->variant = dup_or_null(oci_json_str(pl, "variant"));
	json_t *an = oci_json_get(o, "annotations");
	d->ref_name = dup_or_null(oci_json_str(an, "org.opencontainers.image.ref.name"));
	d->image_name = dup_or_null(oci_json_str(an, "io.containerd.image.name"));
	d->foreign = json_array_size(oci_json_get(o, "urls")) > 0;
	const char *rt = oci_json_str(an, "vnd.docker.reference.type");
	d->attestation = (rt && strcmp(rt, "attestation-manifest") == 0) ||
			 (d->os && d->arch && strcmp(d->os, "unknown") == 0 &&
			  strcmp(d->arch, "unknown") == 0);
	return 0;
}

void oci_descriptor_copy(struct oci_descriptor *dst, const struct oci_descriptor *src)
{
	dst->media_type = dup_or_null(src->media_type);
	dst->digest = dup_or_null(src->digest);
	dst->size = src->size;
	dst->os = dup_or_null(src->os);
	dst->arch = dup_or_null(src->arch);
	dst->variant = dup_or_null(src->variant);
	dst->ref_name = dup_or_null(src->ref_name);
	dst->image_name = dup_or_null(src->image_name);
	dst->attestation = src->attestation;
	dst->foreign = src->foreign;
}

void oci_warnf(oci_warn_fn warn, void *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vwarnf(warn, ctx, fmt, ap);
	va_end(ap);
}
