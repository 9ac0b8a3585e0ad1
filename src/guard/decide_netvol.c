/* decide_netvol.c: networks and volumes: creation (bridge networks and local volumes only,
 * without driver options; names outside other tenants' prefixes; labels), and the routes that
 * name one (the tenant's own; the predefined networks where that is harmless). */
#include "guard/decide.h"

#include "lib/buf.h"

int
check_network_ref(const gd_ctx *c, gd_decision *d, const char *net, const char *field,
                  bool *owned)
{
	*owned = false;
	static const char *const ok[] = { "", "default", "bridge", "none" };
	if (in_static(ok, DR_ARRAY_LEN(ok), net))
		return 0;
	if (strcmp(net, "host") == 0)
		return deny(d, 403, field, "%s \"host\": the host network is not allowed", field), 1;
	gd_obj o;
	if (c->res->network(c->res->ctx, net, &o) < 0)
		return upstream_failed(d);
	if (o.predefined && strcmp(o.name, "host") == 0)
		return deny(d, 403, field, "%s \"%s\": the host network is not allowed", field, net), 1;
	if (o.own == GD_MINE) {
		*owned = true;
		return 0;
	}
	if (o.predefined && strcmp(o.name, "bridge") == 0)
		return 0;
	if (o.predefined && strcmp(o.name, "none") == 0)
		return 0;
	return missing(d, "network %s not found", net), 1;
}

/* One address or CIDR of IPAM.Config: inside a subnet the policy lists. A tenant's bridge
 * whose subnet overlaps the node's, the pods' or the services' network takes their routes on
 * the node; without "subnets" in the policy the daemon picks from its own pools. */
static int
check_ipam_addr(const gd_ctx *c, gd_decision *d, size_t i, const char *field, const char *v,
                bool prefix)
{
	if (!*v)
		return 0;
	char *const *allowed = c->policy->subnets;
	if (!allowed || !allowed[0])
		return deny(d, 403, "IPAM.Config", "network IPAM.Config[%zu].%s \"%s\": subnets are "
		            "chosen by the daemon unless the policy lists them (\"subnets\")",
		            i, field, v),
		       1;
	gd_cidr in;
	if (gd_cidr_parse(v, prefix, &in) < 0)
		return deny(d, 403, "IPAM.Config", "network IPAM.Config[%zu].%s \"%s\": not a plain %s "
		            "(IPv4 a.b.c.d or IPv6 hex groups%s)",
		            i, field, v, prefix ? "CIDR" : "address", prefix ? ", then /N" : ""),
		       1;
	_cleanup_buf_ dr_buf list = DR_BUF_INIT(0);
	for (size_t j = 0; allowed[j]; j++) {
		gd_cidr net;
		if (gd_cidr_parse(allowed[j], true, &net) == 0 && gd_cidr_contains(&net, &in))
			return 0;
		dr_buf_puts(&list, j ? ", " : "");
		dr_buf_puts(&list, allowed[j]);
	}
	return deny(d, 403, "IPAM.Config", "network IPAM.Config[%zu].%s \"%s\": outside the subnets "
	            "the policy allows (\"subnets\": %s)",
	            i, field, v, dr_buf_str(&list)),
	       1;
}

static int
check_ipam_config(const gd_ctx *c, gd_decision *d, json_t *ipam)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(ipam, "Config"), i, e) {
		if (check_ipam_addr(c, d, i, "Subnet", jstr(e, "Subnet"), true) ||
		    check_ipam_addr(c, d, i, "IPRange", jstr(e, "IPRange"), true) ||
		    check_ipam_addr(c, d, i, "Gateway", jstr(e, "Gateway"), false))
			return 1;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(e, "AuxiliaryAddresses"), k, v) {
			_cleanup_free_ char *f = dr_xasprintf("AuxiliaryAddresses[\"%s\"]", k);
			const char *a = json_string_value(v);
			if (check_ipam_addr(c, d, i, f, a ? a : "", false))
				return 1;
		}
	}
	return 0;
}

