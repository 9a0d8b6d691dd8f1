/* bootstrap/oci/config.c: the image config and what Apptainer derives from
 * it (apptainer-behaviour.md 3.13): 10-docker2singularity.sh, the OCI
 * runscript, labels.json and the oci-config.json SIF object.
 *
 * Go's encoding/json output is reproduced by hand (jansson has neither its
 * HTML-safe escapes nor its struct field order). */
#include "bootstrap/oci/internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

struct oci_config {
	json_t *root;   /* the whole config blob */
	json_t *config; /* its "config" object, or NULL */
};

struct oci_config *oci_config_parse(const char *json, size_t len, sb_error_t *err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		sb_error_set_status(err, 2, 0, "image config: invalid JSON: %s",
				    root ? "not an object" : je.text);
		return NULL;
	}
	struct oci_config *c = sb_xcalloc(1, sizeof(*c));
	c->root = root;
	json_t *cfg = oci_json_get(root, "config");
	c->config = json_is_object(cfg) ? cfg : NULL;
	return c;
}

void oci_config_free(struct oci_config *c)
{
	if (c == NULL)
		return;
	json_decref(c->root);
	free(c);
}

const char *oci_config_get(const struct oci_config *c, const char *field)
{
	bool top = strcmp(field, "User") != 0 && strcmp(field, "WorkingDir") != 0;
	const char *s = oci_json_str(top ? c->root : c->config, field);
	return s && *s ? s : NULL;
}

/* ------------------------------------------------------------- Go strings */

static void go_string(struct sb_strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	sb_strbuf_addc(sb, '"');
	while (*u) {
		unsigned char c = *u;
		size_t l = 1;
		if (c == '"' || c == '\\') {
			sb_strbuf_addc(sb, '\\');
			sb_strbuf_addc(sb, (char)c);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			sb_strbuf_adds(sb, c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
		} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			sb_strbuf_addf(sb, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else if (c < 0x80) {
			sb_strbuf_addc(sb, (char)c);
		} else {
			l = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
			    : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
			bool ok = l > 0;
			for (size_t k = 1; ok && k < l; k++)
				ok = (u[k] & 0xC0) == 0x80;
			/* overlong 3/4-byte forms and surrogates are invalid too */
			if (ok && l == 3 && ((c == 0xE0 && u[1] < 0xA0) || (c == 0xED && u[1] >= 0xA0)))
				ok = false;
			if (ok && l == 4 && ((c == 0xF0 && u[1] < 0x90) || (c == 0xF4 && u[1] >= 0x90)))
				ok = false;
			if (!ok) {
				sb_strbuf_adds(sb, "\\ufffd");
				l = 1;
			} else if (l == 3 && c == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9)) {
				sb_strbuf_adds(sb, u[2] == 0xA8 ? "\\u2028" : "\\u2029");
			} else {
				sb_strbuf_add(sb, u, l);
			}
		}
		u += l;
	}
	sb_strbuf_addc(sb, '"');
}

char *oci_go_json_string(const char *s)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	go_string(&sb, s);
	return sb_strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------ env script */

static void shell_escape(struct sb_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"' || *s == '`' || *s == '$')
			sb_strbuf_addc(sb, '\\');
		sb_strbuf_addc(sb, *s);
	}
}

