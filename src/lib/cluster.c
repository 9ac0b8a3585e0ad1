/* cluster.c: the recorded cluster and the kind configuration (see cluster.h). */
#include "lib/common.h"
#include "lib/cluster.h"
#include "lib/k8s.h"

static const char *const provider_names[] = {
	[DR_PROVIDER_KIND] = "kind",
	[DR_PROVIDER_K3S] = "k3s",
	[DR_PROVIDER_EXISTING] = "existing",
	[DR_PROVIDER_LOCAL] = "local",
};

const char *
dr_provider_name(dr_provider p)
{
	return provider_names[p];
}

int
dr_provider_parse(const char *s, dr_provider *out)
{
	for (size_t i = 0; i < DR_ARRAY_LEN(provider_names); i++)
		if (strcmp(s, provider_names[i]) == 0) {
			*out = (dr_provider)i;
			return 0;
		}
	return -1;
}

dr_cluster *
dr_cluster_new(dr_provider p, const char *name, const char *context)
{
	dr_cluster *c = dr_xcalloc(1, sizeof(*c));
	c->provider = p;
	c->name = dr_xstrdup(name);
	c->context = dr_xstrdup(context);
	return c;
}

void
dr_cluster_free(dr_cluster *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->context);
	free(c->kubeconfig);
	free(c->host_cache_dir);
	free(c->engine);
	free(c->state_dir);
	free(c->network);
	free(c->metrics_addr);
	free(c);
}

dr_cluster *
dr_cluster_copy(const dr_cluster *c)
{
	dr_cluster *d = dr_cluster_new(c->provider, c->name, c->context);
	d->kubeconfig = c->kubeconfig ? dr_xstrdup(c->kubeconfig) : NULL;
	d->host_cache_dir = c->host_cache_dir ? dr_xstrdup(c->host_cache_dir) : NULL;
	d->docker_socket = c->docker_socket;
	d->registry_mirror = c->registry_mirror;
	d->engine = c->engine ? dr_xstrdup(c->engine) : NULL;
	d->state_dir = c->state_dir ? dr_xstrdup(c->state_dir) : NULL;
	d->network = c->network ? dr_xstrdup(c->network) : NULL;
	d->metrics_addr = c->metrics_addr ? dr_xstrdup(c->metrics_addr) : NULL;
	return d;
}

json_t *
dr_cluster_to_json(const dr_cluster *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "provider", json_string(dr_provider_name(c->provider)));
	json_object_set_new(o, "name", json_string(c->name));
	json_object_set_new(o, "context", json_string(c->context));
	if (c->kubeconfig)
		json_object_set_new(o, "kubeconfig", json_string(c->kubeconfig));
	if (c->host_cache_dir)
		json_object_set_new(o, "host_cache_dir", json_string(c->host_cache_dir));
	if (c->docker_socket)
		json_object_set_new(o, "docker_socket", json_true());
	if (c->registry_mirror)
		json_object_set_new(o, "registry_mirror", json_true());
	if (c->engine)
		json_object_set_new(o, "engine", json_string(c->engine));
	if (c->state_dir)
		json_object_set_new(o, "state_dir", json_string(c->state_dir));
	if (c->network)
		json_object_set_new(o, "network", json_string(c->network));
	if (c->metrics_addr)
		json_object_set_new(o, "metrics_addr", json_string(c->metrics_addr));
	return o;
}

static const char *
opt_str(json_t *o, const char *key, bool required, dr_err **err)
{
	json_t *v = json_object_get(o, key);
	if (!v && !required)
		return NULL;
	if (!json_is_string(v) || !*json_string_value(v)) {
		dr_fail(err, DR_EXIT_CONFIG, "cluster: field \"%s\" must be a non-empty string", key);
		return NULL;
	}
	return json_string_value(v);
}

