/* builder/image/skeleton.c: the files every Apptainer image has under
 * /.singularity.d and at its top (apptainer-behaviour.md 3.4, 3.12). The
 * scripts are sifbuild's own text with the behaviour Apptainer's runtime and
 * users expect; only the paths and the lines the runtime looks for are fixed. */
#include <stddef.h>

#include "builder/image/image.h"

#define HDR "#!/bin/sh\n# Written by sifbuild: part of the Apptainer image layout.\n\n"

#define SOURCE_ENV                                                        \
	"for script in /.singularity.d/env/*.sh; do\n"                    \
	"    if [ -f \"$script\" ]; then\n"                               \
	"        . \"$script\"\n"                                          \
	"    fi\n"                                                         \
	"done\n\n"

static const char action_exec[] = HDR SOURCE_ENV "exec \"$@\"\n";

static const char action_run[] =
	HDR SOURCE_ENV
	"if [ -n \"${SINGULARITY_APPNAME:-}\" ]; then\n"
	"    if [ -x \"/scif/apps/${SINGULARITY_APPNAME}/scif/runscript\" ]; then\n"
	"        exec \"/scif/apps/${SINGULARITY_APPNAME}/scif/runscript\" \"$@\"\n"
	"    fi\n"
	"    echo \"No runscript for contained app: ${SINGULARITY_APPNAME}\" >&2\n"
	"    exit 1\n"
	"fi\n"
	"if [ -x /.singularity.d/runscript ]; then\n"
	"    exec /.singularity.d/runscript \"$@\"\n"
	"fi\n"
	"echo \"No runscript found in this container, running /bin/sh\" >&2\n"
	"exec /bin/sh \"$@\"\n";

static const char action_shell[] =
	HDR SOURCE_ENV
	"if [ -n \"${SINGULARITY_SHELL:-}\" ] && [ -x \"${SINGULARITY_SHELL}\" ]; then\n"
	"    exec \"${SINGULARITY_SHELL}\" \"$@\"\n"
	"fi\n"
	"if [ -x /bin/bash ]; then\n"
	"    PS1=\"Apptainer ${APPTAINER_NAME:-}:\\w> \"\n"
	"    export PS1\n"
	"    exec /bin/bash --norc \"$@\"\n"
	"fi\n"
	"exec /bin/sh \"$@\"\n";

static const char action_start[] =
	HDR "# let the instance's init continue\nkill -CONT 1\n\n" SOURCE_ENV
	"if [ -x /.singularity.d/startscript ]; then\n"
	"    exec /.singularity.d/startscript \"$@\"\n"
	"fi\n";

static const char action_test[] =
	HDR SOURCE_ENV
	"if [ -n \"${SINGULARITY_APPNAME:-}\" ]; then\n"
	"    if [ -x \"/scif/apps/${SINGULARITY_APPNAME}/scif/test\" ]; then\n"
	"        exec \"/scif/apps/${SINGULARITY_APPNAME}/scif/test\" \"$@\"\n"
	"    fi\n"
	"    echo \"No tests for contained app: ${SINGULARITY_APPNAME}\" >&2\n"
	"    exit 1\n"
	"fi\n"
	"if [ -x /.singularity.d/test ]; then\n"
	"    exec /.singularity.d/test \"$@\"\n"
	"fi\n"
	"exec /bin/sh -c true\n";

static const char env_01_base[] =
	HDR "# Environment files in /.singularity.d/env are sourced in name order:\n"
	"# 10 image (OCI ENV), 90 %environment, 91 %post additions, 94/95 apps,\n"
	"# 99 runtime.\n";

static const char env_90[] = HDR "# Custom environment shell code should follow\n";

static const char env_95_apps[] =
	HDR
	"if [ -n \"${SINGULARITY_APPNAME:-}\" ]; then\n"
	"    SCIF_APPROOT=\"/scif/apps/${SINGULARITY_APPNAME}\"\n"
	"    if [ ! -d \"$SCIF_APPROOT\" ]; then\n"
	"        echo \"Could not locate the container application: ${SINGULARITY_APPNAME}\" >&2\n"
	"        exit 1\n"
	"    fi\n"
	"    SCIF_APPS=/scif/apps\n"
	"    export SCIF_APPROOT SCIF_APPS\n"
	"    PATH=\"$SCIF_APPROOT:$SCIF_APPROOT/bin:$PATH\"\n"
	"    if [ -d \"$SCIF_APPROOT/lib\" ]; then\n"
	"        LD_LIBRARY_PATH=\"$SCIF_APPROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"\n"
	"        export LD_LIBRARY_PATH\n"
	"    fi\n"
	"    for f in \"$SCIF_APPROOT/scif/env/01-base.sh\" \"$SCIF_APPROOT/scif/env/90-environment.sh\"; do\n"
	"        if [ -f \"$f\" ]; then\n"
	"            . \"$f\"\n"
	"        fi\n"
	"    done\n"
	"fi\n";

