/* bootstrap/registry/token.c: answering a 401 challenge (Basic, or the Bearer
 * token flow with anonymous, Basic or identity-token credentials); tokens
 * cached per realm, service and scope for the session. */
#include <string.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

#define TOKEN_MARGIN 10.0 /* seconds before expiry a token is renewed */

static int load_creds(struct sb_reg_session *s, sb_error_t *err)
{
	if (s->creds_state != 0)
		return 0;
	int rc = sb_reg_creds_lookup(s->ref, s->opts, &s->creds, err);
	if (rc < 0)
		return -1;
	s->creds_state = rc == 1 ? 1 : 2;
	return 0;
}

static char *basic_header(const struct sb_reg_creds *c)
{
	cleanup_free char *up = sb_asprintf("%s:%s", c->username, c->password ? c->password : "");
	cleanup_free char *b64 = sb_reg_base64(up, strlen(up));
	explicit_bzero(up, strlen(up));
	return sb_asprintf("Authorization: Basic %s", b64);
}

static void set_auth(struct sb_reg_session *s, char *header)
{
	if (s->auth != NULL)
		explicit_bzero(s->auth, strlen(s->auth));
	free(s->auth);
	s->auth = header;
}

static char *default_scope(const struct sb_reg_session *s)
{
	return sb_asprintf("repository:%s:%s", s->ref->repository, s->actions);
}

/* realm?service=..&scope=..&scope=.. (one scope parameter per scope). */
static char *token_url(CURL *h, const char *realm, const char *service, const char *scopes)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service != NULL) {
		char *e = curl_easy_escape(h, service, 0);
		sb_strbuf_addf(&sb, "%cservice=%s", sep, e);
		curl_free(e);
		sep = '&';
	}
	cleanup_free char *copy = sb_strdup(scopes);
	char *save = NULL;
	for (char *sc = strtok_r(copy, " ", &save); sc; sc = strtok_r(NULL, " ", &save)) {
		char *e = curl_easy_escape(h, sc, 0);
		sb_strbuf_addf(&sb, "%cscope=%s", sep, e);
		curl_free(e);
		sep = '&';
	}
	return sb_strbuf_detach(&sb, NULL);
}

static char *oauth_form(CURL *h, const struct sb_reg_challenge *c, const char *scopes,
			const char *refresh)
{
	char *svc = curl_easy_escape(h, c->service ? c->service : "", 0);
	char *sc = curl_easy_escape(h, scopes, 0);
	char *rt = curl_easy_escape(h, refresh, 0);
	char *form = sb_asprintf("grant_type=refresh_token&client_id=sifbuild&service=%s&scope=%s"
				 "&refresh_token=%s",
				 svc, sc, rt);
	curl_free(svc);
	curl_free(sc);
	curl_free(rt);
	return form;
}

/* Reads token/access_token and expires_in (default 60 s) from the answer. */
static int parse_token(struct sb_reg_session *s, const struct sb_reg_response *r, const char *realm,
		       char **token, double *expires, sb_error_t *err)
{
	json_t *j = json_loadb(r->body.buf ? r->body.buf : "", r->body.len, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "token"));
	if (t == NULL || *t == '\0')
		t = json_string_value(json_object_get(j, "access_token"));
	json_t *exp = json_object_get(j, "expires_in");
	double secs = json_is_integer(exp) ? (double)json_integer_value(exp) : 60.0;
	int rc = 0;
	if (t == NULL || *t == '\0')
		rc = sb_error_set(err, 0, "registry %s: token service %s sent no token",
				  s->ref->registry, realm);
	else {
		*token = sb_strdup(t);
		*expires = sb_reg_now() + (secs < 60 ? 60 : secs) - TOKEN_MARGIN;
	}
	json_decref(j);
	return rc;
}