dr_cluster *
dr_cluster_from_json(json_t *j, dr_err **err)
{
	if (!json_is_object(j)) {
		dr_fail(err, DR_EXIT_CONFIG, "cluster must be an object");
		return NULL;
	}
	static const char *const keys[] = { "provider", "name", "context", "kubeconfig",
		                            "host_cache_dir", "docker_socket", "registry_mirror",
		                            "engine", "state_dir", "network", "metrics_addr", NULL };
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		bool known = false;
		for (size_t i = 0; keys[i]; i++)
			known |= strcmp(key, keys[i]) == 0;
		if (!known) {
			dr_fail(err, DR_EXIT_CONFIG,
			        "cluster: unknown field \"%s\" (written by a newer deskrun? upgrade "
			        "deskrun)",
			        key);
			return NULL;
		}
	}
	const char *prov = opt_str(j, "provider", true, err);
	const char *name = prov ? opt_str(j, "name", true, err) : NULL;
	const char *ctx = name ? opt_str(j, "context", true, err) : NULL;
	if (!ctx)
		return NULL;
	dr_provider p;
	if (dr_provider_parse(prov, &p) < 0) {
		dr_fail(err, DR_EXIT_CONFIG, "cluster: unknown provider \"%s\" (kind, k3s, existing or local)",
		        prov);
		return NULL;
	}
	_cleanup_cluster_ dr_cluster *c = dr_cluster_new(p, name, ctx);
	const char *kc = json_object_get(j, "kubeconfig") ? opt_str(j, "kubeconfig", true, err) : "";
	const char *hc =
		json_object_get(j, "host_cache_dir") ? opt_str(j, "host_cache_dir", true, err) : "";
	const char *en = json_object_get(j, "engine") ? opt_str(j, "engine", true, err) : "";
	const char *sd = json_object_get(j, "state_dir") ? opt_str(j, "state_dir", true, err) : "";
	const char *nw = json_object_get(j, "network") ? opt_str(j, "network", true, err) : "";
	const char *ma =
		json_object_get(j, "metrics_addr") ? opt_str(j, "metrics_addr", true, err) : "";
	if (!kc || !hc || !en || !sd || !nw || !ma)
		return NULL;
	if (*ma)
		c->metrics_addr = dr_xstrdup(ma);
	if (*nw)
		c->network = dr_xstrdup(nw);
	if (*en)
		c->engine = dr_xstrdup(en);
	if (*sd)
		c->state_dir = dr_xstrdup(sd);
	if (*kc)
		c->kubeconfig = dr_xstrdup(kc);
	if (*hc)
		c->host_cache_dir = dr_xstrdup(hc);
	json_t *ds = json_object_get(j, "docker_socket");
	if (ds && !json_is_boolean(ds)) {
		dr_fail(err, DR_EXIT_CONFIG, "cluster: field \"docker_socket\" must be true or false");
		return NULL;
	}
	c->docker_socket = json_is_true(ds);
	json_t *rm = json_object_get(j, "registry_mirror");
	if (rm && !json_is_boolean(rm)) {
		dr_fail(err, DR_EXIT_CONFIG, "cluster: field \"registry_mirror\" must be true or false");
		return NULL;
	}
	c->registry_mirror = json_is_true(rm);
	return TAKE_PTR(c);
}

json_t *
dr_kind_config(const dr_cluster *c, const dr_settings *s)
{
	json_t *cfg = json_object();
	json_object_set_new(cfg, "kind", json_string("Cluster"));
	json_object_set_new(cfg, "apiVersion", json_string("kind.x-k8s.io/v1alpha4"));
	json_object_set_new(cfg, "name", json_string(c->name));
	json_t *node = json_object();
	json_object_set_new(node, "role", json_string("control-plane"));
	json_t *mounts = json_array();
	if (c->host_cache_dir) {
		json_t *m = json_object();
		json_object_set_new(m, "hostPath", json_string(c->host_cache_dir));
		json_object_set_new(m, "containerPath", json_string(s->cache_root));
		/* The guards' pins of the runner's folders (src/guard/podfs.h) must reach the host,
		 * whose daemon mounts them when the host's socket is the node's. */
		if (c->docker_socket)
			json_object_set_new(m, "propagation", json_string("Bidirectional"));
		json_array_append_new(mounts, m);
	}
	if (c->docker_socket) {
		json_t *m = json_object();
		json_object_set_new(m, "hostPath", json_string(DR_NODE_DOCKER_SOCKET));
		json_object_set_new(m, "containerPath", json_string(DR_NODE_DOCKER_SOCKET));
		json_array_append_new(mounts, m);
	}
	json_object_set_new(node, "extraMounts", mounts);
	json_t *nodes = json_array();
	json_array_append_new(nodes, node);
	json_object_set_new(cfg, "nodes", nodes);
	if (c->registry_mirror)
		json_object_set_new(
			cfg, "containerdConfigPatches",
			dr_json_strs("[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n"
			             "  endpoint = [\"http://localhost:30500\", "
			             "\"https://registry-1.docker.io\"]\n",
			             NULL));
	return cfg;
}
