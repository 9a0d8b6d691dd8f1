/* tests/unit/test_registry.c: bootstrap/registry/ (references, challenges,
 * credentials, cache, platform choice, helpers). No network. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/registry/manifest.h"
#include "bootstrap/registry/registry.h"
#include "common/fs.h"
#include "common/strbuf.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ref_case {
	const char *text, *registry, *api, *repo, *tag, *digest;
	enum sb_registry_transport tr;
};

static const struct ref_case good_refs[] = {
	{"busybox", "docker.io", "registry-1.docker.io", "library/busybox", "latest", NULL, 0},
	{"docker://ubuntu:24.04", "docker.io", "registry-1.docker.io", "library/ubuntu", "24.04",
	 NULL, 0},
	{"docker:////alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", NULL,
	 0},
	{"user/img", "docker.io", "registry-1.docker.io", "user/img", "latest", NULL, 0},
	{"index.docker.io/library/alpine:3", "docker.io", "registry-1.docker.io", "library/alpine",
	 "3", NULL, 0},
	{"registry-1.docker.io/nginx", "docker.io", "registry-1.docker.io", "library/nginx",
	 "latest", NULL, 0},
	{"127.0.0.1:5000/busybox", "127.0.0.1:5000", "127.0.0.1:5000", "busybox", "latest", NULL,
	 0},
	{"localhost/foo/bar:1", "localhost", "localhost", "foo/bar", "1", NULL, 0},
	{"localhost:5000/a@" D64, "localhost:5000", "localhost:5000", "a", NULL, D64, 0},
	{"quay.io/org/sub/img:v1.2-rc_3@" D64, "quay.io", "quay.io", "org/sub/img", "v1.2-rc_3",
	 D64, 0},
	{"ghcr.io/a-b/c__d.e:x", "ghcr.io", "ghcr.io", "a-b/c__d.e", "x", NULL, 0},
	{"oras://127.0.0.1:1/test/sif:x", "127.0.0.1:1", "127.0.0.1:1", "test/sif", "x", NULL, 1},
};

START_TEST(ref_parse_table)
{
	const struct ref_case *c = &good_refs[_i];
	struct sb_registry_ref r;
	sb_error_t err = NULL;
	ck_assert_msg(sb_registry_ref_parse(c->text, &r, &err) == 0, "%s: %s", c->text,
		      sb_error_message(err));
	ck_assert_str_eq(r.registry, c->registry);
	ck_assert_str_eq(r.api_host, c->api);
	ck_assert_str_eq(r.repository, c->repo);
	if (c->tag)
		ck_assert_str_eq(r.tag, c->tag);
	else
		ck_assert_ptr_null(r.tag);
	if (c->digest)
		ck_assert_str_eq(r.digest, c->digest);
	else
		ck_assert_ptr_null(r.digest);
	ck_assert_int_eq(r.transport, c->tr);
	/* the canonical string parses back to the same reference */
	char *s = sb_registry_ref_string(&r);
	struct sb_registry_ref r2;
	ck_assert_int_eq(sb_registry_ref_parse(s, &r2, &err), 0);
	ck_assert_str_eq(r2.repository, r.repository);
	ck_assert_str_eq(r2.registry, r.registry);
	free(s);
	sb_registry_ref_release(&r2);
	sb_registry_ref_release(&r);
}
END_TEST

static const char *const bad_refs[] = {
	"Ubuntu",   "foo:bad tag", "a@sha256:xyz", "a@md5:00", "",
	"quay.io/", "foo//bar",	   "-foo",	   "foo-",     "a@sha512:00",
	"foo:.tag", "host.io:/x",  "a..b",	   "x/Y",      "docker://",
};

START_TEST(ref_parse_rejects)
{
	struct sb_registry_ref r;
	sb_error_t err = NULL;
	ck_assert_msg(sb_registry_ref_parse(bad_refs[_i], &r, &err) == -1, "accepted '%s'",
		      bad_refs[_i]);
	ck_assert_int_eq(err->status, 2);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "image reference"));
	ck_assert_ptr_null(r.repository);
	sb_error_free(&err);
}
END_TEST

