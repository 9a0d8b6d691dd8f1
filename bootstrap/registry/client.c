/* bootstrap/registry/client.c: single HTTP requests to a registry with auth,
 * redirects and retries (blob transfers in parallel live in fetch.c). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

#define MAX_REDIRECTS 5

void sb_reg_curl_common(const struct sb_reg_session *s, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sifbuild (registry client)");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer (under 1 byte/s for 60 s) fails and is retried. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* redirects handled here */
	if (s->opts->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->opts->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

int sb_reg_session_init(struct sb_reg_session *s, const struct sb_registry_ref *ref,
			const struct sb_registry_options *opts, const char *actions,
			sb_error_t *err)
{
	static bool global_done;
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = true;
	}
	memset(s, 0, sizeof(*s));
	s->ref = ref;
	s->opts = opts;
	s->base = sb_asprintf("%s://%s", opts->nohttps ? "http" : "https", ref->api_host);
	s->easy = curl_easy_init();
	if (s->easy == NULL)
		return sb_error_set(err, ENOMEM, "curl_easy_init");
	s->actions = sb_strdup(actions);
	s->max_retries = opts->max_retries < 0 ? 0 : opts->max_retries == 0 ? 5 : opts->max_retries;
	return 0;
}

void sb_reg_session_release(struct sb_reg_session *s)
{
	if (s->easy != NULL)
		curl_easy_cleanup(s->easy);
	free(s->base);
	free(s->auth);
	free(s->actions);
	sb_reg_creds_release(&s->creds);
	for (struct sb_reg_token *t = s->tokens, *next; t != NULL; t = next) {
		next = t->next;
		free(t->key);
		free(t->token);
		free(t);
	}
	memset(s, 0, sizeof(*s));
}

void sb_reg_response_release(struct sb_reg_response *r)
{
	sb_strbuf_release(&r->body);
	free(r->content_type);
	free(r->digest);
	free(r->location);
	free(r->challenge);
	free(r->retry_after);
	free(r->range);
	free(r->url);
	memset(r, 0, sizeof(*r));
}

/* scheme://host[:port] of url, lowercased. */
static char *origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	if (p == NULL)
		return sb_strdup("");
	p += 3;
	size_t n = (size_t)(p - url) + strcspn(p, "/?#");
	char *o = sb_strndup(url, n);
	for (char *q = o; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return o;
}

bool sb_reg_same_origin(const struct sb_reg_session *s, const char *url)
{
	cleanup_free char *a = origin_of(s->base);
	cleanup_free char *b = origin_of(url);
	return strcmp(a, b) == 0;
}

char *sb_reg_resolve_url(const char *base_url, const char *location)
{
	if (strstr(location, "://") != NULL)
		return sb_strdup(location);
	cleanup_free char *origin = origin_of(base_url);
	if (strncmp(location, "//", 2) == 0) {
		size_t n = strcspn(origin, ":");
		return sb_asprintf("%.*s:%s", (int)n, origin, location);
	}
	if (location[0] == '/')
		return sb_asprintf("%s%s", origin, location);
	/* Relative to the directory of the request path. */
	const char *q = base_url + strcspn(base_url, "?#");
	size_t n = (size_t)(q - base_url);
	while (n > 0 && base_url[n - 1] != '/')
		n--;
	return sb_asprintf("%.*s%s", (int)n, base_url, location);
}

int sb_reg_curl_error(struct sb_reg_session *s, CURLcode rc, const char *url, const char *errbuf,
		      sb_error_t *err)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	const char *hint = "";
	if (!s->opts->nohttps &&
	    (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_WRITE_ERROR))
		hint = " (a plain-HTTP registry needs --nohttps)";
	sb_error_set(err, 0, "registry %s: %s: %s%s", s->ref->registry, url, why, hint);
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		(*err)->errnum = ECONNREFUSED;
	return -1;
}

/* ------------------------------------------------------------ one transfer */

