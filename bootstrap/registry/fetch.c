/* bootstrap/registry/fetch.c: parallel blob downloads (libcurl multi).
 *
 * Each blob streams into STORE/tmp/HEX.partial while its sha256 is computed;
 * the body is cut off past the descriptor size. Only when size and digest
 * match is the file renamed into blobs/. Interrupted transfers resume with
 * Range (the kept prefix is hashed again first); 5xx/429 and network errors
 * are retried with backoff (Retry-After honoured); redirects are followed
 * without the Authorization header when they leave the registry's origin.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

enum xstate { X_PENDING, X_WAIT_LOCK, X_ACTIVE, X_RETRY, X_DONE, X_FAILED };

struct xfer {
	const struct sb_reg_blob_req *req;
	enum xstate state;
	int lock_fd, fd;
	char *partial;
	EVP_MD_CTX *md;
	int64_t done;
	int64_t launch_done; /* done when the current request started */
	char *url;
	int attempts, redirects, auth_tries;
	double next_time;
	char *retry_after, *location, *challenge, *content_range;
	bool body_started, overflow, io_error;
	struct sb_strbuf errbody;
	CURL *h;
	struct curl_slist *hdrs;
	size_t bar;
	char errbuf[CURL_ERROR_SIZE];
};

struct fetch {
	struct sb_reg_session *s;
	struct sb_reg_store *st;
	CURLM *multi;
	struct xfer *x;
	size_t n, active;
	int max_active;
	struct sb_reg_progress *progress;
	sb_error_t err;
};

/* ------------------------------------------------------------ partial files */

static void reset_partial(struct xfer *x)
{
	if (ftruncate(x->fd, 0) < 0)
		x->io_error = true;
	EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
	x->done = 0;
}

/* Opens the partial file and hashes what an earlier attempt left there. */
static int open_partial(struct fetch *f, struct xfer *x, sb_error_t *err)
{
	x->partial = sb_reg_store_partial(f->st, x->req->digest);
	x->fd = open(x->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (x->fd < 0)
		return sb_error_set(err, errno, "creating %s", x->partial);
	x->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
	struct stat sb;
	if (fstat(x->fd, &sb) < 0 || sb.st_size > x->req->size) {
		reset_partial(x);
		return 0;
	}
	char buf[65536];
	int64_t off = 0;
	while (off < sb.st_size) {
		ssize_t n = pread(x->fd, buf, sizeof(buf), off);
		if (n <= 0)
			break;
		EVP_DigestUpdate(x->md, buf, (size_t)n);
		off += n;
	}
	if (off != sb.st_size)
		reset_partial(x);
	else
		x->done = off;
	return 0;
}

static void close_xfer(struct xfer *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	sb_reg_store_unlock(x->lock_fd);
	x->lock_fd = -1;
	if (x->md != NULL)
		EVP_MD_CTX_free(x->md);
	x->md = NULL;
}

/* Size and digest matched: into the store. Otherwise the partial goes. */
static int finish_blob(struct fetch *f, struct xfer *x, sb_error_t *err)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(x->md, md, &mdlen);
	char got[7 + 65] = "sha256:";
	for (unsigned i = 0; i < 32; i++)
		snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
	if (strcmp(got, x->req->digest) != 0) {
		unlink(x->partial);
		return sb_error_set(err, 0,
				    "blob %s from registry %s: digest mismatch (got %s); "
				    "the download was discarded",
				    x->req->digest, f->s->ref->registry, got);
	}
	if (close(x->fd) < 0) {
		x->fd = -1;
		return sb_error_set(err, errno, "writing %s", x->partial);
	}
	x->fd = -1;
	return sb_reg_store_commit(f->st, x->req->digest, x->partial, err);
}

/* ------------------------------------------------------------ curl callbacks */

static bool body_status_ok(struct xfer *x)
{
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	return status == 200 || status == 206;
}

