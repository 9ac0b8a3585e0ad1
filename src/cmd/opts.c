/* opts.c: the option parser and help printer shared by every command (see cmd.h). */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/suggest.h"

#include "sys/progress.h"

enum { GLOBAL_CONFIG = -100, GLOBAL_QUIET, GLOBAL_HELP };

static const dr_opt global_opts[] = {
	{ "config", 0, "PATH",
	  "the config file (default: $DESKRUN_CONFIG, else "
	  "${XDG_CONFIG_HOME:-~/.config}/deskrun/config.json)",
	  GLOBAL_CONFIG },
	{ "quiet", 'q', NULL,
	  "no progress, spinner or informational lines (\"added ...\", \"applied ...\"); errors, "
	  "warnings and the data asked for are still printed",
	  GLOBAL_QUIET },
	{ "help", 'h', NULL, "show this help", GLOBAL_HELP },
	{ NULL, 0, NULL, NULL, 0 },
};

void
dr_optparse_init(dr_optparse *p, const dr_cmd *cmd, dr_cli *cli, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->argc = argc;
	p->argv = argv;
	p->i = 1; /* argv[0] is the command name */
	p->cmd = cmd;
	p->cli = cli;
}

static const dr_opt *
find_long(const dr_opt *opts, const char *name, size_t len)
{
	for (size_t i = 0; opts && opts[i].name; i++)
		if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static const dr_opt *
find_short(const dr_opt *opts, char c)
{
	for (size_t i = 0; opts && opts[i].name; i++)
		if (opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

/* The closest long option of the command (or a global one) to a mistyped name, or NULL. */
static const char *
suggest_option(const dr_opt *opts, const char *name)
{
	const char *names[256];
	size_t n = 0;
	for (size_t i = 0; opts && opts[i].name && n + 1 < DR_ARRAY_LEN(names); i++)
		names[n++] = opts[i].name;
	for (size_t i = 0; global_opts[i].name && n + 1 < DR_ARRAY_LEN(names); i++)
		names[n++] = global_opts[i].name;
	names[n] = NULL;
	return dr_suggest(name, names);
}

int
dr_optparse_next(dr_optparse *p, int *id, const char **value, dr_err **err)
{
	for (;;) {
		if (p->i >= p->argc)
			return DR_OPT_END;
		const char *a = p->argv[p->i++];
		if (p->options_done || a[0] != '-' || a[1] == '\0') {
			*value = a;
			return DR_OPT_ARG;
		}
		if (strcmp(a, "--") == 0) {
			p->options_done = true;
			continue;
		}
		const dr_opt *o = NULL;
		const char *inline_value = NULL;
		char shown[128];
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			o = find_long(p->cmd->opts, name, len);
			if (!o)
				o = find_long(global_opts, name, len);
			if (eq)
				inline_value = eq + 1;
			snprintf(shown, sizeof(shown), "--%.*s", (int)len, name);
		} else {
			if (a[2] != '\0')
				return dr_fail(err, DR_EXIT_USAGE,
				               "unknown option %s for 'deskrun %s': give short options "
				               "one at a time (see 'deskrun %s --help')",
				               a, p->cmd->name, p->cmd->name);
			o = find_short(p->cmd->opts, a[1]);
			if (!o)
				o = find_short(global_opts, a[1]);
			snprintf(shown, sizeof(shown), "-%c", a[1]);
		}
		if (!o) {
			const char *near = a[1] == '-' ? suggest_option(p->cmd->opts, shown + 2) : NULL;
			if (near)
				return dr_fail(err, DR_EXIT_USAGE,
				               "unknown option %s for 'deskrun %s': did you mean --%s? (see "
				               "'deskrun %s --help')",
				               shown, p->cmd->name, near, p->cmd->name);
			return dr_fail(err, DR_EXIT_USAGE,
			               "unknown option %s for 'deskrun %s' (see 'deskrun %s --help')",
			               shown, p->cmd->name, p->cmd->name);
		}
		const char *v = NULL;
		if (o->metavar) {
			if (inline_value) {
				v = inline_value;
			} else if (p->i < p->argc) {
				v = p->argv[p->i++];
			} else {
				return dr_fail(err, DR_EXIT_USAGE, "%s needs a value (%s %s)", shown,
				               shown, o->metavar);
			}
		} else if (inline_value) {
			return dr_fail(err, DR_EXIT_USAGE, "%s takes no value: give %s alone", shown,
			               shown);
		}
		if (o->id == GLOBAL_CONFIG) {
			if (!*v)
				return dr_fail(err, DR_EXIT_USAGE, "--config needs a file path");
			p->cli->config_flag = v;
			continue;
		}
		if (o->id == GLOBAL_QUIET) {
			dr_set_quiet(true);
			continue;
		}
		if (o->id == GLOBAL_HELP)
			return DR_OPT_HELP;
		*id = o->id;
		*value = v;
		return DR_OPT_OPTION;
	}
}

int
dr_parse_int(const char *flag, const char *s, int *out, dr_err **err)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < INT32_MIN || v > INT32_MAX)
		return dr_fail(err, DR_EXIT_USAGE, "%s \"%s\": not a whole number: give e.g. %s 2",
		               flag, s, flag);
	*out = (int)v;
	return 0;
}

