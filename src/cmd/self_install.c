/* self_install.c: `deskrun self-install DEST`: copy this binary to DEST. The helper image is
 * FROM scratch (no cp, no shell), so this is how an init container puts deskrun into an
 * emptyDir for the dind entrypoint while the upstream images stay unchanged. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "sys/fsutil.h"

#define BINARY_MAX (256u << 20)

static int
run_self_install(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *dest = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_self_install, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_self_install, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (dest)
				return dr_usage_extra_arg(&dr_cmd_self_install, v, err);
			dest = v;
		}
	}
	if (!dest || *dest != '/')
		return dr_fail(err, DR_EXIT_USAGE, "usage: deskrun self-install /ABSOLUTE/PATH");
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (dr_read_file("/proc/self/exe", BINARY_MAX, &data, &len, err) < 0)
		return dr_err_prefix(err, "read this binary");
	if (dr_write_atomic(dest, data, len, 0755, err) < 0)
		return dr_err_prefix(err, "install %s", dest);
	return 0;
}

const dr_cmd dr_cmd_self_install = {
	.name = "self-install",
	.summary = "copy this deskrun to a path (init containers of the helper image)",
	.synopsis = "DEST",
	.description = "Copy the running deskrun binary to DEST (atomically, mode 0755). The helper "
	               "image has no shell or cp: its init container runs 'deskrun self-install "
	               "/opt/deskrun/deskrun' to share the binary with the dind container through "
	               "an emptyDir.",
	.opts = NULL,
	.run = run_self_install,
};
