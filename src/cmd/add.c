/* add.c: `deskrun add NAME --repository URL ...`: validate a runner definition completely,
 * then store it in the config file (atomically, under the config lock). */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "lib/config.h"
#include "lib/mode.h"
#include "lib/suggest.h"
#include "lib/names.h"
#include "lib/validate.h"
#include "sys/config_store.h"
#include "sys/fsutil.h"
#include "sys/log.h"
#include "sys/progress.h"

#define SECRET_MAX (64u * 1024)

enum {
	OPT_REPOSITORY = 1,
	OPT_MODE,
	OPT_MIN,
	OPT_MAX,
	OPT_INSTANCES,
	OPT_LABELS,
	OPT_CACHE,
	OPT_MOUNT,
	OPT_AUTH_TYPE,
	OPT_AUTH_VALUE_FILE,
	OPT_AUTH_VALUE,
	OPT_APP_ID,
	OPT_INSTALLATION_ID,
	OPT_PRIVATE_KEY_FILE,
	OPT_RUNNER_IMAGE,
	OPT_NAMESPACE,
	OPT_CPU,
	OPT_MEMORY,
	OPT_STORAGE_CLASS,
	OPT_WORK_VOLUME_SIZE,
	OPT_FORCE,
	OPT_MIRROR,
	OPT_INSECURE,
	OPT_MTU,
	OPT_DOCKERD_CPU,
	OPT_DOCKERD_MEMORY,
	OPT_BUILDKIT,
	OPT_DOCKER_STORAGE,
	OPT_DOCKER_STORAGE_SIZE,
	OPT_DIND_IMAGE,
	OPT_HELPER_IMAGE,
	OPT_GUARD_IMAGE,
	OPT_NO_GUARD,
	OPT_PROXY,
	OPT_NO_PROXY,
	OPT_CLUSTER_BUILDS,
	OPT_CACHE_POOL,
	OPT_CACHE_MAX_SIZE,
	OPT_DIND_IMAGE_HAS_DESKRUN,
};

