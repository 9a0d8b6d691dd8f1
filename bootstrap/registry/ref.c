/* bootstrap/registry/ref.c: image references as Docker and Apptainer read them. */
#include <ctype.h>
#include <string.h>
#include <sys/utsname.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"

void sb_registry_ref_release(struct sb_registry_ref *ref)
{
	free(ref->registry);
	free(ref->api_host);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (is_alnum_lower(c))
			continue;
		if (c == '.' || c == '_') {
			bool dbl_us = c == '_' && s[i + 1] == '_';
			size_t next = i + (dbl_us ? 2 : 1);
			if (next >= n || !is_alnum_lower(s[next]))
				return false;
			i = next - 1;
			continue;
		}
		if (c != '-')
			return false;
	}
	return true;
}

static bool repository_ok(const char *repo)
{
	const char *p = repo;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!component_ok(p, n))
			return false;
		if (slash == NULL)
			return strlen(repo) <= 255;
		p = slash + 1;
	}
}

static bool tag_ok(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];
		bool ok =
			isalnum((unsigned char)c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

static bool host_ok(const char *host)
{
	if (*host == '\0')
		return false;
	for (const char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			return false;
	const char *colon = strrchr(host, ':');
	if (colon != NULL && host[0] != '[') {
		if (colon[1] == '\0')
			return false;
		for (const char *p = colon + 1; *p; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	return true;
}

static bool looks_like_host(const char *s, size_t n)
{
	if (n == 9 && strncmp(s, "localhost", 9) == 0)
		return true;
	return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL;
}

static const char *strip_scheme(const char *text, enum sb_registry_transport *tr)
{
	*tr = SB_REGISTRY_DOCKER;
	if (strncmp(text, "docker://", 9) == 0)
		text += 9;
	else if (strncmp(text, "oras://", 7) == 0) {
		*tr = SB_REGISTRY_ORAS;
		text += 7;
	}
	while (strncmp(text, "//", 2) == 0)
		text += 2;
	return text;
}

static void set_registry(struct sb_registry_ref *ref, const char *host, size_t n)
{
	char *h = sb_strndup(host, n);
	if (strcmp(h, "index.docker.io") == 0 || strcmp(h, DOCKER_HUB_API) == 0 ||
	    strcmp(h, "registry.hub.docker.com") == 0) {
		free(h);
		h = sb_strdup(DOCKER_HUB);
	}
	ref->registry = h;
	ref->api_host = sb_strdup(strcmp(h, DOCKER_HUB) == 0 ? DOCKER_HUB_API : h);
}

/* Splits "name[:tag][@digest]" (no host) into ref fields. */
static int split_name(struct sb_registry_ref *ref, const char *text, const char *ns,
		      sb_error_t *err)
{
	cleanup_free char *name = sb_strdup(text);
	char *at = strchr(name, '@');
	if (at != NULL) {
		*at = '\0';
		if (sb_reg_digest_check(at + 1, err) < 0)
			return -1;
		ref->digest = sb_strdup(at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(slash ? slash : name, ':');
	if (colon != NULL) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return sb_error_set_status(err, 2, 0, "invalid tag '%s'", colon + 1);
		ref->tag = sb_strdup(colon + 1);
	} else if (ref->digest == NULL) {
		ref->tag = sb_strdup("latest");
	}
	if (strchr(name, '/') == NULL && ns != NULL)
		ref->repository = sb_asprintf("%s/%s", ns, name);
	else
		ref->repository = sb_strdup(name);
	if (!repository_ok(ref->repository))
		return sb_error_set_status(
			err, 2, 0,
			"invalid repository name '%s' (lowercase letters, digits "
			"and . _ - separators only)",
			ref->repository);
	return 0;
}

static int ref_parse(const char *text, const char *def_registry, const char *ns,
		     struct sb_registry_ref *ref, sb_error_t *err)
{
	memset(ref, 0, sizeof(*ref));
	const char *rest = strip_scheme(text, &ref->transport);
	const char *slash = strchr(rest, '/');
	const char *at = strchr(rest, '@');
	bool has_host = slash != NULL && (at == NULL || slash < at) &&
			looks_like_host(rest, (size_t)(slash - rest));
	if (has_host) {
		set_registry(ref, rest, (size_t)(slash - rest));
		rest = slash + 1;
	} else {
		const char *reg = def_registry && *def_registry ? def_registry : DOCKER_HUB;
		set_registry(ref, reg, strlen(reg));
	}
	if (!host_ok(ref->registry)) {
		sb_error_set_status(err, 2, 0, "invalid registry host '%s'", ref->registry);
		goto fail;
	}
	bool hub = strcmp(ref->registry, DOCKER_HUB) == 0;
	const char *prefix = ns && *ns ? ns : (hub ? "library" : NULL);
	if (*rest == '\0') {
		sb_error_set_status(err, 2, 0, "missing image name");
		goto fail;
	}
	if (split_name(ref, rest, prefix, err) < 0)
		goto fail;
	return 0;
fail:
	sb_error_wrap(err, "image reference '%s'", text);
	sb_registry_ref_release(ref);
	return -1;
}

int sb_registry_ref_parse(const char *text, struct sb_registry_ref *ref, sb_error_t *err)
{
	return ref_parse(text, NULL, NULL, ref, err);
}

int sb_registry_ref_from_header(const char *from, const char *registry, const char *ns,
				struct sb_registry_ref *ref, sb_error_t *err)
{
	if (registry != NULL) {
		while (strncmp(registry, "https://", 8) == 0 ||
		       strncmp(registry, "http://", 7) == 0)
			registry = strchr(registry, '/') + 2;
	}
	cleanup_free char *reg = registry ? sb_strdup(registry) : NULL;
	if (reg != NULL && *reg && reg[strlen(reg) - 1] == '/')
		reg[strlen(reg) - 1] = '\0';
	return ref_parse(from, reg, ns, ref, err);
}

char *sb_registry_ref_string(const struct sb_registry_ref *ref)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_addf(&sb, "%s://%s/%s", ref->transport == SB_REGISTRY_ORAS ? "oras" : "docker",
		       ref->registry, ref->repository);
	if (ref->tag != NULL)
		sb_strbuf_addf(&sb, ":%s", ref->tag);
	if (ref->digest != NULL)
		sb_strbuf_addf(&sb, "@%s", ref->digest);
	return sb_strbuf_detach(&sb, NULL);
}

void sb_registry_host_platform(const char **arch, const char **variant)
{
	struct utsname u;
	*variant = "";
	*arch = "amd64";
	if (uname(&u) < 0)
		return;
	const char *m = u.machine;
	if (strcmp(m, "x86_64") == 0)
		*arch = "amd64";
	else if (strcmp(m, "aarch64") == 0 || strcmp(m, "arm64") == 0)
		*arch = "arm64", *variant = "v8";
	else if (strncmp(m, "armv7", 5) == 0 || strcmp(m, "armv8l") == 0)
		*arch = "arm", *variant = "v7";
	else if (strncmp(m, "armv6", 5) == 0)
		*arch = "arm", *variant = "v6";
	else if (m[0] == 'i' && strcmp(m + 2, "86") == 0)
		*arch = "386";
	else if (strcmp(m, "ppc64le") == 0 || strcmp(m, "s390x") == 0 || strcmp(m, "riscv64") == 0)
		*arch = m[0] == 'p' ? "ppc64le" : m[0] == 's' ? "s390x" : "riscv64";
}
