/* defparse/defparse.h: definition files (Apptainer's grammar), parsed into stages.
 *
 * The parser follows Apptainer's parser (pkg/build/types/parser) result for
 * result; where Apptainer crashes or silently loses data, it does the right
 * thing instead (docs/deffile.md lists every difference). Every error message
 * is "FILE:LINE: message" (or "FILE: message" when no line applies).
 *
 * Input with a NUL byte is rejected ("FILE:LINE: NUL byte ...").
 *
 * Ownership: every struct returned is owned by the caller and freed with the
 * matching *_free function; strings inside are owned by their struct.
 */
#ifndef SB_DEFPARSE_H
#define SB_DEFPARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* A key/value pair with the 1-based line of the original file it came from
 * (0 when it has no line, e.g. a --build-arg). */
struct defparse_kv {
	char *key;
	char *value;
	int line;
};

/* A script section: args are the text after the first space of the %-line,
 * verbatim; script is the body exactly as Apptainer stores it. */
struct defparse_script {
	char *args;
	char *script;
	int line;      /* line of the first %-line of this section, 0 when absent */
	int *lines;    /* original line of each line of script (n_lines entries) */
	size_t n_lines;
};

enum defparse_script_id {
	DEFPARSE_HELP,
	DEFPARSE_ENVIRONMENT,
	DEFPARSE_RUNSCRIPT,
	DEFPARSE_TEST,
	DEFPARSE_STARTSCRIPT,
	DEFPARSE_PRE,
	DEFPARSE_SETUP,
	DEFPARSE_POST,
	DEFPARSE_ARGUMENTS,
	DEFPARSE_SCRIPT_COUNT
};

/* Section name as written in a definition file ("help", "runscript", ...). */
const char *defparse_script_name(enum defparse_script_id id);

struct defparse_transfer {
	char *src;
	char *dst; /* "" when the line had no destination */
	int line;
};

/* One %files group: all %files sections with byte-identical args, merged. */
struct defparse_files {
	char *args;
	struct defparse_transfer *v;
	size_t n;
	bool has_list; /* false when no line of any merged section named a file */
	int line;
};

/* One occurrence of a section in the file, in file order. */
struct defparse_section {
	char *name; /* key as Apptainer stores it: "post", "appinstall foo", "files" */
	char *args;
	int line;     /* line of the %-line */
	int end_line; /* last line of the body */
};

struct defparse_stage {
	bool has_header;
	struct defparse_kv *header; /* lower-case keys, first-appearance order, last value wins */
	size_t n_header;
	struct defparse_kv *labels; /* %labels, first-appearance order, last value wins */
	size_t n_labels;
	struct defparse_script scripts[DEFPARSE_SCRIPT_COUNT];
	struct defparse_files *files;
	size_t n_files;
	struct defparse_kv *custom; /* app sections: "appinstall foo" -> body */
	size_t n_custom;
	char **app_order;
	size_t n_apps;
	struct defparse_section *sections;
	size_t n_sections;
	char *raw; /* this stage's (templated) text */
	size_t raw_len;
	int first_line; /* line of the original file where this stage starts */
	int last_line;
};

/* A diagnostic that is not fatal (a skipped build-arg line, an unused arg). */
struct defparse_diag {
	int line; /* 0 when none applies */
	char *msg;
};

struct defparse_def {
	char *path; /* as given, used in messages */
	struct defparse_stage *stages;
	size_t n_stages;
	char *fullraw; /* concatenation of every stage's raw */
	size_t fullraw_len;
	struct defparse_diag *warnings;
	size_t n_warnings;
	char **unused_args; /* --build-arg names no placeholder used */
	size_t n_unused;
	struct defparse_kv *undefined; /* only with allow_undefined: {{ NAME }} left as is */
	size_t n_undefined;
};

/* Build arguments from --build-arg and --build-arg-file; later ones win. */
struct defparse_buildargs {
	struct defparse_kv *v;
	size_t n;
	struct defparse_diag *warnings; /* "Skipping ..." lines of a build-arg file */
	size_t n_warnings;
};

