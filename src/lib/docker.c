/* docker.c: pieces the Docker modes share (see docker.h). */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/docker.h"
#include "lib/k8s.h"
#include "lib/mode.h"
#include "lib/names.h"
#include "lib/pem.h"

/* ---- daemon.json ---- */

static json_t *
mirror_list(const dr_runner *r, json_t **insecure)
{
	json_t *mirrors = json_array();
	for (size_t i = 0; r->registry_mirrors && r->registry_mirrors[i]; i++) {
		const char *m = r->registry_mirrors[i];
		if (strcmp(m, "auto") == 0) {
			json_array_append_new(mirrors, json_string(DR_MIRROR_URL));
			/* The in-cluster mirror speaks plain HTTP. */
			json_array_append_new(*insecure, json_string("deskrun-registry-mirror.deskrun-"
			                                             "system.svc.cluster.local:5000"));
		} else {
			json_array_append_new(mirrors, json_string(m));
		}
	}
	return mirrors;
}

char *
dr_daemon_json(const dr_runner *r)
{
	json_t *d = json_object();
	json_t *insecure = dr_json_strv(r->insecure_registries);
	json_t *mirrors = mirror_list(r, &insecure);
	if (json_array_size(mirrors))
		json_object_set_new(d, "registry-mirrors", mirrors);
	else
		json_decref(mirrors);
	if (json_array_size(insecure))
		json_object_set_new(d, "insecure-registries", insecure);
	else
		json_decref(insecure);
	json_object_set_new(d, "storage-driver", json_string("overlay2"));
	json_object_set_new(d, "log-driver", json_string("json-file"));
	json_object_set_new(d, "log-opts", json_pack("{s:s, s:s}", "max-size", "10m", "max-file", "3"));
	if (r->mtu)
		json_object_set_new(d, "mtu", json_integer(r->mtu));
	char *text = json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(d);
	char *with_nl = dr_xasprintf("%s\n", text);
	free(text);
	return with_nl;
}

json_t *
dr_daemon_json_configmap(const dr_runner *r, const char *name, const char *ns, json_t *labels)
{
	json_t *o = dr_k8s_object("v1", "ConfigMap", name, ns);
	json_object_set_new(dr_k8s_metadata(o), "labels", labels);
	_cleanup_free_ char *text = dr_daemon_json(r);
	json_object_set_new(o, "data", json_pack("{s:s}", "daemon.json", text));
	return o;
}

/* ---- /var/lib/docker ---- */

void
dr_docker_storage_volume(const dr_scale_set *ss, json_t *volumes, json_t *mounts)
{
	if (dr_runner_docker_cache(ss->runner) >= 0)
		return; /* the --cache volume is /var/lib/docker */
	switch (dr_runner_docker_storage(ss->runner)) {
	case DR_STORAGE_HOSTPATH: {
		_cleanup_free_ char *path =
			dr_xasprintf("%s/%s/docker", ss->settings->cache_root, ss->name);
		dr_k8s_volume_host(volumes, "docker-storage", path, "DirectoryOrCreate");
		break;
	}
	case DR_STORAGE_PVC: {
		_cleanup_free_ char *claim = dr_xasprintf("%s-docker", ss->name);
		json_array_append_new(volumes,
		                      json_pack("{s:s, s:{s:s}}", "name", "docker-storage",
		                                "persistentVolumeClaim", "claimName", claim));
		break;
	}
	case DR_STORAGE_DEFAULT:
	case DR_STORAGE_EPHEMERAL:
		/* On the node's disk, so overlay2 works (not overlay on the container's overlay). */
		dr_k8s_volume_empty(volumes, "docker-storage");
		break;
	}
	dr_k8s_mount(mounts, "docker-storage", "/var/lib/docker", false, NULL);
}

