/* bootstrap/registry/auth.c: WWW-Authenticate challenges and credential
 * lookup (environment, docker config.json, credential helpers). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

void sb_reg_challenge_release(struct sb_reg_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

static void set_param(struct sb_reg_challenge *c, const char *key, size_t klen, char *val)
{
	char **slot = NULL;
	if (klen == 5 && strncasecmp(key, "realm", 5) == 0)
		slot = &c->realm;
	else if (klen == 7 && strncasecmp(key, "service", 7) == 0)
		slot = &c->service;
	else if (klen == 5 && strncasecmp(key, "scope", 5) == 0)
		slot = &c->scope;
	else if (klen == 5 && strncasecmp(key, "error", 5) == 0)
		slot = &c->error;
	if (slot == NULL || *slot != NULL) {
		free(val);
		return;
	}
	*slot = val;
}

/* Reads a quoted-string or token starting at *pp; advances *pp. */
static char *read_value(const char **pp)
{
	const char *p = *pp;
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			sb_strbuf_addc(&sb, *p);
		}
		if (*p == '"')
			p++;
	} else {
		for (; *p && *p != ',' && !isspace((unsigned char)*p); p++)
			sb_strbuf_addc(&sb, *p);
	}
	*pp = p;
	return sb_strbuf_detach(&sb, NULL);
}