static const dr_opt add_opts[] = {
	{ "repository", 'r', "URL",
	  "GitHub URL the runners register with: https://github.com/OWNER/REPO, an organization "
	  "https://github.com/ORG or https://github.com/enterprises/NAME (GHES hosts too); a "
	  "trailing / or .git is dropped",
	  OPT_REPOSITORY },
	{ "mode", 'm', "MODE",
	  "how jobs get Docker: kubernetes (default), dind, cached-privileged-kubernetes, "
	  "docker-socket, dind-daemonset or containerd-socket",
	  OPT_MODE },
	{ "min-runners", 0, "N", "idle runners kept ready (default 1)", OPT_MIN },
	{ "max-runners", 0, "N", "most runners at once (default 5)", OPT_MAX },
	{ "instances", 0, "N",
	  "N > 1 makes N scale sets NAME-1..NAME-N, one runner each (min 1, max 1) with caches of "
	  "its own; route jobs with runs-on: NAME-<i>",
	  OPT_INSTANCES },
	{ "labels", 0, "L1,L2", "extra runs-on labels of the scale set (ARC 0.14)", OPT_LABELS },
	{ "cache", 0, "[SRC:]TARGET",
	  "keep TARGET across ephemeral runners: a node directory <cache-root>/<scale-set>/"
	  "cache-<i> (or SRC) mounted at TARGET; repeatable",
	  OPT_CACHE },
	{ "mount", 0, "SRC:TARGET[:TYPE]",
	  "mount node path SRC at TARGET; TYPE is DirectoryOrCreate (default), Directory or "
	  "Socket; repeatable",
	  OPT_MOUNT },
	{ "auth-type", 0, "TYPE", "pat (default) or github-app", OPT_AUTH_TYPE },
	{ "auth-value-file", 0, "PATH",
	  "read the token (pat) or the App's private key (github-app) from PATH",
	  OPT_AUTH_VALUE_FILE },
	{ "auth-value", 0, "VALUE|-",
	  "the token itself, or - to read it from stdin (a value on the command line is visible "
	  "in shell history and ps)",
	  OPT_AUTH_VALUE },
	{ "app-id", 0, "ID", "GitHub App ID or client ID (github-app)", OPT_APP_ID },
	{ "installation-id", 0, "ID", "GitHub App installation ID (github-app)",
	  OPT_INSTALLATION_ID },
	{ "private-key-file", 0, "PATH", "the GitHub App's PEM private key (github-app)",
	  OPT_PRIVATE_KEY_FILE },
	{ "runner-image", 0, "IMAGE",
	  "runner image (default ghcr.io/actions/actions-runner:latest)", OPT_RUNNER_IMAGE },
	{ "namespace", 'n', "NS", "namespace of the scale sets (default arc-runners)",
	  OPT_NAMESPACE },
	{ "cpu", 0, "Q", "CPU request and limit of the runner container, e.g. 2 or 500m", OPT_CPU },
	{ "memory", 0, "Q", "memory request and limit of the runner container, e.g. 4Gi",
	  OPT_MEMORY },
	{ "storage-class", 0, "NAME",
	  "StorageClass of the volumes deskrun claims (default: the cluster's default class)",
	  OPT_STORAGE_CLASS },
	{ "work-volume-size", 0, "Q", "size of the kubernetes mode work volume (default 1Gi)",
	  OPT_WORK_VOLUME_SIZE },
	{ "registry-mirror", 0, "URL",
	  "dind, dind-daemonset: a registry mirror for the daemon (repeatable); auto deploys a "
	  "pull-through cache in the cluster",
	  OPT_MIRROR },
	{ "insecure-registry", 0, "HOST",
	  "dind, dind-daemonset: a registry the daemon may reach over plain HTTP (repeatable)",
	  OPT_INSECURE },
	{ "mtu", 0, "N", "dind, dind-daemonset: the daemon's MTU (68..65535)", OPT_MTU },
	{ "dockerd-cpu", 0, "Q", "dind, dind-daemonset: CPU request and limit of the daemon",
	  OPT_DOCKERD_CPU },
	{ "dockerd-memory", 0, "Q", "dind, dind-daemonset: memory request and limit of the daemon",
	  OPT_DOCKERD_MEMORY },
	{ "buildkit", 0, NULL, "jobs build with BuildKit (DOCKER_BUILDKIT=1, BUILDKIT_PROGRESS=plain)",
	  OPT_BUILDKIT },
	{ "docker-storage", 0, "KIND",
	  "dind, dind-daemonset: /var/lib/docker as ephemeral (emptyDir), hostpath (under the "
	  "cache root) or pvc (a claim per scale set)",
	  OPT_DOCKER_STORAGE },
	{ "docker-storage-size", 0, "Q", "size of the pvc docker storage (default 20Gi)",
	  OPT_DOCKER_STORAGE_SIZE },
	{ "dind-image", 0, "IMAGE", "the daemon's image (default docker:dind)", OPT_DIND_IMAGE },
	{ "helper-image", 0, "IMAGE",
	  "deskrun's helper image (FROM scratch + deskrun; default deskrun-helper:VERSION)",
	  OPT_HELPER_IMAGE },
	{ "guard-image", 0, "IMAGE",
	  "docker-socket, dind-daemonset: the guard sidecar's image (default: the helper image)",
	  OPT_GUARD_IMAGE },
	{ "no-guard", 0, NULL,
	  "docker-socket: the guard checks nothing, it only maps the runner's folders (every job "
	  "then has root on the node)",
	  OPT_NO_GUARD },
	{ "proxy", 0, "URL",
	  "HTTP(S) proxy for the runner, the listener and the daemons: "
	  "http://[USER:PASSWORD@]HOST[:PORT] (credentials go into a Secret)",
	  OPT_PROXY },
	{ "no-proxy", 0, "HOSTS", "hosts that bypass the proxy: h1,.domain,10.0.0.0/8", OPT_NO_PROXY },
	{ "cluster-builds", 0, NULL,
	  "kubernetes: let jobs run daemonless image builds as Jobs (deskrun build-job)",
	  OPT_CLUSTER_BUILDS },
	{ "cache-pool", 0, "N",
	  "dind, dind-daemonset: a pool of N /var/lib/docker slots per node, each leased by one "
	  "daemon for its pod's life: warm caches with autoscaling (no --instances)",
	  OPT_CACHE_POOL },
	{ "cache-max-size", 0, "Q", "the quota of each --cache-pool slot, e.g. 20Gi (pruned oldest "
	  "first when a lease starts)",
	  OPT_CACHE_MAX_SIZE },
	{ "dind-image-has-deskrun", 0, NULL,
	  "--cache-pool: the --dind-image holds deskrun at /usr/local/bin/deskrun (built by "
	  "'deskrun image build' as a dind image), so the pods need no init container to copy it "
	  "from the helper image (a faster start)",
	  OPT_DIND_IMAGE_HAS_DESKRUN },
	{ "force", 'f', NULL, "replace an existing runner of the same name", OPT_FORCE },
	{ NULL, 0, NULL, NULL, 0 },
};

