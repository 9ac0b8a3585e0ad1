/* cluster.c: `deskrun cluster create|status|delete`: the cluster deskrun deploys to. kind is
 * created by deskrun itself (config on kind's stdin); k3s and existing clusters are checked and
 * recorded. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "cmd/local.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/docker.h"
#include "lib/mode.h"
#include "lib/names.h"
#include "lib/render.h"
#include "lib/yaml.h"
#include "sys/config_store.h"
#include "sys/deploy.h"
#include "sys/fsutil.h"
#include "sys/kube.h"
#include "sys/log.h"
#include "sys/progress.h"

enum { OPT_PROVIDER = 1, OPT_CONTEXT, OPT_NAME, OPT_KUBECONFIG, OPT_HOST_CACHE, OPT_DOCKER_SOCKET,
       OPT_ENGINE, OPT_STATE_DIR, OPT_NETWORK };

static const dr_opt cluster_opts[] = {
	{ "provider", 'p', "PROVIDER",
	  "kind (default), k3s, existing, or local (no Kubernetes: 'deskrun agent' on this host's "
	  "Docker or podman engine)",
	  OPT_PROVIDER },
	{ "context", 0, "CTX",
	  "kubeconfig context (existing: required; k3s: default \"default\"; kind: kind-NAME)",
	  OPT_CONTEXT },
	{ "name", 0, "NAME", "kind cluster name (default deskrun)", OPT_NAME },
	{ "kubeconfig", 0, "PATH",
	  "kubeconfig file (k3s: default /etc/rancher/k3s/k3s.yaml; others: kubectl's default)",
	  OPT_KUBECONFIG },
	{ "host-cache-dir", 0, "DIR",
	  "kind: host directory mounted at the cache root in the node, so caches live on the host "
	  "disk and survive re-creation (default ${XDG_CACHE_HOME:-~/.cache}/deskrun/cache)",
	  OPT_HOST_CACHE },
	{ "docker-socket", 0, NULL,
	  "kind: mount the host's /var/run/docker.sock into the node (automatic when a runner's "
	  "mode uses the node's Docker)",
	  OPT_DOCKER_SOCKET },
	{ "engine", 0, "URL",
	  "local: the engine, unix:///PATH (default $DOCKER_HOST, else unix:///var/run/docker.sock)",
	  OPT_ENGINE },
	{ "state-dir", 0, "DIR", "local: the agent's folder (default " DR_LOCAL_STATE_DIR ")",
	  OPT_STATE_DIR },
	{ "network", 0, "NAME",
	  "local: the runner containers' network (default: the engine's default; host lets "
	  "them reach the host's loopback)",
	  OPT_NETWORK },
	{ NULL, 0, NULL, NULL, 0 },
};

typedef struct cluster_args {
	const char *verb;
	const char *provider;
	const char *context;
	const char *name;
	const char *kubeconfig;
	const char *host_cache;
	bool docker_socket;
	const char *engine;
	const char *state_dir;
	const char *network;
} cluster_args;

static int
record_cluster(dr_config *c, void *arg, dr_err **err)
{
	(void)err;
	dr_cluster_free(c->cluster);
	c->cluster = arg ? dr_cluster_copy(arg) : NULL;
	/* kind with the host's Docker socket: that daemon sees the cache root at the host
	 * directory behind it (docker-socket binds of the runner's folders go there). */
	const dr_cluster *cl = arg;
	if (cl && cl->provider == DR_PROVIDER_KIND && cl->docker_socket && cl->host_cache_dir) {
		size_t i;
		if (dr_settings_lookup("daemon-cache-root", &i) == 0)
			dr_settings_set(&c->settings, i, cl->host_cache_dir);
	}
	return 0;
}

static char *
default_host_cache(dr_err **err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg == '/')
		return dr_xasprintf("%s/deskrun/cache", xdg);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		dr_fail(err, DR_EXIT_USAGE, "HOME is not set: give --host-cache-dir DIR");
		return NULL;
	}
	return dr_xasprintf("%s/.cache/deskrun/cache", home);
}

