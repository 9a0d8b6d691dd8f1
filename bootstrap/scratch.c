/* bootstrap/scratch.c: Bootstrap: scratch, an empty root filesystem (the
 * builder adds the base environment); runscript "#!/bin/sh\n". */
#include "bootstrap/bootstrap.h"
#include "common/strbuf.h"

static int validate(const struct bootstrap_request *r, sb_error_t *err)
{
	(void)r;
	(void)err;
	return 0;
}

static int materialise(const struct bootstrap_request *r, struct bootstrap_result *res,
		       sb_error_t *err)
{
	(void)r;
	(void)err;
	res->runscript = sb_strdup("#!/bin/sh\n");
	return 0;
}

const struct bootstrap_ops bootstrap_scratch_ops = { validate, materialise };
