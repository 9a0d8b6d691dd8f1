/* builder/cli/cli.h: the subcommand table and shared option helpers. */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 failure (or lint warnings), 2 bad usage or input. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_command {
	const char *name;
	const char *summary;
	const char *usage; /* full --help text */
	int (*run)(int argc, char **argv);
};

extern const struct cli_command cli_commands[];
const struct cli_command *cli_find(const char *name);

/* Prints "sifbuild CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long wrapper: returns the option, -1 at the end; on an unknown or
 * malformed option prints one line with a hint and returns '?'. Handles
 * --help (prints usage, returns 'h'). */
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* Directory with sifbuild's data files, found relative to the executable. */
const char *cli_datadir(void);

int cmd_parse(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_sif(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
/* run, exec, shell, test: argv[0] names the action. */
int cmd_action(int argc, char **argv);

extern const char cli_parse_usage[];
extern const char cli_lint_usage[];
extern const char cli_version_usage[];
extern const char cli_help_usage[];
extern const char cli_sif_usage[];
extern const char cli_build_usage[];
extern const char cli_pull_usage[];
extern const char cli_push_usage[];
extern const char cli_cache_usage[];
extern const char cli_inspect_usage[];
extern const char cli_run_usage[];
extern const char cli_exec_usage[];
extern const char cli_shell_usage[];
extern const char cli_test_usage[];

void cli_print_main_help(FILE *f);

#endif
