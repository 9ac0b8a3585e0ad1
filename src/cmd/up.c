/* up.c: `deskrun up [NAME...]`: make the cluster match the definitions. Installs or upgrades
 * the ARC controller, waits for its CRDs, then applies only what changed (server-side apply,
 * objects and secrets on kubectl's stdin) and prunes what deskrun deployed earlier that is no
 * longer rendered. */
#include "lib/common.h"
#include "buildinfo.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "lib/duration.h"
#include "lib/plan.h"
#include "lib/render.h"
#include "sys/deploy.h"
#include "sys/kube.h"
#include "sys/log.h"
#include "sys/progress.h"

#include <time.h>

enum { OPT_DRY_RUN = 1, OPT_WAIT, OPT_TIMEOUT, OPT_INSTALL_UNIT, OPT_UNIT_DIR, OPT_METRICS };

static const dr_opt up_opts[] = {
	{ "dry-run", 0, NULL,
	  "print the plan (objects to create, update and delete) and change nothing", OPT_DRY_RUN },
	{ "wait", 0, "DURATION",
	  "after applying, wait up to DURATION (e.g. 5m) until every scale set has its listener "
	  "and its minimum of runners",
	  OPT_WAIT },
	{ "timeout", 0, "DURATION",
	  "how long a pruned scale set may take to clear ARC's finalizers (default 2m)",
	  OPT_TIMEOUT },
	{ "install-unit", 0, NULL,
	  "local provider: also write the systemd unit " DR_AGENT_UNIT " (the agent at boot, "
	  "serving every runner) and, where systemd runs, start the agent under it",
	  OPT_INSTALL_UNIT },
	{ "unit-dir", 0, "DIR", "where --install-unit writes (default " DR_UNIT_DIR ")",
	  OPT_UNIT_DIR },
	{ "metrics-addr", 0, "127.0.0.1:PORT",
	  "local provider: the agent serves Prometheus metrics (ARC's listener's names) at "
	  "http://ADDR/metrics; recorded for later ups and the unit ('off' stops them)",
	  OPT_METRICS },
	{ NULL, 0, NULL, NULL, 0 },
};

/* Every scale set of `ars` has an AutoscalingListener and minRunners current runners. */
static int
wait_ready(const dr_deploy *d, json_t *ars_list, long wait_ms, dr_err **err)
{
	long deadline = dr_now_ms() + wait_ms;
	_cleanup_strv_ char **largs =
		dr_argv("get", "autoscalinglisteners.actions.github.com", "--namespace",
		        d->config->settings.controller_namespace, NULL);
	_cleanup_strv_ char **aargs = dr_argv("get", "autoscalingrunnersets.actions.github.com",
	                                      "--all-namespaces", "-l", DR_MANAGED_SELECTOR, NULL);
	/* Listeners and runners come from ARC's controller: without one, waiting is in vain. */
	size_t deployments = 0;
	long c_want = 0, c_ready = 0;
	if (dr_controller_replicas(d, &deployments, &c_want, &c_ready, err) < 0)
		return -1;
	if (deployments == 0)
		return dr_fail(err, DR_EXIT_FAIL,
		               "--wait: no ARC controller runs in %s (no Deployment labelled %s; did "
		               "controller-chart install one?): the scale sets are applied, but nothing "
		               "starts their listeners and runners",
		               d->config->settings.controller_namespace, DR_CONTROLLER_SELECTOR);
	for (;;) {
		_cleanup_json_ json_t *listeners = NULL, *sets = NULL;
		if (dr_kubectl_json(d->cluster, largs, &listeners, err) < 0 ||
		    dr_kubectl_json(d->cluster, aargs, &sets, err) < 0)
			return -1;
		_cleanup_free_ char *missing = NULL;
		size_t i;
		json_t *want;
		json_array_foreach(ars_list, i, want) {
			const char *name = dr_obj_name(want), *ns = dr_obj_namespace(want);
			bool listener = false, runners = false;
			size_t k;
			json_t *l;
			json_array_foreach(json_object_get(listeners, "items"), k, l) {
				listener |= dr_streq(dr_obj_label(l, "actions.github.com/scale-set-name"),
				                     name) &&
				            dr_streq(dr_obj_label(l, "actions.github.com/scale-set-namespace"),
				                     ns);
			}
			json_array_foreach(json_object_get(sets, "items"), k, l) {
				if (strcmp(dr_obj_name(l), name) || strcmp(dr_obj_namespace(l), ns))
					continue;
				json_int_t cur = json_integer_value(
					json_object_get(json_object_get(l, "status"), "currentRunners"));
				json_int_t min = json_integer_value(
					json_object_get(json_object_get(l, "spec"), "minRunners"));
				runners = cur >= min;
			}
			if (!listener || !runners) {
				char *m = dr_xasprintf("%s%s%s/%s (%s)", missing ? missing : "",
				                       missing ? ", " : "", ns, name,
				                       !listener ? "no listener yet" : "runners starting");
				free(missing);
				missing = m;
			}
		}
		if (!missing) {
			dr_progress_step(d->progress, "every scale set has its listener and runners");
			return 0;
		}
		if (dr_now_ms() >= deadline) {
			_cleanup_free_ char *t = dr_duration_text(wait_ms);
			if (dr_controller_replicas(d, &deployments, &c_want, &c_ready, err) < 0)
				return -1;
			_cleanup_free_ char *ctl =
				c_ready < c_want || deployments == 0
					? dr_xasprintf(" (the ARC controller has %ld of %ld replicas ready in %s)",
					               c_ready, c_want, d->config->settings.controller_namespace)
					: dr_xstrdup("");
			return dr_fail(err, DR_EXIT_TIMEOUT, "not ready after %s: %s%s; see 'deskrun status'",
			               t, missing, ctl);
		}
		struct timespec ts = { 2, 0 };
		nanosleep(&ts, NULL);
	}
}

