/* bootstrap/oci/names.c: what a tar entry name of a layer means. Shared by
 * the on-disk unpacker and anything else that merges layers, so both apply
 * the same rules. */
#include "bootstrap/oci/internal.h"

#include <string.h>

#include "common/cleanup.h"
#include "common/strbuf.h"

static bool has_dotdot(const char *name)
{
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}

char *oci_clean_name(const char *name)
{
	return has_dotdot(name) ? NULL : oci_path_clean(name);
}

int oci_layer_name(const char *name, enum oci_name_kind *kind, char **path, sb_error_t *err)
{
	*path = NULL;
	cleanup_free char *rel = oci_clean_name(name);
	if (rel == NULL)
		return sb_error_set_status(err, 2, 0, "entry \"%s\": \"..\" in the path (escapes the "
					   "root filesystem)", name);
	if (*rel == '\0') {
		*kind = OCI_NAME_ROOT;
		*path = steal_pointer(&rel);
		return 0;
	}
	const char *sl = strrchr(rel, '/');
	const char *base = sl ? sl + 1 : rel;
	size_t dl = sl ? (size_t)(sl - rel) : 0;
	if (strncmp(base, ".wh.", 4) != 0) {
		*kind = OCI_NAME_ENTRY;
		*path = steal_pointer(&rel);
	} else if (strcmp(base, ".wh..wh..opq") == 0) {
		*kind = OCI_NAME_OPAQUE;
		*path = sb_strndup(rel, dl);
	} else if (strncmp(base, ".wh..wh.", 8) == 0) {
		*kind = OCI_NAME_SKIP; /* AUFS bookkeeping: .wh..wh.plnk, .wh..wh.aufs, ... */
	} else {
		const char *victim = base + 4;
		if (*victim == '\0' || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
			return sb_error_set_status(err, 2, 0, "entry \"%s\": whiteout of an invalid "
						   "name", name);
		*kind = OCI_NAME_WHITEOUT;
		*path = sl ? sb_asprintf("%.*s/%s", (int)dl, rel, victim) : sb_strdup(victim);
	}
	return 0;
}
