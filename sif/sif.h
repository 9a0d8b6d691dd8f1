/* sif/sif.h: reading and writing SIF (Singularity Image Format) container files.
 *
 * Byte layout and writer habits follow docs sif-format.md (sylabs/sif v2.24):
 * a 128-byte global header, a table of 585-byte descriptors at offset 4096 and
 * the object data after it. Every integer is little-endian on disk, whatever
 * the host is.
 *
 * A `struct sif_image` is an open image backed by a file descriptor or by a
 * memory buffer. Opening reads the header and the whole descriptor table and
 * checks them (see sif_open); object data is read on demand, always bounds
 * checked. Every change (add, delete, set-primary) rewrites the descriptor
 * table and the header before it returns, as the reference library does.
 *
 * Functions that can fail take `sb_error_t *err`, return -1 (or NULL) and fill
 * *err; on success *err is left untouched. Error messages name the field that
 * is wrong ("descriptor 3: offset 99999 + size 12 runs past the end of the
 * file (40960 bytes)"). Nothing here prints or exits.
 */
#ifndef SB_SIF_SIF_H
#define SB_SIF_SIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strbuf.h"

/* Fixed sizes and values of the format. */
#define SIF_HEADER_SIZE 128
#define SIF_DESCRIPTOR_SIZE 585
#define SIF_DESCRIPTORS_OFFSET 4096
#define SIF_DEFAULT_CAPACITY 48
#define SIF_LAUNCH_SCRIPT_MAX 31 /* bytes of launch script, a NUL always follows */
#define SIF_NAME_SIZE 128
#define SIF_EXTRA_SIZE 384
#define SIF_PARTITION_ALIGN 4096
#define SIF_GROUP_MASK 0xF0000000u /* set in a group field; marks a group in a link */
#define SIF_ID_MASK 0x0FFFFFFFu
/* Go's zero time as Unix seconds: the times of a deterministic image. */
#define SIF_TIME_DETERMINISTIC (-62135596800LL)
/* The launch script Apptainer writes. */
#define SIF_APPTAINER_LAUNCH_SCRIPT "#!/usr/bin/env run-singularity\n"

enum sif_data_type {
	SIF_DATA_DEFFILE = 0x4001,
	SIF_DATA_ENVVAR = 0x4002,
	SIF_DATA_LABELS = 0x4003,
	SIF_DATA_PARTITION = 0x4004,
	SIF_DATA_SIGNATURE = 0x4005,
	SIF_DATA_GENERIC_JSON = 0x4006,
	SIF_DATA_GENERIC = 0x4007,
	SIF_DATA_CRYPTO_MESSAGE = 0x4008,
	SIF_DATA_SBOM = 0x4009,
	SIF_DATA_OCI_ROOT_INDEX = 0x400A,
	SIF_DATA_OCI_BLOB = 0x400B,
};

enum sif_fs_type {
	SIF_FS_SQUASHFS = 1,
	SIF_FS_EXT3 = 2,
	SIF_FS_ARCHIVE = 3,
	SIF_FS_RAW = 4,
	SIF_FS_ENCRYPTED_SQUASHFS = 5,
	SIF_FS_GOCRYPTFS_SQUASHFS = 6, /* Apptainer's fork only */
};

enum sif_part_type {
	SIF_PART_SYSTEM = 1,
	SIF_PART_PRIMARY = 2, /* the image's root filesystem */
	SIF_PART_DATA = 3,
	SIF_PART_OVERLAY = 4,
};

enum sif_hash_type {
	SIF_HASH_SHA256 = 1,
	SIF_HASH_SHA384 = 2,
	SIF_HASH_SHA512 = 3,
	SIF_HASH_BLAKE2S = 4,
	SIF_HASH_BLAKE2B = 5,
};

enum sif_crypto_format { SIF_CRYPTO_OPENPGP = 1, SIF_CRYPTO_PEM = 2 };
enum sif_crypto_message { SIF_MESSAGE_CLEAR_SIGNATURE = 0x100, SIF_MESSAGE_RSA_OAEP = 0x200 };

enum sif_sbom_format {
	SIF_SBOM_CYCLONEDX_JSON = 1,
	SIF_SBOM_CYCLONEDX_XML = 2,
	SIF_SBOM_GITHUB_JSON = 3,
	SIF_SBOM_SPDX_JSON = 4,
	SIF_SBOM_SPDX_RDF = 5,
	SIF_SBOM_SPDX_TAG_VALUE = 6,
	SIF_SBOM_SPDX_YAML = 7,
	SIF_SBOM_SYFT_JSON = 8,
};

