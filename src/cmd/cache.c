/* cache.c: `deskrun cache ls`: the slots of the node's leased Docker cache pools, with their
 * lease state (probed on each slot's lock) and what their metadata records. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "pod/fsops.h"
#include "pod/pool.h"
#include "pod/slot.h"

enum { OPT_POOL = 1, OPT_OUTPUT };

static const dr_opt cache_opts[] = {
	{ "pool", 0, "DIR",
	  "a pool directory, or a cache root holding pool/<definition>/ (default "
	  "/var/lib/deskrun/cache)",
	  OPT_POOL },
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ NULL, 0, NULL, NULL, 0 },
};

static char *
cell_time(json_t *row, const char *key)
{
	const char *t = json_string_value(json_object_get(row, key));
	if (!t)
		return dr_xstrdup("-");
	char *s = dr_xstrdup(t);
	char *T = strchr(s, 'T');
	if (T)
		*T = ' ';
	return s;
}

static char *
cell_str(json_t *row, const char *key)
{
	const char *s = json_string_value(json_object_get(row, key));
	return dr_xstrdup(s && *s ? s : "-");
}

static void
print_table(json_t *rows)
{
	enum { NCOL = 8 };
	static const char *const head[NCOL] = { "POOL",       "SLOT",     "STATE", "OWNER",
		                                "LEASES",     "LAST START", "LAST END", "SIZE" };
	size_t n = json_array_size(rows);
	char **cells = dr_xcalloc((n + 1) * NCOL, sizeof(char *));
	size_t width[NCOL] = { 0 };
	for (int c = 0; c < NCOL; c++)
		cells[c] = dr_xstrdup(head[c]);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rows, i);
		char **row = &cells[(i + 1) * NCOL];
		json_t *size = json_object_get(r, "size_bytes");
		row[0] = cell_str(r, "pool");
		row[1] = cell_str(r, "slot");
		row[2] = cell_str(r, "state");
		row[3] = cell_str(r, "owner");
		row[4] = dr_xasprintf("%" JSON_INTEGER_FORMAT,
		                      json_integer_value(json_object_get(r, "leases")));
		row[5] = cell_time(r, "last_lease_start");
		row[6] = cell_time(r, "last_lease_end");
		row[7] = json_is_integer(size) ? dr_pod_size_text((uint64_t)json_integer_value(size))
		                               : dr_xstrdup("-");
		if (json_object_get(r, "error")) {
			free(row[2]);
			row[2] = dr_xasprintf("%s (bad metadata)",
			                      json_string_value(json_object_get(r, "state")));
		}
	}
	for (size_t i = 0; i <= n; i++)
		for (int c = 0; c < NCOL; c++) {
			size_t l = strlen(cells[i * NCOL + c]);
			if (l > width[c])
				width[c] = l;
		}
	for (size_t i = 0; i <= n; i++) {
		for (int c = 0; c < NCOL; c++) {
			const char *s = cells[i * NCOL + c];
			if (c == NCOL - 1)
				printf("%s\n", s);
			else if (c == 4)
				printf("%*s  ", (int)width[c], s);
			else
				printf("%-*s  ", (int)width[c], s);
		}
	}
	for (size_t i = 0; i < (n + 1) * NCOL; i++)
		free(cells[i]);
	free(cells);
}

static int
run_cache(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *pool = DR_POD_CACHE_ROOT, *output = "table", *sub = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_cache, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_cache, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (sub)
				return dr_usage_extra_arg(&dr_cmd_cache, v, err);
			if (strcmp(v, "ls") != 0)
				return dr_fail(err, DR_EXIT_USAGE,
				               "unknown subcommand \"%s\" for 'deskrun cache': use 'deskrun "
				               "cache ls'",
				               v);
			sub = v;
			continue;
		}
		if (id == OPT_POOL) {
			if (!*v)
				return dr_fail(err, DR_EXIT_USAGE, "--pool needs a directory");
			pool = v;
		} else if (id == OPT_OUTPUT) {
			if (strcmp(v, "table") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use table or json", v);
			output = v;
		}
	}
	if (!sub)
		return dr_fail(err, DR_EXIT_USAGE, "give a subcommand: 'deskrun cache ls'");
	_cleanup_json_ json_t *rows = NULL;
	if (dr_pod_pool_list(pool, &rows, err) < 0)
		return -1;
	if (strcmp(output, "json") == 0) {
		_cleanup_free_ char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
	} else {
		print_table(rows);
	}
	return 0;
}

const dr_cmd dr_cmd_cache = {
	.name = "cache",
	.summary = "show the leased Docker cache slots of a node's pool",
	.synopsis = "ls [--pool DIR] [--output table|json]",
	.description =
		"Lists the slots of a leased Docker cache pool (DIR/slot-K), or of every definition's "
		"pool under a cache root (DIR/pool/NAME/slot-K): whether the slot is leased right now "
		"(its lock is held: probed with a non-blocking flock), the owner (scale set) of its "
		"last lease, when that lease started and ended, how many leases it had, and the size "
		"of its data root when last measured. --output json adds the holder (host/pid), the "
		"daemon's last exit status and when the size was measured, for scripts and metrics.",
	.opts = cache_opts,
	.run = run_cache,
};
