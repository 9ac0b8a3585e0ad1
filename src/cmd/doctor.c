/* doctor.c: `deskrun doctor [NAME]`: gathers the facts the troubleshooting recipes ask for
 * (tools, host limits, the cluster and ARC, each runner's objects and pods, its caches and its
 * GitHub credential) and lets src/lib/doctor.c judge them. Every check is reported, each with
 * the fix; the exit status is 0 when none fails. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/doctor.h"
#include "sys/progress.h"
#include "lib/mode.h"
#include "lib/names.h"
#include "lib/plan.h"
#include "lib/render.h"
#include "sys/deploy.h"
#include "sys/github.h"
#include "sys/kube.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>

enum { OPT_OUTPUT = 1, OPT_QUIET, OPT_NO_NETWORK, OPT_API_URL };

static const dr_opt doctor_opts[] = {
	{ "output", 'o', "FORMAT", "table (default) or json", OPT_OUTPUT },
	{ "quiet", 'q', NULL, "print only the checks that warn or fail", OPT_QUIET },
	{ "no-network", 0, NULL, "skip the checks that call GitHub's API", OPT_NO_NETWORK },
	{ "github-api-url", 0, "URL",
	  "GitHub's REST API root (default: https://api.github.com, or https://HOST/api/v3 for a "
	  "GitHub Enterprise Server runner URL)",
	  OPT_API_URL },
	{ NULL, 0, NULL, NULL, 0 },
};

typedef struct doctor {
	const dr_config *c;
	const dr_runner **runners; /* the selected definitions (borrowed) */
	size_t n_runners;
	const char *api_url; /* --github-api-url or NULL */
	bool network;
	const char *sysroot; /* prefix of /proc and /sys reads ("" normally; tests set it) */
	json_t *checks;
	json_t *docker_info; /* `docker info` of the host daemon, or NULL */
	int controller;      /* the controller's Deployments: -1 unknown, else how many */
} doctor;

#define TOOL_TIMEOUT_MS 15000

static char *
sys_path(const doctor *d, const char *path)
{
	return dr_xasprintf("%s%s", d->sysroot, path);
}

static char *
read_small(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return dr_xstrdup(buf);
}

static long
read_long(const char *path)
{
	_cleanup_free_ char *s = read_small(path);
	if (!s)
		return -1;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return end == s ? -1 : v;
}

/* Run a tool for its version: stdout (owned) or NULL; *errtext (owned) gets its stderr when
 * it ran and failed. */
static char *
run_quiet(char **argv, int *status, char **errtext)
{
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	_cleanup_err_ dr_err *e = NULL;
	dr_call call = { .allow_fail = true, .timeout_ms = TOOL_TIMEOUT_MS };
	*status = -1;
	if (errtext)
		*errtext = NULL;
	if (dr_run_tool(argv, NULL, &call, &res, &e) < 0) {
		if (errtext)
			*errtext = dr_xstrdup(e->msg);
		return NULL;
	}
	*status = res.timed_out ? 128 + 9 : res.status;
	if (errtext && res.err)
		*errtext = dr_xstrdup(res.err);
	return res.out ? dr_xstrdup(res.out) : dr_xstrdup("");
}

static char *
last_line(const char *s)
{
	if (!s)
		return dr_xstrdup("");
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	size_t b = n;
	while (b && s[b - 1] != '\n')
		b--;
	return dr_xstrndup(s + b, n - b);
}

/* ---- tools ---- */

static bool
any_mode(const doctor *d, bool (*pred)(const dr_mode *))
{
	for (size_t i = 0; i < d->n_runners; i++)
		if (pred(d->runners[i]->mode))
			return true;
	return false;
}

static bool
needs_docker(const dr_mode *m)
{
	return m->needs_node_docker;
}

static void
check_docker(doctor *d, bool needed, const char *why)
{
	_cleanup_free_ char *path = dr_which("docker");
	if (!path && !needed) {
		_cleanup_finding_ dr_finding f = { 0 };
		dr_doctor_tool("docker", NULL, false, why, &f);
		dr_check_add_finding(d->checks, "tools", "docker", &f);
		return;
	}
	_cleanup_strv_ char **argv = dr_argv("docker", "info", "--format", "{{json .}}", NULL);
	int st = 0;
	_cleanup_free_ char *errtext = NULL;
	_cleanup_free_ char *out = path ? run_quiet(argv, &st, &errtext) : NULL;
	if (!out) {
		_cleanup_finding_ dr_finding f = { 0 };
		dr_doctor_tool("docker", NULL, needed, why, &f);
		dr_check_add_finding(d->checks, "tools", "docker", &f);
		return;
	}
	json_error_t je;
	json_t *info = st == 0 ? json_loads(out, 0, &je) : NULL;
	const char *ver = json_string_value(json_object_get(info, "ServerVersion"));
	if (!info || !ver) {
		json_decref(info);
		_cleanup_free_ char *line = last_line(errtext);
		const char *fix =
			strstr(line, "permission denied")
				? "add yourself to the docker group: 'sudo usermod -aG docker $USER', then "
				  "log in again (or run deskrun with sudo)"
				: "start the daemon: 'sudo systemctl start docker' (its log: 'journalctl -u "
				  "docker'; an \"overlay2\" error there means /var/lib/docker is on "
				  "overlayfs)";
		dr_check_add(d->checks, "tools", "docker",
		             needed ? DR_CHECK_FAIL : DR_CHECK_WARN,
		             *line ? line : "the Docker daemon does not answer", fix);
		return;
	}
	d->docker_info = info;
	_cleanup_finding_ dr_finding f = { 0 };
	dr_doctor_tool("docker", ver, needed, why, &f);
	dr_check_add_finding(d->checks, "tools", "docker", &f);
}

static void
check_tool(doctor *d, const char *tool, bool needed, const char *why, char **argv,
           const char *json_key)
{
	_cleanup_finding_ dr_finding f = { 0 };
	_cleanup_free_ char *path = dr_which(tool);
	_cleanup_free_ char *out = NULL;
	int st = 0;
	if (path)
		out = run_quiet(argv, &st, NULL);
	const char *text = out;
	_cleanup_json_ json_t *j = NULL;
	if (out && json_key) {
		json_error_t je;
		j = json_loads(out, 0, &je);
		text = json_string_value(
			json_object_get(json_object_get(j, json_key), "gitVersion"));
		if (!text)
			text = "";
	}
	dr_doctor_tool(tool, path ? text ? text : "" : NULL, needed, why, &f);
	dr_check_add_finding(d->checks, "tools", tool, &f);
}