static bool
any_runner_needs_docker(const dr_config *c)
{
	for (size_t i = 0; i < c->n_runners; i++)
		if (c->runners[i]->mode->needs_node_docker)
			return true;
	return false;
}

static int
create_kind(const cluster_args *a, const dr_config *c, dr_cluster **out, dr_err **err)
{
	const char *name = a->name ? a->name : DR_KIND_DEFAULT_NAME;
	if (!dr_is_dns_label(name))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--name \"%s\": a kind cluster name is lowercase letters, digits and '-'",
		               name);
	_cleanup_free_ char *ctx = dr_xasprintf("kind-%s", name);
	if (a->context && strcmp(a->context, ctx) != 0)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--context %s: kind names its context %s; drop --context", a->context,
		               ctx);
	_cleanup_cluster_ dr_cluster *cl = dr_cluster_new(DR_PROVIDER_KIND, name, ctx);
	if (a->kubeconfig)
		cl->kubeconfig = dr_xstrdup(a->kubeconfig);
	cl->host_cache_dir = a->host_cache ? dr_xstrdup(a->host_cache) : default_host_cache(err);
	if (!cl->host_cache_dir)
		return -1;
	if (*cl->host_cache_dir != '/')
		return dr_fail(err, DR_EXIT_USAGE, "--host-cache-dir \"%s\": give an absolute path",
		               cl->host_cache_dir);
	cl->docker_socket = a->docker_socket || any_runner_needs_docker(c);
	for (size_t i = 0; i < c->n_runners; i++)
		cl->registry_mirror |= dr_runner_uses_mirror(c->runners[i]);

	_cleanup_strv_ char **get = dr_argv("get", "clusters", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	if (dr_kind(get, NULL, &res, err) < 0)
		return -1;
	bool exists = false;
	_cleanup_free_ char *list = dr_xstrdup(res.out);
	char *save = NULL;
	for (char *l = strtok_r(list, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		exists |= strcmp(l, name) == 0;
	if (exists) {
		dr_info("kind cluster %s exists already; recording it (its mounts are as it was "
		        "created)",
		        name);
	} else {
		if (dr_mkdir_p(cl->host_cache_dir, 0755, err) < 0)
			return dr_err_prefix(err, "--host-cache-dir");
		_cleanup_json_ json_t *kc = dr_kind_config(cl, &c->settings);
		_cleanup_free_ char *yaml = dr_yaml_dump(kc);
		dr_info("creating kind cluster %s (cache root %s on the host at %s%s%s)", name,
		        c->settings.cache_root, cl->host_cache_dir,
		        cl->docker_socket ? ", host Docker socket mounted" : "",
		        cl->registry_mirror ? ", docker.io pulled through deskrun's mirror" : "");
		_cleanup_strv_ char **create = dr_argv("create", "cluster", "--name", name, "--config",
		                                       "-", "--wait", "120s", NULL);
		if (a->kubeconfig) {
			dr_argv_add(&create, "--kubeconfig");
			dr_argv_add(&create, a->kubeconfig);
		}
		_cleanup_spawn_ dr_spawn_result cres = { 0 };
		dr_call call = { .stdin_data = yaml, .stdin_len = strlen(yaml) };
		if (dr_kind(create, &call, &cres, err) < 0)
			return -1;
	}
	*out = TAKE_PTR(cl);
	return 0;
}

static int
verify_reachable(const dr_cluster *cl, dr_err **err)
{
	_cleanup_strv_ char **args = dr_argv("version", "--output", "json", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .timeout_ms = 30000 };
	if (dr_kubectl(cl, args, &call, &res, err) < 0)
		return dr_err_prefix(err, "the cluster (context %s) does not answer", cl->context);
	return 0;
}

static int
create_k3s(const cluster_args *a, dr_cluster **out, dr_err **err)
{
	_cleanup_strv_ char **ver = dr_argv("k3s", "--version", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	if (dr_run_tool(ver, DR_HINT_K3S, NULL, &res, err) < 0)
		return -1;
	const char *kc = a->kubeconfig ? a->kubeconfig : DR_K3S_KUBECONFIG;
	if (access(kc, R_OK) < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno,
		                     "cannot read k3s's kubeconfig %s (run as root, or copy it and "
		                     "give --kubeconfig PATH)",
		                     kc);
	_cleanup_cluster_ dr_cluster *cl = dr_cluster_new(
		DR_PROVIDER_K3S, a->name ? a->name : "k3s", a->context ? a->context : "default");
	cl->kubeconfig = dr_xstrdup(kc);
	if (verify_reachable(cl, err) < 0)
		return -1;
	*out = TAKE_PTR(cl);
	return 0;
}

static int
create_existing(const cluster_args *a, dr_cluster **out, dr_err **err)
{
	if (!a->context)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--provider existing needs --context CTX (see 'kubectl config "
		               "get-contexts')");
	_cleanup_cluster_ dr_cluster *cl = dr_cluster_new(
		DR_PROVIDER_EXISTING, a->name ? a->name : a->context, a->context);
	if (a->kubeconfig)
		cl->kubeconfig = dr_xstrdup(a->kubeconfig);
	if (verify_reachable(cl, err) < 0)
		return -1;
	*out = TAKE_PTR(cl);
	return 0;
}

static int
do_create(const cluster_args *a, const char *path, dr_config *c, dr_err **err)
{
	dr_provider p = DR_PROVIDER_KIND;
	if (a->provider && dr_provider_parse(a->provider, &p) < 0)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--provider \"%s\": unknown provider: use kind, k3s, existing or local",
		               a->provider);
	if (p != DR_PROVIDER_LOCAL && (a->engine || a->state_dir || a->network))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--engine, --state-dir and --network are for --provider local: %s runs the "
		               "runners on Kubernetes",
		               dr_provider_name(p));
	if (p == DR_PROVIDER_LOCAL && (a->context || a->name || a->kubeconfig))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--context, --name and --kubeconfig have no meaning for --provider "
		               "local: it runs no Kubernetes");
	if (p != DR_PROVIDER_KIND && (a->host_cache || a->docker_socket))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--host-cache-dir and --docker-socket are for --provider kind: on %s, "
		               "the cache root is a directory of each node",
		               dr_provider_name(p));
	if (c->cluster) {
		bool same = c->cluster->provider == p &&
		            (!a->name || strcmp(a->name, c->cluster->name) == 0);
		if (!same)
			return dr_fail(err, DR_EXIT_USAGE,
			               "%s records cluster %s \"%s\" (context %s) already: 'deskrun "
			               "cluster delete' first",
			               path, dr_provider_name(c->cluster->provider), c->cluster->name,
			               c->cluster->context);
	}
	_cleanup_cluster_ dr_cluster *cl = NULL;
	int rc = p == DR_PROVIDER_KIND    ? create_kind(a, c, &cl, err)
	         : p == DR_PROVIDER_K3S   ? create_k3s(a, &cl, err)
	         : p == DR_PROVIDER_LOCAL ? dr_local_create(a->engine, a->state_dir, a->network, &cl, err)
	                                  : create_existing(a, &cl, err);
	if (rc < 0)
		return -1;
	if (dr_config_edit(path, record_cluster, cl, err) < 0)
		return -1;
	if (!dr_quiet() && p == DR_PROVIDER_LOCAL)
		printf("local provider recorded (engine %s); next: 'deskrun up' starts the agent\n",
		       cl->engine);
	else if (!dr_quiet())
		printf("cluster %s \"%s\" recorded (context %s); next: 'deskrun up'\n",
		       dr_provider_name(p), cl->name, cl->context);
	return 0;
}

