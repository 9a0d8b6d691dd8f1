/* defparse/internal.h: shared by the files of defparse/ only. */
#ifndef SB_DEFPARSE_INTERNAL_H
#define SB_DEFPARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "defparse/defparse.h"

/* ---- lexer.c: Go-compatible text helpers and the section scanner ---- */

/* Byte length of the Unicode white-space rune (Go's unicode.IsSpace) at s, 0 if none. */
size_t dp_space_len(const char *s, size_t n);
/* Trims Go white space on both sides: returns a pointer into s and the new length. */
const char *dp_trim(const char *s, size_t n, size_t *out_len);
char *dp_trim_dup(const char *s, size_t n);
void dp_ascii_lower(char *s);

/* One token of the scanner: the header area or one section. Its text has every
 * line terminated by '\n' (one trailing '\r' per line dropped). */
struct dp_token {
	char *text;
	size_t len;
	int line;   /* 1-based line (within the scanned text) of its first line */
	int nlines; /* number of lines */
	bool is_section;
};
struct dp_tokens {
	struct dp_token *v;
	size_t n;
};
void dp_scan(const char *buf, size_t len, struct dp_tokens *out);
void dp_tokens_free(struct dp_tokens *t);

/* ---- parse.c: one stage (Apptainer's ParseDefinitionFile) ---- */

/* Maps a line of the text being parsed to a line of the original file. */
struct dp_linemap {
	const int *map; /* map[i] = original line of text line i+1; NULL: identity + offset */
	size_t n;
	int offset;
};
int dp_line(const struct dp_linemap *lm, int line);

enum dp_parse_status { DP_OK = 0, DP_EMPTY = 1, DP_ERROR = -1 };
/* Parses one stage's text into st. DP_EMPTY means "empty definition file"
 * (st is then cleared); DP_ERROR sets *err with "path:line: ...". */
enum dp_parse_status dp_parse_stage(const char *path, const char *buf, size_t len,
				    const struct dp_linemap *lm, struct defparse_stage *st,
				    sb_error_t *err);
void dp_stage_clear(struct defparse_stage *st);

/* %labels body into ordered key/values (Apptainer's GetLabels). */
void dp_parse_labels(const char *body, const int *lines, size_t nlines,
		     struct defparse_kv **out, size_t *n);

/* ---- template.c ---- */
struct dp_template_ctx {
	const struct defparse_buildargs *args; /* may be NULL */
	const struct defparse_kv *defaults;    /* this stage's %arguments */
	size_t n_defaults;
	bool allow_undefined;
	/* outputs, accumulated over stages */
	char **consumed;
	size_t n_consumed;
	struct defparse_kv *undefined;
	size_t n_undefined;
};
/* Applies {{ var }} substitution to text. Returns the new text and a line map
 * (out_map[i] = line in `text` of output line i+1, 1-based). On an undefined
 * variable (and !allow_undefined) returns NULL with *bad_name / *bad_line set. */
char *dp_template(struct dp_template_ctx *ctx, const char *text, size_t len, size_t *out_len,
		  int **out_map, size_t *out_nmap, char **bad_name, int *bad_line);
/* KEY=VALUE as Apptainer's getKeyVal: returns 0, or -1 with a message in *why. */
int dp_keyval(const char *text, char **key, char **val, char **why);

/* ---- small vectors ---- */
void dp_kv_set(struct defparse_kv **v, size_t *n, const char *key, const char *value, int line);
void dp_kv_free(struct defparse_kv *v, size_t n);
void dp_diag_add(struct defparse_diag **v, size_t *n, int line, char *msg_taken);



/* Go regexp (RE2) classes: \s is [\t\n\f\r ], \w is [0-9A-Za-z_]. */
static inline bool dp_re_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static inline bool dp_re_word(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* ---- files.c ---- */
/* Source and destination of one %files line (malloc'd). -1 when the line has
 * no token at all. */
int dp_files_line(const char *line, size_t n, char **src, char **dst);
void dp_each_content_line(const char *body, const int *lines, size_t nlines, int first_line,
			  void (*fn)(void *ctx, const char *line, size_t n, int lineno), void *ctx);
#endif
