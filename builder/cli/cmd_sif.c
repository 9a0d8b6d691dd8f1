/* builder/cli/cmd_sif.c: `sifbuild sif header|list|info|dump|new|add|del|setprim`,
 * siftool's commands and output formats (sif-format.md section 8, v2.24 forms). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/cli/cli.h"
#include "common/cleanup.h"
#include "common/strbuf.h"
#include "sif/sif.h"

const char cli_sif_usage[] =
	"Usage: sifbuild sif COMMAND [OPTIONS] ARGS\n\n"
	"Look inside a SIF image or change it, like siftool (same output formats).\n\n"
	"Commands:\n"
	"  header FILE          show the global header\n"
	"  list FILE            list the data objects\n"
	"  info ID FILE         show the descriptor of object ID\n"
	"  dump ID FILE         write the data of object ID to standard output\n"
	"  new FILE             create an empty image\n"
	"  add FILE OBJECT      add the contents of OBJECT as a data object\n"
	"  del ID FILE          delete object ID\n"
	"  setprim ID FILE      make partition ID the primary system partition\n\n"
	"Run 'sifbuild sif COMMAND --help' for the options of a command.\n";

static const char usage_header[] = "Usage: sifbuild sif header FILE\n\n"
				   "Show the global header of the SIF image FILE.\n";
static const char usage_list[] = "Usage: sifbuild sif list FILE\n\n"
				 "List the data objects of the SIF image FILE.\n";
static const char usage_info[] = "Usage: sifbuild sif info ID FILE\n\n"
				 "Show the descriptor of data object ID.\n";
static const char usage_dump[] =
	"Usage: sifbuild sif dump ID FILE\n\n"
	"Write the data of object ID to standard output (redirect it to a file).\n";
static const char usage_new[] =
	"Usage: sifbuild sif new [--deterministic] FILE\n\n"
	"Create an empty SIF image (48 descriptor slots), replacing FILE.\n\n"
	"Options:\n"
	"  --deterministic   nil UUID and the reference's sentinel times, as Apptainer\n"
	"                    writes when SOURCE_DATE_EPOCH is set\n";
static const char usage_add[] =
	"Usage: sifbuild sif add [OPTIONS] FILE OBJECT\n\n"
	"Add the contents of the file OBJECT to the SIF image FILE.\n\n"
	"Options:\n"
	"  --datatype N      the type of data (required): 1 Def.FILE, 2 Env.Vars, 3 JSON.Labels,\n"
	"                    4 partition, 5 signature, 6 JSON.Generic, 7 Generic/Raw,\n"
	"                    8 cryptographic message, 9 SBOM, 10 OCI.RootIndex, 11 OCI.Blob\n"
	"  --parttype N      partition type: 1 System, 2 primary System, 3 Data, 4 Overlay\n"
	"  --partfs N        partition filesystem: 1 SquashFS, 2 Ext3, 3 archive, 4 raw,\n"
	"                    5 encrypted SquashFS\n"
	"  --partarch N      partition architecture: 1 386, 2 amd64, 3 arm, 4 arm64, 5 ppc64,\n"
	"                    6 ppc64le, 7 mips, 8 mipsle, 9 mips64, 10 mips64le, 11 s390x,\n"
	"                    12 riscv64, 13 loong64 (a name such as amd64 works too)\n"
	"  --signhash N      signature hash: 1 SHA-256, 2 SHA-384, 3 SHA-512, 4 BLAKE2s-256,\n"
	"                    5 BLAKE2b-256\n"
	"  --signentity HEX  signing key fingerprint, 40 hex digits\n"
	"  --sbomformat F    cyclonedx-json, cyclonedx-xml, github-json, spdx-json, spdx-rdf,\n"
	"                    spdx-tag-value, spdx-yaml, syft-json\n"
	"  --groupid N       object group (default: none)\n"
	"  --link N          link to object N\n"
	"  --alignment N     alignment of the data (default: 4096 for partitions, none otherwise)\n"
	"  --filename NAME   object name (default: none)\n";
static const char usage_del[] = "Usage: sifbuild sif del ID FILE\n\n"
				"Delete data object ID (the file is not shortened).\n";
static const char usage_setprim[] =
	"Usage: sifbuild sif setprim ID FILE\n\n"
	"Make system partition ID the primary partition; the header's architecture\n"
	"follows it.\n";

static int sif_fail(const struct cli_command *cmd, sb_error_t *err)
{
	cli_error(cmd->name, "%s", sb_error_message(*err));
	sb_error_free(err);
	return CLI_FAIL;
}

/* Parses options that only know --help, then exactly `nargs` operands. */
static int plain_args(const struct cli_command *cmd, int argc, char **argv, int nargs)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = cli_getopt(cmd, argc, argv, "h", longopts)) != -1)
		return c == 'h' ? CLI_OK : CLI_USAGE;
	if (argc - optind != nargs) {
		cli_error(cmd->name, "expected %d argument%s; see 'sifbuild %s --help'", nargs,
			  nargs > 1 ? "s" : "", cmd->name);
		return CLI_USAGE;
	}
	return -1;
}

