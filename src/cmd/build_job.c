/* build_job.c: `deskrun build-job`: print (or, with --apply, run and follow) a Kubernetes Job
 * that builds an image without a Docker daemon: the seed's hybrid strategy for `kubernetes`
 * mode runners (--cluster-builds grants them the RBAC). A directory context is streamed to the
 * Job as tar.gz through `kubectl attach`; a git URL is fetched by the builder. */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/buildjob.h"
#include "lib/duration.h"
#include "lib/names.h"
#include "lib/plan.h"
#include "lib/yaml.h"
#include "sys/kube.h"
#include "sys/log.h"
#include "sys/progress.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#define CONTEXT_MAX (1024u << 20) /* 1 GiB of compressed context */

enum {
	OPT_CONTEXT = 1,
	OPT_DOCKERFILE,
	OPT_DESTINATION,
	OPT_BUILDER,
	OPT_BUILDER_IMAGE,
	OPT_CACHE_REPO,
	OPT_REGISTRY_SECRET,
	OPT_NAME,
	OPT_NAMESPACE,
	OPT_OUTPUT,
	OPT_APPLY,
	OPT_TIMEOUT,
};

static const dr_opt build_opts[] = {
	{ "context", 'c', "DIR|GIT-URL",
	  "the build context: a local directory (streamed to the Job) or a git URL the builder "
	  "fetches (https://host/org/repo.git#ref)",
	  OPT_CONTEXT },
	{ "dockerfile", 'f', "FILE", "the Dockerfile, relative to the context (default Dockerfile)",
	  OPT_DOCKERFILE },
	{ "destination", 'd', "IMAGE", "the image to build and push", OPT_DESTINATION },
	{ "builder", 0, "BUILDER",
	  "buildkit (default: rootless BuildKit, maintained upstream) or kaniko (Chainguard's "
	  "maintained fork; upstream Kaniko is archived)",
	  OPT_BUILDER },
	{ "builder-image", 0, "IMAGE", "the builder's image (default: " DR_BUILDKIT_IMAGE " or "
	  DR_KANIKO_IMAGE ")",
	  OPT_BUILDER_IMAGE },
	{ "cache-repo", 0, "REPO", "a registry repository for the layer cache (pushed and reused)",
	  OPT_CACHE_REPO },
	{ "registry-secret", 0, "NAME",
	  "a kubernetes.io/dockerconfigjson Secret with the push credentials", OPT_REGISTRY_SECRET },
	{ "name", 0, "NAME", "the Job's name (default build-<hash of the inputs>)", OPT_NAME },
	{ "namespace", 'n', "NS", "the Job's namespace (default: kubectl's current one)",
	  OPT_NAMESPACE },
	{ "output", 'o', "FORMAT", "yaml (default) or json", OPT_OUTPUT },
	{ "apply", 0, NULL,
	  "create the Job, stream the context and the build log, and wait for the result",
	  OPT_APPLY },
	{ "timeout", 0, "DURATION", "with --apply, how long the build may take (default 30m)",
	  OPT_TIMEOUT },
	{ NULL, 0, NULL, NULL, 0 },
};

/* kubectl with an optional --namespace. */
static char **
kargs(const char *ns, const char *first, ...) __attribute__((sentinel));