static void
check_tools(doctor *d)
{
	const dr_cluster *cl = d->c->cluster;
	dr_provider p = cl ? cl->provider : DR_PROVIDER_KIND;
	const char *pname = cl ? dr_provider_name(p) : "kind (the default)";
	_cleanup_free_ char *deploy_why = dr_xasprintf("'deskrun up' on %s", pname);
	bool kind = p == DR_PROVIDER_KIND;
	bool docker_modes = any_mode(d, needs_docker);
	_cleanup_strv_ char **kv = dr_argv("kubectl", "version", "--client", "--output", "json", NULL);
	check_tool(d, "kubectl", true, deploy_why, kv, "clientVersion");
	_cleanup_strv_ char **hv = dr_argv("helm", "version", "--short", NULL);
	check_tool(d, "helm", true, deploy_why, hv, NULL);
	_cleanup_strv_ char **kdv = dr_argv("kind", "version", NULL);
	check_tool(d, "kind", kind, "kind clusters", kdv, NULL);
	_cleanup_strv_ char **k3v = dr_argv("k3s", "--version", NULL);
	check_tool(d, "k3s", p == DR_PROVIDER_K3S, "k3s clusters", k3v, NULL);
	check_docker(d, kind || (docker_modes && p != DR_PROVIDER_EXISTING),
	             kind ? "kind clusters" : "docker-socket and dind-daemonset on this host");
}

/* ---- host ---- */

/* The host directory behind the node's cache root (kind: the mounted host dir), or NULL for
 * clusters whose nodes are elsewhere. */
static const char *
host_cache_root(const doctor *d)
{
	const dr_cluster *cl = d->c->cluster;
	if (cl && cl->provider == DR_PROVIDER_EXISTING)
		return NULL;
	if (cl && cl->provider == DR_PROVIDER_KIND && cl->host_cache_dir)
		return cl->host_cache_dir;
	return d->c->settings.cache_root;
}

/* A node path under the cache root as a path on this host (owned), or NULL. */
static char *
host_path_of(const doctor *d, const char *node_path)
{
	const char *host = host_cache_root(d);
	if (!host)
		return NULL;
	const char *root = d->c->settings.cache_root;
	size_t rl = strlen(root);
	if (strncmp(node_path, root, rl) == 0 && (node_path[rl] == '/' || !node_path[rl]))
		return dr_xasprintf("%s%s", host, node_path + rl);
	const dr_cluster *cl = d->c->cluster;
	if (cl && cl->provider == DR_PROVIDER_KIND)
		return NULL; /* a node path kind does not mount from the host */
	return dr_xstrdup(node_path);
}

/* The nearest existing ancestor of path (owned). */
static char *
existing_ancestor(const char *path)
{
	char *p = dr_xstrdup(path);
	struct stat st;
	while (stat(p, &st) < 0) {
		char *s = strrchr(p, '/');
		if (!s || s == p) {
			free(p);
			p = dr_xstrdup("/");
			break;
		}
		*s = '\0';
	}
	return p;
}

static void
check_host(doctor *d)
{
	_cleanup_finding_ dr_finding f = { 0 };
	_cleanup_free_ char *w = sys_path(d, "/proc/sys/fs/inotify/max_user_watches");
	_cleanup_free_ char *ins = sys_path(d, "/proc/sys/fs/inotify/max_user_instances");
	dr_doctor_inotify(read_long(w), read_long(ins), &f);
	dr_check_add_finding(d->checks, "host", "inotify", &f);

	_cleanup_free_ char *cg = sys_path(d, "/sys/fs/cgroup");
	_cleanup_free_ char *cg2 = sys_path(d, "/sys/fs/cgroup/cgroup.controllers");
	struct stat st;
	int version = access(cg2, F_OK) == 0 ? 2 : stat(cg, &st) == 0 ? 1 : 0;
	bool rootless = geteuid() != 0;
	_cleanup_free_ char *ctl = NULL;
	if (version == 2) {
		_cleanup_free_ char *p =
			rootless ? dr_xasprintf("%s/sys/fs/cgroup/user.slice/user-%u.slice/user@%u.service/"
		                                "cgroup.controllers",
		                                d->sysroot, (unsigned)geteuid(), (unsigned)geteuid())
				 : dr_xstrdup(cg2);
		ctl = read_small(p);
	}
	dr_doctor_cgroup(version, ctl, rootless, &f);
	dr_check_add_finding(d->checks, "host", "cgroup", &f);

	const char *root = host_cache_root(d);
	if (!root) {
		_cleanup_free_ char *saw = dr_xasprintf(
			"the cluster's nodes keep caches under %s: check their disks there",
			d->c->settings.cache_root);
		dr_check_add(d->checks, "host", "cache-disk", DR_CHECK_OK, saw, NULL);
	} else {
		_cleanup_free_ char *at = existing_ancestor(root);
		struct statvfs sv;
		struct statfs sf;
		if (statvfs(at, &sv) < 0 || statfs(at, &sf) < 0) {
			_cleanup_free_ char *saw = dr_xasprintf("cannot stat %s: %s", at, strerror(errno));
			dr_check_add(d->checks, "host", "cache-disk", DR_CHECK_WARN, saw,
			             "check the cache root's permissions");
		} else {
			dr_doctor_disk(root, (uint64_t)sv.f_bavail * sv.f_frsize, (long)sf.f_type, &f);
			dr_check_add_finding(d->checks, "host", "cache-disk", &f);
		}
	}

	if (d->docker_info) {
		const char *driver = json_string_value(json_object_get(d->docker_info, "Driver"));
		const char *backing = NULL;
		size_t i;
		json_t *kv;
		json_array_foreach(json_object_get(d->docker_info, "DriverStatus"), i, kv) {
			if (dr_streq(json_string_value(json_array_get(kv, 0)), "Backing Filesystem"))
				backing = json_string_value(json_array_get(kv, 1));
		}
		dr_doctor_storage_driver(driver, backing, &f);
		dr_check_add_finding(d->checks, "host", "storage-driver", &f);
	}
}

