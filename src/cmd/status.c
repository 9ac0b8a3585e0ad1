/* status.c: `deskrun status [NAME]`: per scale set the desired min/max, the current, running,
 * pending and failed runners (the AutoscalingRunnerSet's status), the listener pod's state and
 * the last Warning event, read from `kubectl get ... -o json`. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "lib/buf.h"
#include "lib/plan.h"
#include "lib/render.h"
#include "sys/deploy.h"
#include "sys/kube.h"

#include <signal.h>
#include <time.h>

enum { OPT_OUTPUT = 1, OPT_WATCH };

static const dr_opt status_opts[] = {
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ "watch", 'w', NULL, "print again every 2 seconds until interrupted", OPT_WATCH },
	{ NULL, 0, NULL, NULL, 0 },
};

static json_int_t
status_int(json_t *ars, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(ars, "status"), key));
}

/* The listener pod's phase for a scale set, or "none". */
static const char *
listener_state(json_t *pods, const char *name, const char *ns)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		if (!dr_streq(dr_obj_label(p, "actions.github.com/scale-set-name"), name) ||
		    !dr_streq(dr_obj_label(p, "actions.github.com/scale-set-namespace"), ns))
			continue;
		/* A waiting container's reason (CrashLoopBackOff, ImagePullBackOff) says more than
		 * the phase. */
		size_t k;
		json_t *cs;
		json_array_foreach(json_object_get(json_object_get(p, "status"), "containerStatuses"), k,
		                   cs) {
			const char *reason = json_string_value(json_object_get(
				json_object_get(json_object_get(cs, "state"), "waiting"), "reason"));
			if (reason)
				return reason;
		}
		const char *phase =
			json_string_value(json_object_get(json_object_get(p, "status"), "phase"));
		return phase ? phase : "Unknown";
	}
	return "none";
}

/* The newest Warning event about this scale set: "Reason: message", or NULL. */
static const char *
last_error(json_t *events, const char *name, const char *ns, char **owned)
{
	const char *best_time = NULL;
	json_t *best = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(events, "items"), i, e) {
		json_t *obj = json_object_get(e, "involvedObject");
		if (!dr_streq(json_string_value(json_object_get(obj, "name")), name) ||
		    !dr_streq(json_string_value(json_object_get(obj, "namespace")), ns))
			continue;
		const char *t = json_string_value(json_object_get(e, "lastTimestamp"));
		if (!t)
			t = json_string_value(json_object_get(e, "eventTime"));
		if (!t)
			t = "";
		if (!best || strcmp(t, best_time) >= 0) {
			best = e;
			best_time = t;
		}
	}
	if (!best)
		return NULL;
	*owned = dr_xasprintf("%s: %s", json_string_value(json_object_get(best, "reason")),
	                      json_string_value(json_object_get(best, "message")));
	for (char *c = *owned; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return *owned;
}

