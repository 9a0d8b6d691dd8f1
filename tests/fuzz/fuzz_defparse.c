/* tests/fuzz/fuzz_defparse.c: libFuzzer entry point for the definition-file
 * parser and linter. Any input must parse or fail cleanly: no crash, no leak,
 * no sanitizer report. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defparse/defparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int agent_ok(const char *agent)
{
	return strcmp(agent, "docker") == 0;
}

static const char *agent_status(const char *agent)
{
	return agent_ok(agent) ? NULL : "not supported";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct defparse_buildargs args;
	static int init;
	if (!init) {
		sb_error_t e = NULL;
		defparse_buildargs_add(&args, "VERSION=1.0", &e);
		defparse_buildargs_add(&args, "OS={{ VERSION }}-os", &e);
		init = 1;
	}
	struct defparse_options opts = { &args, false };
	sb_error_t err = NULL;
	struct defparse_def *def = defparse_parse_buffer("fuzz.def", (const char *)data, size,
							 &opts, &err);
	if (def) {
		free(defparse_to_json(def));
		free(defparse_summary(def));
		defparse_def_free(def);
	} else {
		sb_error_free(&err);
	}
	struct defparse_lint_options lo = { &args, agent_status };
	struct defparse_lint_report rep;
	defparse_lint_buffer("fuzz.def", (const char *)data, size, &lo, &rep);
	defparse_lint_report_free(&rep);
	return 0;
}