static int parse_u32(const struct cli_command *cmd, const char *what, const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno || v > UINT32_MAX) {
		cli_error(cmd->name, "while converting %s: invalid number '%s'", what, s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_i64(const struct cli_command *cmd, const char *what, const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno) {
		cli_error(cmd->name, "invalid %s '%s'", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The common shape: [--help] (ID)? FILE, open, act. */
static int
with_image(const struct cli_command *cmd, int argc, char **argv, bool has_id, unsigned flags,
	   int (*act)(const struct cli_command *, struct sif_image *, uint32_t, sb_error_t *))
{
	int rc = plain_args(cmd, argc, argv, has_id ? 2 : 1);
	if (rc >= 0)
		return rc;
	uint32_t id = 0;
	if (has_id && parse_u32(cmd, "id", argv[optind], &id) < 0)
		return CLI_USAGE;
	const char *path = argv[argc - 1];
	sb_error_t err = NULL;
	cleanup_sif struct sif_image *img = sif_open(path, flags, &err);
	if (img == NULL)
		return sif_fail(cmd, &err);
	if (act(cmd, img, id, &err) < 0)
		return sif_fail(cmd, &err);
	struct sif_image *done = steal_pointer(&img);
	if (sif_close(done, &err) < 0)
		return sif_fail(cmd, &err);
	return CLI_OK;
}

static int print_buf(struct sb_strbuf *sb, sb_error_t *err)
{
	size_t n = sb->len;
	int rc = (n && fwrite(sb->buf, 1, n, stdout) != n) || fflush(stdout) != 0 ? -1 : 0;
	sb_strbuf_release(sb);
	return rc < 0 ? sb_error_set(err, errno, "writing standard output") : 0;
}

static int act_header(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		      sb_error_t *err)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sif_format_header(img, &sb);
	return print_buf(&sb, err);
}

static int act_list(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		    sb_error_t *err)
{
	struct sb_strbuf sb = SB_STRBUF_INIT;
	sif_format_list(img, &sb);
	return print_buf(&sb, err);
}

static int act_info(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		    sb_error_t *err)
{
	const struct sif_descriptor *d = sif_get_object(img, id, err);
	struct sb_strbuf sb = SB_STRBUF_INIT;
	if (d == NULL || sif_format_info(d, &sb, err) < 0) {
		sb_strbuf_release(&sb);
		return -1;
	}
	return print_buf(&sb, err);
}

static int act_dump(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		    sb_error_t *err)
{
	const struct sif_descriptor *d = sif_get_object(img, id, err);
	if (d == NULL)
		return -1;
	fflush(stdout);
	return sif_copy_object_to_fd(img, d, STDOUT_FILENO, err);
}

static int act_del(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		   sb_error_t *err)
{
	return sif_delete_object(img, id, 0, err);
}

static int act_setprim(const struct cli_command *cmd, struct sif_image *img, uint32_t id,
		       sb_error_t *err)
{
	return sif_set_primary_partition(img, id, err);
}

static int run_header(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, false, SIF_OPEN_READ, act_header);
}

static int run_list(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, false, SIF_OPEN_READ, act_list);
}

static int run_info(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, true, SIF_OPEN_READ, act_info);
}

static int run_dump(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, true, SIF_OPEN_READ, act_dump);
}

static int run_del(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, true, SIF_OPEN_WRITE, act_del);
}

static int run_setprim(const struct cli_command *cmd, int argc, char **argv)
{
	return with_image(cmd, argc, argv, true, SIF_OPEN_WRITE, act_setprim);
}