typedef struct add_args {
	dr_runner *runner;
	bool force;
	bool min_set, max_set;
	const char *auth_type;
	const char *auth_value;
	const char *auth_value_file;
	const char *private_key_file;
	const char *config_path;
} add_args;

static int
set_string(char **field, const char *v)
{
	free(*field);
	*field = dr_xstrdup(v);
	return 0;
}

static int
handle_option(add_args *a, int id, const char *v, dr_err **err)
{
	dr_runner *r = a->runner;
	switch (id) {
	case OPT_REPOSITORY:
		return set_string(&r->repository, v);
	case OPT_MODE:
		r->mode = dr_mode_find(v);
		if (!r->mode) {
			const char *names[16] = { 0 };
			for (size_t i = 0; dr_modes[i] && i + 1 < DR_ARRAY_LEN(names); i++)
				names[i] = dr_modes[i]->name;
			const char *near = dr_suggest(v, names);
			if (near)
				return dr_fail(err, DR_EXIT_USAGE,
				               "--mode \"%s\": unknown mode: did you mean \"%s\"?", v, near);
			return dr_fail(err, DR_EXIT_USAGE, "--mode \"%s\": unknown mode: use %s", v,
			               dr_mode_names());
		}
		return 0;
	case OPT_MIN:
		a->min_set = true;
		return dr_parse_int("--min-runners", v, &r->min_runners, err);
	case OPT_MAX:
		a->max_set = true;
		return dr_parse_int("--max-runners", v, &r->max_runners, err);
	case OPT_INSTANCES:
		return dr_parse_int("--instances", v, &r->instances, err);
	case OPT_LABELS: {
		char **labels = NULL;
		if (dr_parse_labels(v, &labels, err) < 0)
			return -1;
		dr_strv_free(r->labels);
		r->labels = labels;
		return 0;
	}
	case OPT_CACHE: {
		_cleanup_free_ char *src = NULL, *dst = NULL;
		if (dr_parse_cache(v, &src, &dst, err) < 0)
			return -1;
		dr_runner_add_cache(r, src, dst);
		return 0;
	}
	case OPT_MOUNT: {
		_cleanup_free_ char *src = NULL, *dst = NULL;
		dr_mount_type t;
		if (dr_parse_mount(v, &src, &dst, &t, err) < 0)
			return -1;
		dr_runner_add_mount(r, src, dst, t);
		return 0;
	}
	case OPT_AUTH_TYPE:
		if (strcmp(v, "pat") && strcmp(v, "github-app"))
			return dr_fail(err, DR_EXIT_USAGE,
			               "--auth-type \"%s\": unknown type: use pat or github-app", v);
		a->auth_type = v;
		return 0;
	case OPT_AUTH_VALUE_FILE:
		a->auth_value_file = v;
		return 0;
	case OPT_AUTH_VALUE:
		a->auth_value = v;
		return 0;
	case OPT_APP_ID:
		return set_string(&r->auth.app_id, v);
	case OPT_INSTALLATION_ID:
		return set_string(&r->auth.installation_id, v);
	case OPT_PRIVATE_KEY_FILE:
		a->private_key_file = v;
		return 0;
	case OPT_RUNNER_IMAGE:
		return set_string(&r->runner_image, v);
	case OPT_NAMESPACE:
		return set_string(&r->namespace, v);
	case OPT_CPU:
		return set_string(&r->cpu, v);
	case OPT_MEMORY:
		return set_string(&r->memory, v);
	case OPT_STORAGE_CLASS:
		return set_string(&r->storage_class, v);
	case OPT_WORK_VOLUME_SIZE:
		return set_string(&r->work_volume_size, v);
	case OPT_FORCE:
		a->force = true;
		return 0;
	case OPT_MIRROR:
		if (dr_validate_mirror(v, true, err) < 0)
			return -1;
		dr_strv_push(&r->registry_mirrors, v);
		return 0;
	case OPT_INSECURE:
		if (dr_validate_insecure_registry(v, err) < 0)
			return -1;
		dr_strv_push(&r->insecure_registries, v);
		return 0;
	case OPT_MTU:
		return dr_parse_int("--mtu", v, &r->mtu, err) < 0 ? -1
		       : r->mtu == 0 ? dr_fail(err, DR_EXIT_USAGE,
		                               "--mtu 0: out of range: an MTU is 68..65535 (1500 for "
		                               "Ethernet, 1450 under VXLAN overlays)")
		                     : 0;
	case OPT_DOCKERD_CPU:
		return set_string(&r->dockerd_cpu, v);
	case OPT_DOCKERD_MEMORY:
		return set_string(&r->dockerd_memory, v);
	case OPT_BUILDKIT:
		r->buildkit = true;
		return 0;
	case OPT_DOCKER_STORAGE:
		if (dr_docker_storage_parse(v, &r->docker_storage) < 0)
			return dr_fail(err, DR_EXIT_USAGE,
			               "--docker-storage \"%s\": use ephemeral, hostpath or pvc", v);
		return 0;
	case OPT_DOCKER_STORAGE_SIZE:
		return set_string(&r->docker_storage_size, v);
	case OPT_DIND_IMAGE:
		return set_string(&r->dind_image, v);
	case OPT_HELPER_IMAGE:
		return set_string(&r->helper_image, v);
	case OPT_GUARD_IMAGE:
		return set_string(&r->guard_image, v);
	case OPT_NO_GUARD:
		r->no_guard = true;
		return 0;
	case OPT_PROXY:
		return set_string(&r->proxy, v);
	case OPT_NO_PROXY: {
		char **hosts = NULL;
		if (dr_parse_no_proxy(v, &hosts, err) < 0)
			return -1;
		dr_strv_free(r->no_proxy);
		r->no_proxy = hosts;
		return 0;
	}
	case OPT_CLUSTER_BUILDS:
		r->cluster_builds = true;
		return 0;
	case OPT_CACHE_POOL:
		return dr_parse_int("--cache-pool", v, &r->cache_pool, err) < 0 ? -1
		       : r->cache_pool < 1 ? dr_fail(err, DR_EXIT_USAGE,
		                                     "--cache-pool %d: give 1..64 slots per node",
		                                     r->cache_pool)
		                           : 0;
	case OPT_CACHE_MAX_SIZE:
		return set_string(&r->cache_max_size, v);
	case OPT_DIND_IMAGE_HAS_DESKRUN:
		r->dind_image_has_deskrun = true;
		return 0;
	default:
		DR_BUG("unhandled add option");
	}
}