int sb_reg_challenge_parse(const char *value, struct sb_reg_challenge *c)
{
	memset(c, 0, sizeof(*c));
	if (value == NULL)
		return -1;
	const char *p = value;
	while (isspace((unsigned char)*p))
		p++;
	const char *s = p;
	while (isalpha((unsigned char)*p))
		p++;
	if (p == s)
		return -1;
	c->scheme = sb_strndup(s, (size_t)(p - s));
	for (char *q = c->scheme; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	for (;;) {
		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		size_t klen = (size_t)(p - k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			continue; /* a bare token (token68): ignored */
		p++;
		while (isspace((unsigned char)*p))
			p++;
		set_param(c, k, klen, read_value(&p));
	}
	return 0;
}

void sb_reg_creds_release(struct sb_reg_creds *c)
{
	free(c->username);
	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->identity_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

char *sb_reg_config_key(const char *registry)
{
	if (strcmp(registry, "docker.io") == 0 || strcmp(registry, "index.docker.io") == 0 ||
	    strcmp(registry, "registry-1.docker.io") == 0)
		return sb_strdup("https://index.docker.io/v1/");
	return sb_strdup(registry);
}

/* "https://host/v1/" -> "host"; other keys unchanged. */
static char *normalise_key(const char *key)
{
	const char *p = strstr(key, "://");
	p = p ? p + 3 : key;
	size_t n = strcspn(p, "/");
	char *host = sb_strndup(p, n);
	if (strcmp(host, "index.docker.io") == 0 || strcmp(host, "registry-1.docker.io") == 0) {
		free(host);
		host = sb_strdup("docker.io");
	}
	return host;
}

static int creds_from_auth_entry(json_t *entry, struct sb_reg_creds *creds, sb_error_t *err)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *user = json_string_value(json_object_get(entry, "username"));
	const char *pass = json_string_value(json_object_get(entry, "password"));
	const char *idt = json_string_value(json_object_get(entry, "identitytoken"));
	if (auth != NULL && *auth) {
		cleanup_free char *dec = sb_reg_base64_decode(auth, NULL);
		char *colon = dec ? strchr(dec, ':') : NULL;
		if (colon == NULL)
			return sb_error_set(err, 0,
					    "invalid \"auth\" value (not base64 of user:password)");
		*colon = '\0';
		creds->username = sb_strdup(dec);
		creds->password = sb_strdup(colon + 1);
		explicit_bzero(colon + 1, strlen(colon + 1));
	} else if (user != NULL && pass != NULL) {
		creds->username = sb_strdup(user);
		creds->password = sb_strdup(pass);
	}
	if (idt != NULL && *idt)
		creds->identity_token = sb_strdup(idt);
	return creds->username || creds->identity_token ? 1 : 0;
}

/* The entry of obj whose key names registry[/repository]; full key first. */
static json_t *find_entry(json_t *obj, const char *registry, const char *repository)
{
	cleanup_free char *full = sb_asprintf("%s/%s", registry, repository);
	json_t *host_match = NULL;
	const char *key;
	json_t *val;
	json_object_foreach (obj, key, val) {
		const char *p = strstr(key, "://");
		p = p ? p + 3 : key;
		if (strcmp(p, full) == 0)
			return val;
		cleanup_free char *norm = normalise_key(key);
		if (host_match == NULL && strcmp(norm, registry) == 0)
			host_match = val;
	}
	return host_match;
}

int sb_reg_config_lookup(const char *json_text, const char *registry, const char *repository,
			 struct sb_reg_creds *creds, char **helper, sb_error_t *err)
{
	json_error_t jerr;
	json_t *root = json_loads(json_text, 0, &jerr);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return sb_error_set(err, 0, "invalid JSON (line %d: %s)", jerr.line, jerr.text);
	}
	int rc = 0;
	cleanup_free char *canon = normalise_key(registry);
	json_t *helpers = json_object_get(root, "credHelpers");
	json_t *h = json_is_object(helpers) ? find_entry(helpers, canon, repository) : NULL;
	const char *store = json_string_value(json_object_get(root, "credsStore"));
	if (json_is_string(h)) {
		*helper = sb_strdup(json_string_value(h));
		rc = 2;
	} else {
		json_t *auths = json_object_get(root, "auths");
		json_t *e = json_is_object(auths) ? find_entry(auths, canon, repository) : NULL;
		if (json_is_object(e))
			rc = creds_from_auth_entry(e, creds, err);
		if (rc == 0 && store != NULL && *store) {
			*helper = sb_strdup(store);
			rc = 2;
		}
	}
	json_decref(root);
	return rc;
}

/* Runs docker-credential-NAME get with server on stdin; JSON on stdout. */
static int run_helper(const char *name, const char *server, struct sb_strbuf *out, int *status,
		      sb_error_t *err)
{
	cleanup_free char *prog = sb_asprintf("docker-credential-%s", name);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return sb_error_set(err, errno, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		execlp(prog, prog, "get", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	ssize_t w = write(in[1], server, strlen(server));
	(void)w;
	close(in[1]);
	char buf[4096];
	ssize_t n;
	while ((n = read(outp[0], buf, sizeof(buf))) > 0 && out->len < 1024 * 1024)
		sb_strbuf_add(out, buf, (size_t)n);
	close(outp[0]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	signal(SIGPIPE, old);
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128;
	if (*status == 127)
		return sb_error_set(err, 0, "credential helper %s not found", prog);
	return 0;
}

static int creds_from_helper(const char *name, const char *registry, struct sb_reg_creds *creds,
			     sb_error_t *err)
{
	cleanup_free char *server = sb_reg_config_key(registry);
	struct sb_strbuf out = SB_STRBUF_INIT;
	int status = 0;
	if (run_helper(name, server, &out, &status, err) < 0) {
		sb_strbuf_release(&out);
		return -1;
	}
	if (status != 0) {
		bool notfound = out.buf && strstr(out.buf, "credentials not found");
		sb_strbuf_release(&out);
		if (notfound)
			return 0;
		return sb_error_set(err, 0,
				    "credential helper docker-credential-%s failed (exit %d)", name,
				    status);
	}
	json_t *j = json_loads(out.buf ? out.buf : "", 0, NULL);
	sb_strbuf_release(&out);
	const char *user = json_string_value(json_object_get(j, "Username"));
	const char *secret = json_string_value(json_object_get(j, "Secret"));
	int rc = 0;
	if (user != NULL && secret != NULL) {
		if (strcmp(user, "<token>") == 0)
			creds->identity_token = sb_strdup(secret);
		else {
			creds->username = sb_strdup(user);
			creds->password = sb_strdup(secret);
		}
		creds->source = sb_asprintf("credential helper docker-credential-%s", name);
		rc = 1;
	} else {
		rc = sb_error_set(err, 0, "credential helper docker-credential-%s: invalid answer",
				  name);
	}
	json_decref(j);
	return rc;
}

/* Credential files tried in order when no --authfile is given: $DOCKER_CONFIG
 * (alone when set, as Docker does), else Apptainer's own
 * ~/.apptainer/docker-config.json (written by `apptainer registry login`),
 * then ~/.docker/config.json. n receives the count. */
static void default_config_paths(char *paths[2], size_t *n)
{
	*n = 0;
	const char *dc = getenv("DOCKER_CONFIG");
	if (dc != NULL && *dc) {
		paths[(*n)++] = sb_asprintf("%s/config.json", dc);
		return;
	}
	const char *home = getenv("HOME");
	if (home == NULL || *home == '\0')
		return;
	paths[(*n)++] = sb_asprintf("%s/.apptainer/docker-config.json", home);
	paths[(*n)++] = sb_asprintf("%s/.docker/config.json", home);
}

static int creds_from_file(const char *path, bool must_exist, const struct sb_registry_ref *ref,
			   struct sb_reg_creds *creds, sb_error_t *err)
{
	cleanup_free char *text = sb_read_file(path, NULL);
	if (text == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return sb_error_set(err, errno, "reading credentials file %s", path);
	}
	cleanup_free char *helper = NULL;
	int rc = sb_reg_config_lookup(text, ref->registry, ref->repository, creds, &helper, err);
	if (rc == 2)
		rc = creds_from_helper(helper, ref->registry, creds, err);
	else if (rc == 1)
		creds->source = sb_strdup(path);
	if (rc < 0)
		sb_error_wrap(err, "credentials file %s", path);
	return rc;
}

static int creds_from_env(struct sb_reg_creds *creds)
{
	static const char *const prefixes[] = {"APPTAINER", "SINGULARITY"};
	for (size_t i = 0; i < 2; i++) {
		char uvar[64], pvar[64];
		snprintf(uvar, sizeof(uvar), "%s_DOCKER_USERNAME", prefixes[i]);
		snprintf(pvar, sizeof(pvar), "%s_DOCKER_PASSWORD", prefixes[i]);
		const char *u = getenv(uvar), *p = getenv(pvar);
		if (u != NULL && *u && p != NULL) {
			creds->username = sb_strdup(u);
			creds->password = sb_strdup(p);
			creds->source = sb_asprintf("$%s/$%s", uvar, pvar);
			return 1;
		}
	}
	return 0;
}

int sb_reg_creds_lookup(const struct sb_registry_ref *ref, const struct sb_registry_options *opts,
			struct sb_reg_creds *creds, sb_error_t *err)
{
	memset(creds, 0, sizeof(*creds));
	if (opts->username != NULL && opts->password != NULL) {
		creds->username = sb_strdup(opts->username);
		creds->password = sb_strdup(opts->password);
		creds->source = sb_strdup("the given credentials");
		return 1;
	}
	if (creds_from_env(creds) == 1)
		return 1;
	if (opts->authfile != NULL)
		return creds_from_file(opts->authfile, true, ref, creds, err);
	char *paths[2];
	size_t n = 0;
	int rc = 0;
	default_config_paths(paths, &n);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = creds_from_file(paths[i], false, ref, creds, err);
		free(paths[i]);
	}
	return rc;
}