/* kind nodes cannot pull deskrun's helper image from anywhere: load it into them when they
 * lack it (building the default one first when the local Docker lacks it too). */
static int
load_helper_images(const dr_deploy *d, const dr_runner *const *sel, size_t n, dr_err **err)
{
	if (d->cluster->provider != DR_PROVIDER_KIND)
		return 0;
	_cleanup_strv_ char **images = NULL;
	for (size_t i = 0; i < n; i++)
		dr_runner_helper_images(sel[i], &images);
	if (!images)
		return 0;
	_cleanup_strv_ char **nargs = dr_argv("get", "nodes", NULL);
	_cleanup_json_ json_t *nodes = NULL;
	if (dr_kubectl_json(d->cluster, nargs, &nodes, err) < 0)
		return -1;
	for (size_t k = 0; images[k]; k++) {
		const char *img = images[k];
		bool everywhere = json_array_size(json_object_get(nodes, "items")) > 0;
		size_t i;
		json_t *node;
		json_array_foreach(json_object_get(nodes, "items"), i, node) {
			bool has = false;
			size_t j;
			json_t *im;
			json_array_foreach(json_object_get(json_object_get(node, "status"), "images"), j, im) {
				size_t m;
				json_t *nm;
				json_array_foreach(json_object_get(im, "names"), m, nm) {
					const char *s = json_string_value(nm);
					/* kind lists docker.io/library/NAME:TAG for a local NAME:TAG */
					has |= s && (strcmp(s, img) == 0 ||
					             (dr_endswith(s, img) && s[strlen(s) - strlen(img) - 1] == '/'));
				}
			}
			everywhere &= has;
		}
		if (everywhere)
			continue;
		_cleanup_strv_ char **inspect = dr_argv("docker", "image", "inspect", "--format", "{{.Id}}", img, NULL);
		_cleanup_spawn_ dr_spawn_result ires = { 0 };
		dr_call icall = { .allow_fail = true };
		if (dr_run_tool(inspect, "install docker.io", &icall, &ires, err) < 0)
			return -1;
		if (ires.status != 0) {
			if (strcmp(img, DR_DEFAULT_HELPER_IMAGE_REPO ":" DESKRUN_VERSION) != 0) {
				dr_info("kind nodes lack %s and the local Docker has no such image: the nodes "
				        "will try to pull it",
				        img);
				continue;
			}
			dr_progress_step(d->progress, "building the helper image %s", img);
			if (dr_helper_image_build(img, "docker", NULL, err) < 0)
				return -1;
		}
		dr_progress_step(d->progress, "loading %s into kind cluster %s", img, d->cluster->name);
		_cleanup_strv_ char **load = dr_argv("load", "docker-image", img, "--name",
		                                     d->cluster->name, NULL);
		_cleanup_spawn_ dr_spawn_result lres = { 0 };
		if (dr_kind(load, NULL, &lres, err) < 0)
			return -1;
	}
	return 0;
}