static int run_new(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deterministic", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sif_create_options o = { 0 };
	int c;
	while ((c = cli_getopt(cmd, argc, argv, "h", longopts)) != -1) {
		if (c == 'd')
			o.deterministic = true;
		else
			return c == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (argc - optind != 1) {
		cli_error(cmd->name, "expected 1 argument; see 'sifbuild %s --help'", cmd->name);
		return CLI_USAGE;
	}
	sb_error_t err = NULL;
	struct sif_image *img = sif_create(argv[optind], &o, &err);
	if (img == NULL || sif_close(img, &err) < 0)
		return sif_fail(cmd, &err);
	return CLI_OK;
}

struct add_args {
	int64_t datatype, parttype, partfs, signhash, alignment;
	int partarch;
	const char *signentity, *sbomformat, *filename;
	uint32_t groupid, link;
	bool has_link, has_alignment, has_filename;
};

static int sbom_format_code(const char *s)
{
	if (strcmp(s, "github") == 0)
		return SIF_SBOM_GITHUB_JSON;
	for (int i = 1; i <= SIF_SBOM_SYFT_JSON; i++)
		if (strcmp(s, sif_sbom_format_name(i)) == 0)
			return i;
	return 0;
}

/* siftool's rules for the metadata flags; fills in->extra. */
static int add_metadata(const struct cli_command *cmd, const struct add_args *a,
			struct sif_object_input *in, sb_error_t *err)
{
	switch (in->data_type) {
	case SIF_DATA_PARTITION:
		if (a->parttype == 0 || a->partfs == 0 || a->partarch == 0)
			return sb_error_set(err, 0,
					    "with partition datatype, --partfs, --parttype "
					    "and --partarch must be passed");
		return sif_input_set_partition(in, (int32_t)a->partfs, (int32_t)a->parttype,
					       a->partarch, err);
	case SIF_DATA_SIGNATURE: {
		uint8_t fp[20];
		const char *h = a->signentity ? a->signentity : "";
		if (strlen(h) != 40)
			return sb_error_set(err, 0,
					    "invalid signing entity fingerprint length: got %zu, "
					    "want 20",
					    strlen(h) / 2);
		for (int i = 0; i < 20; i++) {
			unsigned v;
			char pair[3] = { h[2 * i], h[2 * i + 1], 0 };
			if (sscanf(pair, "%2x", &v) != 1 ||
			    !strchr("0123456789abcdefABCDEF", pair[1]) ||
			    !strchr("0123456789abcdefABCDEF", pair[0]))
				return sb_error_set(err, 0,
						    "failed to decode signing entity "
						    "fingerprint");
			fp[i] = (uint8_t)v;
		}
		if (sif_hash_type_name((int32_t)a->signhash) == NULL)
			return sb_error_set(err, 0, "invalid hash type: %lld",
					    (long long)a->signhash);
		return sif_input_set_signature(in, (int32_t)a->signhash, fp, 20, err);
	}
	case SIF_DATA_SBOM: {
		if (a->sbomformat == NULL || *a->sbomformat == '\0')
			return sb_error_set(err, 0,
					    "with SBOM datatype, --sbomformat must be passed");
		int f = sbom_format_code(a->sbomformat);
		if (f == 0)
			return sb_error_set(err, 0, "invalid SBOM format: %s", a->sbomformat);
		return sif_input_set_sbom(in, f, err);
	}
	default:
		return 0;
	}
}

static int parse_add_option(const struct cli_command *cmd, int c, struct add_args *a)
{
	int64_t v = 0;
	switch (c) {
	case 'T':
		return parse_i64(cmd, "--datatype", optarg, &a->datatype);
	case 'P':
		return parse_i64(cmd, "--parttype", optarg, &a->parttype);
	case 'F':
		return parse_i64(cmd, "--partfs", optarg, &a->partfs);
	case 'A':
		a->partarch = sif_arch_from_name(optarg);
		if (a->partarch == 0) { /* a number, but not a known code: refused later */
			if (parse_i64(cmd, "--partarch", optarg, &v) < 0)
				return -1;
			a->partarch = v == 0 ? 0 : -1;
		}
		return 0;
	case 'H':
		return parse_i64(cmd, "--signhash", optarg, &a->signhash);
	case 'E':
		a->signentity = optarg;
		return 0;
	case 'S':
		a->sbomformat = optarg;
		return 0;
	case 'G':
		return parse_u32(cmd, "--groupid", optarg, &a->groupid);
	case 'L':
		a->has_link = true;
		return parse_u32(cmd, "--link", optarg, &a->link);
	case 'N':
		a->has_alignment = true;
		return parse_i64(cmd, "--alignment", optarg, &a->alignment);
	case 'n':
		a->has_filename = true;
		a->filename = optarg;
		return 0;
	default:
		return -1;
	}
}

static int run_add(const struct cli_command *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "datatype", required_argument, NULL, 'T' },
		{ "parttype", required_argument, NULL, 'P' },
		{ "partfs", required_argument, NULL, 'F' },
		{ "partarch", required_argument, NULL, 'A' },
		{ "signhash", required_argument, NULL, 'H' },
		{ "signentity", required_argument, NULL, 'E' },
		{ "sbomformat", required_argument, NULL, 'S' },
		{ "groupid", required_argument, NULL, 'G' },
		{ "link", required_argument, NULL, 'L' },
		{ "alignment", required_argument, NULL, 'N' },
		{ "filename", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct add_args a = { 0 };
	int c;
	while ((c = cli_getopt(cmd, argc, argv, "h", longopts)) != -1) {
		if (c == 'h')
			return CLI_OK;
		if (c == '?' || parse_add_option(cmd, c, &a) < 0)
			return CLI_USAGE;
	}
	if (argc - optind != 2) {
		cli_error(cmd->name, "expected 2 arguments; see 'sifbuild %s --help'", cmd->name);
		return CLI_USAGE;
	}
	if (a.datatype < 1 || a.datatype > SIF_DATA_OCI_BLOB - SIF_DATA_DEFFILE + 1) {
		cli_error(cmd->name, "--datatype flag is required with a valid range (1..11)");
		return CLI_USAGE;
	}
	struct sif_object_input in;
	sif_object_input_init(&in, (int32_t)(SIF_DATA_DEFFILE - 1 + a.datatype));
	in.group = a.groupid; /* siftool's default: no group */
	if (a.has_link && a.link == 0) {
		cli_error(cmd->name, "invalid object ID");
		return CLI_USAGE;
	}
	in.link = a.link;
	if (a.has_alignment)
		in.alignment = a.alignment;
	if (a.has_filename)
		in.name = a.filename;
	sb_error_t err = NULL;
	if (add_metadata(cmd, &a, &in, &err) < 0)
		return sif_fail(cmd, &err);
	cleanup_close int fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(cmd->name, "%s: %s", argv[optind + 1], strerror(errno));
		return CLI_FAIL;
	}
	cleanup_sif struct sif_image *img = sif_open(argv[optind], SIF_OPEN_WRITE, &err);
	if (img == NULL || sif_add_object_from_fd(img, &in, fd, &err) < 0)
		return sif_fail(cmd, &err);
	struct sif_image *done = steal_pointer(&img);
	if (sif_close(done, &err) < 0)
		return sif_fail(cmd, &err);
	return CLI_OK;
}