/* ---- status ---- */

static int
do_status(const dr_config *c, dr_err **err)
{
	const dr_cluster *cl = c->cluster;
	if (!cl)
		return dr_fail(err, DR_EXIT_FAIL,
		               "no cluster recorded: the local provider is the default ('deskrun "
		               "status' shows its agent); 'deskrun cluster create' records one");
	if (cl->provider == DR_PROVIDER_LOCAL)
		return dr_local_cluster_status(c, err);
	printf("cluster:     %s \"%s\" (context %s%s%s)\n", dr_provider_name(cl->provider), cl->name,
	       cl->context, cl->kubeconfig ? ", kubeconfig " : "",
	       cl->kubeconfig ? cl->kubeconfig : "");
	_cleanup_json_ json_t *ver = NULL;
	_cleanup_strv_ char **vargs = dr_argv("version", NULL);
	_cleanup_err_ dr_err *verr = NULL;
	if (dr_kubectl_json(cl, vargs, &ver, &verr) < 0) {
		printf("reachable:   no (%s)\n", verr->msg);
		return dr_fail(err, DR_EXIT_FAIL, "the cluster does not answer");
	}
	const char *kv =
		json_string_value(json_object_get(json_object_get(ver, "serverVersion"), "gitVersion"));
	printf("reachable:   yes, Kubernetes %s\n", kv ? kv : "(unknown version)");

	_cleanup_json_ json_t *nodes = NULL;
	_cleanup_strv_ char **nargs = dr_argv("get", "nodes", NULL);
	if (dr_kubectl_json(cl, nargs, &nodes, err) < 0)
		return -1;
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(nodes, "items"), i, n) {
		const char *rt = json_string_value(json_object_get(
			json_object_get(json_object_get(n, "status"), "nodeInfo"),
			"containerRuntimeVersion"));
		const char *kind = rt && dr_startswith(rt, "docker") ? "docker" : "containerd";
		printf("%s %s: runtime %s (%s)\n", i ? "            " : "node:       ",
		       dr_obj_name(n), kind, rt ? rt : "unknown");
	}

	_cleanup_strv_ char **cargs = dr_argv("get", "customresourcedefinitions",
	                                      "autoscalingrunnersets.actions.github.com",
	                                      "autoscalinglisteners.actions.github.com",
	                                      "ephemeralrunnersets.actions.github.com",
	                                      "ephemeralrunners.actions.github.com",
	                                      "--ignore-not-found", NULL);
	_cleanup_json_ json_t *crds = NULL;
	if (dr_kubectl_json(cl, cargs, &crds, err) < 0)
		return -1;
	size_t established = 0;
	json_t *crd;
	json_array_foreach(json_object_get(crds, "items"), i, crd) {
		size_t k;
		json_t *cond;
		json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"), k,
		                   cond) {
			if (dr_streq(json_string_value(json_object_get(cond, "type")), "Established") &&
			    dr_streq(json_string_value(json_object_get(cond, "status")), "True"))
				established++;
		}
	}
	printf("ARC CRDs:    %zu/4 established\n", established);

	dr_deploy d = { .config = c, .cluster = cl };
	_cleanup_free_ char *version = NULL;
	if (dr_controller_version(&d, &version, err) < 0)
		return -1;
	const char *ns = c->settings.controller_namespace;
	size_t deployments = 0;
	long want = 0, ready = 0;
	if (dr_controller_replicas(&d, &deployments, &want, &ready, err) < 0)
		return -1;
	if (!version && deployments == 0)
		printf("controller:  not installed ('deskrun up' installs ARC %s)\n", DR_ARC_VERSION);
	else if (deployments == 0)
		printf("controller:  %s %s in %s, but no controller Deployment (%s): nothing "
		       "reconciles the scale sets; check controller-chart\n",
		       DR_CONTROLLER_RELEASE, version, ns, DR_CONTROLLER_SELECTOR);
	else
		printf("controller:  %s %s in %s, %ld/%ld ready%s\n", DR_CONTROLLER_RELEASE,
		       version ? version : "(not a Helm release of deskrun)", ns, ready, want,
		       version && strcmp(version, DR_ARC_VERSION) != 0 ? " ('deskrun up' upgrades it)"
		                                                      : "");
	return 0;
}