json_t *
dr_docker_storage_claim(const dr_scale_set *ss)
{
	const dr_runner *r = ss->runner;
	if (dr_runner_docker_storage(r) != DR_STORAGE_PVC)
		return NULL;
	_cleanup_free_ char *name = dr_xasprintf("%s-docker", ss->name);
	json_t *o = dr_k8s_object("v1", "PersistentVolumeClaim", name, ss->namespace);
	json_object_set_new(dr_k8s_metadata(o), "labels", dr_scale_set_labels(ss));
	json_t *spec = json_object();
	json_object_set_new(spec, "accessModes", dr_json_strs("ReadWriteOnce", NULL));
	if (r->storage_class)
		json_object_set_new(spec, "storageClassName", json_string(r->storage_class));
	json_object_set_new(spec, "resources",
	                    json_pack("{s:{s:s}}", "requests", "storage",
	                              r->docker_storage_size ? r->docker_storage_size
	                                                     : DR_DEFAULT_DOCKER_STORAGE_SIZE));
	json_object_set_new(o, "spec", spec);
	return o;
}

/* ---- proxy ---- */

typedef struct proxy_parts {
	char *url; /* without credentials */
	char *user;
	char *password;
} proxy_parts;

static void
proxy_parts_clear(proxy_parts *p)
{
	free(p->url);
	free(p->user);
	free(p->password);
}

/* Split scheme://user:password@host... (user and password NULL without credentials). */
static void
split_proxy(const char *url, proxy_parts *p)
{
	memset(p, 0, sizeof(*p));
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	const char *slash = strchr(host, '/');
	const char *at = strchr(host, '@');
	if (!at || (slash && slash < at)) {
		p->url = dr_xstrdup(url);
		return;
	}
	const char *colon = memchr(host, ':', (size_t)(at - host));
	p->user = dr_xstrndup(host, (size_t)((colon ? colon : at) - host));
	p->password = colon ? dr_xstrndup(colon + 1, (size_t)(at - colon - 1)) : dr_xstrdup("");
	p->url = dr_xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

json_t *
dr_proxy_secret(const dr_scale_set *ss, bool with_data, char **name)
{
	*name = dr_xasprintf("%s-proxy", ss->fullname);
	if (!ss->runner->proxy)
		return NULL;
	proxy_parts p;
	split_proxy(ss->runner->proxy, &p);
	json_t *o = NULL;
	if (p.user && with_data) {
		o = dr_k8s_object("v1", "Secret", *name, ss->namespace);
		json_object_set_new(dr_k8s_metadata(o), "labels", dr_scale_set_labels(ss));
		json_t *data = json_object();
		const char *items[][2] = { { "username", p.user },
			                   { "password", p.password },
			                   { "url", ss->runner->proxy } };
		for (size_t i = 0; i < DR_ARRAY_LEN(items); i++) {
			_cleanup_free_ char *b = dr_base64_encode(items[i][1], strlen(items[i][1]));
			json_object_set_new(data, items[i][0], json_string(b));
		}
		json_object_set_new(o, "data", data);
	}
	proxy_parts_clear(&p);
	return o;
}

json_t *
dr_ars_proxy(const dr_scale_set *ss)
{
	const dr_runner *r = ss->runner;
	if (!r->proxy)
		return NULL;
	proxy_parts p;
	split_proxy(r->proxy, &p);
	_cleanup_free_ char *secret = dr_xasprintf("%s-proxy", ss->fullname);
	json_t *proxy = json_object();
	const char *schemes[] = { "http", "https" };
	for (size_t i = 0; i < 2; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "url", json_string(p.url));
		if (p.user)
			json_object_set_new(e, "credentialSecretRef", json_string(secret));
		json_object_set_new(proxy, schemes[i], e);
	}
	if (r->no_proxy)
		json_object_set_new(proxy, "noProxy", dr_json_strv(r->no_proxy));
	proxy_parts_clear(&p);
	return proxy;
}