/* ---- cluster ---- */

static const char *
unreachable_fix(const dr_cluster *cl)
{
	switch (cl->provider) {
	case DR_PROVIDER_KIND:
		return "is the kind node running? 'docker ps' / 'kind get clusters'; re-create it "
		       "with 'deskrun cluster delete && deskrun cluster create'";
	case DR_PROVIDER_K3S:
		return "start k3s: 'sudo systemctl start k3s' (its log: 'journalctl -u k3s')";
	case DR_PROVIDER_EXISTING:
		return "check the context and credentials: 'kubectl --context CTX get nodes'";
	case DR_PROVIDER_LOCAL:
		return "the local provider has no Kubernetes: 'deskrun status' shows the agent";
	}
	return "check the cluster";
}

static bool
check_cluster(doctor *d)
{
	const dr_cluster *cl = d->c->cluster;
	if (!cl) {
		dr_check_add(d->checks, "cluster", "recorded", DR_CHECK_OK,
		             "none recorded: the local provider is the default ('deskrun up' runs "
		             "'deskrun agent' on this host's engine and records it); 'deskrun cluster "
		             "create' (kind, or --provider k3s|existing) for Kubernetes",
		             NULL);
		return false;
	}
	if (cl->provider == DR_PROVIDER_LOCAL) {
		dr_check_add(d->checks, "cluster", "recorded", DR_CHECK_OK,
		             "the local provider: no Kubernetes, 'deskrun agent' on this host's engine",
		             NULL);
		return false;
	}
	_cleanup_json_ json_t *ver = NULL;
	_cleanup_strv_ char **vargs = dr_argv("version", NULL);
	_cleanup_err_ dr_err *e = NULL;
	if (dr_kubectl_json(cl, vargs, &ver, &e) < 0) {
		dr_check_add(d->checks, "cluster", "reachable", DR_CHECK_FAIL, e->msg,
		             unreachable_fix(cl));
		return false;
	}
	const char *kv =
		json_string_value(json_object_get(json_object_get(ver, "serverVersion"), "gitVersion"));
	int v[3], min[3] = { 1, 29, 0 };
	_cleanup_free_ char *saw = dr_xasprintf("%s \"%s\" (context %s), Kubernetes %s",
	                                        dr_provider_name(cl->provider), cl->name,
	                                        cl->context, kv ? kv : "(unknown)");
	bool old = dr_version_parse(kv, v) == 0 && dr_version_cmp(v, min) < 0;
	dr_check_add(d->checks, "cluster", "reachable", old ? DR_CHECK_FAIL : DR_CHECK_OK, saw,
	             "upgrade the cluster to Kubernetes >= 1.29: ARC's dind sidecar is a native "
	             "sidecar");

	/* Node runtimes against the modes in use. */
	_cleanup_json_ json_t *nodes = NULL;
	_cleanup_strv_ char **nargs = dr_argv("get", "nodes", NULL);
	_cleanup_err_ dr_err *ne = NULL;
	if (dr_kubectl_json(cl, nargs, &nodes, &ne) < 0) {
		dr_check_add(d->checks, "cluster", "nodes", DR_CHECK_FAIL, ne->msg,
		             "check that the context may list nodes");
	} else {
		size_t i, n_docker = 0, n = json_array_size(json_object_get(nodes, "items"));
		json_t *node;
		_cleanup_free_ char *rts = dr_xstrdup("");
		json_array_foreach(json_object_get(nodes, "items"), i, node) {
			const char *rt = json_string_value(json_object_get(
				json_object_get(json_object_get(node, "status"), "nodeInfo"),
				"containerRuntimeVersion"));
			if (rt && dr_startswith(rt, "docker"))
				n_docker++;
			char *t = dr_xasprintf("%s%s%s %s", rts, *rts ? ", " : "", dr_obj_name(node),
			                       rt ? rt : "?");
			free(rts);
			rts = t;
		}
		const char *needing = NULL;
		for (size_t r = 0; r < d->n_runners; r++)
			if (d->runners[r]->mode->needs_node_docker && !needing)
				needing = d->runners[r]->mode->name;
		if (!needing) {
			dr_check_add(d->checks, "cluster", "node-runtime", DR_CHECK_OK, rts, NULL);
		} else if (cl->provider == DR_PROVIDER_KIND) {
			_cleanup_free_ char *s = dr_xasprintf(
				"%s; mode %s uses the host's Docker through the node: %s", rts, needing,
				cl->docker_socket ? "the socket is mounted" : "the socket is NOT mounted");
			dr_check_add(d->checks, "cluster", "node-runtime",
			             cl->docker_socket ? DR_CHECK_OK : DR_CHECK_FAIL, s,
			             "re-create the cluster so it mounts the host's Docker socket: "
			             "'deskrun cluster delete && deskrun cluster create'");
		} else {
			_cleanup_free_ char *s = dr_xasprintf("%s; mode %s needs Docker nodes (%zu of %zu)",
			                                      rts, needing, n_docker, n);
			dr_check_add(d->checks, "cluster", "node-runtime",
			             n_docker ? DR_CHECK_OK : DR_CHECK_FAIL, s,
			             cl->provider == DR_PROVIDER_K3S
			                     ? "reinstall k3s with --docker ('curl -sfL https://get.k3s.io "
			                       "| sh -s - --docker'), or use --mode dind-daemonset"
			                     : "use Docker nodes, or --mode dind-daemonset on containerd "
			                       "nodes");
		}
	}

	/* ARC's CRDs. */
	_cleanup_strv_ char **cargs = dr_argv("get", "customresourcedefinitions",
	                                      "autoscalingrunnersets.actions.github.com",
	                                      "autoscalinglisteners.actions.github.com",
	                                      "ephemeralrunnersets.actions.github.com",
	                                      "ephemeralrunners.actions.github.com",
	                                      "--ignore-not-found", NULL);
	_cleanup_json_ json_t *crds = NULL;
	_cleanup_err_ dr_err *ce = NULL;
	size_t established = 0;
	if (dr_kubectl_json(cl, cargs, &crds, &ce) == 0) {
		size_t i;
		json_t *crd;
		json_array_foreach(json_object_get(crds, "items"), i, crd) {
			size_t k;
			json_t *cond;
			json_array_foreach(json_object_get(json_object_get(crd, "status"), "conditions"),
			                   k, cond) {
				if (dr_streq(json_string_value(json_object_get(cond, "type")), "Established") &&
				    dr_streq(json_string_value(json_object_get(cond, "status")), "True"))
					established++;
			}
		}
	}
	_cleanup_free_ char *csaw = dr_xasprintf("%zu of 4 ARC CRDs established%s%s", established,
	                                         ce ? ": " : "", ce ? ce->msg : "");
	dr_check_add(d->checks, "cluster", "arc-crds",
	             established == 4 ? DR_CHECK_OK : DR_CHECK_FAIL, csaw,
	             "run 'deskrun up': it installs the controller and its CRDs");

	/* The controller: installed, ready, and of the major.minor deskrun renders. */
	dr_deploy dep = { .config = d->c, .cluster = cl };
	_cleanup_free_ char *version = NULL;
	_cleanup_err_ dr_err *he = NULL;
	if (dr_controller_version(&dep, &version, &he) < 0) {
		dr_check_add(d->checks, "cluster", "controller-version", DR_CHECK_FAIL, he->msg,
		             "check helm's access to the cluster");
	} else {
		_cleanup_finding_ dr_finding f = { 0 };
		dr_doctor_controller_version(version, DR_ARC_VERSION, &f);
		dr_check_add_finding(d->checks, "cluster", "controller-version", &f);
	}
	const char *ns = d->c->settings.controller_namespace;
	size_t deployments = 0;
	long want = 0, ready = 0;
	_cleanup_err_ dr_err *de = NULL;
	if (dr_controller_replicas(&dep, &deployments, &want, &ready, &de) < 0) {
		dr_check_add(d->checks, "cluster", "controller-ready", DR_CHECK_FAIL, de->msg,
		             "check kubectl's access to the controller namespace");
	} else {
		d->controller = (int)deployments;
		_cleanup_free_ char *s =
			deployments == 0
				? dr_xasprintf("no controller Deployment (%s) in %s", DR_CONTROLLER_SELECTOR,
				               ns)
				: dr_xasprintf("%ld/%ld controller replicas ready in %s", ready, want, ns);
		_cleanup_free_ char *fix =
			deployments == 0 && version
				? dr_xasprintf("the chart of release %s installed no controller: point "
				               "controller-chart at ARC's chart and run 'deskrun up'",
				               DR_CONTROLLER_RELEASE)
				: dr_xasprintf("%s: 'kubectl -n %s describe deploy -l %s'",
				               want ? "see why it is not ready" : "run 'deskrun up'", ns,
				               DR_CONTROLLER_SELECTOR);
		dr_check_add(d->checks, "cluster", "controller-ready",
		             want > 0 && ready >= want ? DR_CHECK_OK : DR_CHECK_FAIL, s, fix);
	}
	return true;
}