/* First body byte of a 200/206: decide whether the kept prefix still counts. */
static void start_body(struct xfer *x)
{
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	x->body_started = true;
	if (status == 200 && x->done > 0) {
		reset_partial(x); /* Range ignored: whole blob again */
		return;
	}
	if (status == 206) {
		long long start = -1;
		if (x->content_range == NULL ||
		    sscanf(x->content_range, "bytes %lld-", &start) != 1 || start != x->done)
			x->io_error = true; /* an unexpected range: retry from scratch */
	}
}

static size_t xfer_write(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	if (!body_status_ok(x)) {
		if (x->errbody.len < 4096)
			sb_strbuf_add(&x->errbody, ptr, n);
		return n;
	}
	if (!x->body_started)
		start_body(x);
	if (x->io_error)
		return 0;
	if (x->done + (int64_t)n > x->req->size) {
		x->overflow = true;
		return 0;
	}
	if (pwrite(x->fd, ptr, n, x->done) != (ssize_t)n) {
		x->io_error = true;
		return 0;
	}
	EVP_DigestUpdate(x->md, ptr, n);
	x->done += (int64_t)n;
	return n;
}

static char *hdr_val(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return sb_strndup(v, (size_t)(end - v));
}

static void keep(char **slot, char *v)
{
	if (v == NULL)
		return;
	free(*slot);
	*slot = v;
}

static size_t xfer_header(char *line, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	keep(&x->retry_after, hdr_val(line, n, "Retry-After"));
	keep(&x->location, hdr_val(line, n, "Location"));
	keep(&x->challenge, hdr_val(line, n, "WWW-Authenticate"));
	keep(&x->content_range, hdr_val(line, n, "Content-Range"));
	return n;
}

/* ------------------------------------------------------------ launching */

static void clear_response(struct xfer *x)
{
	free(x->retry_after), x->retry_after = NULL;
	free(x->location), x->location = NULL;
	free(x->challenge), x->challenge = NULL;
	free(x->content_range), x->content_range = NULL;
	sb_strbuf_release(&x->errbody);
	x->body_started = x->overflow = x->io_error = false;
}

static void launch(struct fetch *f, struct xfer *x)
{
	clear_response(x);
	if (x->url == NULL)
		x->url = sb_asprintf("%s/v2/%s/blobs/%s", f->s->base, f->s->ref->repository,
				     x->req->digest);
	if (x->h == NULL)
		x->h = curl_easy_init();
	curl_easy_reset(x->h);
	sb_reg_curl_common(f->s, x->h);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (f->s->auth != NULL && sb_reg_same_origin(f->s, x->url))
		x->hdrs = curl_slist_append(x->hdrs, f->s->auth);
	char range[64];
	if (x->done > 0) {
		snprintf(range, sizeof(range), "Range: bytes=%lld-", (long long)x->done);
		x->hdrs = curl_slist_append(x->hdrs, range);
	}
	curl_easy_setopt(x->h, CURLOPT_URL, x->url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, xfer_header);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	x->errbuf[0] = '\0';
	curl_multi_add_handle(f->multi, x->h);
	x->launch_done = x->done;
	x->state = X_ACTIVE;
	f->active++;
	sb_reg_progress_set(f->progress, x->bar, x->done, "downloading");
}

/* Tries to take the blob: done if cached, waits if another process has it. */
static int try_start(struct fetch *f, struct xfer *x)
{
	if (sb_reg_store_has(f->st, x->req->digest, x->req->size)) {
		x->state = X_DONE;
		sb_reg_progress_set(f->progress, x->bar, x->req->size, "cached");
		return 0;
	}
	int rc = sb_reg_store_lock(f->st, x->req->digest, false, &x->lock_fd, &f->err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		x->state = X_WAIT_LOCK;
		x->next_time = sb_reg_now() + 0.2;
		sb_reg_progress_set(f->progress, x->bar, 0, "waiting for another download");
		return 0;
	}
	if (sb_reg_store_has(f->st, x->req->digest, x->req->size)) {
		sb_reg_store_unlock(x->lock_fd);
		x->lock_fd = -1;
		x->state = X_DONE;
		sb_reg_progress_set(f->progress, x->bar, x->req->size, "cached");
		return 0;
	}
	if (open_partial(f, x, &f->err) < 0)
		return -1;
	launch(f, x);
	return 0;
}