static int fetch_token(struct sb_reg_session *s, const struct sb_reg_challenge *c,
		       const char *scopes, char **token, double *expires, sb_error_t *err)
{
	struct sb_reg_req req = SB_REG_REQ_INIT;
	cleanup_free char *url = NULL, *form = NULL, *basic = NULL;
	if (s->creds_state == 1 && s->creds.identity_token != NULL) {
		url = sb_strdup(c->realm);
		form = oauth_form(s->easy, c, scopes, s->creds.identity_token);
		req.method = "POST";
		req.body = form;
		req.body_len = (int64_t)strlen(form);
		req.content_type = "application/x-www-form-urlencoded";
	} else {
		url = token_url(s->easy, c->realm, c->service, scopes);
		if (s->creds_state == 1)
			basic = basic_header(&s->creds);
	}
	req.url = url;
	req.max_body = 1024 * 1024;
	/* The realm is named by the registry: Basic credentials go there (the
	 * session's registry origin is swapped for the realm's meanwhile), and
	 * a 401 from the realm is final (no nested challenge handling). */
	char *saved_auth = s->auth, *saved_base = s->base;
	s->auth = basic;
	s->base = url;
	s->in_token = true;
	struct sb_reg_response r = {0};
	int rc = sb_reg_request(s, &req, &r, err);
	s->in_token = false;
	s->auth = saved_auth;
	s->base = saved_base;
	if (rc == 0 && (r.status == 401 || r.status == 403) && s->creds_state == 1)
		rc = sb_error_set(err, 0,
				  "registry %s rejected the credentials of user '%s' (from %s): "
				  "token service %s answered HTTP %ld",
				  s->ref->registry,
				  s->creds.username ? s->creds.username : "<token>",
				  s->creds.source ? s->creds.source : "?", c->realm, r.status);
	else if (rc == 0 && (r.status == 401 || r.status == 403))
		rc = sb_error_set(
			err, 0,
			"registry %s requires authentication (no credentials: use --authfile, "
			"docker login or APPTAINER_DOCKER_USERNAME/PASSWORD); token service %s "
			"answered HTTP %ld",
			s->ref->registry, c->realm, r.status);
	else if (rc == 0 && r.status != 200)
		rc = sb_error_set(err, 0, "registry %s: token service %s answered HTTP %ld",
				  s->ref->registry, c->realm, r.status);
	if (rc == 0)
		rc = parse_token(s, &r, c->realm, token, expires, err);
	sb_reg_response_release(&r);
	return rc;
}

static int bearer(struct sb_reg_session *s, const struct sb_reg_challenge *c, sb_error_t *err)
{
	if (c->realm == NULL || *c->realm == '\0')
		return sb_error_set(err, 0, "registry %s: Bearer challenge without realm",
				    s->ref->registry);
	cleanup_free char *scopes = c->scope ? sb_strdup(c->scope) : default_scope(s);
	cleanup_free char *key =
		sb_asprintf("%s|%s|%s", c->realm, c->service ? c->service : "", scopes);
	struct sb_reg_token *t;
	for (t = s->tokens; t != NULL; t = t->next)
		if (strcmp(t->key, key) == 0)
			break;
	bool insufficient = c->error && strcmp(c->error, "insufficient_scope") == 0;
	if (t != NULL && t->expires > sb_reg_now() && !insufficient &&
	    (s->auth == NULL || strstr(s->auth, t->token) == NULL)) {
		set_auth(s, sb_asprintf("Authorization: Bearer %s", t->token));
		return 0;
	}
	char *token = NULL;
	double expires = 0;
	if (fetch_token(s, c, scopes, &token, &expires, err) < 0)
		return -1;
	if (t == NULL) {
		t = sb_xcalloc(1, sizeof(*t));
		t->key = sb_strdup(key);
		t->next = s->tokens;
		s->tokens = t;
	}
	free(t->token);
	t->token = token;
	t->expires = expires;
	set_auth(s, sb_asprintf("Authorization: Bearer %s", token));
	return 0;
}

int sb_reg_authenticate(struct sb_reg_session *s, const char *challenge, sb_error_t *err)
{
	struct sb_reg_challenge c;
	if (sb_reg_challenge_parse(challenge, &c) < 0)
		return sb_error_set(err, 0, "registry %s: unreadable WWW-Authenticate '%s'",
				    s->ref->registry, challenge);
	int rc = load_creds(s, err);
	if (rc == 0 && strcmp(c.scheme, "basic") == 0) {
		if (s->creds_state != 1 || s->creds.username == NULL)
			rc = sb_error_set(
				err, 0,
				"registry %s requires authentication (no credentials: use "
				"--authfile, docker login or APPTAINER_DOCKER_USERNAME/PASSWORD)",
				s->ref->registry);
		else
			set_auth(s, basic_header(&s->creds));
	} else if (rc == 0 && strcmp(c.scheme, "bearer") == 0) {
		rc = bearer(s, &c, err);
	} else if (rc == 0) {
		rc = sb_error_set(err, 0, "registry %s: unsupported authentication scheme '%s'",
				  s->ref->registry, c.scheme);
	}
	sb_reg_challenge_release(&c);
	return rc;
}