static int
run_up(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	bool dry_run = false, timeout_set = false;
	dr_local_up_opts lo = { 0 };
	long wait_ms = 0, timeout_ms = 120000;
	_cleanup_strv_ char **names = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_up, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_up, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			dr_strv_push(&names, v);
			continue;
		}
		if (id == OPT_DRY_RUN)
			dry_run = true;
		else if (id == OPT_WAIT && dr_duration_parse("--wait", v, &wait_ms, err) < 0)
			return -1;
		else if (id == OPT_TIMEOUT && dr_duration_parse("--timeout", v, &timeout_ms, err) < 0)
			return -1;
		timeout_set |= id == OPT_TIMEOUT;
		if (id == OPT_INSTALL_UNIT)
			lo.install_unit = true;
		else if (id == OPT_UNIT_DIR)
			lo.unit_dir = v;
		else if (id == OPT_METRICS)
			lo.metrics_addr = v;
	}
	if (lo.unit_dir && !lo.install_unit)
		return dr_fail(err, DR_EXIT_USAGE, "--unit-dir is for --install-unit: add it, or leave "
		               "--unit-dir out");
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	_cleanup_free_ const dr_runner **sel = NULL;
	size_t n = 0;
	if (dr_cli_select(c, path, names, dr_strv_len(names), &sel, &n, err) < 0)
		return -1;
	bool by_default = !c->cluster;
	if (dr_local_default(path, c, err) < 0)
		return -1;
	if (c->cluster->provider != DR_PROVIDER_LOCAL && (lo.install_unit || lo.metrics_addr))
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s is for the local provider: on %s the ARC controller and listeners "
		               "run in the cluster (their metrics are enabled by up)",
		               lo.install_unit ? "--install-unit" : "--metrics-addr",
		               dr_provider_name(c->cluster->provider));
	if (c->cluster->provider == DR_PROVIDER_LOCAL) {
		if (timeout_set)
			return dr_fail(err, DR_EXIT_USAGE,
			               "--timeout has no meaning on the local provider (no finalizers to "
			               "wait for): leave it out");
		if (lo.metrics_addr && !dr_streq(lo.metrics_addr, "off") &&
		    dr_local_metrics_addr(lo.metrics_addr, true, NULL, err) < 0)
			return -1;
		if (dry_run) {
			bool unix_engine =
				!c->cluster->engine || dr_startswith(c->cluster->engine, "unix://");
			for (size_t i = 0; i < n; i++) {
				if (dr_local_check(sel[i], unix_engine, err) < 0)
					return -1;
				printf("  serve     %s (min %d, max %d) with the local agent\n",
				       sel[i]->name, sel[i]->min_runners, sel[i]->max_runners);
			}
			if (lo.install_unit) {
				_cleanup_free_ char *unit = dr_local_unit_text(path, c->cluster, err);
				if (!unit)
					return -1;
				printf("  write     %s/" DR_AGENT_UNIT ":\n%s",
				       lo.unit_dir ? lo.unit_dir : DR_UNIT_DIR, unit);
			}
			printf("(dry run: nothing was changed)\n");
			return 0;
		}
		lo.names = names;
		lo.wait_ms = wait_ms;
		lo.record = by_default;
		return dr_local_up(path, c, &lo, err);
	}

	dr_render_opts ro = { .include_secrets = true };
	_cleanup_json_ json_t *objects = dr_render(sel, n, &c->settings, &ro);
	dr_stamp_objects(objects);
	dr_progress prog;
	dr_progress_init(&prog);
	dr_deploy d = { .config = c, .cluster = c->cluster, .progress = &prog };

	_cleanup_json_ json_t *live = NULL;
	if (dry_run) {
		_cleanup_err_ dr_err *lerr = NULL;
		_cleanup_free_ char *version = NULL;
		if (dr_controller_version(&d, &version, err) < 0) {
			return -1;
		} else if (!version || strcmp(version, DR_ARC_VERSION) != 0) {
			printf("  %-9s ARC controller %s%s%s from %s\n", version ? "upgrade" : "install",
			       version ? version : "", version ? " -> " : "", DR_ARC_VERSION,
			       dr_controller_chart(&c->settings));
		}
		if (dr_live_objects(&d, NULL, &live, err) < 0)
			return -1;
	} else {
		bool changed = false;
		if (dr_controller_ensure(&d, &changed, err) < 0 || dr_crds_wait(&d, err) < 0 ||
		    load_helper_images(&d, sel, n, err) < 0)
			return -1;
		if (dr_live_objects(&d, NULL, &live, err) < 0)
			return -1;
	}
	if (!live)
		live = json_array();
	_cleanup_plan_ dr_plan *plan =
		dr_plan_make(objects, live, dr_strv_len(names) ? names : NULL);
	_cleanup_free_ char *text = dr_plan_text(plan, false);
	bool nothing = plan->count[DR_ACTION_CREATE] + plan->count[DR_ACTION_UPDATE] +
	                       plan->count[DR_ACTION_DELETE] ==
	               0;
	if (dry_run) {
		printf("%s(dry run: nothing was changed)\n", text);
		return 0;
	}
	if (nothing) {
		if (!dr_quiet())
			printf("nothing to change: %zu objects are up to date\n",
			       plan->count[DR_ACTION_KEEP]);
	} else {
		if (!dr_quiet())
			fputs(text, stdout);
		fflush(stdout);
		_cleanup_json_ json_t *apply = dr_plan_to_apply(plan);
		if (json_array_size(apply) > 0) {
			dr_progress_step(&prog, "applying %zu objects (server-side apply)",
			                 json_array_size(apply));
			if (dr_apply_objects(&d, apply, err) < 0)
				return -1;
		}
		if (plan->count[DR_ACTION_DELETE] &&
		    dr_delete_planned(&d, plan, timeout_ms, err) < 0)
			return -1;
		dr_progress_step(&prog, "done");
	}
	if (wait_ms > 0) {
		_cleanup_json_ json_t *sets = json_array();
		size_t i;
		json_t *o;
		json_array_foreach(objects, i, o) {
			if (strcmp(dr_obj_kind(o), "AutoscalingRunnerSet") == 0)
				json_array_append(sets, o);
		}
		dr_progress_step(&prog, "waiting for %zu scale sets", json_array_size(sets));
		if (wait_ready(&d, sets, wait_ms, err) < 0)
			return -1;
	}
	return 0;
}