static int
do_delete(const char *path, const dr_config *c, dr_err **err)
{
	const dr_cluster *cl = c->cluster;
	if (!cl)
		return dr_fail(err, DR_EXIT_FAIL, "no cluster recorded in %s: nothing to delete", path);
	if (cl->provider == DR_PROVIDER_LOCAL) {
		if (dr_local_cluster_delete(path, c, err) < 0)
			return -1;
		if (!dr_quiet())
			printf("forgot the local provider\n");
	} else if (cl->provider == DR_PROVIDER_KIND) {
		_cleanup_strv_ char **args = dr_argv("delete", "cluster", "--name", cl->name, NULL);
		if (cl->kubeconfig) {
			dr_argv_add(&args, "--kubeconfig");
			dr_argv_add(&args, cl->kubeconfig);
		}
		_cleanup_spawn_ dr_spawn_result res = { 0 };
		if (dr_kind(args, NULL, &res, err) < 0)
			return -1;
		if (!dr_quiet())
			printf("deleted kind cluster %s (the caches stay in %s)\n", cl->name,
			       cl->host_cache_dir ? cl->host_cache_dir : "the host cache directory");
	} else if (!dr_quiet()) {
		printf("forgot %s cluster \"%s\"; deskrun did not create it, so it keeps running\n",
		       dr_provider_name(cl->provider), cl->name);
	}
	return dr_config_edit(path, record_cluster, NULL, err);
}