/* Adds one --build-arg KEY=VALUE. Returns -1 with an error for a malformed one. */
int defparse_buildargs_add(struct defparse_buildargs *a, const char *kv, sb_error_t *err);
/* Reads KEY=VALUE lines; bad lines become warnings. -1 when the file cannot be read. */
int defparse_buildargs_read_file(struct defparse_buildargs *a, const char *path, sb_error_t *err);
void defparse_buildargs_free(struct defparse_buildargs *a);

struct defparse_options {
	const struct defparse_buildargs *args; /* borrowed, may be NULL */
	bool allow_undefined; /* lint: record undefined {{ X }} instead of failing */
};

/* Parses buf (len bytes, need not be NUL-terminated) as the definition file
 * `path`: splits stages on "Bootstrap:" lines, applies {{ var }} templating,
 * parses each stage. Returns NULL and sets *err on a parse error. opts may be
 * NULL. */
struct defparse_def *defparse_parse_buffer(const char *path, const char *buf, size_t len,
					   const struct defparse_options *opts, sb_error_t *err);
/* Reads and parses the file at path. */
struct defparse_def *defparse_parse_file(const char *path, const struct defparse_options *opts,
					 sb_error_t *err);
void defparse_def_free(struct defparse_def *def);

/* Parses label text the way Apptainer reads %labels bodies and the file
 * $APPTAINER_LABELS names (/.build.labels): per line, white space trimmed,
 * empty and '#'-first lines skipped, split at the first space into a trimmed
 * key and value ("" when none); later duplicates win, first-appearance order.
 * Appends to *out / *n (line = 1-based line in text); free with
 * defparse_kv_array_free. */
void defparse_parse_labels_text(const char *text, struct defparse_kv **out, size_t *n);
void defparse_kv_array_free(struct defparse_kv *v, size_t n);

/* Value of a header key (lower-case), or NULL when absent. */
const char *defparse_header_get(const struct defparse_stage *st, const char *key);
/* Stage name (header "stage"), "" when none. */
const char *defparse_stage_name(const struct defparse_stage *st);

/* JSON array, one object per stage, in Apptainer's types.Definition form.
 * Returns a malloc'd string. */
char *defparse_to_json(const struct defparse_def *def);

/* Readable summary: stages, agent, sections with line ranges. malloc'd. */
char *defparse_summary(const struct defparse_def *def);

/* Lint. Whether an agent is known to the caller (sifbuild's agent table) is
 * asked through agent_status: return 0 when supported, otherwise a short
 * reason (static string) why not. */
enum defparse_severity { DEFPARSE_WARNING = 1, DEFPARSE_ERROR = 2 };
struct defparse_lint_item {
	enum defparse_severity severity;
	int line;
	char *msg;
};
struct defparse_lint_report {
	struct defparse_lint_item *v;
	size_t n;
	int worst; /* 0 clean, 1 warnings, 2 errors */
};
struct defparse_lint_options {
	const struct defparse_buildargs *args;
	const char *(*agent_status)(const char *agent); /* NULL: every Apptainer agent is fine */
};
/* Lints the file at path. Never fails for bad input (that becomes an item);
 * returns -1 only when the file cannot be read. */
int defparse_lint_file(const char *path, const struct defparse_lint_options *opts,
		       struct defparse_lint_report *out, sb_error_t *err);
int defparse_lint_buffer(const char *path, const char *buf, size_t len,
			 const struct defparse_lint_options *opts,
			 struct defparse_lint_report *out);
void defparse_lint_report_free(struct defparse_lint_report *r);

/* Apptainer's valid header keys / section names / agent names, for callers
 * that validate (NULL-terminated arrays). */
extern const char *const defparse_header_keys[];
extern const char *const defparse_section_names[];
extern const char *const defparse_app_section_names[];
extern const char *const defparse_agent_names[];
bool defparse_is_header_key(const char *lower_key);

#endif
