/* buildjob.c: the Job of `deskrun build-job` (see buildjob.h). Arguments go to the builder as
 * an argv vector, never through a shell, so no image name or path is ever re-parsed. */
#include "lib/common.h"
#include "lib/buildjob.h"
#include "lib/k8s.h"
#include "lib/sha256.h"

bool
dr_build_context_is_git(const char *c)
{
	return dr_startswith(c, "https://") || dr_startswith(c, "http://") ||
	       dr_startswith(c, "git://") || dr_startswith(c, "git@");
}

char *
dr_build_job_name(const dr_build_spec *b)
{
	_cleanup_free_ char *key = dr_xasprintf("%s\n%s\n%s\n%d", b->context,
	                                        b->dockerfile ? b->dockerfile : "Dockerfile",
	                                        b->destination, (int)b->builder);
	char hex[65];
	dr_sha256_hex(key, strlen(key), hex);
	hex[10] = '\0';
	return dr_xasprintf("build-%s", hex);
}

const char *
dr_build_stdin_container(const dr_build_spec *b)
{
	return b->builder == DR_BUILDER_BUILDKIT ? "context" : "builder";
}

/* Append the items of `more` (a new reference, consumed). */
static void
extend_new(json_t *a, json_t *more)
{
	json_array_extend(a, more);
	json_decref(more);
}

static json_t *
labels(const dr_build_spec *b)
{
	return json_pack("{s:s, s:s}", "app.kubernetes.io/managed-by", "deskrun", "deskrun.io/build",
	                 b->name);
}

/* Kaniko fetches git contexts itself and wants git://HOST/PATH. */
static char *
kaniko_git(const char *url)
{
	const char *rest = strstr(url, "://");
	if (dr_startswith(url, "git@")) {
		/* git@host:org/repo.git -> git://host/org/repo.git */
		const char *colon = strchr(url + 4, ':');
		if (colon)
			return dr_xasprintf("git://%.*s/%s", (int)(colon - url - 4), url + 4, colon + 1);
	}
	return dr_xasprintf("git://%s", rest ? rest + 3 : url);
}

static json_t *
buildkit_container(const dr_build_spec *b, const char *dockerfile)
{
	json_t *c = dr_k8s_container("builder", b->builder_image ? b->builder_image : DR_BUILDKIT_IMAGE);
	json_object_set_new(c, "command", dr_json_strs("buildctl-daemonless.sh", NULL));
	json_t *args = dr_json_strs("build", "--frontend", "dockerfile.v0", NULL);
	if (b->context_is_git) {
		_cleanup_free_ char *ctx = dr_xasprintf("context=%s", b->context);
		extend_new(args, json_pack("[s,s]", "--opt", ctx));
	} else {
		extend_new(args, json_pack("[s,s,s,s]", "--local", "context=/workspace",
		                                  "--local", "dockerfile=/workspace"));
	}
	_cleanup_free_ char *fn = dr_xasprintf("filename=%s", dockerfile);
	_cleanup_free_ char *out = dr_xasprintf("type=image,name=%s,push=true", b->destination);
	extend_new(args, json_pack("[s,s,s,s]", "--opt", fn, "--output", out));
	if (b->cache_repo) {
		_cleanup_free_ char *ex = dr_xasprintf("type=registry,ref=%s,mode=max", b->cache_repo);
		_cleanup_free_ char *im = dr_xasprintf("type=registry,ref=%s", b->cache_repo);
		extend_new(args, json_pack("[s,s,s,s]", "--export-cache", ex, "--import-cache", im));
	}
	json_object_set_new(c, "args", args);
	json_t *env = json_array();
	/* Rootless BuildKit inside an unprivileged pod. */
	dr_k8s_env(env, "BUILDKITD_FLAGS", "--oci-worker-no-process-sandbox");
	if (b->registry_secret)
		dr_k8s_env(env, "DOCKER_CONFIG", "/home/user/.docker");
	json_object_set_new(c, "env", env);
	json_object_set_new(c, "securityContext",
	                    json_pack("{s:{s:s}, s:{s:s}, s:i, s:i}", "seccompProfile", "type",
	                              "Unconfined", "appArmorProfile", "type", "Unconfined",
	                              "runAsUser", 1000, "runAsGroup", 1000));
	json_t *mounts = json_array();
	dr_k8s_mount(mounts, "buildkitd", "/home/user/.local/share/buildkit", false, NULL);
	if (!b->context_is_git)
		dr_k8s_mount(mounts, "workspace", "/workspace", true, NULL);
	if (b->registry_secret)
		dr_k8s_mount(mounts, "registry-auth", "/home/user/.docker", true, NULL);
	json_object_set_new(c, "volumeMounts", mounts);
	return c;
}

