/* bootstrap/registry/internal.h: shared between the files of the registry
 * module only (not a public header). */
#ifndef SB_BOOTSTRAP_REGISTRY_INTERNAL_H
#define SB_BOOTSTRAP_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bootstrap/registry/registry.h"
#include "common/strbuf.h"

#define SB_REG_ACCEPT                                                                              \
	SB_MT_OCI_INDEX ", " SB_MT_OCI_MANIFEST ", " SB_MT_DOCKER_LIST ", " SB_MT_DOCKER_MANIFEST
#define SB_REG_MAX_MANIFEST (4 * 1024 * 1024)

/* ------------------------------------------------------------ util.c */

/* 0 when digest is "sha256:" + 64 lowercase hex; -1 (status 2) otherwise,
 * naming a sha512 or unknown algorithm as unsupported. */
int sb_reg_digest_check(const char *digest, sb_error_t *err);
/* "sha256:HEX" of data: a new string. */
char *sb_reg_sha256_digest(const void *data, size_t len);
/* Verifies data against digest; -1 with "digest mismatch" otherwise. */
int sb_reg_verify_bytes(const void *data, size_t len, const char *digest, const char *what,
			sb_error_t *err);
char *sb_reg_base64(const void *data, size_t len);
/* Decodes standard base64 (padding optional); NULL when invalid. */
char *sb_reg_base64_decode(const char *s, size_t *len);
/* Seconds since the epoch with a fraction (CLOCK_MONOTONIC). */
double sb_reg_now(void);
/* Sleeps seconds (fractional). */
void sb_reg_sleep(double seconds);
/* Parses a Retry-After value (seconds or HTTP date); -1 when absent/invalid. */
double sb_reg_retry_after(const char *value);
/* Backoff before attempt n (1-based): 0.2 s doubling, at most 10 s. */
double sb_reg_backoff(int attempt);
/* A warning to opts->warn (formatted; dropped when there is no sink). */
void sb_reg_warn(const struct sb_registry_options *opts, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ auth.c */

struct sb_reg_challenge {
	char *scheme; /* "basic", "bearer" (lowercased) */
	char *realm, *service, *scope, *error;
};
/* Parses a WWW-Authenticate value. -1 when it is not a challenge. */
int sb_reg_challenge_parse(const char *value, struct sb_reg_challenge *c);
void sb_reg_challenge_release(struct sb_reg_challenge *c);

struct sb_reg_creds {
	char *username;
	char *password;
	char *identity_token; /* OAuth2 refresh token (config.json identitytoken) */
	char *source;	      /* where they came from, for messages */
};
void sb_reg_creds_release(struct sb_reg_creds *c);

/* The docker config.json key for a registry ("https://index.docker.io/v1/"
 * for Docker Hub names, else host[:port]). New string. */
char *sb_reg_config_key(const char *registry);

/* Looks registry (and registry/repository first) up in the docker
 * config.json text: credHelpers, credsStore, auths. Returns 1 with *creds
 * filled, 2 with *helper set (a credential helper to run), 0 when nothing
 * applies, -1 on a malformed file. */
int sb_reg_config_lookup(const char *json_text, const char *registry, const char *repository,
			 struct sb_reg_creds *creds, char **helper, sb_error_t *err);

/* Credentials for the reference: opts username/password, then
 * APPTAINER_DOCKER_USERNAME/PASSWORD, SINGULARITY_DOCKER_*, then opts->authfile,
 * or $DOCKER_CONFIG/config.json, or ~/.apptainer/docker-config.json then
 * ~/.docker/config.json (credential helpers run as docker-credential-NAME
 * get). 1 found, 0 none, -1 error. */
int sb_reg_creds_lookup(const struct sb_registry_ref *ref, const struct sb_registry_options *opts,
			struct sb_reg_creds *creds, sb_error_t *err);

/* ------------------------------------------------------------ client.c */

struct sb_reg_token {
	char *key; /* realm|service|scope */
	char *token;
	double expires; /* sb_reg_now() based */
	struct sb_reg_token *next;
};

struct sb_reg_session {
	const struct sb_registry_ref *ref;	/* borrowed */
	const struct sb_registry_options *opts; /* borrowed */
	char *base;				/* "https://host[:port]" */
	CURL *easy;				/* single requests (keeps the connection alive) */
	struct sb_reg_creds creds;
	int creds_state; /* 0 not looked up, 1 found, 2 none */
	char *auth;	 /* "Authorization: ..." for the registry host, or NULL */
	char *actions;	 /* "pull" or "pull,push" */
	struct sb_reg_token *tokens;
	int max_retries;
	bool in_token; /* a token request: 401 is final */
};

int sb_reg_session_init(struct sb_reg_session *s, const struct sb_registry_ref *ref,
			const struct sb_registry_options *opts, const char *actions,
			sb_error_t *err);
void sb_reg_session_release(struct sb_reg_session *s);

struct sb_reg_req {
	const char *method; /* GET HEAD PUT POST PATCH */
	const char *url;    /* absolute, or a path starting "/v2/" */
	const char *accept;
	const char *content_type;
	const void *body; /* request body in memory, or */
	int body_fd;	  /* ... read from this fd (when >= 0) */
	int64_t body_off; /* where the body starts in body_fd */
	int64_t body_len;
	const char *header; /* one extra request header, or NULL */
	size_t max_body;    /* response body limit; 0: SB_REG_MAX_MANIFEST */
	const char *what;   /* for messages: "manifest seed/busybox:latest" */
};
#define SB_REG_REQ_INIT                                                                            \
	{                                                                                          \
		.body_fd = -1                                                                      \
	}

struct sb_reg_response {
	long status;
	struct sb_strbuf body;
	char *content_type;
	char *digest; /* Docker-Content-Digest */
	char *location;
	char *challenge; /* WWW-Authenticate */
	char *retry_after;
	char *range;
	int64_t content_length; /* -1 unknown */
	char *url;		/* the URL finally answered */
};
void sb_reg_response_release(struct sb_reg_response *r);

/* One request with auth (401 -> challenge -> token/Basic, once), redirects
 * (credentials only to the registry host) and retries (5xx, 429 with
 * Retry-After, network errors). Any HTTP status is returned in resp; -1
 * only when no answer could be had (resp is then released). */
int sb_reg_request(struct sb_reg_session *s, const struct sb_reg_req *req,
		   struct sb_reg_response *resp, sb_error_t *err);

/* Turns a non-success response into an error naming what and the registry
 * (registry JSON error codes and messages included). Returns -1. */
int sb_reg_http_error(struct sb_reg_session *s, const struct sb_reg_response *r, const char *what,
		      sb_error_t *err);

/* Handles a 401 on a request: obtains credentials for the challenge and
 * sets s->auth. -1 (clear error) when credentials are missing or wrong. */
int sb_reg_authenticate(struct sb_reg_session *s, const char *challenge, sb_error_t *err);

/* "Authorization: ..." applies to url only when it is on the registry host. */
bool sb_reg_same_origin(const struct sb_reg_session *s, const char *url);
/* Absolute URL from a (possibly relative) Location and the request URL. */
char *sb_reg_resolve_url(const char *base_url, const char *location);
/* Common curl options (user agent, timeouts, protocols, CA file). */
void sb_reg_curl_common(const struct sb_reg_session *s, CURL *h);
/* Error for a failed transfer naming the URL and the registry. */
int sb_reg_curl_error(struct sb_reg_session *s, CURLcode rc, const char *url, const char *errbuf,
		      sb_error_t *err);

/* ------------------------------------------------------------ cache.c */

struct sb_reg_store {
	char *root;  /* DIR: blobs/sha256/HEX, tmp/, locks/, refs/ */
	bool shared; /* the cache: lock blobs while downloading */
};

int sb_reg_store_open(struct sb_reg_store *st, const char *root, bool shared, sb_error_t *err);
void sb_reg_store_release(struct sb_reg_store *st);
char *sb_reg_store_path(const struct sb_reg_store *st, const char *digest);
char *sb_reg_store_partial(const struct sb_reg_store *st, const char *digest);
/* True when the verified blob is there with this size (size < 0: any);
 * refreshes its mtime (last use). */
bool sb_reg_store_has(const struct sb_reg_store *st, const char *digest, int64_t size);
/* Takes the download lock of digest: 0 locked (*fd set), 1 held by another
 * process (when !wait), -1 error. */
int sb_reg_store_lock(const struct sb_reg_store *st, const char *digest, bool wait, int *fd,
		      sb_error_t *err);
void sb_reg_store_unlock(int fd);
/* Moves the verified file at tmp into the store under digest (read-only). */
int sb_reg_store_commit(const struct sb_reg_store *st, const char *digest, const char *tmp,
			sb_error_t *err);
/* Verifies data against digest and stores it. */
int sb_reg_store_put(const struct sb_reg_store *st, const char *digest, const void *data,
		     size_t len, sb_error_t *err);
/* Tag mapping for offline use: key -> manifest digest. */
int sb_reg_store_ref_set(const struct sb_reg_store *st, const char *key, const char *digest);
char *sb_reg_store_ref_get(const struct sb_reg_store *st, const char *key);

/* ------------------------------------------------------------ fetch.c */

struct sb_reg_blob_req {
	const char *digest;
	int64_t size;
	const char *label; /* short name for progress ("layer 1/3") */
};

/* Downloads the blobs not yet in the store, max_connections at a time,
 * verifying each while it streams; resumes partial downloads. */
int sb_reg_fetch_blobs(struct sb_reg_session *s, struct sb_reg_store *st,
		       const struct sb_reg_blob_req *reqs, size_t n, sb_error_t *err);

/* ------------------------------------------------------------ progress.c */

struct sb_reg_progress;
struct sb_reg_progress *sb_reg_progress_new(const struct sb_registry_options *opts);
/* Adds a bar; returns its index. */
size_t sb_reg_progress_add(struct sb_reg_progress *p, const char *label, const char *digest,
			   int64_t total);
void sb_reg_progress_set(struct sb_reg_progress *p, size_t i, int64_t done, const char *state);
/* Emits output when due (force: now). */
void sb_reg_progress_tick(struct sb_reg_progress *p, bool force);
void sb_reg_progress_free(struct sb_reg_progress *p);
/* Human size "12.3 MiB" into buf. */
void sb_reg_human_size(int64_t n, char *buf, size_t len);

#endif