/* ---- per runner ---- */

typedef struct live {
	json_t *sets, *secrets, *configmaps, *listeners; /* kubectl Lists, or NULL */
	char *sets_error;                                 /* owned */
} live;

static json_t *
find_obj(json_t *list, const char *name, const char *ns)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(list, "items"), i, o) {
		if (dr_streq(dr_obj_name(o), name) && dr_streq(dr_obj_namespace(o), ns))
			return o;
	}
	return NULL;
}

static void
load_live(const doctor *d, live *l)
{
	const dr_cluster *cl = d->c->cluster;
	_cleanup_strv_ char **a = dr_argv("get", "autoscalingrunnersets.actions.github.com",
	                                  "--all-namespaces", "-l", DR_MANAGED_SELECTOR, NULL);
	_cleanup_err_ dr_err *e = NULL;
	if (dr_kubectl_json(cl, a, &l->sets, &e) < 0)
		l->sets_error = dr_xstrdup(e->msg);
	_cleanup_strv_ char **s = dr_argv("get", "secrets", "--all-namespaces", "-l",
	                                  DR_MANAGED_SELECTOR, NULL);
	_cleanup_err_ dr_err *e2 = NULL;
	dr_kubectl_json(cl, s, &l->secrets, &e2);
	_cleanup_strv_ char **c = dr_argv("get", "configmaps", "--all-namespaces", "-l",
	                                  DR_MANAGED_SELECTOR, NULL);
	_cleanup_err_ dr_err *e3 = NULL;
	dr_kubectl_json(cl, c, &l->configmaps, &e3);
	_cleanup_strv_ char **p = dr_argv("get", "pods", "--namespace",
	                                  d->c->settings.controller_namespace, "-l",
	                                  "app.kubernetes.io/component=runner-scale-set-listener", NULL);
	_cleanup_err_ dr_err *e4 = NULL;
	dr_kubectl_json(cl, p, &l->listeners, &e4);
}

static void
check_listener(doctor *d, const live *l, const dr_scale_set *ss, const char *group)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(l->listeners, "items"), i, p) {
		if (!dr_streq(dr_obj_label(p, "actions.github.com/scale-set-name"), ss->name) ||
		    !dr_streq(dr_obj_label(p, "actions.github.com/scale-set-namespace"), ss->namespace))
			continue;
		_cleanup_finding_ dr_finding f = { 0 };
		_cleanup_free_ char *crashing = NULL;
		dr_doctor_pod(p, (long)time(NULL), &f, &crashing);
		const char *phase = json_string_value(
			json_object_get(json_object_get(p, "status"), "phase"));
		if (f.status == DR_CHECK_OK && !dr_streq(phase, "Running")) {
			_cleanup_free_ char *fix = dr_xasprintf(
				"'kubectl -n %s describe pod %s' and the controller's log",
				d->c->settings.controller_namespace, dr_obj_name(p));
			dr_finding_set(&f, DR_CHECK_FAIL, fix, "listener %s is %s", dr_obj_name(p),
			               phase ? phase : "Unknown");
		}
		dr_check_add_finding(d->checks, group, "listener", &f);
		return;
	}
	if (d->controller == 0) {
		dr_check_add(d->checks, group, "listener", DR_CHECK_FAIL,
		             "no listener pod: no ARC controller runs to start one",
		             "see cluster/controller-ready");
		return;
	}
	_cleanup_free_ char *fix = dr_xasprintf(
		"read why in the controller's log: 'kubectl -n %s logs deploy/arc-gha-rs-controller' "
		"(a rejected GitHub credential or a wrong URL is the usual cause)",
		d->c->settings.controller_namespace);
	dr_check_add(d->checks, group, "listener", DR_CHECK_FAIL,
	             "no listener pod: the controller has not started one", fix);
}