START_TEST(ref_from_header)
{
	struct sb_registry_ref r;
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_registry_ref_from_header("ubuntu:22.04", "quay.io", NULL, &r, &err), 0);
	ck_assert_str_eq(r.registry, "quay.io");
	ck_assert_str_eq(r.repository, "ubuntu"); /* library/ only on Docker Hub */
	sb_registry_ref_release(&r);
	ck_assert_int_eq(sb_registry_ref_from_header("ubuntu", NULL, "myorg", &r, &err), 0);
	ck_assert_str_eq(r.registry, "docker.io");
	ck_assert_str_eq(r.repository, "myorg/ubuntu");
	sb_registry_ref_release(&r);
	ck_assert_int_eq(sb_registry_ref_from_header("ghcr.io/x/y", "quay.io", "ns", &r, &err), 0);
	ck_assert_str_eq(r.registry, "ghcr.io");
	ck_assert_str_eq(r.repository, "x/y");
	sb_registry_ref_release(&r);
	ck_assert_int_eq(sb_registry_ref_from_header("img", "https://reg.example.com:8443/", "team",
						     &r, &err),
			 0);
	ck_assert_str_eq(r.registry, "reg.example.com:8443");
	ck_assert_str_eq(r.repository, "team/img");
	sb_registry_ref_release(&r);
	ck_assert_int_eq(sb_registry_ref_from_header("img", "", "", &r, &err), 0);
	ck_assert_str_eq(r.repository, "library/img");
	sb_registry_ref_release(&r);
	ck_assert_int_eq(sb_registry_ref_from_header("img", "bad host", NULL, &r, &err), -1);
	sb_error_free(&err);
}
END_TEST

START_TEST(challenge_parse)
{
	struct sb_reg_challenge c;
	ck_assert_int_eq(
		sb_reg_challenge_parse(
			"Bearer "
			"realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
			"scope=\"repository:library/busybox:pull,push repository:x/y:pull\"",
			&c),
		0);
	ck_assert_str_eq(c.scheme, "bearer");
	ck_assert_str_eq(c.realm, "https://auth.docker.io/token");
	ck_assert_str_eq(c.service, "registry.docker.io");
	ck_assert_str_eq(c.scope, "repository:library/busybox:pull,push repository:x/y:pull");
	ck_assert_ptr_null(c.error);
	sb_reg_challenge_release(&c);
	ck_assert_int_eq(sb_reg_challenge_parse("BASIC realm=\"a \\\"q\\\" b\"", &c), 0);
	ck_assert_str_eq(c.scheme, "basic");
	ck_assert_str_eq(c.realm, "a \"q\" b");
	sb_reg_challenge_release(&c);
	ck_assert_int_eq(
		sb_reg_challenge_parse("Bearer  realm = tok , error=\"insufficient_scope\", "
				       "Realm=\"second\"",
				       &c),
		0);
	ck_assert_str_eq(c.realm, "tok");
	ck_assert_str_eq(c.error, "insufficient_scope");
	sb_reg_challenge_release(&c);
	ck_assert_int_eq(sb_reg_challenge_parse("", &c), -1);
	ck_assert_int_eq(sb_reg_challenge_parse("  =x", &c), -1);
	ck_assert_int_eq(sb_reg_challenge_parse(NULL, &c), -1);
}
END_TEST

static int lookup(const char *json, const char *reg, const char *repo, struct sb_reg_creds *c,
		  char **helper)
{
	memset(c, 0, sizeof(*c));
	*helper = NULL;
	sb_error_t err = NULL;
	int rc = sb_reg_config_lookup(json, reg, repo, c, helper, &err);
	sb_error_free(&err);
	return rc;
}