static char **
kargs(const char *ns, const char *first, ...)
{
	char **v = NULL;
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		dr_strv_push(&v, s);
	va_end(ap);
	if (ns) {
		dr_strv_push(&v, "--namespace");
		dr_strv_push(&v, ns);
	}
	return v;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Waiting reasons the kubelet does not get over by itself (an image pull it has already
 * retried, a name it cannot parse, a config it cannot build). */
static const char *const stuck_reasons[] = {
	"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
	"CreateContainerError", "RunContainerError", NULL,
};

static bool
is_stuck(const char *reason)
{
	for (size_t i = 0; reason && stuck_reasons[i]; i++)
		if (strcmp(reason, stuck_reasons[i]) == 0)
			return true;
	return false;
}

/* Another container of the pod ended in failure (the context container, whose tar could not
 * unpack): its last log lines are the reason. */
static int
container_failed(const dr_cluster *cl, const dr_build_spec *b, const char *pod,
                 const char *cname, json_int_t code, dr_err **err)
{
	_cleanup_strv_ char **args = kargs(b->namespace, "logs", pod, "-c", cname, "--tail", "5", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .allow_fail = true, .timeout_ms = 30000 };
	_cleanup_err_ dr_err *lerr = NULL;
	_cleanup_free_ char *tail = NULL;
	if (dr_kubectl(cl, args, &call, &res, &lerr) == 0 && res.out && *res.out) {
		tail = dr_xstrdup(res.out);
		for (char *c = tail; *c; c++)
			if (*c == '\n')
				*c = c[1] ? ' ' : '\0';
	}
	return dr_fail(err, DR_EXIT_FAIL,
	               "the build's %s container failed (exit %" JSON_INTEGER_FORMAT "): %s; see "
	               "'kubectl logs %s -c %s'",
	               cname, code, tail ? tail : "no log", pod, cname);
}

/* One container status of the Job's pod, seen while waiting for `container`: 1 when that one
 * runs (or, with ended_ok, has run), 0 to keep waiting, -1 (err set) when the build cannot go
 * on: another container failed, or this one is stuck or ended too early. */
static int
container_state(const dr_cluster *cl, const dr_build_spec *b, json_t *pod, json_t *cs,
                const char *container, bool ended_ok, dr_err **err)
{
	const char *cname = json_string_value(json_object_get(cs, "name"));
	json_t *state = json_object_get(cs, "state");
	json_t *term = json_object_get(state, "terminated");
	json_int_t code = json_integer_value(json_object_get(term, "exitCode"));
	if (!dr_streq(cname, container)) {
		if (term && code != 0)
			return container_failed(cl, b, dr_obj_name(pod), cname, code, err);
		return 0;
	}
	if (json_object_get(state, "running") || (term && ended_ok))
		return 1;
	if (term)
		return dr_fail(err, DR_EXIT_FAIL,
		               "the build's %s container ended before it got the context "
		               "(exit %" JSON_INTEGER_FORMAT ")",
		               container, code);
	/* A container that cannot start waits forever: say why at once. */
	json_t *wait = json_object_get(state, "waiting");
	const char *why = json_string_value(json_object_get(wait, "reason"));
	const char *msg = json_string_value(json_object_get(wait, "message"));
	if (is_stuck(why))
		return dr_fail(err, DR_EXIT_FAIL,
		               "the build's %s container cannot start: %s: %s; see 'kubectl describe pod %s'",
		               container, why, msg ? msg : "no message", dr_obj_name(pod));
	return 0;
}

/* The Job's pod once `container` is running (or, with ended_ok, has run); owned name. */
static int
wait_for_container(const dr_cluster *cl, const dr_build_spec *b, const char *container,
                   bool ended_ok, long deadline, char **pod, dr_err **err)
{
	_cleanup_free_ char *sel = dr_xasprintf("job-name=%s", b->name);
	_cleanup_strv_ char **args = kargs(b->namespace, "get", "pods", "-l", sel, NULL);
	for (;;) {
		_cleanup_json_ json_t *list = NULL;
		if (dr_kubectl_json(cl, args, &list, err) < 0)
			return -1;
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(list, "items"), i, p) {
			json_t *st = json_object_get(p, "status");
			const char *lists[] = { "initContainerStatuses", "containerStatuses" };
			for (size_t l = 0; l < 2; l++) {
				size_t k;
				json_t *cs;
				json_array_foreach(json_object_get(st, lists[l]), k, cs) {
					int v = container_state(cl, b, p, cs, container, ended_ok, err);
					if (v < 0)
						return -1;
					if (v > 0) {
						*pod = dr_xstrdup(dr_obj_name(p));
						return 0;
					}
				}
			}
		}
		if (dr_now_ms() >= deadline)
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "the pod of Job %s did not start its %s container in time; see "
			               "'kubectl describe job %s'",
			               b->name, container, b->name);
		sleep_ms(1000);
	}
}

/* Append "./NAME" for each entry of the directory, sorted (a stable archive). */
static int
context_entries(const char *dir, char ***argv, dr_err **err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return dr_fail_errno(err, DR_EXIT_FAIL, errno, "read the context %s", dir);
	int added = 0;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
			_cleanup_free_ char *rel = dr_xasprintf("./%s", nm);
			dr_argv_add(argv, rel);
			added++;
		}
		free(names[i]);
	}
	free(names);
	if (!added)
		return dr_fail(err, DR_EXIT_FAIL, "the context %s is empty: it needs a Dockerfile",
		               dir);
	return 0;
}

