/* bootstrap/registry/progress.c: download progress for the CLI's sink.
 *
 * On a terminal: one bar per blob (bytes, rate, ETA) and a total line,
 * redrawn in place at most five times a second. Otherwise: a line when a
 * blob finishes and a total line every two seconds, so a log never stays
 * silent for long while bytes move.
 */
#include <stdio.h>
#include <string.h>

#include "bootstrap/registry/internal.h"

struct bar {
	char *label;
	char digest[20];
	int64_t total, done;
	const char *state;
	bool reported; /* plain mode: its final line was printed */
	double t0;     /* when its download started (0: not yet) */
	int64_t b0;    /* bytes it had then (a resumed partial) */
};

struct sb_reg_progress {
	sb_registry_sink_fn sink;
	void *data;
	bool tty;
	struct bar *bars;
	size_t n, cap;
	double start, last;
	int64_t start_bytes; /* bytes already there when downloads began */
	int drawn;	     /* lines drawn last time (tty) */
};

void sb_reg_human_size(int64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

struct sb_reg_progress *sb_reg_progress_new(const struct sb_registry_options *opts)
{
	struct sb_reg_progress *p = sb_xcalloc(1, sizeof(*p));
	p->sink = opts->progress;
	p->data = opts->progress_data;
	p->tty = opts->progress_tty;
	p->start = p->last = sb_reg_now();
	return p;
}

size_t sb_reg_progress_add(struct sb_reg_progress *p, const char *label, const char *digest,
			   int64_t total)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->bars = sb_xrealloc(p->bars, p->cap * sizeof(*p->bars));
	}
	struct bar *b = &p->bars[p->n];
	memset(b, 0, sizeof(*b));
	b->label = sb_strdup(label ? label : "blob");
	snprintf(b->digest, sizeof(b->digest), "%.19s", digest ? digest : "");
	b->total = total;
	b->state = "queued";
	return p->n++;
}

void sb_reg_progress_set(struct sb_reg_progress *p, size_t i, int64_t done, const char *state)
{
	if (i >= p->n)
		return;
	struct bar *b = &p->bars[i];
	if (state != NULL && strcmp(state, "cached") == 0 && strcmp(b->state, "cached") != 0)
		p->start_bytes += b->total;
	if (state != NULL && strcmp(state, "downloading") == 0 && b->t0 == 0) {
		b->t0 = sb_reg_now();
		b->b0 = done;
	}
	b->done = done;
	if (state != NULL)
		b->state = state;
}

static void totals(const struct sb_reg_progress *p, int64_t *done, int64_t *total, size_t *nd)
{
	*done = *total = 0;
	*nd = 0;
	for (size_t i = 0; i < p->n; i++) {
		*done += p->bars[i].done;
		*total += p->bars[i].total;
		if (strcmp(p->bars[i].state, "done") == 0 ||
		    strcmp(p->bars[i].state, "cached") == 0)
			(*nd)++;
	}
}

/* "12.3 MiB/40.0 MiB 5.1 MiB/s ETA 6s" */
static void rate_text(const struct sb_reg_progress *p, int64_t done, int64_t total, char *buf,
		      size_t len)
{
	char d[32], t[32], r[32];
	double el = sb_reg_now() - p->start;
	double rate = el > 0.05 ? (double)(done - p->start_bytes) / el : 0;
	sb_reg_human_size(done, d, sizeof(d));
	sb_reg_human_size(total, t, sizeof(t));
	sb_reg_human_size((int64_t)rate, r, sizeof(r));
	if (rate > 0 && done < total)
		snprintf(buf, len, "%s / %s  %s/s  ETA %.0fs", d, t, r,
			 (double)(total - done) / rate);
	else
		snprintf(buf, len, "%s / %s  %s/s", d, t, r);
}

/* "  1.2 MiB/s  ETA 3s" for a bar being downloaded, else "". */
static void bar_rate(const struct bar *b, char *buf, size_t len)
{
	buf[0] = '\0';
	double el = b->t0 > 0 ? sb_reg_now() - b->t0 : 0;
	if (strcmp(b->state, "downloading") != 0 || el < 0.2)
		return;
	double rate = (double)(b->done - b->b0) / el;
	char r[32];
	sb_reg_human_size((int64_t)rate, r, sizeof(r));
	if (rate > 0)
		snprintf(buf, len, "  %s/s  ETA %.0fs", r, (double)(b->total - b->done) / rate);
}

static void draw_tty(struct sb_reg_progress *p)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (p->drawn > 0)
		sb_strbuf_addf(&sb, "\033[%dA", p->drawn);
	for (size_t i = 0; i < p->n; i++) {
		struct bar *b = &p->bars[i];
		int width = 30, fill = b->total > 0 ? (int)(b->done * width / b->total) : width;
		char bar[64], d[32], t[32], r[64];
		memset(bar, '=', (size_t)fill);
		memset(bar + fill, ' ', (size_t)(width - fill));
		bar[width] = '\0';
		sb_reg_human_size(b->done, d, sizeof(d));
		sb_reg_human_size(b->total, t, sizeof(t));
		bar_rate(b, r, sizeof(r));
		sb_strbuf_addf(&sb, "\033[2K%-10.10s %s [%s] %s / %s %s%s\n", b->label,
			       b->digest + 7, bar, d, t, b->state, r);
	}
	int64_t done, total;
	size_t nd;
	totals(p, &done, &total, &nd);
	char rt[128];
	rate_text(p, done, total, rt, sizeof(rt));
	sb_strbuf_addf(&sb, "\033[2Ktotal: %zu/%zu blobs  %s\n", nd, p->n, rt);
	p->drawn = (int)p->n + 1;
	p->sink(p->data, sb.buf);
	sb_strbuf_release(&sb);
}

static void draw_plain(struct sb_reg_progress *p, bool periodic)
{
	for (size_t i = 0; i < p->n; i++) {
		struct bar *b = &p->bars[i];
		if (b->reported || strcmp(b->state, "done") != 0)
			continue;
		char t[32], line[160];
		sb_reg_human_size(b->total, t, sizeof(t));
		snprintf(line, sizeof(line), "%s %s: downloaded and verified (%s)\n", b->label,
			 b->digest, t);
		p->sink(p->data, line);
		b->reported = true;
	}
	if (!periodic)
		return;
	int64_t done, total;
	size_t nd;
	totals(p, &done, &total, &nd);
	char rt[128], line[200];
	rate_text(p, done, total, rt, sizeof(rt));
	snprintf(line, sizeof(line), "pulling: %zu/%zu blobs, %s\n", nd, p->n, rt);
	p->sink(p->data, line);
}

void sb_reg_progress_tick(struct sb_reg_progress *p, bool force)
{
	if (p->sink == NULL || p->n == 0)
		return;
	double now = sb_reg_now();
	double every = p->tty ? 0.2 : 2.0;
	bool due = force || now - p->last >= every;
	if (p->tty) {
		if (due)
			draw_tty(p);
	} else {
		draw_plain(p, due);
	}
	if (due)
		p->last = now;
}

void sb_reg_progress_free(struct sb_reg_progress *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->bars[i].label);
	free(p->bars);
	free(p);
}