/* Guarded modes: each running guard checked at start that the daemon sees the pod's folder
 * and its pins (src/guard/podfs.h); its "paths:" log line says how that went. */
static void
check_runner_paths(doctor *d, const dr_scale_set *ss, json_t *pods, const char *group)
{
	size_t i, asked = 0;
	json_t *p;
	_cleanup_free_ char *first_ok = NULL;
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		if (!dr_streq(json_string_value(json_object_get(json_object_get(p, "status"), "phase")),
		              "Running"))
			continue;
		_cleanup_strv_ char **la = dr_argv("logs", "--namespace", ss->namespace, dr_obj_name(p),
		                                   "-c", "guard", NULL);
		_cleanup_spawn_ dr_spawn_result res = { 0 };
		_cleanup_err_ dr_err *le = NULL;
		dr_call call = { .allow_fail = true, .timeout_ms = 20000 };
		if (dr_kubectl(d->c->cluster, la, &call, &res, &le) < 0 || res.status != 0)
			continue;
		const char *line = NULL;
		for (const char *q = res.out; q && (q = strstr(q, " paths: ")); q++)
			line = q + 8;
		if (!line)
			continue;
		asked++;
		_cleanup_free_ char *what = dr_xstrndup(line, strcspn(line, "\n"));
		if (dr_startswith(what, "ok")) {
			if (!first_ok)
				first_ok = dr_xasprintf("pod %s: %s", dr_obj_name(p), what);
			continue;
		}
		_cleanup_free_ char *s2 = dr_xasprintf("pod %s: %s", dr_obj_name(p), what);
		dr_check_add(d->checks, group, "runner-paths", DR_CHECK_FAIL, s2,
		             "container jobs and actions bind the runner's folders through this "
		             "path: see 'deskrun config set daemon-cache-root' and docs/guard.md");
		return;
	}
	if (first_ok)
		dr_check_add(d->checks, group, "runner-paths", DR_CHECK_OK, first_ok, NULL);
	else if (!asked)
		dr_check_add(d->checks, group, "runner-paths", DR_CHECK_WARN,
		             "no running runner pod's guard has checked the runner's folders yet",
		             "start a runner (its guard checks that the daemon sees the pod's folder)");
}

/* The container `name` of `pod` is terminated now (not running, not waiting to restart). */
static bool
container_exited(json_t *pod, const char *name)
{
	static const char *const lists[] = { "initContainerStatuses", "containerStatuses" };
	for (size_t l = 0; l < DR_ARRAY_LEN(lists); l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(json_object_get(pod, "status"), lists[l]), i, cs) {
			if (dr_streq(json_string_value(json_object_get(cs, "name")), name))
				return json_object_get(json_object_get(cs, "state"), "terminated") != NULL;
		}
	}
	return false;
}

static void
check_pods(doctor *d, const dr_scale_set *ss, const char *group)
{
	_cleanup_free_ char *sel = dr_xasprintf("deskrun.io/scale-set=%s", ss->name);
	_cleanup_strv_ char **a = dr_argv("get", "pods", "--namespace", ss->namespace, "-l", sel, NULL);
	_cleanup_json_ json_t *pods = NULL;
	_cleanup_err_ dr_err *e = NULL;
	if (dr_kubectl_json(d->c->cluster, a, &pods, &e) < 0) {
		dr_check_add(d->checks, group, "runner-pods", DR_CHECK_WARN, e->msg,
		             "check kubectl's access to the runners' namespace");
		return;
	}
	size_t i, bad = 0, n = json_array_size(json_object_get(pods, "items"));
	json_t *p;
	json_array_foreach(json_object_get(pods, "items"), i, p) {
		_cleanup_finding_ dr_finding f = { 0 };
		_cleanup_free_ char *crashing = NULL;
		dr_doctor_pod(p, (long)time(NULL), &f, &crashing);
		if (f.status == DR_CHECK_OK)
			continue;
		bad++;
		dr_check_add_finding(d->checks, group, "runner-pod", &f);
		if (crashing) {
			/* The crashed instance: the previous one, unless the container is the crashed
			 * one now (exited, not yet restarted: the kubelet keeps one dead instance). */
			_cleanup_strv_ char **la = dr_argv("logs", "--namespace", ss->namespace,
			                                   dr_obj_name(p), "-c", crashing, NULL);
			if (!container_exited(p, crashing))
				dr_argv_add(&la, "--previous");
			dr_argv_add(&la, "--tail");
			dr_argv_add(&la, "20");
			_cleanup_spawn_ dr_spawn_result res = { 0 };
			_cleanup_err_ dr_err *le = NULL;
			dr_call call = { .allow_fail = true, .timeout_ms = 20000 };
			if (dr_kubectl(d->c->cluster, la, &call, &res, &le) == 0)
				dr_check_detail(d->checks, res.status == 0 ? res.out : res.err);
		}
	}
	if (!bad) {
		_cleanup_free_ char *s = dr_xasprintf("%zu runner pod(s), none failing", n);
		dr_check_add(d->checks, group, "runner-pods", DR_CHECK_OK, s, NULL);
	}
	if (ss->runner->mode->guard && !ss->runner->no_guard)
		check_runner_paths(d, ss, pods, group);
}

/* The hook extension ConfigMaps the scale set renders: on the cluster, and mounted by the
 * deployed AutoscalingRunnerSet. */
