/* down.c: `deskrun down [NAME...]`: delete runners from the cluster, exactly their objects
 * (by the deskrun.io/runner label), AutoscalingRunnerSets first so ARC deregisters them and
 * clears its finalizers. The config, the controller and other runners are left alone. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "lib/duration.h"
#include "lib/plan.h"
#include "sys/deploy.h"
#include "sys/log.h"
#include "sys/progress.h"

enum { OPT_TIMEOUT = 1 };

static const dr_opt down_opts[] = {
	{ "timeout", 0, "DURATION",
	  "how long each scale set may take to clear ARC's finalizers (default 2m)", OPT_TIMEOUT },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
run_down(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	long timeout_ms = 120000;
	_cleanup_strv_ char **names = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_down, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_down, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			dr_strv_push(&names, v);
			continue;
		}
		if (id == OPT_TIMEOUT && dr_duration_parse("--timeout", v, &timeout_ms, err) < 0)
			return -1;
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	if (dr_local_default(path, c, err) < 0)
		return -1;
	if (c->cluster->provider == DR_PROVIDER_LOCAL)
		return dr_local_down(path, c, names, timeout_ms > 0 ? timeout_ms : 360000, err);
	dr_progress prog;
	dr_progress_init(&prog);
	dr_deploy d = { .config = c, .cluster = c->cluster, .progress = &prog };
	_cleanup_json_ json_t *live = NULL;
	if (dr_live_objects(&d, NULL, &live, err) < 0)
		return -1;
	_cleanup_json_ json_t *none = json_array();
	_cleanup_plan_ dr_plan *plan = dr_plan_make(none, live, names);
	for (size_t i = 0; names && names[i]; i++) {
		bool found = false;
		for (size_t k = 0; k < plan->n; k++)
			found |= dr_streq(dr_obj_label(plan->items[k].obj, "deskrun.io/runner"), names[i]);
		if (!found && !dr_config_find(c, names[i]))
			return dr_fail(err, DR_EXIT_USAGE,
			               "no runner named \"%s\" in %s or on the cluster (see 'deskrun "
			               "list')",
			               names[i], path);
		if (!found)
			dr_info("runner %s has nothing deployed", names[i]);
	}
	if (plan->count[DR_ACTION_DELETE] == 0) {
		if (!dr_quiet())
			printf("nothing to delete\n");
		return 0;
	}
	_cleanup_free_ char *text = dr_plan_text(plan, false);
	if (!dr_quiet())
		fputs(text, stdout);
	fflush(stdout);
	if (dr_delete_planned(&d, plan, timeout_ms, err) < 0)
		return -1;
	dr_progress_step(&prog, "done");
	return 0;
}

const dr_cmd dr_cmd_down = {
	.name = "down",
	.summary = "delete runners from the cluster (the config keeps them)",
	.synopsis = "[NAME...] [--timeout DURATION]",
	.description =
		"Delete the objects of the named runners (every runner deskrun deployed when no NAME "
		"is given), found by their deskrun.io/runner label: AutoscalingRunnerSets first, "
		"waiting for ARC to deregister them and clear its finalizers, then the rest. Other "
		"runners, the ARC controller, the namespaces and the config file are kept. A scale "
		"set that does not go within --timeout is named in the error (exit 4).\n\n"
		"On the local provider: the agent stops serving the named runners (all without NAME): "
		"it deletes its sessions, removes idle runners and waits for busy ones (up to "
		"--timeout), then starts again for the others. With no cluster recorded, the local "
		"provider is the default (said in one line on stderr).",
	.opts = down_opts,
	.run = run_down,
};