int
dr_usage_extra_arg(const dr_cmd *cmd, const char *arg, dr_err **err)
{
	return dr_fail(err, DR_EXIT_USAGE,
	               "unexpected argument \"%s\" for 'deskrun %s' (see 'deskrun %s --help')", arg,
	               cmd->name, cmd->name);
}

/* ---- help ---- */

#define HELP_WIDTH 100
#define HELP_COLUMN 30

/* Print text wrapped at HELP_WIDTH, continuation lines indented by `indent`; the first line
 * starts at column `col`. */
static void
print_wrapped(FILE *f, const char *text, size_t col, size_t indent)
{
	const char *p = text;
	while (*p) {
		const char *sp = p;
		while (*sp && *sp != ' ')
			sp++;
		size_t wl = (size_t)(sp - p);
		if (col > indent && col + 1 + wl > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, wl, f);
		col += wl;
		p = sp;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void
print_opts(FILE *f, const dr_opt *opts)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		char left[128];
		int n;
		if (opts[i].short_name)
			n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", opts[i].short_name,
			             opts[i].name, opts[i].metavar ? " " : "",
			             opts[i].metavar ? opts[i].metavar : "");
		else
			n = snprintf(left, sizeof(left), "      --%s%s%s", opts[i].name,
			             opts[i].metavar ? " " : "",
			             opts[i].metavar ? opts[i].metavar : "");
		fputs(left, f);
		size_t col = (size_t)n;
		if (col + 2 > HELP_COLUMN) {
			fputc('\n', f);
			col = 0;
		}
		fprintf(f, "%*s", (int)(HELP_COLUMN - col), "");
		print_wrapped(f, opts[i].help, HELP_COLUMN, HELP_COLUMN);
	}
}

void
dr_cmd_print_help(const dr_cmd *cmd, FILE *f)
{
	const char *s = cmd->synopsis;
	const char *prefix = "usage: ";
	for (;;) {
		const char *nl = strchr(s, '\n');
		int len = nl ? (int)(nl - s) : (int)strlen(s);
		fprintf(f, "%sdeskrun %s%s%.*s\n", prefix, cmd->name, len ? " " : "", len, s);
		prefix = "       ";
		if (!nl)
			break;
		s = nl + 1;
	}
	fputc('\n', f);
	const char *d = cmd->description;
	while (*d) {
		const char *end = strstr(d, "\n\n");
		size_t len = end ? (size_t)(end - d) : strlen(d);
		_cleanup_free_ char *para = dr_xstrndup(d, len);
		for (char *c = para; *c; c++)
			if (*c == '\n')
				*c = ' ';
		print_wrapped(f, para, 0, 0);
		fputc('\n', f);
		d = end ? end + 2 : d + len;
	}
	if (cmd->opts && cmd->opts[0].name) {
		fputs("options:\n", f);
		print_opts(f, cmd->opts);
		fputc('\n', f);
	}
	fputs("global options:\n", f);
	print_opts(f, global_opts);
}

void
dr_print_main_help(FILE *f)
{
	fputs("usage: deskrun [--config PATH] [--quiet] COMMAND [ARGS...]\n\n", f);
	print_wrapped(f,
	              "deskrun turns a workstation or any Kubernetes cluster into self-hosted "
	              "GitHub Actions runners where Docker works inside jobs: it stores runner "
	              "definitions and renders the Actions Runner Controller (ARC) 0.14.2 objects "
	              "for them.",
	              0, 0);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; dr_commands[i]; i++)
		fprintf(f, "  %-16s %s\n", dr_commands[i]->name, dr_commands[i]->summary);
	fputs("\nglobal options (before or after the command):\n", f);
	print_opts(f, global_opts);
	fputs("\n'deskrun help COMMAND' or 'deskrun COMMAND --help' shows a command's options.\n"
	      "Exit status: 0 ok, 1 failed, 2 usage error, 3 bad config file, 4 deadline passed,\n"
	      "126/127 a required program cannot run / is missing.\n",
	      f);
}