static void
check_hooks(doctor *d, const live *l, const dr_runner *r, const dr_scale_set *ss, json_t *ars,
            const char *group)
{
	const dr_runner *one[1] = { r };
	dr_render_opts ro = { .include_secrets = false };
	_cleanup_json_ json_t *objs = dr_render(one, 1, &d->c->settings, &ro);
	_cleanup_free_ char *want = dr_name_hook_extension(ss->name);
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		if (!dr_streq(json_string_value(json_object_get(o, "kind")), "ConfigMap") ||
		    !dr_streq(dr_obj_name(o), want))
			continue;
		if (!find_obj(l->configmaps, want, ss->namespace)) {
			_cleanup_free_ char *s = dr_xasprintf(
				"ConfigMap %s/%s is missing: job pods start without the hook extension",
				ss->namespace, want);
			dr_check_add(d->checks, group, "hook-extension", DR_CHECK_FAIL, s,
			             "run 'deskrun up': it re-creates it");
			return;
		}
		bool mounted = false;
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(json_object_get(json_object_get(json_object_get(
						   ars, "spec"), "template"), "spec"),
		                                   "volumes"),
		                   k, v) {
			if (dr_streq(json_string_value(json_object_get(json_object_get(v, "configMap"),
			                                               "name")),
			             want))
				mounted = true;
		}
		_cleanup_free_ char *s = dr_xasprintf("ConfigMap %s/%s exists%s", ss->namespace, want,
		                                      mounted ? " and is mounted at /etc/hooks"
		                                              : ", but the runner pod does not mount it");
		dr_check_add(d->checks, group, "hook-extension", mounted ? DR_CHECK_OK : DR_CHECK_FAIL,
		             s, "run 'deskrun up': it rewrites the AutoscalingRunnerSet");
		return;
	}
}

static void
check_cache_path(doctor *d, const char *group, const char *node_path)
{
	const dr_cluster *cl = d->c->cluster;
	_cleanup_free_ char *host = host_path_of(d, node_path);
	if (!host) {
		_cleanup_free_ char *s =
			dr_xasprintf("%s is on each node%s: not checked from here", node_path,
			             cl && cl->provider == DR_PROVIDER_KIND ? " (not under the mounted "
			                                                      "cache root)"
			                                                    : "");
		dr_check_add(d->checks, group, "cache", DR_CHECK_OK, s, NULL);
		return;
	}
	struct stat st;
	if (stat(host, &st) < 0) {
		_cleanup_free_ char *anc = existing_ancestor(host);
		struct stat ast;
		bool dir = stat(anc, &ast) == 0 && S_ISDIR(ast.st_mode);
		if (dir && access(anc, W_OK) == 0) {
			_cleanup_free_ char *s = dr_xasprintf(
				"%s does not exist yet: the pod creates it (DirectoryOrCreate)", host);
			dr_check_add(d->checks, group, "cache", DR_CHECK_OK, s, NULL);
		} else {
			_cleanup_free_ char *s = dr_xasprintf(
				"%s does not exist and %s cannot take it (%s)", host, anc,
				dir ? "not writable" : "not a directory");
			_cleanup_free_ char *fix = dr_xasprintf("sudo mkdir -p %s", host);
			dr_check_add(d->checks, group, "cache", DR_CHECK_FAIL, s, fix);
		}
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		_cleanup_free_ char *s = dr_xasprintf("%s exists but is not a directory", host);
		_cleanup_free_ char *fix = dr_xasprintf("move it away: 'mv %s %s.old'", host, host);
		dr_check_add(d->checks, group, "cache", DR_CHECK_FAIL, s, fix);
		return;
	}
	if (access(host, W_OK) < 0) {
		_cleanup_free_ char *s = dr_xasprintf("%s is not writable (owner %u, mode %04o): "
		                                      "permission denied on the cache mount",
		                                      host, (unsigned)st.st_uid,
		                                      (unsigned)(st.st_mode & 07777));
		_cleanup_free_ char *fix = dr_xasprintf(
			"give it to the daemon's user: 'sudo chown -R %u %s' (rootless Docker/kind runs "
			"the node as your uid)",
			(unsigned)geteuid(), host);
		dr_check_add(d->checks, group, "cache", DR_CHECK_FAIL, s, fix);
		return;
	}
	_cleanup_free_ char *s = dr_xasprintf("%s exists and is writable", host);
	dr_check_add(d->checks, group, "cache", DR_CHECK_OK, s, NULL);
}

/* ---- GitHub ---- */

/* Split a comma-separated no_proxy value into a vector (owned). */
static char **
split_list(const char *v)
{
	char **out = NULL;
	_cleanup_free_ char *copy = dr_xstrdup(v);
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		dr_strv_push(&out, t);
	return out;
}

/* The proxy the GitHub checks of runner r go through to reach url: the runner's --proxy (and
 * its --no-proxy), else $https_proxy / $HTTPS_PROXY (and $no_proxy / $NO_PROXY), as curl
 * reads them. *use false: go direct. A proxy URL that does not parse is an error, which never
 * repeats the URL (it may carry a password). */
static int
github_proxy(const dr_runner *r, const char *url, dr_proxy *px, bool *use, dr_err **err)
{
	*use = false;
	const char *purl = NULL, *what = NULL;
	_cleanup_strv_ char **env_list = NULL;
	char *const *no_proxy = NULL;
	if (r->proxy) {
		purl = r->proxy;
		what = "the runner's --proxy";
		no_proxy = r->no_proxy;
	} else {
		static const char *const names[] = { "https_proxy", "HTTPS_PROXY" };
		for (size_t i = 0; i < DR_ARRAY_LEN(names) && !purl; i++) {
			const char *v = getenv(names[i]);
			if (v && *v) {
				purl = v;
				what = names[i];
			}
		}
		if (!purl)
			return 0;
		const char *np = getenv("no_proxy");
		if (!np || !*np)
			np = getenv("NO_PROXY");
		if (np && *np)
			env_list = split_list(np);
		no_proxy = env_list;
	}
	_cleanup_free_ char *host = NULL, *port = NULL;
	if (dr_url_host_port(url, &host, &port) == 0 && dr_no_proxy_match(host, port, no_proxy))
		return 0;
	if (dr_proxy_parse(purl, what, px, err) < 0)
		return -1;
	*use = true;
	return 0;
}