static int
collect(const dr_config *c, const char *name, json_t **rows, dr_err **err)
{
	dr_deploy d = { .config = c, .cluster = c->cluster };
	_cleanup_free_ char *sel = name ? dr_xasprintf("%s,deskrun.io/runner=%s",
	                                               DR_MANAGED_SELECTOR, name)
	                                : dr_xstrdup(DR_MANAGED_SELECTOR);
	_cleanup_strv_ char **aargs = dr_argv("get", "autoscalingrunnersets.actions.github.com",
	                                      "--all-namespaces", "-l", sel, NULL);
	_cleanup_strv_ char **pargs = dr_argv("get", "pods", "--namespace",
	                                      c->settings.controller_namespace, "-l",
	                                      "app.kubernetes.io/component=runner-scale-set-listener",
	                                      NULL);
	_cleanup_strv_ char **eargs = dr_argv(
		"get", "events", "--all-namespaces", "--field-selector",
		"type=Warning,involvedObject.kind=AutoscalingRunnerSet", NULL);
	_cleanup_json_ json_t *sets = NULL, *pods = NULL, *events = NULL;
	(void)d;
	if (dr_kubectl_json(c->cluster, aargs, &sets, err) < 0 ||
	    dr_kubectl_json(c->cluster, pargs, &pods, err) < 0 ||
	    dr_kubectl_json(c->cluster, eargs, &events, err) < 0)
		return dr_err_prefix(err, "read the runners' status");
	json_t *out = json_array();
	/* Every scale set of the config (selected) first, deployed or not. */
	for (size_t r = 0; r < c->n_runners; r++) {
		const dr_runner *runner = c->runners[r];
		if (name && strcmp(runner->name, name) != 0)
			continue;
		size_t nss = 0;
		dr_scale_set *ss = dr_scale_sets(runner, &c->settings, &nss);
		for (size_t k = 0; k < nss; k++) {
			json_t *row = json_object();
			json_object_set_new(row, "runner", json_string(runner->name));
			json_object_set_new(row, "scale_set", json_string(ss[k].name));
			json_object_set_new(row, "namespace", json_string(ss[k].namespace));
			json_object_set_new(row, "deployed", json_false());
			json_array_append_new(out, row);
		}
		dr_scale_sets_free(ss, nss);
	}
	size_t i;
	json_t *ars;
	json_array_foreach(json_object_get(sets, "items"), i, ars) {
		const char *ss = dr_obj_name(ars), *ns = dr_obj_namespace(ars);
		json_t *row = NULL;
		size_t k;
		json_t *r;
		json_array_foreach(out, k, r) {
			if (dr_streq(json_string_value(json_object_get(r, "scale_set")), ss) &&
			    dr_streq(json_string_value(json_object_get(r, "namespace")), ns))
				row = r;
		}
		if (!row) { /* deployed, but no longer in the config */
			row = json_object();
			const char *runner = dr_obj_label(ars, "deskrun.io/runner");
			json_object_set_new(row, "runner", json_string(runner ? runner : "?"));
			json_object_set_new(row, "scale_set", json_string(ss));
			json_object_set_new(row, "namespace", json_string(ns));
			json_array_append_new(out, row);
		}
		json_t *spec = json_object_get(ars, "spec");
		json_object_set_new(row, "deployed", json_true());
		json_object_set(row, "min_runners", json_object_get(spec, "minRunners"));
		json_object_set(row, "max_runners", json_object_get(spec, "maxRunners"));
		json_object_set_new(row, "current", json_integer(status_int(ars, "currentRunners")));
		json_object_set_new(row, "running",
		                    json_integer(status_int(ars, "runningEphemeralRunners")));
		json_object_set_new(row, "pending",
		                    json_integer(status_int(ars, "pendingEphemeralRunners")));
		json_object_set_new(row, "failed",
		                    json_integer(status_int(ars, "failedEphemeralRunners")));
		json_object_set_new(row, "listener", json_string(listener_state(pods, ss, ns)));
		_cleanup_free_ char *owned = NULL;
		const char *le = last_error(events, ss, ns, &owned);
		json_object_set_new(row, "last_error", le ? json_string(le) : json_null());
	}
	*rows = out;
	return 0;
}