static bool shell_name(const char *k, size_t n)
{
	if (n == 0 || !(k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(k[i] == '_' || (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9')))
			return false;
	return true;
}

char *oci_meta_env_script(const struct oci_config *c, oci_warn_fn warn, void *warn_ctx)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "#!/bin/sh\n");
	json_t *env = oci_json_get(c->config, "Env"), *v;
	size_t i;
	json_array_foreach(env, i, v) {
		if (!json_is_string(v))
			continue;
		const char *e = json_string_value(v), *eq = strchr(e, '=');
		size_t kl = eq ? (size_t)(eq - e) : strlen(e);
		if (!shell_name(e, kl)) {
			oci_warnf(warn, warn_ctx, "image environment: \"%.*s\" is not a valid "
				  "variable name; skipped", (int)kl, e);
			continue;
		}
		if (eq == NULL) {
			sb_strbuf_addf(&sb, "export %s=\"${%s:-}\"\n", e, e);
		} else if (kl == 4 && strncmp(e, "PATH", 4) == 0) {
			sb_strbuf_adds(&sb, "export PATH=\"");
			shell_escape(&sb, eq + 1);
			sb_strbuf_adds(&sb, "\"\n");
		} else {
			sb_strbuf_addf(&sb, "export %.*s=\"${%.*s:-\"", (int)kl, e, (int)kl, e);
			shell_escape(&sb, eq + 1);
			sb_strbuf_adds(&sb, "\"}\"\n");
		}
	}
	return sb_strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------------- runscript */

/* s with every ' written as '"'"' (for use inside single quotes). */
static void single_quoted(struct sb_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			sb_strbuf_adds(sb, "'\"'\"'");
		else
			sb_strbuf_addc(sb, *s);
	}
}

/* OCI_X='"a" "b c"': each element shell-escaped in double quotes. */
static void oci_var(struct sb_strbuf *sb, const char *name, json_t *list)
{
	struct sb_strbuf q = SB_STRBUF_INIT;
	size_t i;
	json_t *v;
	sb_strbuf_adds(&q, "");
	json_array_foreach(list, i, v) {
		if (q.len)
			sb_strbuf_addc(&q, ' ');
		sb_strbuf_addc(&q, '"');
		shell_escape(&q, json_is_string(v) ? json_string_value(v) : "");
		sb_strbuf_addc(&q, '"');
	}
	sb_strbuf_addf(sb, "%s='", name);
	single_quoted(sb, q.buf);
	sb_strbuf_adds(sb, "'\n");
	sb_strbuf_release(&q);
}

/* One `set -- 'elem' "$@"` per element, last first, so "$@" ends up as
 * list + "$@". */
static void prepend(struct sb_strbuf *sb, const char *indent, json_t *list)
{
	for (size_t i = json_array_size(list); i-- > 0;) {
		json_t *v = json_array_get(list, i);
		sb_strbuf_addf(sb, "%sset -- '", indent);
		single_quoted(sb, json_is_string(v) ? json_string_value(v) : "");
		sb_strbuf_adds(sb, "' \"$@\"\n");
	}
}

char *oci_meta_runscript(const struct oci_config *c)
{
	json_t *ep = oci_json_get(c->config, "Entrypoint"), *cmd = oci_json_get(c->config, "Cmd");
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sb_strbuf_adds(&sb, "#!/bin/sh\n");
	oci_var(&sb, "OCI_ENTRYPOINT", ep);
	oci_var(&sb, "OCI_CMD", cmd);
	sb_strbuf_adds(&sb,
		       "\n"
		       "# Generated by sifbuild from the image's ENTRYPOINT and CMD.\n"
		       "# With SINGULARITY_NO_EVAL set, run them as OCI runtimes do: arguments\n"
		       "# replace CMD and nothing goes through the shell a second time.\n"
		       "if [ -n \"${SINGULARITY_NO_EVAL:-}\" ]; then\n"
		       "    if [ $# -eq 0 ]; then\n"
		       "        :\n");
	prepend(&sb, "        ", cmd);
	sb_strbuf_adds(&sb, "    fi\n");
	prepend(&sb, "    ", ep);
	sb_strbuf_adds(&sb,
		       "    exec \"$@\"\n"
		       "fi\n"
		       "\n"
		       "# Apptainer's default: ENTRYPOINT followed by the arguments, or by CMD\n"
		       "# when there are none, evaluated by the shell before exec.\n"
		       "CMDLINE_ARGS=\"\"\n"
		       "for arg in \"$@\"; do\n"
		       "    CMDLINE_ARGS=\"${CMDLINE_ARGS} \\\"$arg\\\"\"\n"
		       "done\n"
		       "if [ $# -gt 0 ]; then\n"
		       "    SINGULARITY_OCI_RUN=\"${OCI_ENTRYPOINT} ${CMDLINE_ARGS}\"\n"
		       "else\n"
		       "    SINGULARITY_OCI_RUN=\"${OCI_ENTRYPOINT} ${OCI_CMD}\"\n"
		       "fi\n"
		       "eval \"set ${SINGULARITY_OCI_RUN}\"\n"
		       "exec \"$@\"\n");
	return sb_strbuf_detach(&sb, NULL);
}

/* ----------------------------------------------------------- labels.json */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of object o, sorted byte-wise (Go sorts map keys). malloc'd array. */
static const char **sorted_keys(json_t *o, size_t *n)
{
	const char **k = sb_xcalloc(json_object_size(o) + 1, sizeof(*k));
	const char *key;
	json_t *v;
	*n = 0;
	json_object_foreach(o, key, v)
		k[(*n)++] = key;
	qsort(k, *n, sizeof(*k), cmp_str);
	return k;
}

char *oci_meta_labels_json(const struct oci_config *c)
{
	json_t *l = oci_json_get(c->config, "Labels");
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (!json_is_object(l)) {
		sb_strbuf_adds(&sb, "null");
		return sb_strbuf_detach(&sb, NULL);
	}
	size_t n;
	const char **keys = sorted_keys(l, &n);
	sb_strbuf_adds(&sb, n ? "{\n" : "{");
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(l, keys[i]);
		sb_strbuf_addc(&sb, '\t');
		go_string(&sb, keys[i]);
		sb_strbuf_adds(&sb, ": ");
		go_string(&sb, json_is_string(v) ? json_string_value(v) : "");
		sb_strbuf_adds(&sb, i + 1 < n ? ",\n" : "\n");
	}
	sb_strbuf_addc(&sb, '}');
	free(keys);
	return sb_strbuf_detach(&sb, NULL);
}

/* ------------------------------------------------------- oci-config.json */

enum kind { K_BOOL, K_STRINGS, K_STRING, K_HEALTH, K_LABELS, K_SET };

/* go-containerregistry's v1.Config fields in declaration order. */
static const struct {
	const char *name;
	enum kind kind;
} config_fields[] = {
	{ "AttachStderr", K_BOOL }, { "AttachStdin", K_BOOL },    { "AttachStdout", K_BOOL },
	{ "Cmd", K_STRINGS },       { "Healthcheck", K_HEALTH },  { "Domainname", K_STRING },
	{ "Entrypoint", K_STRINGS }, { "Env", K_STRINGS },        { "Hostname", K_STRING },
	{ "Image", K_STRING },      { "Labels", K_LABELS },       { "OnBuild", K_STRINGS },
	{ "OpenStdin", K_BOOL },    { "StdinOnce", K_BOOL },      { "Tty", K_BOOL },
	{ "User", K_STRING },       { "Volumes", K_SET },         { "WorkingDir", K_STRING },
	{ "ExposedPorts", K_SET },  { "ArgsEscaped", K_BOOL },    { "NetworkDisabled", K_BOOL },
	{ "MacAddress", K_STRING }, { "StopSignal", K_STRING },   { "Shell", K_STRINGS },
};

static void strings_array(struct sb_strbuf *sb, json_t *a)
{
	size_t i;
	json_t *v;
	sb_strbuf_addc(sb, '[');
	json_array_foreach(a, i, v) {
		if (i)
			sb_strbuf_addc(sb, ',');
		go_string(sb, json_is_string(v) ? json_string_value(v) : "");
	}
	sb_strbuf_addc(sb, ']');
}

static void health(struct sb_strbuf *sb, json_t *h)
{
	static const char *const ints[] = { "Interval", "Timeout", "StartPeriod", "Retries" };
	bool any = false;
	sb_strbuf_addc(sb, '{');
	json_t *t = oci_json_get(h, "Test");
	if (json_array_size(t) > 0) {
		sb_strbuf_adds(sb, "\"Test\":");
		strings_array(sb, t);
		any = true;
	}
	for (size_t i = 0; i < 4; i++) {
		json_t *v = oci_json_get(h, ints[i]);
		if (json_is_integer(v) && json_integer_value(v) != 0) {
			sb_strbuf_addf(sb, "%s\"%s\":%" JSON_INTEGER_FORMAT, any ? "," : "", ints[i],
				       json_integer_value(v));
			any = true;
		}
	}
	sb_strbuf_addc(sb, '}');
}

/* Appends "name":value when the field is set (Go's omitempty); returns
 * whether something was written. */
static bool config_field(struct sb_strbuf *sb, const char *name, enum kind k, json_t *v, bool first)
{
	size_t n = 0;
	bool set = (k == K_BOOL && json_is_true(v)) ||
		   (k == K_STRINGS && json_array_size(v) > 0) ||
		   (k == K_STRING && json_is_string(v) && json_string_length(v) > 0) ||
		   (k == K_HEALTH && json_is_object(v)) ||
		   ((k == K_LABELS || k == K_SET) && json_object_size(v) > 0);
	if (!set)
		return false;
	sb_strbuf_addf(sb, "%s\"%s\":", first ? "" : ",", name);
	if (k == K_BOOL) {
		sb_strbuf_adds(sb, "true");
	} else if (k == K_STRINGS) {
		strings_array(sb, v);
	} else if (k == K_STRING) {
		go_string(sb, json_string_value(v));
	} else if (k == K_HEALTH) {
		health(sb, v);
	} else {
		const char **keys = sorted_keys(v, &n);
		sb_strbuf_addc(sb, '{');
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_object_get(v, keys[i]);
			if (i)
				sb_strbuf_addc(sb, ',');
			go_string(sb, keys[i]);
			sb_strbuf_addc(sb, ':');
			if (k == K_SET)
				sb_strbuf_adds(sb, "{}");
			else
				go_string(sb, json_is_string(e) ? json_string_value(e) : "");
		}
		sb_strbuf_addc(sb, '}');
		free(keys);
	}
	return true;
}

char *oci_meta_config_json(const struct oci_config *c)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	bool first = true;
	sb_strbuf_addc(&sb, '{');
	for (size_t i = 0; i < sizeof(config_fields) / sizeof(config_fields[0]); i++) {
		json_t *v = oci_json_get(c->config, config_fields[i].name);
		if (config_field(&sb, config_fields[i].name, config_fields[i].kind, v, first))
			first = false;
	}
	sb_strbuf_addc(&sb, '}');
	return sb_strbuf_detach(&sb, NULL);
}