static void
check_github(doctor *d, const dr_runner *r, const char *group)
{
	_cleanup_free_ char *api = d->api_url ? dr_xstrdup(d->api_url)
	                                      : dr_github_api_url(r->repository);
	size_t al = strlen(api);
	while (al && api[al - 1] == '/')
		api[--al] = '\0';
	_cleanup_http_ dr_http_response res = { 0 };
	_cleanup_err_ dr_err *e = NULL;
	_cleanup_free_ char *auth = NULL;
	_cleanup_free_ char *url = NULL;
	if (r->auth.type == DR_AUTH_APP) {
		if (!r->auth.app_id || !r->auth.private_key || !r->auth.installation_id) {
			dr_check_add(d->checks, group, "github-app", DR_CHECK_FAIL,
			             "the config lacks the App ID, installation ID or key",
			             "'deskrun add NAME ... --auth-type github-app --app-id ID --installation-id ID "
			             "--private-key-file KEY'");
			return;
		}
		_cleanup_free_ char *jwt = NULL;
		if (dr_jwt_rs256(r->auth.app_id, r->auth.private_key, (int64_t)time(NULL), &jwt, &e) <
		    0) {
			dr_check_add(d->checks, group, "github-app", DR_CHECK_FAIL, e->msg,
			             "store the App's .pem again with 'deskrun add'");
			return;
		}
		auth = dr_xasprintf("Bearer %s", jwt);
		explicit_bzero(jwt, strlen(jwt));
		url = dr_xasprintf("%s/app/installations/%s", api, r->auth.installation_id);
	} else {
		if (!r->auth.token) {
			dr_check_add(d->checks, group, "github-token", DR_CHECK_FAIL,
			             "the config has no token", "'deskrun add NAME ... --auth-value-file FILE'");
			return;
		}
		auth = dr_xasprintf("Bearer %s", r->auth.token);
		url = dr_xasprintf("%s/", api);
	}
	const char *check = r->auth.type == DR_AUTH_APP ? "github-app" : "github-token";
	_cleanup_proxy_ dr_proxy px = { 0 };
	bool use_proxy = false;
	if (github_proxy(r, url, &px, &use_proxy, &e) < 0) {
		explicit_bzero(auth, strlen(auth));
		dr_check_add(d->checks, group, check, DR_CHECK_FAIL, e->msg,
		             r->proxy ? "'deskrun add NAME ... --proxy http://[USER:PASSWORD@]HOST:PORT'"
		                      : "set HTTPS_PROXY=http://[USER:PASSWORD@]HOST:PORT");
		return;
	}
	/* Said after what was seen, so a reader knows which way the check went. */
	_cleanup_free_ char *via =
		use_proxy ? dr_xasprintf(" (through the proxy %s)", px.shown) : dr_xstrdup("");
	int rc = dr_https_get(url, auth, use_proxy ? &px : NULL, DR_GITHUB_TIMEOUT_MS, &res, &e);
	explicit_bzero(auth, strlen(auth));
	if (rc < 0) {
		_cleanup_free_ char *s = dr_xasprintf("cannot reach %s%s: %s", api, via, e->msg);
		dr_check_add(d->checks, group, check, DR_CHECK_WARN, s,
		             use_proxy ? "check the proxy (the runner's --proxy, else HTTPS_PROXY) or "
		                         "list the host in --no-proxy / NO_PROXY; --no-network skips "
		                         "this check"
		                       : "check the network or proxy, --github-api-url for GitHub "
		                         "Enterprise Server; --no-network skips this check");
		return;
	}
	if (r->auth.type == DR_AUTH_APP) {
		_cleanup_json_ json_t *j = json_loads(res.body, 0, NULL);
		if (res.status == 200) {
			const char *login = json_string_value(
				json_object_get(json_object_get(j, "account"), "login"));
			_cleanup_free_ char *s = dr_xasprintf(
				"App %s is installed (installation %s on %s)%s", r->auth.app_id,
				r->auth.installation_id, login ? login : "?", via);
			dr_check_add(d->checks, group, check, DR_CHECK_OK, s, NULL);
		} else if (res.status == 404) {
			_cleanup_free_ char *s = dr_xasprintf(
				"installation %s of App %s not found (HTTP 404)%s", r->auth.installation_id,
				r->auth.app_id, via);
			dr_check_add(d->checks, group, check, DR_CHECK_FAIL, s,
			             "install the App on the organization or repository and store the "
			             "installation ID from its URL (settings/installations/ID)");
		} else {
			const char *m = json_string_value(json_object_get(j, "message"));
			_cleanup_free_ char *s =
				dr_xasprintf("GitHub refused the App's JWT (HTTP %d%s%s)%s", res.status,
				             m ? ": " : "", m ? m : "", via);
			dr_check_add(d->checks, group, check, DR_CHECK_FAIL, s,
			             "check the App ID and private key (a new key from the App's settings "
			             "page), and that this machine's clock is right");
		}
		return;
	}
	if (res.status == 401) {
		_cleanup_free_ char *s = dr_xasprintf(
			"GitHub rejected the token (HTTP 401): expired, revoked or mistyped%s", via);
		dr_check_add(d->checks, group, check, DR_CHECK_FAIL, s,
		             "create a new token and store it: 'deskrun add NAME ... --auth-value-file "
		             "FILE'");
		return;
	}
	if (res.status != 200) {
		_cleanup_free_ char *s = dr_xasprintf("GitHub answered HTTP %d%s", res.status, via);
		dr_check_add(d->checks, group, check, DR_CHECK_WARN, s,
		             "retry later; check --github-api-url");
		return;
	}
	_cleanup_free_ char *scopes = dr_http_header(&res, "X-OAuth-Scopes");
	_cleanup_finding_ dr_finding f = { 0 };
	dr_doctor_pat_scopes(scopes, r->repository, &f);
	if (use_proxy) {
		char *saw = dr_xasprintf("%s%s", f.saw ? f.saw : "", via);
		free(f.saw);
		f.saw = saw;
	}
	dr_check_add_finding(d->checks, group, check, &f);
}

