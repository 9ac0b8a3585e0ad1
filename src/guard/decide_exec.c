/* decide_exec.c: exec (created in an own container, not privileged; later exec routes
 * resolved to the exec's container), the system routes (ping, version, registry login, info
 * and df filtered on the way back, BuildKit's session and grpc), and the API areas refused
 * whole (swarm, services, plugins, ...). */
#include "guard/decide.h"

/* POST /containers/{id}/exec: the exec ID in the answer is recorded (GD_POST_EXEC_CREATED) so
 * that the exec routes can tell whose container it runs in. */
static int
decide_exec_create(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d, json_t *body)
{
	gd_obj o;
	_cleanup_free_ char *path = NULL;
	int k = container_target(c, rt, r, d, &o, &path);
	if (k)
		return k < 0 ? -1 : 0;
	if (jtrue(body, "Privileged"))
		return deny(d, 403, "Privileged", "exec Privileged: privileged exec is not allowed");
	set_body(d, body);
	d->post = GD_POST_EXEC_CREATED;
	d->post_arg = dr_xstrdup(o.id);
	set_target(r, d, path);
	return 0;
}

int
decide_exec(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d, json_t *body)
{
	if (rt->id == R_C_EXEC)
		return decide_exec_create(c, rt, r, d, body);
	const char *ref = rt->ref;
	gd_obj o;
	if (c->res->exec(c->res->ctx, ref, &o) < 0)
		return upstream_failed(d);
	if (o.own != GD_MINE)
		return missing(d, "No such exec instance: %s", ref);
	const char *slash = strrchr(r->path, '/');
	_cleanup_free_ char *eid = gd_pct_encode(ref, false);
	_cleanup_free_ char *path = dr_xasprintf("/exec/%s%s", eid, slash);
	if (body)
		set_body(d, body);
	set_target(r, d, path);
	return 0;
}

int
decide_system(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d)
{
	switch (rt->id) {
	case R_INFO:
		d->post = GD_POST_INFO;
		break;
	case R_DF:
		d->post = GD_POST_SYSTEM_DF;
		break;
	case R_SESSION:
	case R_GRPC:
		if (!c->policy->buildkit)
			return deny(d, 403, rt->name, "%s: BuildKit is off for this tenant (its policy says "
			            "\"buildkit\": false); use DOCKER_BUILDKIT=0",
			            r->path);
		if (rt->id == R_SESSION) {
			/* the session is registered under the tenant's own name for it */
			const char *id = r->head ? gd_head_get(r->head, GD_SESSION_HEADER) : NULL;
			if (!id || !*id)
				return deny(d, 400, GD_SESSION_HEADER, "/session: the " GD_SESSION_HEADER
				            " header is missing");
			d->session_uuid = gd_session_id(c, id);
			/* the daemon reuses the files a session synced under its shared key: bound
			 * to this guard, whose copies of the Dockerfiles it checked cover them */
			const char *sk = gd_head_get(r->head, GD_SHAREDKEY_HEADER);
			d->session_sharedkey = dr_xasprintf("%s.%s.%s", c->tenant,
			                                    c->args ? c->args->nonce : "", sk ? sk : "");
		}
		break;
	default:
		break;
	}
	set_target(r, d, r->path);
	return 0;
}

int
decide_area_denied(const gd_req *r, gd_decision *d)
{
	if (strcmp(r->method, "GET") == 0 && strncmp(r->path, "/plugins/", 9) == 0) {
		/* `docker inspect NAME` tries each object type in turn and goes on only after a
		 * 404: a tenant has no plugins, so any plugin is missing, as the daemon says it. */
		const char *n = r->path + 9;
		const char *slash = strchr(n, '/');
		if (slash && slash > n && strcmp(slash, "/json") == 0)
			return missing(d, "plugin \"%.*s\" not found", (int)(slash - n), n);
	}
	return deny(d, 403, "route", "%s: swarm, services, nodes, secrets, configs, plugins and "
	            "debug are not available to tenants",
	            r->path);
}
