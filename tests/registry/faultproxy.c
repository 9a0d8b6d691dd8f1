/* tests/registry/faultproxy.c: a small fault-injecting HTTP proxy for the
 * registry tests, on 127.0.0.1 only.
 *
 *   faultproxy --upstream PORT --port-file FILE [--log FILE]
 *              [--retry-after SECS] [--rule MATCH:ACTION:COUNT]...
 *   faultproxy --free-port        prints a free 127.0.0.1 port and exits
 *
 * Serves one connection at a time, one request per connection (answers
 * carry "Connection: close"). A request whose path contains MATCH is hit by
 * the first rule with COUNT left: ACTION is an HTTP status (429, 500, 503:
 * answered here, with Retry-After when given), cut=N (relayed, but the
 * connection is closed after N bytes of the response body) or stall=N (N
 * bytes relayed, then nothing until the client goes away, at most 30 s: for
 * killing a client mid-transfer). Other requests
 * are relayed to 127.0.0.1:PORT unchanged. Each request is logged as
 * "MILLISECONDS METHOD PATH RANGE ACTION". Exits on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 16
#define HEAD_MAX 65536

struct rule {
	char match[256];
	int status; /* or 0 */
	long cut;   /* bytes of body, or -1 */
	bool stall; /* after cut bytes, wait for the client to close */
	int count;
};

static struct rule rules[MAX_RULES];
static int n_rules;
static int retry_after = -1;
static int upstream_port;
static FILE *log_file;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int listen_on(int port, int *bound)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("faultproxy: bind");
		exit(1);
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

static int connect_upstream(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until "\r\n\r\n"; returns the head length, the buffer may hold more. */
static ssize_t read_head(int fd, char *buf, size_t cap, size_t *have)
{
	*have = 0;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		ssize_t n = read(fd, buf + *have, cap - 1 - *have);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
		buf[*have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end != NULL)
			return end - buf + 4;
		if (*have >= cap - 1)
			return -1;
	}
}

/* Value of header name in head (copied into out), or "" when absent. */
static void header(const char *head, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	size_t k = strlen(name);
	for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, name, k) == 0 && l[2 + k] == ':') {
			const char *v = l + 3 + k;
			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)strcspn(v, "\r"), v);
			return;
		}
	}
}

/* Rewrites head with "Connection: close" instead of any Connection header. */
static size_t close_head(const char *head, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	const char *line = head, *end = head + len - 2; /* before the final CRLF */
	while (line < end) {
		const char *eol = strstr(line, "\r\n");
		size_t n = (size_t)(eol - line) + 2;
		if (strncasecmp(line, "Connection:", 11) != 0 &&
		    strncasecmp(line, "Keep-Alive:", 11) != 0 && o + n < cap) {
			memcpy(out + o, line, n);
			o += n;
		}
		line = eol + 2;
	}
	o += (size_t)snprintf(out + o, cap - o, "Connection: close\r\n\r\n");
	return o;
}

static struct rule *match_rule(const char *path)
{
	for (int i = 0; i < n_rules; i++)
		if (rules[i].count > 0 && strstr(path, rules[i].match) != NULL) {
			rules[i].count--;
			return &rules[i];
		}
	return NULL;
}

static void answer_status(int c, int status)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d Injected\r\n", status);
	if (retry_after >= 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "Retry-After: %d\r\n", retry_after);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		      "Content-Length: 0\r\nConnection: close\r\n\r\n");
	write_all(c, buf, (size_t)n);
}

/* Waits (at most 30 s) until the client closes its end. */
static void wait_client_gone(int c)
{
	char b[512];
	for (int i = 0; i < 300; i++) {
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 100) > 0 && read(c, b, sizeof(b)) <= 0)
			return;
	}
}

/* Relays the upstream response to c; with cut >= 0, stops after cut body
 * bytes (and with stall, then waits for the client to leave). */