START_TEST(config_json)
{
	struct sb_reg_creds c;
	char *h;
	/* base64("alice:pa:ss") -- the password keeps its colon */
	const char *j1 =
		"{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6cGE6c3M=\"},"
		"\"http://127.0.0.1:5000/v1/\":{\"username\":\"u\",\"password\":\"p\"},"
		"\"127.0.0.1:5000/team/img\":{\"auth\":\"dGVhbTp0cA\"},"
		"\"tok.io\":{\"identitytoken\":\"refresh\"}}}";
	ck_assert_int_eq(lookup(j1, "docker.io", "library/busybox", &c, &h), 1);
	ck_assert_str_eq(c.username, "alice");
	ck_assert_str_eq(c.password, "pa:ss");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(lookup(j1, "127.0.0.1:5000", "other", &c, &h), 1);
	ck_assert_str_eq(c.username, "u");
	ck_assert_str_eq(c.password, "p");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(lookup(j1, "127.0.0.1:5000", "team/img", &c, &h), 1);
	ck_assert_str_eq(c.username, "team"); /* host/repository key first */
	ck_assert_str_eq(c.password, "tp");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(lookup(j1, "tok.io", "x", &c, &h), 1);
	ck_assert_str_eq(c.identity_token, "refresh");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(lookup(j1, "quay.io", "x", &c, &h), 0);
	const char *j2 = "{\"auths\":{\"quay.io\":{\"auth\":\"cTpx\"}},\"credsStore\":\"desktop\","
			 "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}";
	ck_assert_int_eq(lookup(j2, "gcr.io", "p/i", &c, &h), 2);
	ck_assert_str_eq(h, "gcloud");
	free(h);
	ck_assert_int_eq(lookup(j2, "quay.io", "x", &c, &h), 1); /* auths before credsStore */
	ck_assert_str_eq(c.username, "q");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(lookup(j2, "ghcr.io", "x", &c, &h), 2);
	ck_assert_str_eq(h, "desktop");
	free(h);
	ck_assert_int_eq(lookup("{not json", "a.io", "x", &c, &h), -1);
	ck_assert_int_eq(lookup("{\"auths\":{\"a.io\":{\"auth\":\"!!\"}}}", "a.io", "x", &c, &h),
			 -1);
	char *k = sb_reg_config_key("docker.io");
	ck_assert_str_eq(k, "https://index.docker.io/v1/");
	free(k);
	k = sb_reg_config_key("127.0.0.1:5000");
	ck_assert_str_eq(k, "127.0.0.1:5000");
	free(k);
}
END_TEST

START_TEST(creds_env_and_explicit)
{
	struct sb_registry_ref r;
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_registry_ref_parse("a.io/x", &r, &err), 0);
	struct sb_registry_options o;
	sb_registry_options_init(&o);
	struct sb_reg_creds c;
	setenv("HOME", "/nonexistent-home", 1);
	unsetenv("DOCKER_CONFIG");
	unsetenv("APPTAINER_DOCKER_USERNAME");
	setenv("SINGULARITY_DOCKER_USERNAME", "su", 1);
	setenv("SINGULARITY_DOCKER_PASSWORD", "sp", 1);
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1);
	ck_assert_str_eq(c.username, "su");
	sb_reg_creds_release(&c);
	setenv("APPTAINER_DOCKER_USERNAME", "au", 1);
	setenv("APPTAINER_DOCKER_PASSWORD", "ap", 1);
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1);
	ck_assert_str_eq(c.username, "au"); /* APPTAINER_ wins */
	sb_reg_creds_release(&c);
	o.username = "ou", o.password = "op";
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1);
	ck_assert_str_eq(c.password, "op");
	sb_reg_creds_release(&c);
	unsetenv("APPTAINER_DOCKER_USERNAME");
	unsetenv("SINGULARITY_DOCKER_USERNAME");
	o.username = o.password = NULL;
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 0); /* no config file: none */
	char home[] = "/tmp/sbtest-home-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(home));
	setenv("HOME", home, 1);
	char *d1 = sb_asprintf("%s/.apptainer", home), *d2 = sb_asprintf("%s/.docker", home);
	char *f1 = sb_asprintf("%s/docker-config.json", d1),
	     *f2 = sb_asprintf("%s/config.json", d2);
	ck_assert_int_eq(mkdir(d1, 0700), 0);
	ck_assert_int_eq(mkdir(d2, 0700), 0);
	FILE *fp = fopen(f2, "w");
	fputs("{\"auths\":{\"a.io\":{\"auth\":\"ZDpw\"}}}", fp); /* d:p */
	fclose(fp);
	fp = fopen(f1, "w");
	fputs("{\"auths\":{\"b.io\":{\"auth\":\"YTpw\"}}}", fp); /* a:p, another host */
	fclose(fp);
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1); /* falls through to .docker */
	ck_assert_str_eq(c.username, "d");
	sb_reg_creds_release(&c);
	fp = fopen(f1, "w");
	fputs("{\"auths\":{\"a.io\":{\"auth\":\"YTpw\"}}}", fp);
	fclose(fp);
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1); /* Apptainer's file first */
	ck_assert_str_eq(c.username, "a");
	ck_assert_str_eq(c.source, f1);
	sb_reg_creds_release(&c);
	setenv("DOCKER_CONFIG", d2, 1);
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), 1); /* $DOCKER_CONFIG alone */
	ck_assert_str_eq(c.username, "d");
	sb_reg_creds_release(&c);
	ck_assert_int_eq(sb_rm_rf(home, &err), 0);
	free(d1), free(d2), free(f1), free(f2);
	o.authfile = "/nonexistent/auth.json";
	ck_assert_int_eq(sb_reg_creds_lookup(&r, &o, &c, &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "/nonexistent/auth.json"));
	sb_error_free(&err);
	sb_registry_ref_release(&r);
}
END_TEST