void
dr_proxy_env(const dr_scale_set *ss, json_t *env)
{
	const dr_runner *r = ss->runner;
	if (!r->proxy)
		return;
	proxy_parts p;
	split_proxy(r->proxy, &p);
	_cleanup_free_ char *secret = dr_xasprintf("%s-proxy", ss->fullname);
	static const char *const names[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
		                             "https_proxy" };
	for (size_t i = 0; i < DR_ARRAY_LEN(names); i++) {
		if (!p.user) {
			dr_k8s_env(env, names[i], p.url);
			continue;
		}
		json_array_append_new(env, json_pack("{s:s, s:{s:{s:s, s:s}}}", "name", names[i],
		                                     "valueFrom", "secretKeyRef", "name", secret,
		                                     "key", "url"));
	}
	/* Cluster-internal names never go through the proxy (the registry mirror, services). */
	_cleanup_buf_ dr_buf np = DR_BUF_INIT(0);
	for (size_t i = 0; r->no_proxy && r->no_proxy[i]; i++)
		dr_buf_printf(&np, "%s,", r->no_proxy[i]);
	dr_buf_puts(&np, "localhost,127.0.0.1,.svc,.cluster.local");
	dr_k8s_env(env, "NO_PROXY", np.data);
	dr_k8s_env(env, "no_proxy", np.data);
	proxy_parts_clear(&p);
}

void
dr_docker_client_env(const dr_scale_set *ss, json_t *env, const char *docker_host)
{
	dr_k8s_env(env, "DOCKER_HOST", docker_host);
	dr_k8s_env(env, "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS", "120");
	if (ss->runner->buildkit) {
		dr_k8s_env(env, "DOCKER_BUILDKIT", "1");
		dr_k8s_env(env, "BUILDKIT_PROGRESS", "plain");
	}
}

/* ---- the guard sidecar ---- */

/* A mount of one of the pod's folders (<cache-root>/pods/<pod>/<sub>): subPathExpr on the
 * deskrun-pods volume, expanded from the container's POD_NAME. */
static void
pod_folder_mount(json_t *mounts, const char *sub, const char *path, bool read_only)
{
	dr_k8s_mount(mounts, "deskrun-pods", path, read_only, NULL);
	_cleanup_free_ char *expr = dr_xasprintf("$(POD_NAME)/%s", sub);
	json_object_set_new(json_array_get(mounts, json_array_size(mounts) - 1), "subPathExpr",
	                    json_string(expr));
}

static void
pod_name_env(json_t *c)
{
	json_t *env = json_object_get(c, "env");
	if (!env) {
		env = json_array();
		json_object_set_new(c, "env", env);
	}
	dr_k8s_env_field(env, "POD_NAME", "metadata.name");
}