static void relay_response(int u, int c, long cut, bool stall)
{
	static char buf[HEAD_MAX], out[HEAD_MAX + 64];
	size_t have = 0;
	ssize_t hl = read_head(u, buf, sizeof(buf), &have);
	if (hl < 0)
		return;
	size_t ol = close_head(buf, (size_t)hl, out, sizeof(out));
	if (write_all(c, out, ol) < 0)
		return;
	long sent = 0;
	size_t extra = have - (size_t)hl;
	char *p = buf + hl;
	for (;;) {
		size_t n = extra;
		if (cut >= 0 && sent + (long)n > cut)
			n = (size_t)(cut - sent);
		if (n > 0 && write_all(c, p, n) < 0)
			return;
		sent += (long)n;
		if (cut >= 0 && sent >= cut) {
			if (stall)
				wait_client_gone(c);
			return;
		}
		ssize_t r = read(u, buf, sizeof(buf));
		if (r <= 0)
			return;
		p = buf;
		extra = (size_t)r;
	}
}

static void serve(int c, double t0)
{
	static char buf[HEAD_MAX], out[HEAD_MAX + 64];
	size_t have = 0;
	ssize_t hl = read_head(c, buf, sizeof(buf), &have);
	if (hl < 0)
		return;
	char method[16] = "", path[2048] = "", range[128], clen[32];
	sscanf(buf, "%15s %2047s", method, path);
	header(buf, "Range", range, sizeof(range));
	header(buf, "Content-Length", clen, sizeof(clen));
	struct rule *r = match_rule(path);
	char action[64] = "pass";
	if (r != NULL && r->status)
		snprintf(action, sizeof(action), "%d", r->status);
	else if (r != NULL)
		snprintf(action, sizeof(action), "%s=%ld", r->stall ? "stall" : "cut", r->cut);
	if (log_file != NULL) {
		fprintf(log_file, "%.0f %s %s %s %s\n", now_ms() - t0, method, path,
			range[0] ? range : "-", action);
		fflush(log_file);
	}
	if (r != NULL && r->status) {
		answer_status(c, r->status);
		return;
	}
	int u = connect_upstream();
	if (u < 0)
		return;
	size_t ol = close_head(buf, (size_t)hl, out, sizeof(out));
	long body = clen[0] ? atol(clen) : 0;
	long got = (long)(have - (size_t)hl);
	if (write_all(u, out, ol) == 0 && write_all(u, buf + hl, have - (size_t)hl) == 0) {
		while (got < body) { /* request body (uploads) */
			ssize_t n = read(c, buf, sizeof(buf));
			if (n <= 0 || write_all(u, buf, (size_t)n) < 0)
				break;
			got += n;
		}
		shutdown(u, SHUT_WR);
		relay_response(u, c, r ? r->cut : -1, r && r->stall);
	}
	close(u);
}

static int parse_rule(const char *spec)
{
	if (n_rules == MAX_RULES)
		return -1;
	struct rule *r = &rules[n_rules];
	char action[64];
	if (sscanf(spec, "%255[^:]:%63[^:]:%d", r->match, action, &r->count) != 3)
		return -1;
	r->cut = -1;
	if (strncmp(action, "cut=", 4) == 0)
		r->cut = atol(action + 4);
	else if (strncmp(action, "stall=", 6) == 0)
		r->cut = atol(action + 6), r->stall = true;
	else
		r->status = atoi(action);
	n_rules++;
	return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--free-port") == 0) {
			int p;
			close(listen_on(0, &p));
			printf("%d\n", p);
			return 0;
		} else if (v && strcmp(a, "--upstream") == 0)
			upstream_port = atoi(v), i++;
		else if (v && strcmp(a, "--port-file") == 0)
			port_file = v, i++;
		else if (v && strcmp(a, "--log") == 0)
			log_file = fopen(v, "a"), i++;
		else if (v && strcmp(a, "--retry-after") == 0)
			retry_after = atoi(v), i++;
		else if (v && strcmp(a, "--rule") == 0 && parse_rule(v) == 0)
			i++;
		else {
			fprintf(stderr, "faultproxy: bad argument '%s'\n", a);
			return 2;
		}
	}
	if (upstream_port <= 0 || port_file == NULL) {
		fprintf(stderr, "usage: faultproxy --upstream PORT --port-file FILE [...]\n");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int port;
	int lfd = listen_on(0, &port);
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	FILE *pf = fopen(tmp, "w");
	if (pf == NULL || fprintf(pf, "%d\n", port) < 0 || fclose(pf) != 0 ||
	    rename(tmp, port_file) < 0)
		return 1;
	double t0 = now_ms();
	while (!stop) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(c, t0);
		shutdown(c, SHUT_WR);
		close(c);
	}
	return 0;
}