struct upload_state {
	int fd;
	int64_t off, end;
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *data)
{
	struct upload_state *u = data;
	size_t want = size * nmemb;
	if ((int64_t)want > u->end - u->off)
		want = (size_t)(u->end - u->off);
	ssize_t n = pread(u->fd, buf, want, u->off);
	if (n < 0)
		return CURL_READFUNC_ABORT;
	u->off += n;
	return (size_t)n;
}

struct resp_state {
	struct sb_reg_response *r;
	size_t max;
	bool too_big;
};

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct resp_state *st = data;
	size_t n = size * nmemb;
	if (st->r->body.len + n > st->max) {
		st->too_big = true;
		return 0;
	}
	sb_strbuf_add(&st->r->body, ptr, n);
	return n;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	const char *v = line + k + 1;
	const char *end = line + n;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	return sb_strndup(v, (size_t)(end - v));
}

static void keep_header(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *data)
{
	struct resp_state *st = data;
	struct sb_reg_response *r = st->r;
	size_t n = size * nmemb;
	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new response (after 100-continue): forget earlier headers */
		free(r->challenge), r->challenge = NULL;
		free(r->location), r->location = NULL;
		return n;
	}
	keep_header(&r->content_type, header_value(line, n, "Content-Type"));
	keep_header(&r->digest, header_value(line, n, "Docker-Content-Digest"));
	keep_header(&r->location, header_value(line, n, "Location"));
	keep_header(&r->retry_after, header_value(line, n, "Retry-After"));
	keep_header(&r->range, header_value(line, n, "Range"));
	char *wa = header_value(line, n, "WWW-Authenticate");
	if (wa != NULL && r->challenge == NULL)
		r->challenge = wa;
	else
		free(wa);
	char *cl = header_value(line, n, "Content-Length");
	if (cl != NULL)
		r->content_length = strtoll(cl, NULL, 10);
	free(cl);
	return n;
}

/* Performs one request on s->easy (no retries, no redirects). */
static CURLcode perform(struct sb_reg_session *s, const struct sb_reg_req *req, const char *url,
			const char *auth, struct sb_reg_response *resp, char *errbuf)
{
	CURL *h = s->easy;
	curl_easy_reset(h);
	sb_reg_curl_common(s, h);
	sb_reg_response_release(resp);
	resp->content_length = -1;
	resp->url = sb_strdup(url);
	struct resp_state st = {resp, req->max_body ? req->max_body : SB_REG_MAX_MANIFEST, false};
	struct curl_slist *hdrs = NULL;
	cleanup_free char *accept = req->accept ? sb_asprintf("Accept: %s", req->accept) : NULL;
	cleanup_free char *ctype =
		req->content_type ? sb_asprintf("Content-Type: %s", req->content_type) : NULL;
	if (accept)
		hdrs = curl_slist_append(hdrs, accept);
	if (ctype)
		hdrs = curl_slist_append(hdrs, ctype);
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	if (req->header)
		hdrs = curl_slist_append(hdrs, req->header);
	hdrs = curl_slist_append(hdrs, "Expect:");
	struct upload_state up = {req->body_fd, req->body_off, req->body_off + req->body_len};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	const char *m = req->method ? req->method : "GET";
	if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (req->body_fd >= 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_WRITE_ERROR && st.too_big)
		snprintf(errbuf, CURL_ERROR_SIZE, "response larger than %zu bytes", st.max);
	return rc;
}

static bool retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

static bool retryable_curl(CURLcode rc)
{
	return rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE ||
	       rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT;
}