/* Trim trailing whitespace (a token file usually ends in a newline). */
static void
rtrim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int
read_secret(const char *flag, const char *path, char **out, dr_err **err)
{
	size_t len = 0;
	if (strcmp(path, "-") == 0) {
		if (dr_read_fd(STDIN_FILENO, "stdin", SECRET_MAX, out, &len, err) < 0)
			return dr_err_prefix(err, "%s -", flag);
	} else if (dr_read_file(path, SECRET_MAX, out, &len, err) < 0) {
		(*err)->code = DR_EXIT_USAGE;
		return dr_err_prefix(err, "%s", flag);
	}
	if (memchr(*out, '\0', len))
		return dr_fail(err, DR_EXIT_USAGE, "%s %s: contains a NUL byte; give a text file",
		               flag, path);
	return 0;
}

/* Gather the credentials from files, stdin or (with a warning) the command line. */
static int
read_credentials(add_args *a, dr_err **err)
{
	dr_auth *auth = &a->runner->auth;
	auth->type = a->auth_type && strcmp(a->auth_type, "github-app") == 0 ? DR_AUTH_APP
	                                                                       : DR_AUTH_PAT;
	if (a->auth_value && a->auth_value_file)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--auth-value and --auth-value-file both given: give the secret once");
	_cleanup_free_ char *value = NULL;
	const char *flag = a->auth_value_file ? "--auth-value-file" : "--auth-value";
	if (a->auth_value_file) {
		if (read_secret("--auth-value-file", a->auth_value_file, &value, err) < 0)
			return -1;
	} else if (a->auth_value && strcmp(a->auth_value, "-") == 0) {
		if (read_secret("--auth-value", "-", &value, err) < 0)
			return -1;
	} else if (a->auth_value) {
		dr_warn("--auth-value puts the secret in your shell history and in ps: prefer "
		        "--auth-value-file PATH or --auth-value - (stdin)");
		value = dr_xstrdup(a->auth_value);
	}
	if (auth->type == DR_AUTH_PAT) {
		if (a->private_key_file)
			return dr_fail(err, DR_EXIT_USAGE,
			               "--private-key-file is for --auth-type github-app: drop it or "
			               "set --auth-type github-app");
		if (value) {
			rtrim(value);
			auth->token = TAKE_PTR(value);
		}
		return 0;
	}
	if (a->private_key_file && value)
		return dr_fail(err, DR_EXIT_USAGE,
		               "%s and --private-key-file both give the App's private key: give it "
		               "once",
		               flag);
	if (a->private_key_file &&
	    read_secret("--private-key-file", a->private_key_file, &value, err) < 0)
		return -1;
	auth->private_key = TAKE_PTR(value);
	return 0;
}