static const char env_99_base[] =
	HDR
	"if [ -z \"${LD_LIBRARY_PATH:-}\" ]; then\n"
	"    LD_LIBRARY_PATH=/.singularity.d/libs\n"
	"else\n"
	"    LD_LIBRARY_PATH=\"$LD_LIBRARY_PATH:/.singularity.d/libs\"\n"
	"fi\n"
	"PS1=${PS1:-Apptainer> }\n"
	"export LD_LIBRARY_PATH PS1\n";

static const char env_99_runtimevars[] =
	HDR
	"if [ -n \"${SING_USER_DEFINED_PREPEND_PATH:-}\" ]; then\n"
	"    PATH=\"${SING_USER_DEFINED_PREPEND_PATH}:${PATH}\"\n"
	"fi\n"
	"if [ -n \"${SING_USER_DEFINED_APPEND_PATH:-}\" ]; then\n"
	"    PATH=\"${PATH}:${SING_USER_DEFINED_APPEND_PATH}\"\n"
	"fi\n"
	"if [ -n \"${SING_USER_DEFINED_PATH:-}\" ]; then\n"
	"    PATH=\"${SING_USER_DEFINED_PATH}\"\n"
	"fi\n"
	"unset SING_USER_DEFINED_PREPEND_PATH SING_USER_DEFINED_APPEND_PATH SING_USER_DEFINED_PATH\n"
	"export PATH\n";

static const char runscript_default[] =
	HDR "echo \"There is no runscript defined for this container\\n\"\n";

static const char startscript_default[] = HDR "# no startscript defined for this container\n";

static const struct image_skel_entry skeleton[] = {
	{ ".singularity.d", 'd', 0755, NULL },
	{ ".singularity.d/libs", 'd', 0755, NULL },
	{ ".singularity.d/actions", 'd', 0755, NULL },
	{ ".singularity.d/env", 'd', 0755, NULL },
	{ "dev", 'd', 0755, NULL },
	{ "proc", 'd', 0755, NULL },
	{ "root", 'd', 0755, NULL },
	{ "var", 'd', 0755, NULL },
	{ "var/tmp", 'd', 0755, NULL },
	{ "tmp", 'd', 0755, NULL },
	{ "etc", 'd', 0755, NULL },
	{ "sys", 'd', 0755, NULL },
	{ "home", 'd', 0755, NULL },
	{ "singularity", 'l', 0777, ".singularity.d/runscript" },
	{ ".run", 'l', 0777, ".singularity.d/actions/run" },
	{ ".exec", 'l', 0777, ".singularity.d/actions/exec" },
	{ ".test", 'l', 0777, ".singularity.d/actions/test" },
	{ ".shell", 'l', 0777, ".singularity.d/actions/shell" },
	{ "environment", 'l', 0777, ".singularity.d/env/90-environment.sh" },
	{ "etc/hosts", 'f', 0644, "" },
	{ "etc/resolv.conf", 'f', 0644, "" },
	{ ".singularity.d/actions/exec", 'f', 0755, action_exec },
	{ ".singularity.d/actions/run", 'f', 0755, action_run },
	{ ".singularity.d/actions/shell", 'f', 0755, action_shell },
	{ ".singularity.d/actions/start", 'f', 0755, action_start },
	{ ".singularity.d/actions/test", 'f', 0755, action_test },
	{ ".singularity.d/env/01-base.sh", 'f', 0755, env_01_base },
	{ ".singularity.d/env/90-environment.sh", 'f', 0755, env_90 },
	{ ".singularity.d/env/95-apps.sh", 'f', 0755, env_95_apps },
	{ ".singularity.d/env/99-base.sh", 'f', 0755, env_99_base },
	{ ".singularity.d/env/99-runtimevars.sh", 'f', 0755, env_99_runtimevars },
	{ ".singularity.d/runscript", 'f', 0755, runscript_default },
	{ ".singularity.d/startscript", 'f', 0755, startscript_default },
};

const struct image_skel_entry *image_skeleton(size_t *n)
{
	*n = sizeof(skeleton) / sizeof(skeleton[0]);
	return skeleton;
}