int sb_reg_request(struct sb_reg_session *s, const struct sb_reg_req *req,
		   struct sb_reg_response *resp, sb_error_t *err)
{
	cleanup_free char *url =
		req->url[0] == '/' ? sb_asprintf("%s%s", s->base, req->url) : sb_strdup(req->url);
	int attempt = 0, redirects = 0, auth_tries = 0;
	char errbuf[CURL_ERROR_SIZE];
	for (;;) {
		bool mine = sb_reg_same_origin(s, url);
		CURLcode rc = perform(s, req, url, mine ? s->auth : NULL, resp, errbuf);
		if (rc != CURLE_OK) {
			if (retryable_curl(rc) && attempt++ < s->max_retries) {
				sb_reg_warn(s->opts, "registry %s: %s: %s; retry %d of %d",
					    s->ref->registry, url,
					    *errbuf ? errbuf : curl_easy_strerror(rc), attempt,
					    s->max_retries);
				sb_reg_sleep(sb_reg_backoff(attempt));
				continue;
			}
			sb_reg_response_release(resp);
			return sb_reg_curl_error(s, rc, url, errbuf, err);
		}
		if (resp->status == 401 && mine && !s->in_token && auth_tries++ == 0 &&
		    resp->challenge) {
			if (sb_reg_authenticate(s, resp->challenge, err) < 0) {
				sb_reg_response_release(resp);
				return -1;
			}
			continue;
		}
		bool is_get = req->method == NULL || strcmp(req->method, "GET") == 0 ||
			      strcmp(req->method, "HEAD") == 0;
		if (resp->status >= 300 && resp->status < 400 && resp->location && is_get &&
		    resp->status != 304 && redirects++ < MAX_REDIRECTS) {
			char *next = sb_reg_resolve_url(url, resp->location);
			free(url);
			url = next;
			continue;
		}
		if (retryable_status(resp->status) && attempt++ < s->max_retries) {
			double wait = sb_reg_retry_after(resp->retry_after);
			wait = wait >= 0 ? (wait > 120 ? 120 : wait) : sb_reg_backoff(attempt);
			sb_reg_warn(s->opts, "registry %s: %s: HTTP %ld; retry %d of %d in %.1f s",
				    s->ref->registry, url, resp->status, attempt, s->max_retries,
				    wait);
			sb_reg_sleep(wait);
			continue;
		}
		return 0;
	}
}

/* "CODE: message" of the first registry JSON error, or NULL. */
static char *registry_error_text(const struct sb_reg_response *r)
{
	if (r->body.len == 0)
		return NULL;
	json_t *j = json_loadb(r->body.buf, r->body.len, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	char *out = NULL;
	if (code != NULL)
		out = sb_asprintf("%s%s%s", code, msg ? ": " : "", msg ? msg : "");
	json_decref(j);
	return out;
}

int sb_reg_http_error(struct sb_reg_session *s, const struct sb_reg_response *r, const char *what,
		      sb_error_t *err)
{
	cleanup_free char *detail = registry_error_text(r);
	const char *reg = s->ref->registry;
	if (r->status == 401 && s->creds_state == 1 && s->auth != NULL)
		return sb_error_set(
			err, 0,
			"registry %s rejected the credentials of user '%s' (from %s) for %s", reg,
			s->creds.username ? s->creds.username : "<token>",
			s->creds.source ? s->creds.source : "?", what);
	if (r->status == 401)
		return sb_error_set(
			err, 0,
			"registry %s requires authentication for %s (no credentials: "
			"use --authfile, docker login or APPTAINER_DOCKER_USERNAME/PASSWORD)",
			reg, what);
	if (r->status == 404)
		return sb_error_set(err, 0, "%s not found on registry %s%s%s", what, reg,
				    detail ? ": " : "", detail ? detail : "");
	bool tls_port = s->opts->nohttps && r->status == 400 && r->body.buf != NULL &&
			strstr(r->body.buf, "HTTPS server") != NULL;
	return sb_error_set(err, 0, "registry %s: %s: HTTP %ld%s%s%s", reg, what, r->status,
			    detail ? ": " : "", detail ? detail : "",
			    tls_port ? " (the registry speaks HTTPS: drop --nohttps)" : "");
}