/* A retry starts again at the registry (a redirect target may be a signed
 * URL that expired), and a transfer that made progress gets its full
 * number of attempts again. */
static void schedule_retry(struct fetch *f, struct xfer *x, double wait, const char *why)
{
	sb_reg_warn(f->s->opts, "blob %.19s from registry %s: %s; retry %d of %d in %.1f s",
		    x->req->digest, f->s->ref->registry, why, x->attempts, f->s->max_retries, wait);
	free(x->url);
	x->url = NULL;
	x->redirects = 0;
	x->state = X_RETRY;
	x->next_time = sb_reg_now() + wait;
	sb_reg_progress_set(f->progress, x->bar, x->done, "retrying");
}

static bool retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Network-level failure of a transfer. */
static int on_curl_error(struct fetch *f, struct xfer *x, CURLcode rc)
{
	if (x->overflow) {
		unlink(x->partial);
		return sb_error_set(&f->err, 0,
				    "blob %s from registry %s: more than %lld bytes sent",
				    x->req->digest, f->s->ref->registry, (long long)x->req->size);
	}
	if (rc == CURLE_WRITE_ERROR && x->io_error && x->body_started)
		reset_partial(x); /* unexpected range: start over */
	if (x->done > x->launch_done)
		x->attempts = 0;
	if (x->attempts++ < f->s->max_retries) {
		schedule_retry(f, x, sb_reg_backoff(x->attempts),
			       *x->errbuf ? x->errbuf : curl_easy_strerror(rc));
		return 0;
	}
	sb_reg_curl_error(f->s, rc, x->url, x->errbuf, &f->err);
	return sb_error_wrap(&f->err, "blob %s", x->req->digest);
}

static int on_http_status(struct fetch *f, struct xfer *x, long status)
{
	bool mine = sb_reg_same_origin(f->s, x->url);
	if (status >= 300 && status < 400 && x->location && x->redirects++ < 5) {
		char *next = sb_reg_resolve_url(x->url, x->location);
		free(x->url);
		x->url = next;
		launch(f, x);
		return 0;
	}
	if (status == 401 && mine && x->auth_tries++ == 0 && x->challenge) {
		if (sb_reg_authenticate(f->s, x->challenge, &f->err) < 0)
			return -1;
		launch(f, x);
		return 0;
	}
	if (status == 416 && x->done > 0) {
		reset_partial(x);
		launch(f, x);
		return 0;
	}
	if (retryable(status) && x->attempts++ < f->s->max_retries) {
		double wait = sb_reg_retry_after(x->retry_after);
		char why[32];
		snprintf(why, sizeof(why), "HTTP %ld", status);
		schedule_retry(f, x,
			       wait >= 0 ? (wait > 120 ? 120 : wait) : sb_reg_backoff(x->attempts),
			       why);
		return 0;
	}
	struct sb_reg_response r = {.status = status, .body = x->errbody};
	cleanup_free char *what =
		sb_asprintf("blob %s of %s", x->req->digest, f->s->ref->repository);
	return sb_reg_http_error(f->s, &r, what, &f->err);
}

static int on_done(struct fetch *f, struct xfer *x, CURLcode rc)
{
	curl_multi_remove_handle(f->multi, x->h);
	f->active--;
	if (rc != CURLE_OK)
		return on_curl_error(f, x, rc);
	long status = 0;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 206)
		return on_http_status(f, x, status);
	if (x->done < x->req->size) { /* short body: resume */
		if (x->attempts++ < f->s->max_retries) {
			schedule_retry(f, x, sb_reg_backoff(x->attempts), "short body");
			return 0;
		}
		return sb_error_set(&f->err, 0, "blob %s from registry %s: only %lld of %lld bytes",
				    x->req->digest, f->s->ref->registry, (long long)x->done,
				    (long long)x->req->size);
	}
	if (finish_blob(f, x, &f->err) < 0)
		return -1;
	close_xfer(x);
	x->state = X_DONE;
	sb_reg_progress_set(f->progress, x->bar, x->done, "done");
	return 0;
}