START_TEST(cache_dir_order)
{
	sb_error_t err = NULL;
	setenv("SIFBUILD_CACHEDIR", "/x/sb", 1);
	setenv("APPTAINER_CACHEDIR", "/x/ap", 1);
	setenv("HOME", "/home/u", 1);
	char *d = sb_registry_cache_dir(&err);
	ck_assert_str_eq(d, "/x/sb");
	free(d);
	unsetenv("SIFBUILD_CACHEDIR");
	d = sb_registry_cache_dir(&err);
	ck_assert_str_eq(d, "/x/ap/sifbuild");
	free(d);
	setenv("APPTAINER_CACHEDIR", "", 1);
	d = sb_registry_cache_dir(&err);
	ck_assert_str_eq(d, "/home/u/.cache/sifbuild");
	free(d);
	unsetenv("APPTAINER_CACHEDIR");
	unsetenv("HOME");
	ck_assert_ptr_null(sb_registry_cache_dir(&err));
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "SIFBUILD_CACHEDIR"));
	sb_error_free(&err);
}
END_TEST

static void count_entry(void *data, const struct sb_registry_cache_entry *e)
{
	int *n = data;
	(*n)++;
	ck_assert_int_eq(e->size, 5);
	ck_assert_str_eq(e->kind, "blob");
}