void
dr_guard_sidecar(const dr_scale_set *ss, json_t *init, json_t *volumes, const char *upstream,
                 const char *upstream_volume, const char *upstream_dir, const char *daemon_root,
                 bool unrestricted)
{
	json_t *g = dr_k8s_container("guard", dr_runner_guard_image(ss->runner));
	_cleanup_free_ char *daemon_dir = dr_xasprintf("%s/pods/$(POD_NAME)", daemon_root);
	json_object_set_new(g, "command",
	                    dr_json_strs(DR_HELPER_BINARY, "guard", "--upstream", upstream,
	                                 "--listen", "/run/deskrun/docker.sock", "--tenant",
	                                 ss->name, "--session", "$(POD_NAME)", "--state-dir",
	                                 "/var/lib/deskrun/guard", "--cleanup-on-exit",
	                                 /* the runner image's docker group (as ARC's dind) */
	                                 "--socket-group", "123",
	                                 /* the runner's folders, as the daemon sees them */
	                                 "--pod-dir", DR_PODS_DIR "/$(POD_NAME)",
	                                 "--daemon-pod-dir", daemon_dir, NULL));
	if (unrestricted)
		json_array_append_new(json_object_get(g, "command"), json_string("--unrestricted"));
	pod_name_env(g);
	/* Privileged for one reason: the bind mounts that pin the runner's folders for the
	 * daemon (src/guard/podfs.h) must reach the node through Bidirectional propagation. The
	 * guard already holds the node daemon's socket. */
	json_object_set_new(g, "securityContext", json_pack("{s:b}", "privileged", 1));
	json_object_set_new(g, "restartPolicy", json_string("Always"));
	json_object_set_new(
		g, "startupProbe",
		json_pack("{s:{s:[s,s,s,s,s,s]}, s:i, s:i, s:i}", "exec", "command", DR_HELPER_BINARY,
		          "wait-docker", "--host", DR_GUARD_SOCKET, "--timeout", "2s",
		          "initialDelaySeconds", 0, "failureThreshold", 30, "periodSeconds", 2));
	json_t *mounts = json_array();
	dr_k8s_mount(mounts, upstream_volume, upstream_dir, false, NULL);
	dr_k8s_mount(mounts, "deskrun-pods", DR_PODS_DIR, false, "Bidirectional");
	pod_folder_mount(mounts, "run", DR_GUARD_SOCKET_DIR, false);
	dr_k8s_mount(mounts, "guard-state", "/var/lib/deskrun/guard", false, NULL);
	json_object_set_new(g, "volumeMounts", mounts);
	json_array_append_new(init, g);

	/* The runner image's externals, copied where the daemon sees them (ARC's dind init
	 * container does the same for its sidecar): job containers bind them at /__e. */
	json_t *x = dr_k8s_container("externals", dr_runner_image(ss->runner));
	json_object_set_new(x, "command", dr_json_strs("cp", "-r", "/home/runner/externals/.",
	                                               "/home/runner/tmpDir/", NULL));
	pod_name_env(x);
	json_t *xm = json_array();
	pod_folder_mount(xm, "externals", "/home/runner/tmpDir", false);
	json_object_set_new(x, "volumeMounts", xm);
	json_array_append_new(init, x);

	_cleanup_free_ char *pods = dr_xasprintf("%s/pods", ss->settings->cache_root);
	dr_k8s_volume_host(volumes, "deskrun-pods", pods, "DirectoryOrCreate");
	_cleanup_free_ char *state = dr_xasprintf("%s/guard/%s", ss->settings->cache_root, ss->name);
	dr_k8s_volume_host(volumes, "guard-state", state, "DirectoryOrCreate");
}

void
dr_guarded_runner(json_t *runner)
{
	pod_name_env(runner);
	json_t *mounts = json_object_get(runner, "volumeMounts");
	pod_folder_mount(mounts, "work", "/home/runner/_work", false);
	/* Read-only: the socket there is what job containers get as /var/run/docker.sock. */
	pod_folder_mount(mounts, "run", DR_GUARD_SOCKET_DIR, true);
}

/* ---- the cache pool ---- */

void
dr_helper_binary_init(const dr_runner *r, json_t *init, json_t *volumes)
{
	if (r->dind_image_has_deskrun)
		return;
	json_t *c = dr_k8s_container("deskrun-bin", dr_runner_helper_image(r));
	json_object_set_new(c, "command", dr_json_strs(DR_HELPER_BINARY, "self-install",
	                                               DR_BIN_DIR "/deskrun", NULL));
	json_t *m = json_array();
	dr_k8s_mount(m, "deskrun-bin", DR_BIN_DIR, false, NULL);
	json_object_set_new(c, "volumeMounts", m);
	json_array_append_new(init, c);
	dr_k8s_volume_empty(volumes, "deskrun-bin");
}

json_t *
dr_pool_entrypoint(const dr_runner *r, const char *bin, const char *pool_dir, const char *owner)
{
	char slots[16];
	snprintf(slots, sizeof(slots), "%d", r->cache_pool);
	json_t *cmd = dr_json_strs(bin, "dind-entrypoint", "--pool", pool_dir,
	                           "--slots", slots, "--owner", owner, "--wait-slot", "60s",
	                           "--fallback", "ephemeral", NULL);
	if (r->cache_max_size) {
		json_array_append_new(cmd, json_string("--max-size"));
		json_array_append_new(cmd, json_string(r->cache_max_size));
	}
	json_t *tail = dr_json_strs("--ready-file", DR_POOL_READY, "--", "dind", NULL);
	json_array_extend(cmd, tail);
	json_decref(tail);
	return cmd;
}