static int
store(dr_config *c, void *arg, dr_err **err)
{
	add_args *a = arg;
	if (dr_check_shared_daemon(c, a->runner, err) < 0)
		return -1;
	if (dr_config_find(c, a->runner->name) && !a->force)
		return dr_fail(err, DR_EXIT_USAGE,
		               "runner \"%s\" already exists in %s: use --force to replace it or "
		               "'deskrun remove %s' first",
		               a->runner->name, a->config_path, a->runner->name);
	dr_config_put(c, TAKE_PTR(a->runner));
	return 0;
}

static int
run_add(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	_cleanup_runner_ dr_runner *runner = dr_runner_new("");
	add_args a = { .runner = runner };
	const char *name = NULL;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_add, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_add, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (name)
				return dr_usage_extra_arg(&dr_cmd_add, v, err);
			name = v;
			continue;
		}
		if (handle_option(&a, id, v, err) < 0)
			return -1;
	}
	if (!name)
		return dr_fail(err, DR_EXIT_USAGE,
		               "NAME is missing: deskrun add NAME --repository URL [options]");
	set_string(&runner->name, name);
	if (!runner->repository)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--repository is missing: give the GitHub URL the runners register "
		               "with, e.g. --repository https://github.com/OWNER/REPO");
	_cleanup_free_ char *repo = NULL;
	if (dr_validate_repository(runner->repository, &repo, err) < 0)
		return -1;
	set_string(&runner->repository, repo);
	if (runner->instances > 1) {
		if (!a.min_set)
			runner->min_runners = 1;
		if (!a.max_set)
			runner->max_runners = 1;
	}
	bool one_at_a_time = false;
	if (!a.max_set && runner->instances == 1 && dr_runner_persistent_docker(runner)) {
		/* Two daemons must never share one /var/lib/docker. */
		runner->max_runners = 1;
		if (runner->min_runners > 1)
			runner->min_runners = 1;
		one_at_a_time = true;
	}
	if (read_credentials(&a, err) < 0)
		return -1;
	/* Everything is checked before anything is written. */
	if (dr_validate_runner(runner, err) < 0)
		return -1;
	if (one_at_a_time)
		dr_info("runner %s keeps /var/lib/docker, so it runs one runner at a time (max 1); "
		        "use --instances N for N runners with a cache each",
		        runner->name);
	if (runner->no_guard)
		dr_warn("--no-guard: runner %s's jobs reach the node's Docker daemon unchecked (the "
		        "guard only maps the runner's folders), so every job has root on the node and "
		        "can touch every container on it",
		        runner->name);
	if (runner->proxy && strchr(runner->proxy, '@'))
		dr_warn("--proxy carries credentials: they are in your shell history; deskrun keeps "
		        "them in the config file (0600) and a Secret only");
	_cleanup_free_ char *path = NULL;
	if (dr_config_path(cli->config_flag, &path, err) < 0)
		return -1;
	a.config_path = path;
	_cleanup_free_ char *saved_name = dr_xstrdup(runner->name);
	int instances = runner->instances;
	int rc = dr_config_edit(path, store, &a, err);
	if (!a.runner)
		runner = NULL; /* store() gave it to the config, which freed it */
	if (rc < 0)
		return -1;
	if (dr_quiet())
		return 0;
	if (instances > 1)
		printf("added runner %s (scale sets %s-1..%s-%d) to %s\n", saved_name, saved_name,
		       saved_name, instances, path);
	else
		printf("added runner %s to %s\n", saved_name, path);
	printf("next: 'deskrun render %s' prints its Kubernetes objects\n", saved_name);
	return 0;
}