struct sif_subcommand {
	struct cli_command cmd;
	int (*run)(const struct cli_command *cmd, int argc, char **argv);
};

static const struct sif_subcommand subcommands[] = {
	{ { "sif header", "", usage_header, NULL }, run_header },
	{ { "sif list", "", usage_list, NULL }, run_list },
	{ { "sif info", "", usage_info, NULL }, run_info },
	{ { "sif dump", "", usage_dump, NULL }, run_dump },
	{ { "sif new", "", usage_new, NULL }, run_new },
	{ { "sif add", "", usage_add, NULL }, run_add },
	{ { "sif del", "", usage_del, NULL }, run_del },
	{ { "sif setprim", "", usage_setprim, NULL }, run_setprim },
};

int cmd_sif(int argc, char **argv)
{
	if (argc < 2) {
		cli_error("sif", "missing command; see 'sifbuild sif --help'");
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(cli_sif_usage, stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const struct sif_subcommand *s = &subcommands[i];
		if (strcmp(argv[1], s->cmd.name + 4) != 0)
			continue;
		optind = 0; /* a new argument vector: let getopt start over */
		return s->run(&s->cmd, argc - 1, argv + 1);
	}
	cli_error("sif", "unknown command '%s'; see 'sifbuild sif --help'", argv[1]);
	return CLI_USAGE;
}
