/* main.c: deskrun's entry point: global options, command dispatch, and the only place that
 * turns an error into a message and an exit status. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/suggest.h"
#include "sys/log.h"
#include "sys/progress.h"

static void *
json_alloc(size_t n)
{
	return dr_xmalloc(n);
}

int
main(int argc, char **argv)
{
	json_set_alloc_funcs(json_alloc, free);
	dr_cli cli = { 0 };
	int i = 1;
	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			dr_print_main_help(stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			argv[i] = (char *)"version";
			break;
		}
		if (strcmp(a, "--config") == 0 && i + 1 < argc && argv[i + 1][0]) {
			cli.config_flag = argv[i + 1];
			i += 2;
			continue;
		}
		if (dr_startswith(a, "--config=") && a[9]) {
			cli.config_flag = a + 9;
			i++;
			continue;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			dr_set_quiet(true);
			i++;
			continue;
		}
		fprintf(stderr, "deskrun: error: unknown global option %s (see 'deskrun help')\n", a);
		return DR_EXIT_USAGE;
	}
	if (i >= argc) {
		fputs("usage: deskrun [--config PATH] [--quiet] COMMAND [ARGS...]; 'deskrun help' lists the "
		      "commands\n",
		      stderr);
		return DR_EXIT_USAGE;
	}
	const dr_cmd *cmd = dr_cmd_find(argv[i]);
	if (!cmd) {
		const char *names[64];
		size_t n = 0;
		for (size_t k = 0; dr_commands[k] && n + 1 < DR_ARRAY_LEN(names); k++)
			names[n++] = dr_commands[k]->name;
		names[n] = NULL;
		const char *near = dr_suggest(argv[i], names);
		if (near)
			fprintf(stderr,
			        "deskrun: error: unknown command \"%s\": did you mean 'deskrun %s'? (see "
			        "'deskrun help')\n",
			        argv[i], near);
		else
			fprintf(stderr, "deskrun: error: unknown command \"%s\" (see 'deskrun help')\n",
			        argv[i]);
		return DR_EXIT_USAGE;
	}
	dr_err *err = NULL;
	int rc = cmd->run(&cli, argc - i, argv + i, &err);
	if (fflush(stdout) != 0 && rc == 0)
		rc = dr_fail_errno(&err, DR_EXIT_FAIL, errno, "write to stdout");
	if (rc < 0) {
		dr_print_error(err);
		int code = err ? err->code : DR_EXIT_FAIL;
		dr_err_free(err);
		return code;
	}
	return 0;
}
