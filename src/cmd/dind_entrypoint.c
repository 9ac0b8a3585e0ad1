/* dind_entrypoint.c: `deskrun dind-entrypoint`: the dind container's command. It leases a slot
 * of the node's Docker cache pool and runs dockerd on it as an init; the work is in
 * src/pod/dind.c. */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/duration.h"
#include "lib/quantity.h"
#include "pod/dind.h"
#include "pod/slot.h"

enum { OPT_POOL = 1, OPT_SLOTS, OPT_OWNER, OPT_WAIT_SLOT, OPT_FALLBACK, OPT_MAX_SIZE,
       OPT_READY_FILE };

static const dr_opt dind_opts[] = {
	{ "pool", 0, "DIR",
	  "the pool directory (e.g. /var/lib/deskrun/cache/pool/NAME); its slots are DIR/slot-0 "
	  "to DIR/slot-(N-1)",
	  OPT_POOL },
	{ "slots", 0, "N", "how many slots the pool has (1 to 1024)", OPT_SLOTS },
	{ "owner", 0, "SCALE_SET",
	  "who leases: the free slot this owner used most recently is preferred (warmest cache)",
	  OPT_OWNER },
	{ "wait-slot", 0, "DURATION", "when every slot is leased, wait this long for one (default 30s)",
	  OPT_WAIT_SLOT },
	{ "fallback", 0, "MODE",
	  "then: ephemeral (default: run on a throwaway data root, said on stderr) or fail (exit 4)",
	  OPT_FALLBACK },
	{ "max-size", 0, "SIZE",
	  "quota of the slot (e.g. 20Gi): once dockerd answers, prune unused images and build cache, "
	  "least recently used first, until under it",
	  OPT_MAX_SIZE },
	{ "ready-file", 0, "PATH",
	  "write this file once dockerd answers /_ping and the quota is enforced; removed when it "
	  "stops",
	  OPT_READY_FILE },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
run_dind_entrypoint(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_pod_dind_opts o = { .wait_slot_ms = 30000 };
	const char *max_size = NULL;
	char **dockerd = NULL;
	bool have_slots = false;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_dind_entrypoint, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_dind_entrypoint, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (!p.options_done)
				return dr_usage_extra_arg(&dr_cmd_dind_entrypoint, v, err);
			/* Everything after "--" is dockerd's command line, taken as is. */
			dockerd = &p.argv[p.i - 1];
			break;
		}
		switch (id) {
		case OPT_POOL:
			if (!*v)
				return dr_fail(err, DR_EXIT_USAGE, "--pool needs a directory");
			o.pool = v;
			break;
		case OPT_SLOTS:
			if (dr_parse_int("--slots", v, &o.slots, err) < 0)
				return -1;
			if (o.slots < 1 || o.slots > DR_POD_MAX_SLOTS)
				return dr_fail(err, DR_EXIT_USAGE,
				               "--slots %d: give between 1 and %d slots", o.slots,
				               DR_POD_MAX_SLOTS);
			have_slots = true;
			break;
		case OPT_OWNER:
			o.owner = v;
			break;
		case OPT_WAIT_SLOT:
			if (dr_duration_parse("--wait-slot", v, &o.wait_slot_ms, err) < 0)
				return -1;
			break;
		case OPT_FALLBACK:
			if (strcmp(v, "ephemeral") == 0)
				o.fallback_fail = false;
			else if (strcmp(v, "fail") == 0)
				o.fallback_fail = true;
			else
				return dr_fail(err, DR_EXIT_USAGE,
				               "--fallback \"%s\": use ephemeral or fail", v);
			break;
		case OPT_MAX_SIZE:
			max_size = v;
			break;
		case OPT_READY_FILE:
			if (!*v)
				return dr_fail(err, DR_EXIT_USAGE, "--ready-file needs a path");
			o.ready_file = v;
			break;
		default:
			break;
		}
	}
	if (!o.pool)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--pool is required: the pool directory, e.g. --pool "
		               "/var/lib/deskrun/cache/pool/NAME");
	if (!have_slots)
		return dr_fail(err, DR_EXIT_USAGE, "--slots is required: e.g. --slots 4");
	if (max_size) {
		if (dr_quantity_bytes(max_size, &o.max_size) < 0 || o.max_size == 0)
			return dr_fail(err, DR_EXIT_USAGE,
			               "--max-size \"%s\": not a size: use e.g. 20Gi or 500Mi", max_size);
	}
	if (!dockerd)
		return dr_fail(err, DR_EXIT_USAGE,
		               "give the daemon's command after \"--\", e.g. -- dockerd "
		               "--host=unix:///var/run/docker.sock");
	o.dockerd_argv = dockerd;
	int status = 0;
	if (dr_pod_dind_run(&o, &status, err) < 0)
		return -1;
	if (status == 0)
		return 0;
	if (status > 128)
		return dr_fail(err, status, "passing on dockerd's status %d (128+%d: a signal)", status,
		               status - 128);
	return dr_fail(err, status, "passing on dockerd's exit status %d", status);
}

const dr_cmd dr_cmd_dind_entrypoint = {
	.name = "dind-entrypoint",
	.summary = "lease a cache slot and supervise dockerd (in the dind container)",
	.synopsis = "--pool DIR --slots N [--owner SCALE_SET] [--wait-slot DURATION] "
	            "[--fallback ephemeral|fail] [--max-size SIZE] [--ready-file PATH] -- dockerd "
	            "[ARGS...]",
	.description =
		"The dind container's command. Leases one slot DIR/slot-K of the node's Docker cache "
		"pool with an exclusive flock held for the daemon's whole life (a killed pod frees it "
		"at once), preferring the free slot this --owner used most recently, then the least "
		"recently used one. When every slot is leased it waits up to --wait-slot, then runs "
		"on an ephemeral data root or fails (--fallback).\n\n"
		"It removes what a killed daemon left in the slot (mounts, pidfile, stale sockets, the "
		"exec root; never the layers) and resets its network store (a lease starts with "
		"dockerd's default networks only), then runs dockerd ARGS with --data-root "
		"DIR/slot-K/docker "
		"added, and --exec-root DIR/slot-K/exec and --pidfile DIR/slot-K/dockerd.pid unless "
		"ARGS set them. As an init it forwards SIGTERM, SIGINT and the like to dockerd, reaps "
		"zombies, and exits with dockerd's status (128+N if a signal N killed it). Once "
		"dockerd answers /_ping on its --host it enforces --max-size and writes --ready-file. "
		"DIR/slot-K/deskrun-slot.json records the owner, lease times, leases and size "
		"('deskrun cache ls').",
	.opts = dind_opts,
	.run = run_dind_entrypoint,
};
