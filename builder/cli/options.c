/* builder/cli/options.c: option parsing shared by subcommands, and where
 * sifbuild's data files live. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/cli/cli.h"
#include "common/strbuf.h"

static const char *nearest_long(const struct option *longopts, const char *arg)
{
	const char *best = NULL;
	size_t bestd = 3;
	const char *a = arg;
	while (*a == '-')
		a++;
	char *name = sb_strdup(a);
	char *eq = strchr(name, '=');
	if (eq)
		*eq = '\0';
	for (const struct option *o = longopts; o->name; o++) {
		size_t d = sb_edit_distance(name, o->name);
		if (d < bestd) {
			bestd = d;
			best = o->name;
		}
	}
	free(name);
	return best;
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	opterr = 0;
	int prev = optind;
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == 'h') {
		fputs(cmd->usage, stdout);
		return 'h';
	}
	if (c == '?' || c == ':') {
		const char *arg = (prev < argc) ? argv[prev] : "";
		if (optind > prev && optind - 1 < argc)
			arg = argv[optind - 1];
		if (c == ':' || (optopt && strchr(shortopts, optopt) && arg[1] != '-')) {
			cli_error(cmd->name, "option '%s' needs a value; see 'sifbuild %s --help'",
				  arg, cmd->name);
		} else if (strncmp(arg, "--", 2) == 0) {
			const char *sug = nearest_long(longopts, arg);
			int needs = 0;
			for (const struct option *o = longopts; o->name; o++) {
				size_t l = strlen(o->name);
				if (strncmp(arg + 2, o->name, l) == 0 && arg[2 + l] == '\0' &&
				    o->has_arg == required_argument)
					needs = 1;
			}
			if (needs)
				cli_error(cmd->name, "option '%s' needs a value; see 'sifbuild %s --help'",
					  arg, cmd->name);
			else if (sug)
				cli_error(cmd->name,
					  "unknown option '%s' (did you mean --%s?); see 'sifbuild %s "
					  "--help'",
					  arg, sug, cmd->name);
			else
				cli_error(cmd->name, "unknown option '%s'; see 'sifbuild %s --help'",
					  arg, cmd->name);
		} else {
			cli_error(cmd->name, "unknown option '-%c'; see 'sifbuild %s --help'",
				  optopt ? optopt : '?', cmd->name);
		}
		return '?';
	}
	return c;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* <exe dir>/../share/sifbuild for an installed copy (wherever it was
 * unpacked), the source tree's top for a binary run from the build tree, the
 * configured pkgdatadir last. */
const char *cli_datadir(void)
{
	static char dir[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(dir, sizeof(dir), "%s/../share/sifbuild", exe);
		if (is_dir(dir)) {
			char *real = realpath(dir, NULL);
			if (real) {
				snprintf(dir, sizeof(dir), "%s", real);
				free(real);
			}
			return dir;
		}
		char probe[PATH_MAX + 64];
		snprintf(probe, sizeof(probe), "%s/examples", exe);
		if (is_dir(probe)) {
			snprintf(dir, sizeof(dir), "%s", exe);
			return dir;
		}
	}
	return SB_PKGDATADIR;
}