/* Architecture codes (the two digits stored in the header and in partitions). */
enum sif_arch {
	SIF_ARCH_UNKNOWN = 0,
	SIF_ARCH_386 = 1,
	SIF_ARCH_AMD64 = 2,
	SIF_ARCH_ARM = 3,
	SIF_ARCH_ARM64 = 4,
	SIF_ARCH_PPC64 = 5,
	SIF_ARCH_PPC64LE = 6,
	SIF_ARCH_MIPS = 7,
	SIF_ARCH_MIPSLE = 8,
	SIF_ARCH_MIPS64 = 9,
	SIF_ARCH_MIPS64LE = 10,
	SIF_ARCH_S390X = 11,
	SIF_ARCH_RISCV64 = 12,
	SIF_ARCH_LOONG64 = 13,
	SIF_ARCH_MAX = 13,
};

/* The global header, decoded. The char arrays hold the raw field bytes (so a
 * rewrite is byte-exact) plus a terminating NUL. */
struct sif_header {
	char launch_script[33];
	char magic[11];
	char version[4];
	char arch[4];
	uint8_t uuid[16];
	int64_t created_at;
	int64_t modified_at;
	int64_t descriptors_free;
	int64_t descriptors_total;
	int64_t descriptors_offset;
	int64_t descriptors_size;
	int64_t data_offset;
	int64_t data_size;
};

/* One descriptor slot, decoded. Unused slots have used == false. */
struct sif_descriptor {
	int32_t data_type;
	bool used;
	uint8_t used_raw; /* the stored byte, any nonzero value means used */
	uint32_t id;
	uint32_t group_raw; /* group | SIF_GROUP_MASK; see sif_descriptor_group */
	uint32_t link_raw; /* 0, an object ID, or group | SIF_GROUP_MASK */
	int64_t offset;
	int64_t size;
	int64_t size_with_padding;
	int64_t created_at;
	int64_t modified_at;
	int64_t uid;
	int64_t gid;
	char name[SIF_NAME_SIZE + 1]; /* raw bytes + NUL */
	uint8_t extra[SIF_EXTRA_SIZE];
};

struct sif_image;

/* ---- opening and creating ---------------------------------------------- */

enum sif_open_flags {
	SIF_OPEN_READ = 0,
	SIF_OPEN_WRITE = 1, /* allow add/delete/set-primary */
};

/* Opens the SIF at path. Reads and checks the header (magic, version, counts,
 * table position) and every used descriptor (ID, offset and size inside the
 * file, no overlap with other objects or the table). A file that fails any of
 * these is refused with an error naming the field. Returns NULL on error. */
struct sif_image *sif_open(const char *path, unsigned flags, sb_error_t *err);

/* Same checks on an image held in memory. data is borrowed, read-only, and
 * must outlive the image. name is used in messages (may be NULL). */
struct sif_image *sif_open_buffer(const void *data, size_t len, const char *name, sb_error_t *err);

struct sif_create_options {
	const char *launch_script; /* borrowed; NULL or "" for none; at most 31 bytes */
	bool deterministic; /* nil UUID and SIF_TIME_DETERMINISTIC times ... */
	const uint8_t *uuid; /* ... unless given here (16 bytes, borrowed); NULL:
			      * random version-4 UUID (nil when deterministic) */
	bool time_set; /* use `time` for the header and for every object added
			* through this handle (see sif_set_clock) */
	int64_t time;
	uint32_t descriptor_capacity; /* slots; 0 means SIF_DEFAULT_CAPACITY */
};

/* Creates (or truncates) path with mode 0755 and writes an empty image: header,
 * zeroed gap, all descriptor slots. The file is not renamed or removed on
 * failure; callers who need atomic replacement create a temporary name. */
struct sif_image *sif_create(const char *path, const struct sif_create_options *opts,
			     sb_error_t *err);

/* Like sif_create, building the image in a growing memory buffer. */
struct sif_image *sif_create_memory(const struct sif_create_options *opts, sb_error_t *err);

/* The bytes of a memory image (borrowed; valid until the next change or
 * sif_close). NULL for a file-backed image. */
const uint8_t *sif_memory_bytes(const struct sif_image *img, size_t *len);

/* Closes the file (when sif_open/sif_create opened it) and frees img. Returns
 * -1 if closing the file failed (a late write error). img may be NULL. */
int sif_close(struct sif_image *img, sb_error_t *err);

static inline void sif_cleanup_closep(struct sif_image **img)
{
	if (*img)
		sif_close(*img, NULL);
}
#define cleanup_sif __attribute__((cleanup(sif_cleanup_closep)))

/* ---- reading ----------------------------------------------------------- */

/* Borrowed pointers, valid while img is open and not changed. */
const struct sif_header *sif_get_header(const struct sif_image *img);

/* Number of descriptor slots (descriptors total) and slot i (used or not). */
size_t sif_slot_count(const struct sif_image *img);
const struct sif_descriptor *sif_slot(const struct sif_image *img, size_t i);

