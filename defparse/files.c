/* defparse/files.c: %files and %labels bodies.
 *
 * A %files line is cut into tokens the way Apptainer's regular expression
 *   ([^\s"']*{{\s*\w+\s*}}*[^\s{}"']*)+|([^\s"']+|"([^"]*)"|'([^']*))
 * cuts it (leftmost-first, as Go's regexp): the first token is the source, the
 * second the destination. The matcher below is written for that one pattern.
 */
#include <string.h>

#include "defparse/internal.h"


/* [^\s"'] */
static bool x_char(char c)
{
	return !dp_re_space(c) && c != '"' && c != '\'';
}

/* [^\s{}"'] */
static bool y_char(char c)
{
	return x_char(c) && c != '{' && c != '}';
}

/* One iteration of the first alternative, [^\s"']*{{\s*\w+\s*}}*[^\s{}"']*,
 * at p. Returns the end of the preferred match or (size_t)-1. */
static size_t match_template_piece(const char *s, size_t n, size_t p)
{
	size_t q = p;
	while (q < n && x_char(s[q]))
		q++;
	/* X* is greedy: try the longest prefix first, then shorter ones. */
	for (size_t k = q + 1; k-- > p;) {
		if (k + 1 >= n || s[k] != '{' || s[k + 1] != '{')
			continue;
		size_t j = k + 2;
		while (j < n && dp_re_space(s[j]))
			j++;
		size_t w = j;
		while (j < n && dp_re_word(s[j]))
			j++;
		if (j == w)
			continue;
		while (j < n && dp_re_space(s[j]))
			j++;
		if (j >= n || s[j] != '}')
			continue;
		j++;
		while (j < n && s[j] == '}')
			j++;
		while (j < n && y_char(s[j]))
			j++;
		return j;
	}
	return (size_t)-1;
}

/* The whole pattern at p: end of the match or (size_t)-1. */
static size_t match_at(const char *s, size_t n, size_t p)
{
	size_t e = match_template_piece(s, n, p);
	if (e != (size_t)-1) {
		size_t e2;
		while (e < n && (e2 = match_template_piece(s, n, e)) != (size_t)-1)
			e = e2;
		return e;
	}
	if (x_char(s[p])) {
		size_t q = p;
		while (q < n && x_char(s[q]))
			q++;
		return q;
	}
	if (s[p] == '"') {
		const char *close = memchr(s + p + 1, '"', n - p - 1);
		if (close)
			return (size_t)(close - s) + 1;
	}
	if (s[p] == '\'') {
		size_t q = p + 1;
		while (q < n && s[q] != '\'')
			q++;
		return q;
	}
	return (size_t)-1;
}

/* Trim Go white space, then every leading and trailing '"'. */
static char *clean_token(const char *s, size_t n)
{
	size_t l;
	const char *t = dp_trim(s, n, &l);
	while (l > 0 && t[0] == '"') {
		t++;
		l--;
	}
	while (l > 0 && t[l - 1] == '"')
		l--;
	return sb_strndup(t, l);
}

int dp_files_line(const char *line, size_t n, char **src, char **dst)
{
	size_t found = 0, p = 0;
	*src = *dst = NULL;
	while (p < n && found < 2) {
		size_t e = match_at(line, n, p);
		if (e == (size_t)-1) {
			p++;
			continue;
		}
		if (found == 0)
			*src = clean_token(line + p, e - p);
		else
			*dst = clean_token(line + p, e - p);
		found++;
		p = e;
	}
	if (found == 0)
		return -1;
	if (found == 1)
		*dst = sb_strdup("");
	return 0;
}

/* Calls fn for every trimmed line of body that is neither empty nor a comment.
 * first_line is the original line of the body's first line. */
void dp_each_content_line(const char *body, const int *lines, size_t nlines, int first_line,
			  void (*fn)(void *ctx, const char *line, size_t n, int lineno), void *ctx)
{
	const char *p = body;
	size_t k = 0;
	while (*p || p == body) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		size_t tl;
		const char *t = dp_trim(p, l, &tl);
		int lineno = (lines && k < nlines) ? lines[k] : first_line + (int)k;
		if (tl > 0 && t[0] != '#')
			fn(ctx, t, tl, lineno);
		if (!nl)
			break;
		p = nl + 1;
		k++;
	}
}