void
dr_pool_daemon(const dr_runner *r, json_t *c, const char *pool_dir, const char *owner,
               const char *host, const char *extra, json_t *volumes, json_t *mounts)
{
	_cleanup_free_ char *host_flag = dr_xasprintf("--host=%s", host);
	const char *bin = r->dind_image_has_deskrun ? DR_DIND_IMAGE_BINARY : DR_BIN_DIR "/deskrun";
	json_t *cmd = dr_pool_entrypoint(r, bin, pool_dir, owner);
	json_t *tail = dr_json_strs("dockerd", host_flag, DR_DOCKERD_CONFIG_FLAG, extra, NULL);
	json_array_extend(cmd, tail);
	json_decref(tail);
	json_object_set_new(c, "command", cmd);
	json_object_del(c, "args");
	json_object_set_new(c, "startupProbe",
	                    json_pack("{s:{s:[s,s,s]}, s:i, s:i, s:i}", "exec", "command", "test",
	                              "-f", DR_POOL_READY, "initialDelaySeconds", 0,
	                              "failureThreshold", 300, "periodSeconds", 1));
	if (!r->dind_image_has_deskrun)
		dr_k8s_mount(mounts, "deskrun-bin", DR_BIN_DIR, true, NULL);
	dr_k8s_mount(mounts, "cache-pool", pool_dir, false, NULL);
	dr_k8s_volume_host(volumes, "cache-pool", pool_dir, "DirectoryOrCreate");
}

/* ---- cluster-wide objects ---- */

static json_t *
shared_labels(const char *component)
{
	return json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/name", component,
	                 "app.kubernetes.io/managed-by", "deskrun", "deskrun.io/shared", component);
}

bool
dr_runner_uses_mirror(const dr_runner *r)
{
	return r->registry_mirrors && dr_strv_contains(r->registry_mirrors, "auto");
}

static const dr_runner *
first_daemonset_runner(const dr_runner *const *runners, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(runners[i]->mode->name, "dind-daemonset") == 0)
			return runners[i];
	return NULL;
}

static const dr_runner *
first_mirror_runner(const dr_runner *const *runners, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dr_runner_uses_mirror(runners[i]))
			return runners[i];
	return NULL;
}

bool
dr_needs_system_namespace(const dr_runner *const *runners, size_t n)
{
	return first_daemonset_runner(runners, n) || first_mirror_runner(runners, n);
}

/* Proxy env for a cluster-wide daemon, from the runner that configures it. */
static void
shared_proxy_env(const dr_runner *r, const dr_settings *s, json_t *env)
{
	if (!r->proxy)
		return;
	/* Shared objects cannot reference one scale set's Secret: credentials must not be
	 * copied into them, so a proxy with credentials is used without them here. */
	dr_scale_set ss = { .runner = r, .settings = s, .index = 0, .name = (char *)"",
		            .fullname = (char *)"", .namespace = DR_SYSTEM_NAMESPACE };
	proxy_parts p;
	split_proxy(r->proxy, &p);
	if (!p.user) {
		dr_proxy_env(&ss, env);
	} else {
		static const char *const names[] = { "HTTP_PROXY", "HTTPS_PROXY" };
		for (size_t i = 0; i < DR_ARRAY_LEN(names); i++)
			dr_k8s_env(env, names[i], p.url);
	}
	proxy_parts_clear(&p);
}