static void
check_runner(doctor *d, const live *l, const dr_runner *r)
{
	size_t nss = 0;
	dr_scale_set *ss = dr_scale_sets(r, &d->c->settings, &nss);
	for (size_t k = 0; k < nss; k++) {
		_cleanup_free_ char *group = dr_xasprintf("runner %s", ss[k].name);
		if (d->c->cluster && l) {
			json_t *ars = find_obj(l->sets, ss[k].name, ss[k].namespace);
			if (l->sets_error) {
				_cleanup_free_ char *s =
					dr_xasprintf("not deployed (cannot list AutoscalingRunnerSets: %s)",
				                     l->sets_error);
				dr_check_add(d->checks, group, "deployed", DR_CHECK_WARN, s,
				             "run 'deskrun up': it installs ARC and deploys the runner");
			} else if (!ars) {
				dr_check_add(d->checks, group, "deployed", DR_CHECK_WARN,
				             "not deployed", "run 'deskrun up'");
			} else {
				_cleanup_free_ char *s = dr_xasprintf("AutoscalingRunnerSet %s/%s (mode %s)",
				                                      ss[k].namespace, ss[k].name,
				                                      r->mode->name);
				dr_check_add(d->checks, group, "deployed", DR_CHECK_OK, s, NULL);
				_cleanup_free_ char *sname = dr_name_github_secret(ss[k].fullname);
				_cleanup_finding_ dr_finding f = { 0 };
				dr_doctor_secret(find_obj(l->secrets, sname, ss[k].namespace), sname,
				                 r->auth.type, &f);
				dr_check_add_finding(d->checks, group, "secret", &f);
				check_listener(d, l, &ss[k], group);
				check_pods(d, &ss[k], group);
				check_hooks(d, l, r, &ss[k], ars, group);
			}
		}
		for (size_t i = 0; i < r->n_caches; i++) {
			_cleanup_free_ char *p = dr_cache_host_path(&ss[k], i);
			check_cache_path(d, group, p);
		}
	}
	if (r->cache_pool > 0) {
		_cleanup_free_ char *group = dr_xasprintf("runner %s", r->name);
		_cleanup_free_ char *p = dr_xasprintf("%s/pool/%s", d->c->settings.cache_root, r->name);
		check_cache_path(d, group, p);
	}
	dr_scale_sets_free(ss, nss);
	if (d->network) {
		_cleanup_free_ char *group = dr_xasprintf("runner %s", r->name);
		check_github(d, r, group);
	}
}

static int
run_doctor(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *output = "table", *name = NULL, *api = NULL;
	bool quiet = false, network = true;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_doctor, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_doctor, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (name)
				return dr_usage_extra_arg(&dr_cmd_doctor, v, err);
			name = v;
			continue;
		}
		if (id == OPT_OUTPUT) {
			if (strcmp(v, "table") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use table or json", v);
			output = v;
		} else if (id == OPT_QUIET) {
			quiet = true;
		} else if (id == OPT_NO_NETWORK) {
			network = false;
		} else if (id == OPT_API_URL) {
			if (!dr_startswith(v, "https://") || !v[8])
				return dr_fail(err, DR_EXIT_USAGE,
				               "--github-api-url \"%s\": give an https:// URL, e.g. "
				               "https://ghe.example.com/api/v3",
				               v);
			api = v;
		}
	}
	quiet |= dr_quiet(); /* the global -q before the command means the same */
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	_cleanup_free_ const dr_runner **sel = NULL;
	size_t nsel = 0;
	char *names[1] = { (char *)name };
	if (dr_cli_select(c, path, names, name ? 1 : 0, &sel, &nsel, err) < 0)
		return -1;
	const char *sysroot = getenv("DESKRUN_DOCTOR_SYSROOT");
	doctor d = {
		.c = c,
		.runners = sel,
		.n_runners = nsel,
		.api_url = api,
		.network = network,
		.sysroot = sysroot ? sysroot : "",
		.checks = json_array(),
		.controller = -1,
	};
	check_tools(&d);
	check_host(&d);
	bool reachable = check_cluster(&d);
	live l = { 0 };
	if (reachable)
		load_live(&d, &l);
	for (size_t i = 0; i < nsel; i++)
		check_runner(&d, reachable ? &l : NULL, sel[i]);
	json_decref(l.sets);
	json_decref(l.secrets);
	json_decref(l.configmaps);
	json_decref(l.listeners);
	free(l.sets_error);
	json_decref(d.docker_info);

	_cleanup_json_ json_t *checks = d.checks;
	int ok, warn, fail;
	dr_checks_count(checks, &ok, &warn, &fail);
	if (strcmp(output, "json") == 0) {
		_cleanup_json_ json_t *doc = dr_checks_document(checks);
		_cleanup_free_ char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
	} else {
		const char *nc = getenv("NO_COLOR");
		bool color = isatty(STDOUT_FILENO) && !(nc && *nc);
		_cleanup_free_ char *t = dr_checks_table(checks, quiet, color);
		fputs(t, stdout);
	}
	if (fail)
		return dr_fail(err, DR_EXIT_FAIL, "%d check%s failed: each names its fix", fail,
		               fail == 1 ? "" : "s");
	return 0;
}

const dr_cmd dr_cmd_doctor = {
	.name = "doctor",
	.summary = "check the tools, the host, the cluster and each runner, and print the fixes",
	.synopsis = "[NAME] [--output table|json] [--quiet] [--no-network] [--github-api-url URL]",
	.description =
		"Runs the checks of the troubleshooting recipes and prints each as ok, warn or fail "
		"with what it saw and, for warn and fail, the fix in one line. Tools: kubectl, helm, "
		"kind, k3s and docker, installed and recent enough for the recorded provider. Host: "
		"the inotify limits, the cgroup version and delegation, free disk and the file system "
		"under the cache root, the host daemon's storage driver. Cluster: reachable, node "
		"runtimes against the modes in use, ARC's CRDs established, the controller ready and "
		"of the major.minor deskrun renders. Per runner (NAME, or all): deployed, its GitHub "
		"Secret with the keys of its auth type, its listener, failing runner pods (image "
		"pulls, crash loops with the log tail, unschedulable pods), its hook extension, its "
		"cache directories, and its GitHub credential (a token's scopes, an App's "
		"installation) unless --no-network.\n\n"
		"Exit status 0 when no check fails, else 1. --output json prints {schema, checks: "
		"[{group, name, status, saw, fix[, detail]}], summary: {ok, warn, fail}}.",
	.opts = doctor_opts,
	.run = run_doctor,
};