static int
apply_and_follow(const dr_cluster *cl, const dr_build_spec *b, json_t *job, long timeout_ms,
                 dr_err **err)
{
	dr_progress prog;
	dr_progress_init(&prog);
	long deadline = dr_now_ms() + timeout_ms;
	_cleanup_free_ char *tarball = NULL;
	size_t tar_len = 0;
	if (!b->context_is_git) {
		/* Read the context before creating anything: a bad directory fails early. The
		 * archive names the context's entries ("./Dockerfile", ...), not "." itself: the
		 * builder's user cannot change the times or mode of the volume it unpacks into, and
		 * tar fails on "." when it tries. */
		_cleanup_strv_ char **tar = dr_argv("tar", "-C", b->context, "-czf", "-", "--", NULL);
		if (context_entries(b->context, &tar, err) < 0)
			return -1;
		_cleanup_spawn_ dr_spawn_result tres = { 0 };
		dr_call tcall = { .timeout_ms = 10 * 60000, .max_output = CONTEXT_MAX };
		if (dr_run_tool(tar, "install tar", &tcall, &tres, err) < 0)
			return dr_err_prefix(err, "pack the context %s", b->context);
		if (tres.out_len >= CONTEXT_MAX)
			return dr_fail(err, DR_EXIT_FAIL,
			               "the context %s is 1 GiB or more compressed: build from a git URL "
			               "or a smaller directory",
			               b->context);
		tar_len = tres.out_len;
		tarball = TAKE_PTR(tres.out);
	}
	_cleanup_buf_ dr_buf yaml = DR_BUF_INIT(0);
	if (dr_yaml_emit_document(&yaml, job, err) < 0)
		return -1;
	dr_progress_step(&prog, "creating Job %s", b->name);
	_cleanup_strv_ char **apply = kargs(b->namespace, "apply", "-f", "-", NULL);
	_cleanup_spawn_ dr_spawn_result ares = { 0 };
	dr_call acall = { .stdin_data = yaml.data, .stdin_len = yaml.len };
	if (dr_kubectl(cl, apply, &acall, &ares, err) < 0)
		return -1;
	if (!b->context_is_git) {
		const char *container = dr_build_stdin_container(b);
		_cleanup_free_ char *pod = NULL;
		if (wait_for_container(cl, b, container, false, deadline, &pod, err) < 0)
			return -1;
		dr_progress_step(&prog, "streaming the context (%zu bytes) to %s/%s", tar_len, pod,
		                 container);
		_cleanup_strv_ char **attach =
			kargs(b->namespace, "attach", "-i", "-c", container, pod, NULL);
		_cleanup_spawn_ dr_spawn_result atres = { 0 };
		dr_call atcall = { .stdin_data = tarball, .stdin_len = tar_len,
			           .timeout_ms = 10 * 60000 };
		if (dr_kubectl(cl, attach, &atcall, &atres, err) < 0)
			return dr_err_prefix(err, "stream the context");
	}
	/* `kubectl logs -f` gives up at once on a container still waiting (the pod initialising
	 * after the context arrived): follow once the builder runs, or has already ended. */
	{
		_cleanup_free_ char *bpod = NULL;
		if (wait_for_container(cl, b, "builder", true, deadline, &bpod, err) < 0)
			return -1;
	}
	dr_progress_step(&prog, "following the build log");
	_cleanup_free_ char *job_ref = dr_xasprintf("job/%s", b->name);
	_cleanup_strv_ char **logs = kargs(b->namespace, "logs", "-f", job_ref, "-c", "builder",
	                                   "--pod-running-timeout=5m", NULL);
	_cleanup_spawn_ dr_spawn_result lres = { 0 };
	long left = deadline - dr_now_ms();
	dr_call lcall = { .passthrough = true, .allow_fail = true,
		          .timeout_ms = left > 1000 ? (int)left : 1000 };
	if (dr_kubectl(cl, logs, &lcall, &lres, err) < 0)
		return -1;
	_cleanup_strv_ char **get = kargs(b->namespace, "get", "job", b->name, NULL);
	for (;;) {
		_cleanup_json_ json_t *j = NULL;
		if (dr_kubectl_json(cl, get, &j, err) < 0)
			return -1;
		json_t *st = json_object_get(j, "status");
		if (json_integer_value(json_object_get(st, "succeeded")) > 0) {
			dr_progress_step(&prog, "Job %s succeeded: %s pushed", b->name, b->destination);
			return 0;
		}
		if (json_integer_value(json_object_get(st, "failed")) > 0)
			return dr_fail(err, DR_EXIT_FAIL,
			               "build Job %s failed (its log is above; 'kubectl describe job "
			               "%s' for more)",
			               b->name, b->name);
		if (dr_now_ms() >= deadline) {
			_cleanup_free_ char *t = dr_duration_text(timeout_ms);
			return dr_fail(err, DR_EXIT_TIMEOUT, "build Job %s did not finish within %s",
			               b->name, t);
		}
		sleep_ms(2000);
	}
}