static void
daemonset_objects(const dr_runner *r, const dr_settings *s, json_t *out)
{
	_cleanup_free_ char *cm = dr_xasprintf("%s-dockerd", DR_DAEMONSET_NAME);
	json_array_append_new(out, dr_daemon_json_configmap(r, cm, DR_SYSTEM_NAMESPACE,
	                                                    shared_labels("dind-daemonset")));
	json_t *ds = dr_k8s_object("apps/v1", "DaemonSet", DR_DAEMONSET_NAME, DR_SYSTEM_NAMESPACE);
	json_object_set_new(dr_k8s_metadata(ds), "labels", shared_labels("dind-daemonset"));
	json_t *c = dr_k8s_container("dockerd", dr_runner_dind_image(r));
	json_object_set_new(c, "args",
	                    dr_json_strs("dockerd", "--host=unix://" DR_DAEMONSET_SOCKET_DIR
	                                 "/docker.sock", DR_DOCKERD_CONFIG_FLAG, NULL));
	json_t *env = json_array();
	dr_k8s_env(env, "DOCKER_TLS_CERTDIR", "");
	shared_proxy_env(r, s, env);
	json_object_set_new(c, "env", env);
	json_object_set_new(c, "securityContext", json_pack("{s:b}", "privileged", 1));
	json_t *res = dr_resources(r->dockerd_cpu, r->dockerd_memory);
	if (res)
		json_object_set_new(c, "resources", res);
	json_object_set_new(
		c, "readinessProbe",
		json_pack("{s:{s:[s,s,s,s]}, s:i, s:i}", "exec", "command", "docker", "--host",
		          "unix://" DR_DAEMONSET_SOCKET_DIR "/docker.sock", "info", "periodSeconds",
		          5, "failureThreshold", 3));
	json_t *mounts = json_array();
	json_t *volumes = json_array();
	json_t *init = NULL;
	if (!r->cache_pool)
		dr_k8s_mount(mounts, "docker-storage", "/var/lib/docker", false, NULL);
	dr_k8s_mount(mounts, "docker-socket", DR_DAEMONSET_SOCKET_DIR, false, NULL);
	dr_k8s_mount(mounts, "dockerd-config", DR_DOCKERD_CONFIG_DIR, true, NULL);
	/* The runner pods' folders at the node's own path, with the guards' pins as they come
	 * (src/guard/podfs.h): job containers bind the runner's work folder through them. */
	_cleanup_free_ char *pods = dr_xasprintf("%s/pods", s->cache_root);
	dr_k8s_mount(mounts, "runner-pods", pods, false, "HostToContainer");
	json_object_set_new(c, "volumeMounts", mounts);
	_cleanup_free_ char *data = dr_xasprintf("%s/daemonset/docker", s->cache_root);
	_cleanup_free_ char *sock = dr_xasprintf("%s/daemonset/sock", s->cache_root);
	if (r->cache_pool) {
		/* One daemon per node on a leased slot: crash-safe restarts, stale state cleaned,
		 * the quota kept. */
		init = json_array();
		dr_helper_binary_init(r, init, volumes);
		_cleanup_free_ char *pool = dr_xasprintf("%s/pool/%s", s->cache_root, DR_DAEMONSET_NAME);
		dr_pool_daemon(r, c, pool, DR_DAEMONSET_NAME,
		               "unix://" DR_DAEMONSET_SOCKET_DIR "/docker.sock", NULL, volumes, mounts);
	} else if (dr_runner_docker_storage(r) == DR_STORAGE_EPHEMERAL)
		dr_k8s_volume_empty(volumes, "docker-storage");
	else
		dr_k8s_volume_host(volumes, "docker-storage", data, "DirectoryOrCreate");
	dr_k8s_volume_host(volumes, "docker-socket", sock, "DirectoryOrCreate");
	dr_k8s_volume_host(volumes, "runner-pods", pods, "DirectoryOrCreate");
	dr_k8s_volume_configmap(volumes, "dockerd-config", cm);
	json_t *pod = json_object();
	json_object_set_new(pod, "automountServiceAccountToken", json_false());
	if (init && json_array_size(init))
		json_object_set_new(pod, "initContainers", init);
	else
		json_decref(init);
	json_t *containers = json_array();
	json_array_append_new(containers, c);
	json_object_set_new(pod, "containers", containers);
	json_object_set_new(pod, "volumes", volumes);
	json_t *tmpl = json_object();
	json_object_set_new(tmpl, "metadata", json_pack("{s:o}", "labels", shared_labels("dind-daemonset")));
	json_object_set_new(tmpl, "spec", pod);
	json_t *spec = json_object();
	json_object_set_new(spec, "selector",
	                    json_pack("{s:{s:s}}", "matchLabels", "app.kubernetes.io/name",
	                              "dind-daemonset"));
	json_object_set_new(spec, "template", tmpl);
	json_object_set_new(ds, "spec", spec);
	json_array_append_new(out, ds);
}