static json_t *
kaniko_container(const dr_build_spec *b, const char *dockerfile)
{
	json_t *c = dr_k8s_container("builder", b->builder_image ? b->builder_image : DR_KANIKO_IMAGE);
	_cleanup_free_ char *ctx = b->context_is_git ? kaniko_git(b->context) : dr_xstrdup("tar://stdin");
	_cleanup_free_ char *a_ctx = dr_xasprintf("--context=%s", ctx);
	_cleanup_free_ char *a_df = dr_xasprintf("--dockerfile=%s", dockerfile);
	_cleanup_free_ char *a_dest = dr_xasprintf("--destination=%s", b->destination);
	json_t *args = dr_json_strs(a_ctx, a_df, a_dest, NULL);
	if (b->cache_repo) {
		_cleanup_free_ char *a_cache = dr_xasprintf("--cache-repo=%s", b->cache_repo);
		extend_new(args, json_pack("[s,s]", "--cache=true", a_cache));
	}
	json_object_set_new(c, "args", args);
	if (!b->context_is_git) {
		json_object_set_new(c, "stdin", json_true());
		json_object_set_new(c, "stdinOnce", json_true());
	}
	if (b->registry_secret) {
		json_t *mounts = json_array();
		dr_k8s_mount(mounts, "registry-auth", "/kaniko/.docker", true, NULL);
		json_object_set_new(c, "volumeMounts", mounts);
	}
	return c;
}

json_t *
dr_build_job(const dr_build_spec *b)
{
	const char *dockerfile = b->dockerfile ? b->dockerfile : "Dockerfile";
	json_t *job = dr_k8s_object("batch/v1", "Job", b->name, b->namespace);
	json_object_set_new(dr_k8s_metadata(job), "labels", labels(b));
	json_t *pod = json_object();
	json_object_set_new(pod, "restartPolicy", json_string("Never"));
	json_object_set_new(pod, "automountServiceAccountToken", json_false());
	json_t *volumes = json_array();
	json_t *containers = json_array();
	if (b->builder == DR_BUILDER_BUILDKIT) {
		if (!b->context_is_git) {
			/* The context arrives as tar.gz on this container's stdin (kubectl attach). */
			json_t *ctx = dr_k8s_container("context", b->builder_image ? b->builder_image
			                                                          : DR_BUILDKIT_IMAGE);
			json_object_set_new(ctx, "command",
			                    dr_json_strs("tar", "-xzf", "-", "-C", "/workspace", NULL));
			json_object_set_new(ctx, "stdin", json_true());
			json_object_set_new(ctx, "stdinOnce", json_true());
			json_object_set_new(ctx, "securityContext",
			                    json_pack("{s:i, s:i}", "runAsUser", 1000, "runAsGroup", 1000));
			json_t *m = json_array();
			dr_k8s_mount(m, "workspace", "/workspace", false, NULL);
			json_object_set_new(ctx, "volumeMounts", m);
			json_t *init = json_array();
			json_array_append_new(init, ctx);
			json_object_set_new(pod, "initContainers", init);
			dr_k8s_volume_empty(volumes, "workspace");
		}
		json_array_append_new(containers, buildkit_container(b, dockerfile));
		dr_k8s_volume_empty(volumes, "buildkitd");
	} else {
		json_array_append_new(containers, kaniko_container(b, dockerfile));
	}
	if (b->registry_secret)
		json_array_append_new(
			volumes, json_pack("{s:s, s:{s:s, s:[{s:s, s:s}]}}", "name", "registry-auth",
			                   "secret", "secretName", b->registry_secret, "items", "key",
			                   ".dockerconfigjson", "path", "config.json"));
	json_object_set_new(pod, "containers", containers);
	if (json_array_size(volumes))
		json_object_set_new(pod, "volumes", volumes);
	else
		json_decref(volumes);
	json_t *tmpl = json_object();
	json_object_set_new(tmpl, "metadata", json_pack("{s:o}", "labels", labels(b)));
	json_object_set_new(tmpl, "spec", pod);
	json_t *spec = json_object();
	json_object_set_new(spec, "backoffLimit", json_integer(0));
	json_object_set_new(spec, "ttlSecondsAfterFinished", json_integer(3600));
	json_object_set_new(spec, "template", tmpl);
	json_object_set_new(job, "spec", spec);
	return job;
}