static int
run_build_job(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_build_spec b = { 0 };
	const char *output = "yaml";
	bool apply = false;
	long timeout_ms = 30 * 60000;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_build_job, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_build_job, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			return dr_usage_extra_arg(&dr_cmd_build_job, v, err);
		switch (id) {
		case OPT_CONTEXT: b.context = v; break;
		case OPT_DOCKERFILE: b.dockerfile = v; break;
		case OPT_DESTINATION: b.destination = v; break;
		case OPT_BUILDER:
			if (strcmp(v, "buildkit") == 0)
				b.builder = DR_BUILDER_BUILDKIT;
			else if (strcmp(v, "kaniko") == 0)
				b.builder = DR_BUILDER_KANIKO;
			else
				return dr_fail(err, DR_EXIT_USAGE,
				               "--builder \"%s\": use buildkit or kaniko", v);
			break;
		case OPT_BUILDER_IMAGE: b.builder_image = v; break;
		case OPT_CACHE_REPO: b.cache_repo = v; break;
		case OPT_REGISTRY_SECRET: b.registry_secret = v; break;
		case OPT_NAME: b.name = v; break;
		case OPT_NAMESPACE: b.namespace = v; break;
		case OPT_OUTPUT:
			if (strcmp(v, "yaml") && strcmp(v, "json"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--output \"%s\": unknown format: use yaml or json", v);
			output = v;
			break;
		case OPT_APPLY: apply = true; break;
		case OPT_TIMEOUT:
			if (dr_duration_parse("--timeout", v, &timeout_ms, err) < 0)
				return -1;
			break;
		default: DR_BUG("unhandled build-job option");
		}
	}
	if (!b.context)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--context is missing: give the build context, a directory or a git "
		               "URL");
	if (!b.destination || !*b.destination)
		return dr_fail(err, DR_EXIT_USAGE,
		               "--destination is missing: give the image to push, e.g. "
		               "registry.local:5000/app:1.0");
	if (strpbrk(b.destination, " \t\n"))
		return dr_fail(err, DR_EXIT_USAGE, "--destination \"%s\": an image reference has no "
		                                   "spaces", b.destination);
	b.context_is_git = dr_build_context_is_git(b.context);
	if (!b.context_is_git) {
		struct stat st;
		if (stat(b.context, &st) < 0 || !S_ISDIR(st.st_mode))
			return dr_fail(err, DR_EXIT_USAGE,
			               "--context %s: not a directory or a git URL (https://, git://, "
			               "git@)",
			               b.context);
		_cleanup_free_ char *df = dr_xasprintf("%s/%s", b.context,
		                                       b.dockerfile ? b.dockerfile : "Dockerfile");
		if (access(df, R_OK) < 0)
			return dr_fail_errno(err, DR_EXIT_USAGE, errno, "--dockerfile: %s", df);
	}
	if (b.dockerfile && (b.dockerfile[0] == '/' || strstr(b.dockerfile, "..")))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--dockerfile %s: give a path inside the context, without '..'",
		               b.dockerfile);
	if (b.namespace && !dr_is_dns_label(b.namespace))
		return dr_fail(err, DR_EXIT_USAGE, "--namespace \"%s\": not a valid namespace",
		               b.namespace);
	_cleanup_free_ char *name = b.name ? NULL : dr_build_job_name(&b);
	if (!b.name)
		b.name = name;
	else if (!dr_is_dns_label(b.name))
		return dr_fail(err, DR_EXIT_USAGE,
		               "--name \"%s\": a Job name is lowercase letters, digits and '-'", b.name);
	_cleanup_json_ json_t *job = dr_build_job(&b);
	if (!apply) {
		if (strcmp(output, "json") == 0) {
			_cleanup_free_ char *s = json_dumps(job, JSON_INDENT(2));
			printf("%s\n", s);
		} else {
			_cleanup_buf_ dr_buf y = DR_BUF_INIT(0);
			if (dr_yaml_emit_document(&y, job, err) < 0)
				return -1;
			fwrite(y.data, 1, y.len, stdout);
		}
		return 0;
	}
	/* The recorded cluster when there is one; else kubectl's own context, which inside a
	 * runner pod is the pod's ServiceAccount. */
	_cleanup_free_ char *path = NULL;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_cli_load_config(cli, &path, &c, err) < 0)
		return -1;
	_cleanup_cluster_ dr_cluster *cl =
		c->cluster ? dr_cluster_copy(c->cluster) : dr_cluster_new(DR_PROVIDER_EXISTING, "", "");
	return apply_and_follow(cl, &b, job, timeout_ms, err);
}

const dr_cmd dr_cmd_build_job = {
	.name = "build-job",
	.summary = "build an image in the cluster without a Docker daemon (a Job)",
	.synopsis = "--context DIR|GIT-URL --destination IMAGE [--dockerfile FILE] "
	            "[--builder buildkit|kaniko] [--cache-repo REPO] [--apply]",
	.description =
		"Print a Kubernetes Job that builds the Dockerfile of the context and pushes the "
		"image, with rootless BuildKit (the default: maintained by the Moby project, with a "
		"registry layer cache) or Kaniko (upstream Kaniko is archived since 2025; the default "
		"image is Chainguard's maintained fork). With --apply, create the Job, stream a "
		"directory context to it (tar.gz through 'kubectl attach'), follow the build log and "
		"exit with the build's result. Runners in kubernetes mode get the RBAC for this with "
		"'deskrun add --cluster-builds'.",
	.opts = build_opts,
	.run = run_build_job,
};