static void
print_table(json_t *rows)
{
	printf("%-16s %-18s %-12s %4s %4s %7s %7s %7s %6s  %-17s %s\n", "RUNNER", "SCALE-SET",
	       "NAMESPACE", "MIN", "MAX", "CURRENT", "RUNNING", "PENDING", "FAILED", "LISTENER",
	       "LAST ERROR");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *runner = json_string_value(json_object_get(r, "runner"));
		const char *ss = json_string_value(json_object_get(r, "scale_set"));
		const char *ns = json_string_value(json_object_get(r, "namespace"));
		if (!json_is_true(json_object_get(r, "deployed"))) {
			printf("%-16s %-18s %-12s %s\n", runner, ss, ns,
			       "not deployed ('deskrun up' deploys it)");
			continue;
		}
		json_t *min = json_object_get(r, "min_runners"), *max = json_object_get(r, "max_runners");
		char smin[24] = "-", smax[24] = "-";
		if (json_is_integer(min))
			snprintf(smin, sizeof(smin), "%" JSON_INTEGER_FORMAT, json_integer_value(min));
		if (json_is_integer(max))
			snprintf(smax, sizeof(smax), "%" JSON_INTEGER_FORMAT, json_integer_value(max));
		const char *le = json_string_value(json_object_get(r, "last_error"));
		printf("%-16s %-18s %-12s %4s %4s %7" JSON_INTEGER_FORMAT " %7" JSON_INTEGER_FORMAT
		       " %7" JSON_INTEGER_FORMAT " %6" JSON_INTEGER_FORMAT "  %-17s %s\n",
		       runner, ss, ns, smin, smax, json_integer_value(json_object_get(r, "current")),
		       json_integer_value(json_object_get(r, "running")),
		       json_integer_value(json_object_get(r, "pending")),
		       json_integer_value(json_object_get(r, "failed")),
		       json_string_value(json_object_get(r, "listener")), le ? le : "-");
	}
}

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int
run_status(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *output = "table", *name = NULL;
	bool watch = false;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_status, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_status, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (name)
				return dr_usage_extra_arg(&dr_cmd_status, v, err);
			name = v;
			continue;
		}
		if (id == OPT_OUTPUT) {
			if (strcmp(v, "table") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use table or json", v);
			output = v;
		} else if (id == OPT_WATCH) {
			watch = true;
		}
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	if (dr_local_default(path, c, err) < 0)
		return -1;
	if (watch) {
		signal(SIGINT, on_interrupt);
		signal(SIGTERM, on_interrupt);
	}
	while (c->cluster->provider == DR_PROVIDER_LOCAL) {
		if (dr_local_status(c, name, strcmp(output, "json") == 0, err) < 0)
			return -1;
		fflush(stdout);
		if (!watch)
			return 0;
		for (int t = 0; t < 20 && !interrupted; t++) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (interrupted)
			return 0;
		if (strcmp(output, "table") == 0)
			printf("\n");
	}
	for (;;) {
		_cleanup_json_ json_t *rows = NULL;
		if (collect(c, name, &rows, err) < 0)
			return -1;
		if (name && json_array_size(rows) == 0)
			return dr_fail(err, DR_EXIT_USAGE,
			               "no runner named \"%s\" in %s or on the cluster", name, path);
		if (strcmp(output, "json") == 0) {
			_cleanup_free_ char *s = json_dumps(rows, JSON_INDENT(2));
			printf("%s\n", s);
		} else {
			print_table(rows);
		}
		fflush(stdout);
		if (!watch)
			return 0;
		for (int t = 0; t < 20 && !interrupted; t++) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (interrupted)
			return 0;
		if (strcmp(output, "table") == 0)
			printf("\n");
	}
}

const dr_cmd dr_cmd_status = {
	.name = "status",
	.summary = "show each scale set's runners, listener and last error on the cluster",
	.synopsis = "[NAME] [--output table|json] [--watch]",
	.description =
		"For each scale set (of runner NAME, or of all): desired min/max, current, running, "
		"pending and failed runners as the AutoscalingRunnerSet reports them, the state of its "
		"listener pod in the controller namespace, and the newest Warning event about it. "
		"Scale sets of the config that are not deployed are listed too. --output json is for "
		"scripts.\n\n"
		"On the local provider: whether the agent runs, and per scale set min/max, assigned "
		"jobs, idle and busy runners, the session's state and the last error, as the agent "
		"reports them. With no cluster recorded, the local provider is the default (said in "
		"one line on stderr).",
	.opts = status_opts,
	.run = run_status,
};