static int
run_cluster(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	cluster_args a = { 0 };
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_cluster, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_cluster, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (a.verb)
				return dr_usage_extra_arg(&dr_cmd_cluster, v, err);
			a.verb = v;
			continue;
		}
		switch (id) {
		case OPT_PROVIDER: a.provider = v; break;
		case OPT_CONTEXT: a.context = v; break;
		case OPT_NAME: a.name = v; break;
		case OPT_KUBECONFIG: a.kubeconfig = v; break;
		case OPT_HOST_CACHE: a.host_cache = v; break;
		case OPT_DOCKER_SOCKET: a.docker_socket = true; break;
		case OPT_ENGINE: a.engine = v; break;
		case OPT_STATE_DIR: a.state_dir = v; break;
		case OPT_NETWORK: a.network = v; break;
		default: DR_BUG("unhandled cluster option");
		}
	}
	if (!a.verb)
		return dr_fail(err, DR_EXIT_USAGE,
		               "deskrun cluster needs a verb: create, status or delete");
	if (strcmp(a.verb, "create") && strcmp(a.verb, "status") && strcmp(a.verb, "delete"))
		return dr_fail(err, DR_EXIT_USAGE,
		               "cluster \"%s\": unknown verb: use create, status or delete", a.verb);
	if (strcmp(a.verb, "create") != 0 &&
	    (a.provider || a.context || a.name || a.kubeconfig || a.host_cache || a.docker_socket ||
	     a.engine || a.state_dir || a.network))
		return dr_fail(err, DR_EXIT_USAGE,
		               "cluster %s takes no options: it acts on the recorded cluster", a.verb);
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	if (strcmp(a.verb, "create") == 0)
		return do_create(&a, path, c, err);
	if (strcmp(a.verb, "status") == 0)
		return do_status(c, err);
	return do_delete(path, c, err);
}

const dr_cmd dr_cmd_cluster = {
	.name = "cluster",
	.summary = "create, check or delete the cluster the runners run on",
	.synopsis = "create [--provider kind|k3s|existing] [--context CTX] [--name NAME] "
	            "[--kubeconfig PATH] [--host-cache-dir DIR] [--docker-socket]\n"
	            "create --provider local [--engine URL] [--state-dir DIR] [--network NAME]\n"
	            "status\ndelete",
	.description =
		"create: with --provider kind (default), write a one-node kind configuration (the "
		"host's cache directory mounted at the cache root, and the host Docker socket when a "
		"mode needs it), run 'kind create cluster --config -' and record the cluster and its "
		"context in the config file. With k3s, check that k3s is installed and use its "
		"kubeconfig (start k3s with --docker for modes that use the node's Docker). With "
		"existing, use --context CTX of your kubeconfig. With local, no Kubernetes: check that "
		"the Docker or podman engine answers and record it; 'deskrun up' then runs 'deskrun "
		"agent' on it. With no cluster recorded, up, status and down use the local provider "
		"(the first up records it).\n\n"
		"status: reachability, Kubernetes version, each node's runtime (containerd or "
		"docker), ARC's CRDs and the controller.\n\n"
		"delete: delete a kind cluster deskrun created (caches stay on the host); forget a "
		"k3s or existing cluster.",
	.opts = cluster_opts,
	.run = run_cluster,
};