START_TEST(store_put_list_clean)
{
	char dir[] = "/tmp/sbtest-store-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct sb_reg_store st;
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_reg_store_open(&st, dir, true, &err), 0);
	char *dg = sb_reg_sha256_digest("hello", 5);
	ck_assert_str_eq(dg,
			 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	ck_assert_int_eq(sb_reg_store_put(&st, D64, "hello", 5, &err), -1); /* wrong digest */
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "digest mismatch"));
	sb_error_free(&err);
	ck_assert(!sb_reg_store_has(&st, D64, -1));
	ck_assert_int_eq(sb_reg_store_put(&st, dg, "hello", 5, &err), 0);
	ck_assert(sb_reg_store_has(&st, dg, 5));
	ck_assert(!sb_reg_store_has(&st, dg, 6));
	char *p = sb_reg_store_path(&st, dg);
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0444);
	ck_assert_int_eq(sb_reg_store_ref_set(&st, "docker://a.io/x:1", dg), 0);
	char *got = sb_reg_store_ref_get(&st, "docker://a.io/x:1");
	ck_assert_str_eq(got, dg);
	free(got);
	ck_assert_ptr_null(sb_reg_store_ref_get(&st, "docker://a.io/x:2"));
	int fd = -1, fd2 = -1;
	ck_assert_int_eq(sb_reg_store_lock(&st, dg, false, &fd, &err), 0);
	ck_assert_int_eq(sb_reg_store_lock(&st, dg, false, &fd2, &err), 1); /* held */
	size_t n = 9;
	int64_t bytes = 0;
	ck_assert_int_eq(sb_registry_cache_clean(dir, 0, &n, &bytes, &err), 0);
	ck_assert_uint_eq(n, 0); /* locked blobs stay */
	sb_reg_store_unlock(fd);
	int count = 0;
	int64_t total = 0;
	ck_assert_int_eq(sb_registry_cache_list(dir, count_entry, &count, &total, &err), 0);
	ck_assert_int_eq(count, 1);
	ck_assert_int_eq(total, 5);
	ck_assert_int_eq(sb_registry_cache_clean(dir, 1, &n, &bytes, &err), 0);
	ck_assert_uint_eq(n, 0); /* used today */
	ck_assert_int_eq(sb_registry_cache_clean(dir, 0, &n, &bytes, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(bytes, 5);
	char *lockp = sb_asprintf("%s/locks/%s.lock", dir, dg + 7);
	ck_assert_int_ne(access(lockp, F_OK), 0); /* the unused lock file went too */
	free(lockp);
	ck_assert(!sb_reg_store_has(&st, dg, -1));
	free(p);
	free(dg);
	sb_reg_store_release(&st);
	ck_assert_int_eq(sb_rm_rf(dir, &err), 0);
}
END_TEST

START_TEST(helpers)
{
	sb_error_t err = NULL;
	ck_assert_int_eq(sb_reg_digest_check(D64, &err), 0);
	ck_assert_int_eq(sb_reg_digest_check("sha256:ABCDEF", &err), -1);
	sb_error_free(&err);
	ck_assert_int_eq(sb_reg_digest_check("sha512:00", &err), -1);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err), "sha512 is not supported"));
	sb_error_free(&err);
	char *b = sb_reg_base64("user:pa ss", 10);
	ck_assert_str_eq(b, "dXNlcjpwYSBzcw==");
	size_t len = 0;
	char *d = sb_reg_base64_decode("dXNlcjpwYSBzcw", &len);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(d, "user:pa ss");
	free(b);
	free(d);
	ck_assert_ptr_null(sb_reg_base64_decode("!!!", NULL));
	ck_assert(sb_reg_retry_after("7") == 7.0);
	ck_assert(sb_reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0);
	ck_assert(sb_reg_retry_after("soon") < 0);
	ck_assert(sb_reg_retry_after(NULL) < 0);
	ck_assert(sb_reg_backoff(1) < sb_reg_backoff(2));
	ck_assert(sb_reg_backoff(30) == 10.0);
	char *u = sb_reg_resolve_url("http://h:1/v2/a/blobs/x?y=1", "/data/z");
	ck_assert_str_eq(u, "http://h:1/data/z");
	free(u);
	u = sb_reg_resolve_url("http://h:1/v2/a/blobs/x", "http://cdn:2/q");
	ck_assert_str_eq(u, "http://cdn:2/q");
	free(u);
	u = sb_reg_resolve_url("https://h/v2/a/b", "c?d");
	ck_assert_str_eq(u, "https://h/v2/a/c?d");
	free(u);
	u = sb_reg_resolve_url("https://h/v2/a/b", "//other/x");
	ck_assert_str_eq(u, "https://other/x");
	free(u);
	char hs[32];
	sb_reg_human_size(1536, hs, sizeof(hs));
	ck_assert_str_eq(hs, "1.5 KiB");
}
END_TEST

#define E(a, v, d)                                                                                 \
	"{\"mediaType\":\"" SB_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" d "\",\"size\":1,"        \
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"" a "\"" v "}}"
#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define H4 "4444444444444444444444444444444444444444444444444444444444444444"

static char *choose(const char *json, const char *arch, const char *variant, sb_error_t *err)
{
	struct sb_reg_manifest m = {0};
	m.json = json_loads(json, 0, NULL);
	m.digest = strdup("sha256:idx");
	struct sb_registry_options o;
	sb_registry_options_init(&o);
	o.arch = arch, o.variant = variant;
	struct sb_reg_platform p = {0};
	char *out = NULL;
	if (sb_reg_choose_platform(&m, &o, &p, err) == 0)
		out = strdup(p.digest + 7);
	sb_reg_platform_release(&p);
	sb_reg_manifest_release(&m);
	return out;
}

