/* cmd.h: the command table and the option parser shared by every subcommand. Each command is
 * one file src/cmd/<name>.c exporting one `const dr_cmd dr_cmd_<name>`; table.c lists them. */
#ifndef DESKRUN_CMD_H
#define DESKRUN_CMD_H

#include "lib/common.h"

typedef struct dr_opt {
	const char *name;    /* long name without "--"; NULL ends a table */
	char short_name;     /* 0 if none */
	const char *metavar; /* NULL: a flag without a value */
	const char *help;
	int id;
} dr_opt;

typedef struct dr_cli {
	const char *config_flag; /* --config PATH, or NULL */
} dr_cli;

typedef struct dr_cmd {
	const char *name;
	const char *summary;     /* one line for `deskrun help` */
	const char *synopsis;    /* after "deskrun <name> " in the usage line(s); '\n' separates */
	const char *description; /* paragraphs for `deskrun help <name>` */
	const dr_opt *opts;      /* command options, or NULL */
	/* argv[0] is the command name. Returns 0, or -1 with *err set. */
	int (*run)(dr_cli *cli, int argc, char **argv, dr_err **err);
} dr_cmd;

extern const dr_cmd *const dr_commands[];
const dr_cmd *dr_cmd_find(const char *name);

/* Print `deskrun help <cmd>` to f. */
void dr_cmd_print_help(const dr_cmd *cmd, FILE *f);
/* Print the top-level help to f. */
void dr_print_main_help(FILE *f);

/* ---- option parser ----
 * Accepts --name VALUE, --name=VALUE, -x VALUE, flags, positional arguments anywhere and "--"
 * to end options. The global options (--config PATH, -q/--quiet, -h/--help) are recognised
 * everywhere; a command's own option of the same name (doctor's --quiet) takes precedence. */
enum { DR_OPT_END = 0, DR_OPT_OPTION, DR_OPT_ARG, DR_OPT_HELP };

typedef struct dr_optparse {
	int argc;
	char **argv;
	int i;
	const dr_cmd *cmd;
	dr_cli *cli;
	bool options_done;
} dr_optparse;

void dr_optparse_init(dr_optparse *p, const dr_cmd *cmd, dr_cli *cli, int argc, char **argv);
/* Returns DR_OPT_OPTION (*id, *value set; value NULL for a flag), DR_OPT_ARG (*value),
 * DR_OPT_HELP, DR_OPT_END, or -1 with a usage error. */
int dr_optparse_next(dr_optparse *p, int *id, const char **value, dr_err **err);

/* Parse a whole number for `flag`; usage error otherwise. */
int dr_parse_int(const char *flag, const char *s, int *out, dr_err **err);
/* Build the helper image (image.c): FROM scratch + a static deskrun, imported into `engine`
 * ("docker" or "podman"); binary NULL finds it. */
int dr_helper_image_build(const char *tag, const char *engine, const char *binary, dr_err **err);
int dr_dind_image_build(const char *tag, const char *from, const char *engine, const char *binary,
                        dr_err **err);

/* Usage error for an unexpected positional argument. */
int dr_usage_extra_arg(const dr_cmd *cmd, const char *arg, dr_err **err);

extern const dr_cmd dr_cmd_add;
extern const dr_cmd dr_cmd_agent;
extern const dr_cmd dr_cmd_build_job;
extern const dr_cmd dr_cmd_cache;
extern const dr_cmd dr_cmd_cluster;
extern const dr_cmd dr_cmd_config;
extern const dr_cmd dr_cmd_dind_entrypoint;
extern const dr_cmd dr_cmd_doctor;
extern const dr_cmd dr_cmd_down;
extern const dr_cmd dr_cmd_guard;
extern const dr_cmd dr_cmd_help;
extern const dr_cmd dr_cmd_image;
extern const dr_cmd dr_cmd_list;
extern const dr_cmd dr_cmd_remove;
extern const dr_cmd dr_cmd_render;
extern const dr_cmd dr_cmd_self_install;
extern const dr_cmd dr_cmd_status;
extern const dr_cmd dr_cmd_up;
extern const dr_cmd dr_cmd_version;
extern const dr_cmd dr_cmd_wait_docker;

#endif
