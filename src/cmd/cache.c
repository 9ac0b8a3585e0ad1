/* cache.c: `deskrun cache ls|prune`: the slots of the leased Docker cache pools, with their
 * lease state (probed on each slot's lock) and what their metadata records; prune empties the
 * slots that are not leased (each slot's lock taken first) and says what it freed. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/duration.h"
#include "pod/fsops.h"
#include "pod/pool.h"
#include "pod/slot.h"
#include "lib/suggest.h"

#include <time.h>

enum { OPT_POOL = 1, OPT_OUTPUT, OPT_OLDER, OPT_ALL, OPT_DRY_RUN };

static const dr_opt cache_opts[] = {
	{ "pool", 0, "DIR",
	  "a pool directory, or a cache root holding pool/<definition>/ (default: the recorded "
	  "kind cluster's host cache directory, else the cache root, /var/lib/deskrun/cache)",
	  OPT_POOL },
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ "older-than", 0, "DURATION",
	  "prune: only slots last used at least this long ago (7d, 12h, 90m)", OPT_OLDER },
	{ "all", 0, NULL, "prune: every slot that is not leased right now", OPT_ALL },
	{ "dry-run", 'n', NULL, "prune: say what would be freed, delete nothing", OPT_DRY_RUN },
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

/* "7d" or "36h" or "90m" or anything dr_duration_parse takes, into seconds. */
static int
parse_age(const char *v, int64_t *secs, dr_err **err)
{
	size_t n = strlen(v);
	if (n > 1 && v[n - 1] == 'd') {
		char *end = NULL;
		errno = 0;
		long days = strtol(v, &end, 10);
		if (end == v + n - 1 && !errno && days >= 0 && days < 100000) {
			*secs = (int64_t)days * 86400;
			return 0;
		}
	} else {
		long ms = 0;
		_cleanup_err_ dr_err *e = NULL;
		if (dr_duration_parse("--older-than", v, &ms, &e) == 0) {
			*secs = ms / 1000;
			return 0;
		}
	}
	return dr_fail(err, DR_EXIT_USAGE,
	               "--older-than \"%s\": not a duration: give e.g. --older-than 7d (or 12h, 90m)",
	               v);
}

/* The pool directory on this host when --pool is not given: the kind cluster's host cache
 * directory, the cache root on k3s (or with no cluster); NULL and a note on stdout for an
 * existing cluster, whose caches are on its nodes. */
static char *
default_pool(dr_cli *cli, const char *name)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_cli_load_config(cli, &path, &c, &e) < 0 || !c)
		return dr_xstrdup(DR_POD_CACHE_ROOT);
	const dr_cluster *cl = c->cluster;
	if (cl && cl->provider == DR_PROVIDER_KIND && cl->host_cache_dir)
		return dr_xstrdup(cl->host_cache_dir);
	if (cl && cl->provider == DR_PROVIDER_EXISTING) {
		printf("the caches of cluster \"%s\" are on its nodes, not on this host; on a node run "
		       "'deskrun cache ls --pool %s'. Node paths:\n",
		       cl->name, c->settings.cache_root);
		for (size_t i = 0; i < c->n_runners; i++) {
			const dr_runner *r = c->runners[i];
			if (name && strcmp(r->name, name) != 0)
				continue;
			if (r->cache_pool > 0)
				printf("  %s/pool/%s/slot-0..%d\n", c->settings.cache_root, r->name,
				       r->cache_pool - 1);
			if (r->n_caches)
				printf("  %s/%s[-N]/cache-I\n", c->settings.cache_root, r->name);
		}
		return NULL;
	}
	return dr_xstrdup(c->settings.cache_root);
}

static void
print_prune(json_t *rows, bool dry_run, bool quiet)
{
	uint64_t total = 0;
	size_t freed = 0, skipped = 0;
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *a = json_string_value(json_object_get(r, "action"));
		uint64_t b = (uint64_t)json_integer_value(json_object_get(r, "bytes"));
		_cleanup_free_ char *size = dr_pod_size_text(b);
		if (dr_streq(a, "freed") || dr_streq(a, "would-free")) {
			total += b;
			freed++;
		} else if (dr_streq(a, "skipped")) {
			skipped++;
		}
		if (quiet && dr_streq(a, "kept"))
			continue;
		printf("%-10s %s/%s  %s%s%s\n", a, json_string_value(json_object_get(r, "pool")),
		       json_string_value(json_object_get(r, "slot")),
		       dr_streq(a, "freed") || dr_streq(a, "would-free") ? size : "",
		       dr_streq(a, "freed") || dr_streq(a, "would-free") ? "  " : "",
		       json_string_value(json_object_get(r, "reason")));
	}
	_cleanup_free_ char *t = dr_pod_size_text(total);
	printf("%s %s in %zu slot%s; %zu leased slot%s skipped\n", dry_run ? "would free" : "freed",
	       t, freed, freed == 1 ? "" : "s", skipped, skipped == 1 ? "" : "s");
}