static int
decide_network_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	const char *name = jstr(b, "Name");
	if (!*name)
		return deny(d, 400, "Name", "network create: Name is required"), 0;
	if (check_name(c, d, "network name", name))
		return 0;
	const char *drv = jstr(b, "Driver");
	if (*drv && strcmp(drv, "bridge") != 0)
		return deny(d, 403, "Driver", "network driver \"%s\": only bridge networks", drv), 0;
	const char *scope = jstr(b, "Scope");
	if (*scope && strcmp(scope, "local") != 0)
		return deny(d, 403, "Scope", "network scope \"%s\": only local", scope), 0;
	static const char *const no[] = { "Attachable", "Ingress", "ConfigOnly" };
	for (size_t i = 0; i < DR_ARRAY_LEN(no); i++)
		if (jtrue(b, no[i]))
			return deny(d, 403, no[i], "network %s: not allowed", no[i]), 0;
	if (!jempty(b, "ConfigFrom"))
		return deny(d, 403, "ConfigFrom", "network ConfigFrom: not allowed"), 0;
	json_t *ipam = json_object_get(b, "IPAM");
	const char *id = jstr(ipam, "Driver");
	if (*id && strcmp(id, "default") != 0)
		return deny(d, 403, "IPAM.Driver", "network IPAM driver \"%s\": not allowed", id), 0;
	if (!jempty(ipam, "Options"))
		return deny(d, 403, "IPAM.Options", "network IPAM options: not allowed"), 0;
	if (check_ipam_config(c, d, ipam))
		return 0;
	const char *ok;
	json_t *ov;
	json_object_foreach(json_object_get(b, "Options"), ok, ov) {
		if (strcmp(ok, "com.docker.network.driver.mtu") != 0)
			return deny(d, 403, "Options", "network option \"%s\": not allowed", ok), 0;
	}
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	json_object_set_new(b, "CheckDuplicate", json_true());
	set_body(d, b);
	set_target(r, d, "/networks/create");
	return 0;
}

static int
decide_volume_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	const char *name = jstr(b, "Name");
	const char *drv = jstr(b, "Driver");
	if (*drv && strcmp(drv, "local") != 0)
		return deny(d, 403, "Driver", "volume driver \"%s\": only local volumes", drv), 0;
	if (!jempty(b, "DriverOpts"))
		return deny(d, 403, "DriverOpts", "volume DriverOpts: driver options (bind, device, "
		            "nfs) are not allowed"),
		       0;
	if (*name) {
		if (check_name(c, d, "volume name", name))
			return 0;
		gd_obj o;
		if (c->res->volume(c->res->ctx, name, &o) < 0)
			return upstream_failed(d);
		if (o.own != GD_MISSING && o.own != GD_MINE)
			return deny(d, 403, "Name", "volume \"%s\": the name is in use by another tenant",
			            name),
			       0;
	}
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	set_body(d, b);
	set_target(r, d, "/volumes/create");
	return 0;
}

int
decide_networks(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d, json_t *body)
{
	if (rt->id == R_N_CREATE)
		return decide_network_create(c, r, d, body);
	const char *ref = rt->ref;
	gd_obj o;
	int k;
	if (c->res->network(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	bool owned = o.own == GD_MINE;
	if (!owned && !(o.predefined && (rt->id == R_N_INSPECT ||
	                                 ((rt->id == R_N_CONNECT || rt->id == R_N_DISCONNECT) &&
	                                  strcmp(o.name, "bridge") == 0))))
		return missing(d, "network %s not found", ref);
	if (rt->id == R_N_CONNECT || rt->id == R_N_DISCONNECT) {
		gd_obj co;
		const char *cref = jstr(body, "Container");
		if ((k = own_container(c, d, cref, &co)))
			return k < 0 ? -1 : 0;
		json_object_set_new(body, "Container", json_string(co.id));
		json_t *ep = json_object_get(body, "EndpointConfig");
		if (ep && !json_is_null(ep) && check_endpoint(d, ep, ref, owned))
			return 0;
		set_body(d, body);
	}
	if (o.predefined && rt->id == R_N_INSPECT)
		d->post = GD_POST_NETWORK_INSPECT;
	const char *slash = strchr(r->path + strlen("/networks/"), '/');
	_cleanup_free_ char *path = dr_xasprintf("/networks/%s%s", o.id, slash ? slash : "");
	set_target(r, d, path);
	return 0;
}

int
decide_volumes(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d, json_t *body)
{
	if (rt->id == R_V_CREATE)
		return decide_volume_create(c, r, d, body);
	if (rt->id == R_V_UPDATE)
		return deny(d, 403, "volumes.update", "cluster volumes are not available to tenants");
	const char *ref = rt->ref;
	gd_obj o;
	if (c->res->volume(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	if (o.own != GD_MINE)
		return missing(d, "get %s: no such volume", ref);
	_cleanup_free_ char *enc = gd_pct_encode(o.id, false);
	_cleanup_free_ char *path = dr_xasprintf("/volumes/%s", enc);
	set_target(r, d, path);
	return 0;
}