const dr_cmd dr_cmd_add = {
	.name = "add",
	.summary = "define a runner (one or more ARC scale sets) in the config file",
	.synopsis = "NAME --repository URL [--mode MODE] [options]",
	.description =
		"Validate a runner definition and store it in the config file. Nothing is written "
		"unless every value is valid; an existing NAME is replaced only with --force.\n\n"
		"NAME is a DNS-1123 label of at most 45 characters including the -N instance suffix; "
		"it is the runs-on label of the scale set.\n\n"
		"Modes: kubernetes (no daemon: jobs run as pods through ARC's container hooks), dind "
		"(a privileged docker:dind sidecar; --cache mounts into the daemon, so --cache "
		"/var/lib/docker keeps the layer cache per instance), cached-privileged-kubernetes "
		"(privileged job pods through a hook extension, with hostPath caches), docker-socket "
		"(the node's daemon through deskrun's guard), dind-daemonset (one shared daemon per "
		"node, through the guard), containerd-socket (the node's containerd). On the local "
		"provider (cluster create --provider local) docker-socket, dind (--cache-pool "
		"included) and dind-daemonset run on the host's engine; the others need Kubernetes "
		"and are refused there.\n\n"
		"The GitHub credentials are read from --auth-value-file, from stdin with "
		"--auth-value -, or from --auth-value (with a warning); they are stored only in the "
		"config file (mode 0600).",
	.opts = add_opts,
	.run = run_add,
};
