/* render.c: `deskrun render [NAME...]`: the Kubernetes objects of the definitions, offline, as
 * deterministic multi-document YAML or a JSON List. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/names.h"
#include "lib/pods.h"
#include "lib/render.h"
#include "lib/yaml.h"
#include "sys/log.h"

enum {
	OPT_OUTPUT = 1,
	OPT_INCLUDE_SECRETS,
	OPT_RUNNER_POD,
	OPT_JOB_POD,
	OPT_DAEMON_POD,
	OPT_INSTANCE,
	OPT_LEGACY_SIDECARS,
	OPT_JOB_IMAGE,
};

static const dr_opt render_opts[] = {
	{ "output", 'o', "FORMAT", "yaml (default) or json (a v1 List)", OPT_OUTPUT },
	{ "include-secrets", 0, NULL,
	  "also render the GitHub Secret of each scale set, with its data", OPT_INCLUDE_SECRETS },
	{ "runner-pod", 0, NULL,
	  "print one standalone runner Pod of NAME's scale set (its template) with the objects "
	  "it mounts",
	  OPT_RUNNER_POD },
	{ "job-pod", 0, NULL,
	  "print the job pod ARC's container hooks create for NAME, with the hook extension merged",
	  OPT_JOB_POD },
	{ "daemon-pod", 0, NULL, "print the pod of the dind-daemonset DaemonSet (one node's daemon)",
	  OPT_DAEMON_POD },
	{ "instance", 0, "I", "with --runner-pod/--job-pod: the instance of NAME-1..NAME-N (default 1)",
	  OPT_INSTANCE },
	{ "legacy-sidecars", 0, NULL,
	  "with the pod options: native sidecars become regular containers (Kubernetes < 1.29, "
	  "podman)",
	  OPT_LEGACY_SIDECARS },
	{ "job-image", 0, "IMAGE", "with --job-pod: the job container's image (default: the runner "
	  "image)",
	  OPT_JOB_IMAGE },
	{ NULL, 0, NULL, NULL, 0 },
};

static const char header[] =
	"# Rendered by deskrun for Actions Runner Controller " DR_ARC_VERSION
	" (gha-runner-scale-set).\n"
	"# Objects are in apply order. 'deskrun up' applies them with kubectl's server-side "
	"apply.\n";

static int
emit_yaml(json_t *objects, bool include_secrets, dr_buf *out, dr_err **err)
{
	dr_buf_puts(out, header);
	size_t i;
	json_t *o;
	json_array_foreach(objects, i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));
		if (!include_secrets && strcmp(kind, "AutoscalingRunnerSet") == 0) {
			const char *secret = json_string_value(
				json_object_get(json_object_get(o, "spec"), "githubConfigSecret"));
			dr_buf_printf(out,
			              "# Secret %s (the GitHub credentials) is not rendered: "
			              "'deskrun up' creates it\n"
			              "# from the config on kubectl's stdin; 'deskrun render "
			              "--include-secrets' prints it.\n",
			              secret);
		}
		if (dr_yaml_emit_document(out, o, err) < 0)
			return -1;
	}
	return 0;
}

static int
run_render(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *output = "yaml";
	bool include_secrets = false;
	int pod_kind = 0, instance = 1;
	dr_pod_opts po = { 0 };
	_cleanup_strv_ char **names = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_render, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_render, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			dr_strv_push(&names, v);
			continue;
		}
		if (id == OPT_OUTPUT) {
			if (strcmp(v, "yaml") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use yaml or json", v);
			output = v;
		} else if (id == OPT_INCLUDE_SECRETS) {
			include_secrets = true;
		} else if (id == OPT_RUNNER_POD || id == OPT_JOB_POD || id == OPT_DAEMON_POD) {
			if (pod_kind && pod_kind != id)
				return dr_fail(err, DR_EXIT_USAGE,
				               "--runner-pod, --job-pod and --daemon-pod: give one");
			pod_kind = id;
		} else if (id == OPT_INSTANCE) {
			if (dr_parse_int("--instance", v, &instance, err) < 0)
				return -1;
		} else if (id == OPT_LEGACY_SIDECARS) {
			po.legacy_sidecars = true;
		} else if (id == OPT_JOB_IMAGE) {
			po.job_image = v;
		}
	}
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	if (c->n_runners == 0)
		return dr_fail(err, DR_EXIT_FAIL,
		               "nothing to render: no runners in %s; add one with 'deskrun add NAME "
		               "--repository URL'",
		               path);
	_cleanup_free_ const dr_runner **sel = NULL;
	size_t n = 0;
	if (dr_cli_select(c, path, names, dr_strv_len(names), &sel, &n, err) < 0)
		return -1;
	if (pod_kind && pod_kind != OPT_DAEMON_POD && n != 1)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--runner-pod and --job-pod need exactly one NAME");
	dr_render_opts opts = { .include_secrets = include_secrets };
	_cleanup_json_ json_t *objects = dr_render(sel, n, &c->settings, &opts);
	if (pod_kind) {
		_cleanup_free_ char *ss = NULL;
		if (pod_kind != OPT_DAEMON_POD) {
			if (instance < 1 || (sel[0]->instances <= 1 && instance != 1) ||
			    (sel[0]->instances > 1 && instance > sel[0]->instances))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--instance %d: runner %s has %d instance%s", instance,
				               sel[0]->name, sel[0]->instances,
				               sel[0]->instances == 1 ? "" : "s");
			ss = dr_name_scale_set(sel[0]->name, sel[0]->instances > 1 ? instance : 0);
		}
		json_t *pods = pod_kind == OPT_RUNNER_POD ? dr_runner_pod(objects, ss, &po, err)
		               : pod_kind == OPT_JOB_POD  ? dr_job_pod(objects, ss, &po, err)
		                                          : dr_daemon_pod(objects, err);
		if (!pods)
			return -1;
		json_decref(objects);
		objects = pods;
	}
	_cleanup_buf_ dr_buf out = DR_BUF_INIT(0);
	if (strcmp(output, "json") == 0) {
		_cleanup_json_ json_t *list = json_object();
		json_object_set_new(list, "apiVersion", json_string("v1"));
		json_object_set_new(list, "kind", json_string("List"));
		json_object_set(list, "items", objects);
		_cleanup_free_ char *s = json_dumps(list, JSON_INDENT(2));
		dr_buf_printf(&out, "%s\n", s);
	} else if (emit_yaml(objects, include_secrets || pod_kind, &out, err) < 0) {
		return -1;
	}
	if (include_secrets && isatty(STDOUT_FILENO))
		dr_warn("the output holds the GitHub credentials in clear (base64)");
	fwrite(out.data, 1, out.len, stdout);
	return 0;
}

const dr_cmd dr_cmd_render = {
	.name = "render",
	.summary = "print the Kubernetes objects of runners (offline)",
	.synopsis = "[NAME...] [--output yaml|json] [--include-secrets]",
	.description =
		"Print every object deskrun would apply for the named runners (all when none is "
		"named): per scale set its ServiceAccount, manager Role and RoleBinding, kube-mode "
		"Role and RoleBinding where the mode runs jobs as pods, hook extension ConfigMap "
		"where the mode has one, and the AutoscalingRunnerSet, with the namespaces first. "
		"The output is deterministic (byte-identical across runs) and in apply order.\n\n"
		"Secrets are left out unless --include-secrets is given: the AutoscalingRunnerSet "
		"names its Secret and 'deskrun up' creates it.",
	.opts = render_opts,
	.run = run_render,
};
