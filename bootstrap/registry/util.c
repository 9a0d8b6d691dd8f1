/* bootstrap/registry/util.c: digests, base64, time and retry helpers. */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <time.h>

#include "bootstrap/registry/internal.h"
#include "common/cleanup.h"

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return s[n] == '\0';
}

int sb_reg_digest_check(const char *digest, sb_error_t *err)
{
	if (digest == NULL)
		return sb_error_set_status(err, 2, 0, "missing digest");
	if (strncmp(digest, "sha256:", 7) == 0) {
		if (strlen(digest) == 7 + 64 && is_lower_hex(digest + 7, 64))
			return 0;
		return sb_error_set_status(err, 2, 0, "invalid sha256 digest '%s'", digest);
	}
	if (strncmp(digest, "sha512:", 7) == 0)
		return sb_error_set_status(err, 2, 0, "digest '%.20s...': sha512 is not supported",
					   digest);
	return sb_error_set_status(err, 2, 0, "digest '%s': unknown algorithm", digest);
}

char *sb_reg_sha256_digest(const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	char *out = sb_xmalloc(7 + 64 + 1);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return out;
}

int sb_reg_verify_bytes(const void *data, size_t len, const char *digest, const char *what,
			sb_error_t *err)
{
	cleanup_free char *got = sb_reg_sha256_digest(data, len);
	if (strcmp(got, digest) != 0)
		return sb_error_set(err, 0, "%s: digest mismatch: expected %s, got %s", what,
				    digest, got);
	return 0;
}

char *sb_reg_base64(const void *data, size_t len)
{
	char *out = sb_xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *sb_reg_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	cleanup_free char *padded = sb_xmalloc(n + 4);
	memcpy(padded, s, n);
	while (n % 4 != 0)
		padded[n++] = '=';
	padded[n] = '\0';
	char *out = sb_xmalloc(n / 4 * 3 + 1);
	int got = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)padded, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding bytes as output: drop them. */
	for (size_t i = n; i > 0 && padded[i - 1] == '='; i--)
		got--;
	out[got] = '\0';
	if (len != NULL)
		*len = (size_t)got;
	return out;
}

double sb_reg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sb_reg_sleep(double seconds)
{
	if (seconds <= 0)
		return;
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double sb_reg_retry_after(const char *value)
{
	if (value == NULL || *value == '\0')
		return -1;
	char *end = NULL;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno == 0 && end != value && *end == '\0' && v >= 0)
		return (double)v;
	time_t t = curl_getdate(value, NULL);
	if (t < 0)
		return -1;
	double d = difftime(t, time(NULL));
	return d < 0 ? 0 : d;
}

double sb_reg_backoff(int attempt)
{
	double d = 0.2;
	for (int i = 1; i < attempt && d < 10; i++)
		d *= 2;
	return d > 10 ? 10 : d;
}