static int
run_cache(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *pool = NULL, *output = "table", *sub = NULL, *name = NULL;
	int64_t older = -1;
	bool all = false, dry_run = false;
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
			if (sub && name)
				return dr_usage_extra_arg(&dr_cmd_cache, v, err);
			if (sub) {
				name = v;
				continue;
			}
			if (strcmp(v, "ls") != 0 && strcmp(v, "prune") != 0) {
				static const char *const subs[] = { "ls", "prune", NULL };
				const char *near = dr_suggest(v, subs);
				if (near)
					return dr_fail(err, DR_EXIT_USAGE,
					               "unknown subcommand \"%s\" for 'deskrun cache': did you "
					               "mean 'deskrun cache %s'?",
					               v, near);
				return dr_fail(err, DR_EXIT_USAGE,
				               "unknown subcommand \"%s\" for 'deskrun cache': use 'deskrun "
				               "cache ls' or 'deskrun cache prune'",
				               v);
			}
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
		} else if (id == OPT_OLDER) {
			if (parse_age(v, &older, err) < 0)
				return -1;
		} else if (id == OPT_ALL) {
			all = true;
		} else if (id == OPT_DRY_RUN) {
			dry_run = true;
		}
	}
	if (!sub)
		return dr_fail(err, DR_EXIT_USAGE,
		               "give a subcommand: 'deskrun cache ls'");
	bool prune = strcmp(sub, "prune") == 0;
	if (!prune && (older >= 0 || all || dry_run))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--older-than, --all and --dry-run are for 'deskrun cache prune'");
	if (prune && older < 0 && !all)
		return dr_fail(err, DR_EXIT_USAGE,
		               "'deskrun cache prune' needs --older-than DURATION (e.g. 7d) or --all");
	if (prune && older >= 0 && all)
		return dr_fail(err, DR_EXIT_USAGE, "give --older-than or --all, not both");
	_cleanup_free_ char *def = NULL;
	if (!pool) {
		def = default_pool(cli, name);
		if (!def)
			return 0;
		pool = def;
	}
	_cleanup_json_ json_t *rows = NULL;
	if (prune) {
		dr_pod_prune_opts po = { .only = name, .older_than_s = older < 0 ? 0 : older,
			                 .all = all, .dry_run = dry_run, .now = (int64_t)time(NULL) };
		if (dr_pod_pool_prune(pool, &po, &rows, err) < 0)
			return -1;
	} else {
		_cleanup_json_ json_t *list = NULL;
		if (dr_pod_pool_list(pool, &list, err) < 0)
			return -1;
		rows = json_array();
		size_t i;
		json_t *r;
		json_array_foreach(list, i, r) {
			if (!name || dr_streq(json_string_value(json_object_get(r, "pool")), name))
				json_array_append(rows, r);
		}
	}
	if (name && json_array_size(rows) == 0)
		return dr_fail(err, DR_EXIT_FAIL, "no cache pool \"%s\" under %s (see 'deskrun cache ls')",
		               name, pool);
	if (strcmp(output, "json") == 0) {
		_cleanup_free_ char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
	} else if (prune) {
		print_prune(rows, dry_run, false);
	} else {
		print_table(rows);
	}
	return 0;
}

const dr_cmd dr_cmd_cache = {
	.name = "cache",
	.summary = "show or prune the leased Docker cache slots of a node's pools",
	.synopsis = "ls [NAME] [--pool DIR] [--output table|json]\n"
	            "prune [NAME] (--older-than DURATION | --all) [--dry-run] [--pool DIR] "
	            "[--output table|json]",
	.description =
		"Lists the slots of a leased Docker cache pool (DIR/slot-K), or of every definition's "
		"pool under a cache root (DIR/pool/NAME/slot-K): whether the slot is leased right now "
		"(its lock is held: probed with a non-blocking flock), the owner (scale set) of its "
		"last lease, when that lease started and ended, how many leases it had, and the size "
		"of its data root when last measured. --output json adds the holder (host/pid), the "
		"daemon's last exit status and when the size was measured, for scripts and metrics. NAME "
		"narrows the listing to one definition's pool.\n\n"
		"prune empties the data root of every slot not leased right now that was last used "
		"--older-than ago (or of every unleased slot with --all): it takes each slot's lock "
		"without waiting first, so a slot leased at that moment is skipped and said so, and "
		"holds it while deleting. The slot, its lock and its metadata stay. It prints what it "
		"freed (--dry-run: what it would free). On kind the pools are in the host directory "
		"the node mounts; for an existing cluster the command prints the node paths instead.",
	.opts = cache_opts,
	.run = run_cache,
};