static void
mirror_objects(const dr_runner *r, const dr_settings *s, json_t *out)
{
	json_t *d = dr_k8s_object("apps/v1", "Deployment", DR_MIRROR_NAME, DR_SYSTEM_NAMESPACE);
	json_object_set_new(dr_k8s_metadata(d), "labels", shared_labels("registry-mirror"));
	json_t *c = dr_k8s_container("registry", DR_MIRROR_IMAGE);
	json_t *env = json_array();
	dr_k8s_env(env, "REGISTRY_PROXY_REMOTEURL", DR_MIRROR_UPSTREAM);
	dr_k8s_env(env, "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/var/lib/registry");
	shared_proxy_env(r, s, env);
	json_object_set_new(c, "env", env);
	json_object_set_new(c, "ports", json_pack("[{s:i, s:s}]", "containerPort", 5000, "name", "registry"));
	json_object_set_new(c, "readinessProbe",
	                    json_pack("{s:{s:s, s:s}, s:i}", "httpGet", "path", "/v2/", "port",
	                              "registry", "periodSeconds", 5));
	json_t *mounts = json_array();
	dr_k8s_mount(mounts, "storage", "/var/lib/registry", false, NULL);
	json_object_set_new(c, "volumeMounts", mounts);
	json_t *volumes = json_array();
	_cleanup_free_ char *path = dr_xasprintf("%s/mirror", s->cache_root);
	dr_k8s_volume_host(volumes, "storage", path, "DirectoryOrCreate");
	json_t *pod = json_object();
	json_object_set_new(pod, "automountServiceAccountToken", json_false());
	json_t *containers = json_array();
	json_array_append_new(containers, c);
	json_object_set_new(pod, "containers", containers);
	json_object_set_new(pod, "volumes", volumes);
	json_t *tmpl = json_object();
	json_object_set_new(tmpl, "metadata", json_pack("{s:o}", "labels", shared_labels("registry-mirror")));
	json_object_set_new(tmpl, "spec", pod);
	json_t *spec = json_object();
	json_object_set_new(spec, "replicas", json_integer(1));
	/* One writer of the storage directory at a time. */
	json_object_set_new(spec, "strategy", json_pack("{s:s}", "type", "Recreate"));
	json_object_set_new(spec, "selector",
	                    json_pack("{s:{s:s}}", "matchLabels", "app.kubernetes.io/name",
	                              "registry-mirror"));
	json_object_set_new(spec, "template", tmpl);
	json_object_set_new(d, "spec", spec);
	json_array_append_new(out, d);

	json_t *svc = dr_k8s_object("v1", "Service", DR_MIRROR_NAME, DR_SYSTEM_NAMESPACE);
	json_object_set_new(dr_k8s_metadata(svc), "labels", shared_labels("registry-mirror"));
	/* NodePort: the nodes' own container runtime reaches it on localhost (kind config). */
	json_object_set_new(svc, "spec",
	                    json_pack("{s:s, s:{s:s}, s:[{s:s, s:i, s:s, s:i}]}", "type", "NodePort",
	                              "selector", "app.kubernetes.io/name", "registry-mirror",
	                              "ports", "name", "registry", "port", 5000, "targetPort",
	                              "registry", "nodePort", DR_MIRROR_NODE_PORT));
	json_array_append_new(out, svc);
}

void
dr_shared_objects(const dr_runner *const *runners, size_t n, const dr_settings *s, json_t *out)
{
	const dr_runner *ds = first_daemonset_runner(runners, n);
	const dr_runner *mirror = first_mirror_runner(runners, n);
	if (ds)
		daemonset_objects(ds, s, out);
	if (mirror)
		mirror_objects(mirror, s, out);
}