START_TEST(platform_choice)
{
	const char *idx =
		"{\"manifests\":["
		"{\"mediaType\":\"x\",\"digest\":\"sha256:" H4 "\",\"size\":1,"
		"\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}," E(
			"amd64", "", H1) "," E("arm64", ",\"variant\":\"v8\"",
					       H2) "," E("arm", ",\"variant\":\"v6\"", H3) "]}";
	sb_error_t err = NULL;
	char *d = choose(idx, "amd64", NULL, &err);
	ck_assert_str_eq(d, H1);
	free(d);
	d = choose(idx, "arm64", NULL, &err); /* "" == v8 */
	ck_assert_str_eq(d, H2);
	free(d);
	d = choose(idx, "arm", "v7", &err); /* v7 host runs v6 */
	ck_assert_str_eq(d, H3);
	free(d);
	d = choose(idx, "s390x", NULL, &err);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(sb_error_message(err),
				     "available: linux/amd64, linux/arm64/v8, linux/arm/v6"));
	ck_assert_ptr_null(strstr(sb_error_message(err), "unknown"));
	sb_error_free(&err);
	d = choose("{\"manifests\":[]}", "amd64", NULL, &err);
	ck_assert_ptr_null(d);
	sb_error_free(&err);
	const char *arch, *variant;
	sb_registry_host_platform(&arch, &variant);
	ck_assert(strlen(arch) > 0);
}
END_TEST

static void capture(void *data, const char *text)
{
	sb_strbuf_adds(data, text);
}

START_TEST(progress_output)
{
	struct sb_strbuf out = SB_STRBUF_INIT;
	struct sb_registry_options o;
	sb_registry_options_init(&o);
	o.progress = capture;
	o.progress_data = &out;
	struct sb_reg_progress *p = sb_reg_progress_new(&o);
	size_t a = sb_reg_progress_add(p, "layer 1", D64, 2048);
	size_t b = sb_reg_progress_add(p, "layer 2", D64, 100);
	sb_reg_progress_set(p, b, 100, "cached");
	sb_reg_progress_set(p, a, 1024, "downloading");
	sb_reg_progress_tick(p, true);
	ck_assert_ptr_nonnull(strstr(out.buf, "pulling: 1/2 blobs, 1.1 KiB / 2.1 KiB"));
	ck_assert_ptr_null(strstr(out.buf, "\033"));
	sb_reg_progress_set(p, a, 2048, "done");
	sb_reg_progress_tick(p, false); /* a finished blob is reported at once */
	ck_assert_ptr_nonnull(strstr(out.buf,
				     "layer 1 sha256:0123456789ab: downloaded and verified "
				     "(2.0 KiB)\n"));
	sb_reg_progress_free(p);
	sb_strbuf_release(&out);
	o.progress_tty = true;
	p = sb_reg_progress_new(&o);
	a = sb_reg_progress_add(p, "config", D64, 10);
	sb_reg_progress_set(p, a, 5, "downloading");
	sb_reg_progress_tick(p, true);
	sb_reg_progress_tick(p, true);
	/* the second drawing moves the cursor up over the first (bar + total) */
	ck_assert_ptr_nonnull(strstr(out.buf, "\033[2A\033[2Kconfig"));
	ck_assert_ptr_nonnull(strstr(out.buf, "[===============               ] 5 B / 10 B"));
	ck_assert_ptr_nonnull(strstr(out.buf, "total: 0/1 blobs"));
	sb_reg_progress_free(p);
	sb_strbuf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");
	tcase_add_loop_test(tc, ref_parse_table, 0, sizeof(good_refs) / sizeof(good_refs[0]));
	tcase_add_loop_test(tc, ref_parse_rejects, 0, sizeof(bad_refs) / sizeof(bad_refs[0]));
	tcase_add_test(tc, ref_from_header);
	tcase_add_test(tc, challenge_parse);
	tcase_add_test(tc, config_json);
	tcase_add_test(tc, creds_env_and_explicit);
	tcase_add_test(tc, cache_dir_order);
	tcase_add_test(tc, store_put_list_clean);
	tcase_add_test(tc, helpers);
	tcase_add_test(tc, platform_choice);
	tcase_add_test(tc, progress_output);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