/* Number of used slots. */
size_t sif_object_count(const struct sif_image *img);

/* Size of the underlying file or buffer in bytes. */
int64_t sif_file_size(const struct sif_image *img);

/* The used descriptor with this ID. Errors: "invalid object ID" (0),
 * "object not found". */
const struct sif_descriptor *sif_get_object(const struct sif_image *img, uint32_t id,
					    sb_error_t *err);

/* The one primary system partition. Errors: "object not found",
 * "multiple objects found". */
const struct sif_descriptor *sif_get_primary_partition(const struct sif_image *img,
						       sb_error_t *err);

/* True when the UUID is nil and both header times are SIF_TIME_DETERMINISTIC. */
bool sif_is_deterministic(const struct sif_image *img);

/* Header arch code (0 when unknown or not two digits 01..13). */
int sif_header_arch(const struct sif_image *img);

/* Group number (0: none), link target and whether the link names a group. */
uint32_t sif_descriptor_group(const struct sif_descriptor *d);
uint32_t sif_descriptor_link(const struct sif_descriptor *d, bool *is_group);
/* The name without trailing NULs (borrowed). */
const char *sif_descriptor_name(const struct sif_descriptor *d);

/* Type-specific metadata. Each fails with "unexpected data type" when d is
 * not of the matching type. */
struct sif_partition_info {
	int32_t fs_type; /* enum sif_fs_type */
	int32_t part_type; /* enum sif_part_type */
	int arch; /* enum sif_arch, 0 for an unknown code */
	char arch_raw[4]; /* the three stored bytes + NUL */
};
int sif_descriptor_partition(const struct sif_descriptor *d, struct sif_partition_info *out,
			     sb_error_t *err);
/* fingerprint: the first 20 bytes of the entity; *has_fingerprint false when
 * they are all zero. Fails with "hash algorithm unsupported" for types
 * outside 1..5, as the reference does. */
int sif_descriptor_signature(const struct sif_descriptor *d, int32_t *hash_type,
			     uint8_t fingerprint[20], bool *has_fingerprint, sb_error_t *err);
int sif_descriptor_crypto_message(const struct sif_descriptor *d, int32_t *format, int32_t *message,
				  sb_error_t *err);
int sif_descriptor_sbom(const struct sif_descriptor *d, int32_t *format, sb_error_t *err);
/* OCI root index / blob: digest text "sha256:<64 hex>" into out (NUL-terminated).
 * Fails when the stored text is not `algorithm:hex`. */
int sif_descriptor_oci_digest(const struct sif_descriptor *d, char out[SIF_EXTRA_SIZE + 1],
			      sb_error_t *err);

/* Reads len bytes at pos inside object d. Fails ("EOF") when the range leaves
 * the object or the file. */
int sif_read_object(struct sif_image *img, const struct sif_descriptor *d, int64_t pos, void *buf,
		    size_t len, sb_error_t *err);

/* Reads a whole object into a new buffer (caller frees). For small objects. */
void *sif_read_object_alloc(struct sif_image *img, const struct sif_descriptor *d, size_t *len,
			    sb_error_t *err);

/* Writes object d's data to fd (e.g. stdout for `dump`). */
int sif_copy_object_to_fd(struct sif_image *img, const struct sif_descriptor *d, int fd,
			  sb_error_t *err);

/* ---- writing ----------------------------------------------------------- */

/* What to add. Fill it with sif_object_input_init, then change fields. */
struct sif_object_input {
	int32_t data_type;
	uint32_t group; /* 0 = no group; default 1 (the library default) */
	uint32_t link; /* raw link: 0, an object ID, or sif_link_group(g) */
	int64_t alignment; /* absolute-offset alignment, <= 0 for none */
	const char *name; /* borrowed; NULL or up to 128 bytes */
	bool time_set; /* object time; default: the time of the change */
	int64_t time;
	uint8_t extra[SIF_EXTRA_SIZE]; /* type metadata, set with the helpers below */
};

/* Defaults of the reference library: group 1, no link, alignment 4096 for
 * partitions and none otherwise, no name, zero metadata. */
void sif_object_input_init(struct sif_object_input *in, int32_t data_type);

static inline uint32_t sif_link_group(uint32_t group)
{
	return group | SIF_GROUP_MASK;
}

/* Metadata setters: fail when in->data_type does not match, and for a
 * partition when arch is not 1..13 ("unknown architecture"). */
int sif_input_set_partition(struct sif_object_input *in, int32_t fs_type, int32_t part_type,
			    int arch, sb_error_t *err);
int sif_input_set_signature(struct sif_object_input *in, int32_t hash_type,
			    const uint8_t *fingerprint, size_t fingerprint_len, sb_error_t *err);