const dr_cmd dr_cmd_up = {
	.name = "up",
	.summary = "deploy the runners to the recorded cluster (only what changed)",
	.synopsis = "[NAME...] [--dry-run] [--wait DURATION] [--timeout DURATION] "
	            "[--install-unit [--unit-dir DIR]] [--metrics-addr 127.0.0.1:PORT|off]",
	.description =
		"Install the ARC controller " DR_ARC_VERSION " once (helm upgrade --install, with its "
		"Prometheus metrics enabled; upgraded, CRDs first, when deskrun's pinned version "
		"changes) from ghcr.io's chart, or from the chart the setting controller-chart names "
		"when ghcr.io is out of reach ('deskrun config set controller-chart "
		"/srv/charts/gha-runner-scale-set-controller-" DR_ARC_VERSION ".tgz': a chart "
		"directory, a .tgz archive or an oci:// mirror; it must be that chart at "
		DR_ARC_VERSION "), wait for its CRDs, then compare the rendered objects with what is on the "
		"cluster: create what is missing, update what changed (kubectl apply --server-side "
		"--field-manager=deskrun, objects and the GitHub Secret on kubectl's stdin), and "
		"delete what deskrun deployed earlier that is no longer rendered, AutoscalingRunnerSets "
		"first. A second 'up' with nothing changed changes nothing and says so.\n\n"
		"--wait needs ARC's controller running: without its Deployment it fails at once "
		"(exit 1) instead of waiting for listeners nothing will start.\n\n"
		"With NAMEs, only those runners are applied and pruned; without, every runner of the "
		"config, and objects of runners removed from the config are pruned.\n\n"
		"On the local provider (cluster create --provider local) there is no Kubernetes: up "
		"starts (or restarts, handing running jobs over) 'deskrun agent' as a daemon serving "
		"the runners (NAMEs add to those served), and waits up to --wait (default 30s) until "
		"each scale set has its session; --timeout is refused there. --metrics-addr "
		"127.0.0.1:PORT has the agent serve Prometheus metrics (recorded; 'off' stops them). "
		"--install-unit also writes the systemd unit " DR_AGENT_UNIT " (" DR_UNIT_DIR
		", root only, or --unit-dir; rewritten only when it changed, no secret in it) and, "
		"where systemd runs, starts the agent under it; elsewhere the agent starts as a daemon "
		"and up says how to start the unit.\n\n"
		"With no cluster recorded, the local provider is the default (on $DOCKER_HOST, else "
		"the default socket), said in one line on stderr; the first up records it. A recorded "
		"kind, k3s or existing cluster keeps Kubernetes.",
	.opts = up_opts,
	.run = run_up,
};