/* ------------------------------------------------------------ the loop */

static int start_more(struct fetch *f)
{
	double now = sb_reg_now();
	for (size_t i = 0; i < f->n && (int)f->active < f->max_active; i++) {
		struct xfer *x = &f->x[i];
		if (x->state == X_PENDING || (x->state == X_WAIT_LOCK && x->next_time <= now)) {
			if (try_start(f, x) < 0)
				return -1;
		} else if (x->state == X_RETRY && x->next_time <= now) {
			launch(f, x);
		}
	}
	return 0;
}

static bool all_done(const struct fetch *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->x[i].state != X_DONE)
			return false;
	return true;
}

static int read_messages(struct fetch *f)
{
	CURLMsg *msg;
	int left = 0;
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (on_done(f, x, msg->data.result) < 0) {
			x->state = X_FAILED;
			return -1;
		}
	}
	return 0;
}

static void update_progress(struct fetch *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->x[i].state == X_ACTIVE)
			sb_reg_progress_set(f->progress, f->x[i].bar, f->x[i].done, NULL);
	sb_reg_progress_tick(f->progress, false);
}

static int run(struct fetch *f)
{
	while (!all_done(f)) {
		if (start_more(f) < 0)
			return -1;
		int running = 0;
		CURLMcode mc = curl_multi_perform(f->multi, &running);
		if (mc != CURLM_OK)
			return sb_error_set(&f->err, 0, "curl: %s", curl_multi_strerror(mc));
		if (read_messages(f) < 0)
			return -1;
		update_progress(f);
		if (f->active > 0)
			curl_multi_poll(f->multi, NULL, 0, 100, NULL);
		else if (!all_done(f))
			sb_reg_sleep(0.05);
	}
	return 0;
}

static void cleanup_fetch(struct fetch *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct xfer *x = &f->x[i];
		if (x->h != NULL) {
			if (x->state == X_ACTIVE)
				curl_multi_remove_handle(f->multi, x->h);
			curl_easy_cleanup(x->h);
		}
		curl_slist_free_all(x->hdrs);
		close_xfer(x); /* an interrupted partial stays for resume */
		clear_response(x);
		free(x->partial);
		free(x->url);
	}
	free(f->x);
	curl_multi_cleanup(f->multi);
}

int sb_reg_fetch_blobs(struct sb_reg_session *s, struct sb_reg_store *st,
		       const struct sb_reg_blob_req *reqs, size_t n, sb_error_t *err)
{
	struct fetch f = {.s = s, .st = st, .n = n};
	f.multi = curl_multi_init();
	f.max_active = s->opts->max_connections > 0 ? s->opts->max_connections : 4;
	curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)f.max_active);
	f.x = sb_xcalloc(n ? n : 1, sizeof(*f.x));
	f.progress = sb_reg_progress_new(s->opts);
	f.n = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* A blob listed twice (repeated empty layers) is fetched once. */
		size_t k = 0;
		while (k < f.n && strcmp(f.x[k].req->digest, reqs[i].digest) != 0)
			k++;
		if (k < f.n) {
			if (f.x[k].req->size != reqs[i].size)
				rc = sb_error_set(&f.err, 0, "blob %s is listed with two sizes",
						  reqs[i].digest);
			continue;
		}
		struct xfer *x = &f.x[f.n++];
		x->req = &reqs[i];
		x->fd = x->lock_fd = -1;
		x->bar = sb_reg_progress_add(f.progress, reqs[i].label, reqs[i].digest,
					     reqs[i].size);
	}
	if (rc == 0)
		rc = run(&f);
	sb_reg_progress_tick(f.progress, true);
	sb_reg_progress_free(f.progress);
	cleanup_fetch(&f);
	if (rc < 0) {
		if (err != NULL && *err == NULL)
			*err = f.err;
		else
			sb_error_free(&f.err);
		return -1;
	}
	return 0;
}