int sif_input_set_crypto_message(struct sif_object_input *in, int32_t format, int32_t message,
				 sb_error_t *err);
int sif_input_set_sbom(struct sif_object_input *in, int32_t format, sb_error_t *err);
/* OCI objects get their sha256 digest computed from the data when added. */

/* Adds an object with the given data into the lowest free slot (ID = slot+1),
 * after the end of the last used object, aligned as in->alignment says.
 * A primary partition sets the header arch; a second one is refused.
 * Returns the new object ID (> 0) or -1. in and data are borrowed. */
int64_t sif_add_object(struct sif_image *img, const struct sif_object_input *in, const void *data,
		       size_t len, sb_error_t *err);

/* Same, copying the data from fd until EOF. */
int64_t sif_add_object_from_fd(struct sif_image *img, const struct sif_object_input *in, int fd,
			       sb_error_t *err);

/* Streaming form, for data produced piece by piece (the SquashFS packer):
 * sif_object_begin reserves the slot and returns the absolute file offset
 * where the data starts; sif_object_pwrite writes at a position relative to
 * that start (any order); sif_object_commit records the object, whose size is
 * the largest end written, and returns its ID. sif_object_abort drops it.
 * Only one object can be pending; other changes are refused meanwhile. */
int64_t sif_object_begin(struct sif_image *img, const struct sif_object_input *in, sb_error_t *err);
int sif_object_pwrite(struct sif_image *img, int64_t pos, const void *buf, size_t len,
		      sb_error_t *err);
/* Reads back bytes already written to the pending object (a SquashFS writer
 * re-reads data to deduplicate); fails past the largest end written. */
int sif_object_pread(struct sif_image *img, int64_t pos, void *buf, size_t len, sb_error_t *err);
int64_t sif_object_commit(struct sif_image *img, sb_error_t *err);

/* For a writer with its own I/O (the SquashFS writer pwrites to an fd at an
 * offset): the fd of a file-backed image with a pending object (borrowed; -1
 * otherwise), and the call that records that the pending object's data now
 * spans len bytes from its start. */
int sif_object_fd(const struct sif_image *img);
int sif_object_note_written(struct sif_image *img, int64_t len, sb_error_t *err);
void sif_object_abort(struct sif_image *img);

enum sif_delete_flags {
	SIF_DELETE_ZERO = 1, /* overwrite the object's data with zeros */
	SIF_DELETE_COMPACT = 2, /* truncate the file after the last used object */
};
/* Deletes object id: the slot becomes 585 zero bytes; deleting the primary
 * partition resets the header arch to "00". */
int sif_delete_object(struct sif_image *img, uint32_t id, unsigned flags, sb_error_t *err);

/* Makes partition id (of type System) the primary partition, demoting the
 * current one; the header arch follows it. No-op if it is already primary. */
int sif_set_primary_partition(struct sif_image *img, uint32_t id, sb_error_t *err);

/* Time recorded by later changes through img. By default: "now", or
 * SIF_TIME_DETERMINISTIC for a deterministic image. */
void sif_set_clock(struct sif_image *img, int64_t t);

/* ---- names and text (siftool's output, sif-format.md section 8) ---------- */

const char *sif_data_type_name(int32_t t); /* "Def.FILE", ..., "Unknown" */
const char *sif_fs_type_name(int32_t t); /* "Squashfs", ..., "Unknown" */
const char *sif_part_type_name(int32_t t); /* "System", "*System", ..., "Unknown" */
const char *sif_hash_type_name(int32_t t); /* "SHA-256", ..., NULL if unsupported */
const char *sif_crypto_format_name(int32_t t);
const char *sif_crypto_message_name(int32_t t);
const char *sif_sbom_format_name(int32_t t); /* "cyclonedx-json", ..., "unknown" */
const char *sif_arch_name(int arch); /* Go names: "386", "amd64", ..., "unknown" */
/* Arch code for a Go arch name or a two-digit code; 0 when unknown. */
int sif_arch_from_name(const char *name);
/* Code from the three stored bytes; 0 when they are not "01\0".."13\0". */
int sif_arch_from_raw(const char raw[3]);

/* UUID text (36 chars, lowercase) <-> bytes. parse returns -1 on bad text. */
void sif_uuid_format(const uint8_t uuid[16], char out[37]);
int sif_uuid_parse(const char *s, uint8_t out[16]);

/* Appends the text of `siftool header`, `siftool list` and `siftool info ID`
 * to out. */
void sif_format_header(const struct sif_image *img, struct sb_strbuf *out);
void sif_format_list(const struct sif_image *img, struct sb_strbuf *out);
int sif_format_info(const struct sif_descriptor *d, struct sb_strbuf *out, sb_error_t *err);

#endif
