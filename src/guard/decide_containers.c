/* decide_containers.c: the container routes: create (the whole HostConfig: binds and mounts,
 * capabilities, resources, namespaces, ports, logging, networks joined), update, rename,
 * commit, and the routes that act on one container (ownership checked, the reference replaced
 * by the full ID). */
#include "guard/decide.h"

#include <ctype.h>

/* "container:<ref>" namespace modes: the container must be the tenant's; rewritten to its ID. */
static int
container_mode(const gd_ctx *c, gd_decision *d, json_t *hc, const char *key, const char *field)
{
	const char *v = jstr(hc, key);
	if (!dr_startswith(v, "container:"))
		return 0;
	gd_obj o;
	int k = own_container(c, d, v + 10, &o);
	if (k)
		return k < 0 ? -1 : (d->field = field, 1);
	_cleanup_free_ char *nv = dr_xasprintf("container:%s", o.id);
	json_object_set_new(hc, key, json_string(nv));
	return 0;
}

/* A named volume used by a container: the tenant's, or created now with its labels. */
static int
check_volume_use(const gd_ctx *c, gd_decision *d, const char *name, const char *field,
                 bool create_missing)
{
	gd_obj o;
	if (c->res->volume(c->res->ctx, name, &o) < 0)
		return upstream_failed(d);
	if (o.own == GD_MINE)
		return 0;
	if (o.own == GD_MISSING) {
		if (check_name(c, d, field, name))
			return 1;
		if (!create_missing)
			return 0;
		if (!c->res->volume_create || c->res->volume_create(c->res->ctx, name, &o) < 0)
			return upstream_failed(d);
		if (o.own == GD_MINE)
			return 0;
	}
	return deny(d, 403, field, "%s \"%s\": volume not owned by this tenant", field, name), 1;
}

/* ---- binds and mounts ---- */

static bool
tmpfs_opt_ok(const char *o)
{
	static const char *const flags[] = { "rw", "ro", "noexec", "exec", "nosuid", "nodev",
		                             "noatime", "relatime", "strictatime", "nodiratime" };
	static const char *const keys[] = { "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks" };
	const char *eq = strchr(o, '=');
	if (!eq)
		return in_static(flags, DR_ARRAY_LEN(flags), o);
	_cleanup_free_ char *k = dr_xstrndup(o, (size_t)(eq - o));
	return in_static(keys, DR_ARRAY_LEN(keys), k);
}

static int
check_tmpfs_map(gd_decision *d, json_t *hc)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(hc, "Tmpfs"), k, v) {
		_cleanup_free_ char *o = dr_xstrdup(json_string_value(v));
		for (char *p = o, *e; p && *p; p = e ? e + 1 : NULL) {
			e = strchr(p, ',');
			if (e)
				*e = '\0';
			if (!tmpfs_opt_ok(p))
				return deny(d, 403, "HostConfig.Tmpfs",
				            "HostConfig.Tmpfs \"%s\": option \"%s\" is not allowed", k, p),
				       1;
		}
	}
	return 0;
}

/* Host path allowed as a bind source: under an --allow-bind prefix, no ".." component. */
static bool
bind_allowed(const gd_ctx *c, const char *src)
{
	if (src[0] != '/' || strstr(src, "/../") || dr_endswith(src, "/..") || strstr(src, "//"))
		return false;
	for (size_t i = 0; c->policy->allow_bind && c->policy->allow_bind[i]; i++) {
		const char *p = c->policy->allow_bind[i];
		size_t n = strlen(p);
		while (n > 1 && p[n - 1] == '/')
			n--;
		if (strncmp(src, p, n) == 0 && (src[n] == '\0' || src[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/* A bind source in the runner pod's folders: 1 with *mapped the daemon's path, 0 when it is
 * not one of them, -1 refused (answer in d). */
static int
map_pod_path(const gd_ctx *c, gd_decision *d, const char *src, char **mapped, const char *field,
             const char *shown)
{
	if (!c->res->bind_source)
		return 0;
	_cleanup_free_ char *why = NULL;
	int k = c->res->bind_source(c->res->ctx, src, &d->pin_group, mapped, &why);
	if (k < 0)
		return deny(d, 403, field, "%s: %s", shown, why ? why : "refused"), -1;
	return k;
}

static int
check_bind_opts(gd_decision *d, const char *opts, const char *field, const char *entry)
{
	static const char *const ok[] = { "ro", "rw", "nocopy", "private", "rprivate",
		                          "consistent", "cached", "delegated" };
	_cleanup_free_ char *o = dr_xstrdup(opts);
	for (char *p = o, *e; p; p = e ? e + 1 : NULL) {
		e = strchr(p, ',');
		if (e)
			*e = '\0';
		if (!in_static(ok, DR_ARRAY_LEN(ok), p))
			return deny(d, 403, field, "%s \"%s\": mount option \"%s\" is not allowed", field,
			            entry, p),
			       1;
	}
	return 0;
}


/* HostConfig.Binds: the runner's folders mapped (podfs), other host paths only under an
 * --allow-bind prefix, named volumes the tenant's. only_map (--unrestricted): the mapping
 * alone. */
static int
check_binds(const gd_ctx *c, gd_decision *d, json_t *hc, bool only_map)
{
	json_t *b = json_object_get(hc, "Binds");
	size_t i;
	json_t *e;
	json_array_foreach(b, i, e) {
		const char *s = json_string_value(e);
		_cleanup_free_ char *dup = dr_xstrdup(s);
		char *c1 = strchr(dup, ':');
		if (!c1)
			continue; /* "/path": an anonymous volume at that path */
		*c1 = '\0';
		char *c2 = strchr(c1 + 1, ':');
		if (c2) {
			*c2 = '\0';
			int k = only_map ? 0 : check_bind_opts(d, c2 + 1, "HostConfig.Binds", s);
			if (k)
				return k;
		}
		if (dup[0] == '/') {
			_cleanup_free_ char *mapped = NULL;
			_cleanup_free_ char *shown = dr_xasprintf("HostConfig.Binds \"%s\"", s);
			int k = map_pod_path(c, d, dup, &mapped, "HostConfig.Binds", shown);
			if (k < 0)
				return 1;
			if (k > 0) {
				/* The same entry with the daemon's path of the runner's folder. */
				_cleanup_free_ char *nv = dr_xasprintf("%s:%s%s%s", mapped, c1 + 1,
				                                       c2 ? ":" : "", c2 ? c2 + 1 : "");
				json_array_set_new(b, i, json_string(nv));
				continue;
			}
			if (!only_map && !bind_allowed(c, dup))
				return deny(d, 403, "HostConfig.Binds",
				            "HostConfig.Binds \"%s\": host bind mounts are not allowed, use a "
				            "named volume",
				            s),
				       1;
			continue;
		}
		if (only_map)
			continue;
		int k = check_volume_use(c, d, dup, "HostConfig.Binds", true);
		if (k)
			return k;
	}
	return 0;
}

/* --unrestricted: Mounts of type bind get the same mapping as Binds, nothing else. */
static int
map_mount_binds(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(hc, "Mounts"), i, m) {
		if (strcmp(jstr(m, "Type"), "bind") != 0)
			continue;
		_cleanup_free_ char *mapped = NULL;
		_cleanup_free_ char *shown = dr_xasprintf("HostConfig.Mounts[%zu] bind", i);
		int k = map_pod_path(c, d, jstr(m, "Source"), &mapped, "HostConfig.Mounts", shown);
		if (k < 0)
			return 1;
		if (k > 0)
			json_object_set_new(m, "Source", json_string(mapped));
	}
	return 0;
}

int
decide_unrestricted(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                    json_t *body)
{
	if (rt->id == R_C_CREATE && body) {
		/* Labelled, so the pins' sweep knows which containers use them. */
		json_t *hc = json_object_get(body, "HostConfig");
		if (check_binds(c, d, hc, true) || map_mount_binds(c, d, hc) ||
		    own_labels(c, d, body, "Labels", "Labels", true))
			return 0;
		set_body(d, body);
	}
	set_target(r, d, r->path);
	return 0;
}

static int
check_mounts(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(hc, "Mounts"), i, m) {
		const char *type = jstr(m, "Type");
		const char *src = jstr(m, "Source");
		if (strcmp(type, "volume") == 0) {
			json_t *vo = json_object_get(m, "VolumeOptions");
			if (vo && !json_is_null(vo)) {
				json_t *dc = json_object_get(vo, "DriverConfig");
				if (dc && !json_is_null(dc) &&
				    ((*jstr(dc, "Name") && strcmp(jstr(dc, "Name"), "local") != 0) ||
				     !jempty(dc, "Options")))
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].VolumeOptions.DriverConfig: volume "
					            "drivers and driver options are not allowed",
					            i),
					       1;
				const char *sp = jstr(vo, "Subpath");
				if (strstr(sp, "..") || sp[0] == '/')
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].VolumeOptions.Subpath \"%s\": not "
					            "allowed",
					            i, sp),
					       1;
			} else {
				vo = json_object();
				json_object_set_new(m, "VolumeOptions", vo);
			}
			if (*src) {
				int k = check_volume_use(c, d, src, "HostConfig.Mounts", false);
				if (k)
					return k;
			}
			if (own_labels(c, d, vo, "Labels", "HostConfig.Mounts.VolumeOptions.Labels",
			               true))
				return 1;
		} else if (strcmp(type, "tmpfs") == 0) {
			json_t *to = json_object_get(m, "TmpfsOptions");
			size_t j;
			json_t *o;
			json_array_foreach(json_object_get(to, "Options"), j, o) {
				_cleanup_free_ char *opt =
					json_array_size(o) == 2
						? dr_xasprintf("%s=%s", json_string_value(json_array_get(o, 0)),
						               json_string_value(json_array_get(o, 1)))
						: dr_xstrdup(json_array_size(o) == 1
						                     ? json_string_value(json_array_get(o, 0))
						                     : "?");
				if (!tmpfs_opt_ok(opt))
					return deny(d, 403, "HostConfig.Mounts",
					            "HostConfig.Mounts[%zu].TmpfsOptions: option \"%s\" is not "
					            "allowed",
					            i, opt),
					       1;
			}
		} else if (strcmp(type, "bind") == 0) {
			_cleanup_free_ char *mapped = NULL;
			_cleanup_free_ char *shown = dr_xasprintf("HostConfig.Mounts[%zu] bind", i);
			int k = map_pod_path(c, d, src, &mapped, "HostConfig.Mounts", shown);
			if (k < 0)
				return 1;
			if (k > 0)
				json_object_set_new(m, "Source", json_string(mapped));
			else if (!bind_allowed(c, src))
				return deny(d, 403, "HostConfig.Mounts",
				            "HostConfig.Mounts[%zu] bind \"%s\": host bind mounts are not "
				            "allowed, use a named volume",
				            i, src),
				       1;
			json_t *bo = json_object_get(m, "BindOptions");
			const char *prop = jstr(bo, "Propagation");
			if (jtrue(bo, "CreateMountpoint") ||
			    (*prop && strcmp(prop, "private") != 0 && strcmp(prop, "rprivate") != 0))
				return deny(d, 403, "HostConfig.Mounts",
				            "HostConfig.Mounts[%zu].BindOptions: propagation and "
				            "CreateMountpoint are not allowed",
				            i),
				       1;
		} else {
			return deny(d, 403, "HostConfig.Mounts",
			            "HostConfig.Mounts[%zu].Type \"%s\": only volume, tmpfs and allowed "
			            "bind mounts",
			            i, type),
			       1;
		}
	}
	return 0;
}

/* ---- the rest of HostConfig ---- */

static const char *const default_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

/* An ASCII capability name, uppercased, without "CAP_"; NULL when not plain ASCII. */
static char *
cap_name(const char *s)
{
	char *u = dr_xstrdup(s);
	for (char *p = u; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!(isalnum(ch) || ch == '_') || ch >= 0x80) {
			free(u);
			return NULL;
		}
		*p = (char)toupper(ch);
	}
	if (dr_startswith(u, "CAP_"))
		memmove(u, u + 4, strlen(u + 4) + 1);
	return u;
}

static int
check_caps(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(hc, "CapAdd"), i, e) {
		_cleanup_free_ char *n = cap_name(json_string_value(e));
		if (!n || (!in_static(default_caps, DR_ARRAY_LEN(default_caps), n) &&
		           !in_list(c->policy->capabilities, n)))
			return deny(d, 403, "HostConfig.CapAdd",
			            "HostConfig.CapAdd \"%s\": capability not allowed",
			            json_string_value(e)),
			       1;
	}
	json_array_foreach(json_object_get(hc, "CapDrop"), i, e) {
		_cleanup_free_ char *n = cap_name(json_string_value(e));
		if (!n)
			return deny(d, 400, "HostConfig.CapDrop", "HostConfig.CapDrop \"%s\": invalid",
			            json_string_value(e)),
			       1;
	}
	return 0;
}

/* Resources: shared by create (inside HostConfig) and update (top level). */
static int
check_resources(const gd_ctx *c, gd_decision *d, json_t *o, const char *pfx)
{
	(void)c;
	static const char *const must_be_empty[] = {
		"CgroupParent", "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
		"BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices", "DeviceCgroupRules",
		"DeviceRequests", "CpuRealtimePeriod", "CpuRealtimeRuntime",
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(must_be_empty); i++)
		if (!jempty(o, must_be_empty[i]))
			return deny(d, 403, must_be_empty[i], "%s%s: not allowed (host devices, cgroups "
			            "and realtime scheduling stay with the node)",
			            pfx, must_be_empty[i]),
			       1;
	if (jtrue(o, "OomKillDisable"))
		return deny(d, 403, "OomKillDisable", "%sOomKillDisable: not allowed", pfx), 1;
	json_t *pl = json_object_get(o, "PidsLimit");
	if (json_is_integer(pl) && json_integer_value(pl) < 0)
		return deny(d, 403, "PidsLimit", "%sPidsLimit %lld: an unlimited PID count is not "
		            "allowed",
		            pfx, (long long)json_integer_value(pl)),
		       1;
	return 0;
}

static int
check_restart(const gd_ctx *c, gd_decision *d, json_t *rp, const char *pfx)
{
	const char *n = jstr(rp, "Name");
	if (!*n || strcmp(n, "no") == 0 || strcmp(n, "on-failure") == 0)
		return 0;
	if (c->policy->restart_always && (strcmp(n, "always") == 0 || strcmp(n, "unless-stopped") == 0))
		return 0;
	return deny(d, 403, "RestartPolicy", "%sRestartPolicy \"%s\": containers must not outlive "
	            "the job (use \"no\" or \"on-failure\")",
	            pfx, n),
	       1;
}

static int
check_ports(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	if (jtrue(hc, "PublishAllPorts") && !c->policy->publish_all_interfaces)
		return deny(d, 403, "HostConfig.PublishAllPorts",
		            "HostConfig.PublishAllPorts: publishing on every interface is not allowed, "
		            "use -p 127.0.0.1:PORT:PORT"),
		       1;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(hc, "PortBindings"), k, v) {
		size_t i;
		json_t *b;
		json_array_foreach(v, i, b) {
			const char *ip = jstr(b, "HostIp");
			if (c->policy->publish_all_interfaces)
				continue;
			if (!*ip) {
				json_object_set_new(b, "HostIp", json_string("127.0.0.1"));
				continue;
			}
			if (strcmp(ip, "127.0.0.1") != 0 && strcmp(ip, "::1") != 0)
				return deny(d, 403, "HostConfig.PortBindings",
				            "HostConfig.PortBindings \"%s\" on %s: only loopback host "
				            "addresses are allowed",
				            k, ip),
				       1;
		}
	}
	return 0;
}

static int
check_hostconfig(const gd_ctx *c, gd_decision *d, json_t *hc)
{
	if (jtrue(hc, "Privileged"))
		return deny(d, 403, "HostConfig.Privileged",
		            "HostConfig.Privileged: privileged containers are not allowed"),
		       1;
	int k;
	if ((k = check_binds(c, d, hc, false)) || (k = check_mounts(c, d, hc)) ||
	    (k = check_tmpfs_map(d, hc)) || (k = check_caps(c, d, hc)) ||
	    (k = check_resources(c, d, hc, "HostConfig.")) ||
	    (k = check_restart(c, d, json_object_get(hc, "RestartPolicy"), "HostConfig.")) ||
	    (k = check_ports(c, d, hc)))
		return k;
	size_t i;
	json_t *e;
	json_t *vf = json_object_get(hc, "VolumesFrom");
	json_array_foreach(vf, i, e) {
		const char *s = json_string_value(e);
		const char *colon = strchr(s, ':');
		_cleanup_free_ char *name = colon ? dr_xstrndup(s, (size_t)(colon - s)) : dr_xstrdup(s);
		if (colon && strcmp(colon, ":ro") != 0 && strcmp(colon, ":rw") != 0)
			return deny(d, 400, "HostConfig.VolumesFrom", "HostConfig.VolumesFrom \"%s\": "
			            "invalid mode", s),
			       1;
		gd_obj o;
		if ((k = own_container(c, d, name, &o)))
			return d->field = "HostConfig.VolumesFrom", k;
		_cleanup_free_ char *nv = dr_xasprintf("%s%s", o.id, colon ? colon : "");
		json_array_set_new(vf, i, json_string(nv));
	}
	json_array_foreach(json_object_get(hc, "Links"), i, e) {
		const char *s = json_string_value(e);
		const char *colon = strchr(s, ':');
		_cleanup_free_ char *name = colon ? dr_xstrndup(s, (size_t)(colon - s)) : dr_xstrdup(s);
		gd_obj o;
		if ((k = own_container(c, d, name[0] == '/' ? name + 1 : name, &o)))
			return d->field = "HostConfig.Links", k;
	}
	const struct { const char *key; const char *const *ok; size_t n; bool cmode; } modes[] = {
		{ "PidMode", (const char *const[]){ "" }, 1, true },
		{ "IpcMode", (const char *const[]){ "", "private", "shareable", "none" }, 4, true },
		{ "UTSMode", (const char *const[]){ "" }, 1, false },
		{ "UsernsMode", (const char *const[]){ "" }, 1, false },
		{ "CgroupnsMode", (const char *const[]){ "", "private" }, 2, false },
		{ "Cgroup", (const char *const[]){ "" }, 1, false },
		{ "Isolation", (const char *const[]){ "", "default" }, 2, false },
		{ "VolumeDriver", (const char *const[]){ "", "local" }, 2, false },
	};
	for (size_t m = 0; m < DR_ARRAY_LEN(modes); m++) {
		const char *v = jstr(hc, modes[m].key);
		if (in_static(modes[m].ok, modes[m].n, v))
			continue;
		if (modes[m].cmode && dr_startswith(v, "container:")) {
			if ((k = container_mode(c, d, hc, modes[m].key, modes[m].key)))
				return k;
			continue;
		}
		return deny(d, 403, modes[m].key, "HostConfig.%s \"%s\": not allowed (host namespaces "
		            "and other tenants' containers are off limits)",
		            modes[m].key, v),
		       1;
	}
	const char *nm = jstr(hc, "NetworkMode");
	if (dr_startswith(nm, "container:")) {
		if ((k = container_mode(c, d, hc, "NetworkMode", "HostConfig.NetworkMode")))
			return k;
	} else {
		bool owned;
		if ((k = check_network_ref(c, d, nm, "HostConfig.NetworkMode", &owned)))
			return k;
	}
	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, e) {
		static const char *const ok[] = { "no-new-privileges", "no-new-privileges=true",
			                          "no-new-privileges:true" };
		if (!in_static(ok, DR_ARRAY_LEN(ok), json_string_value(e)))
			return deny(d, 403, "HostConfig.SecurityOpt",
			            "HostConfig.SecurityOpt \"%s\": only no-new-privileges is allowed",
			            json_string_value(e)),
			       1;
	}
	static const char *const must_be_null[] = { "MaskedPaths", "ReadonlyPaths" };
	for (size_t m = 0; m < DR_ARRAY_LEN(must_be_null); m++) {
		json_t *v = json_object_get(hc, must_be_null[m]);
		if (v && !json_is_null(v))
			return deny(d, 403, must_be_null[m], "HostConfig.%s: overriding the masked and "
			            "read-only /proc and /sys paths is not allowed",
			            must_be_null[m]),
			       1;
	}
	static const char *const must_be_empty[] = { "Annotations", "StorageOpt" };
	for (size_t m = 0; m < DR_ARRAY_LEN(must_be_empty); m++)
		if (!jempty(hc, must_be_empty[m]))
			return deny(d, 403, must_be_empty[m], "HostConfig.%s: not allowed",
			            must_be_empty[m]),
			       1;
	const char *sk;
	json_t *sv;
	json_object_foreach(json_object_get(hc, "Sysctls"), sk, sv) {
		if (!in_list(c->policy->sysctls, sk))
			return deny(d, 403, "HostConfig.Sysctls", "HostConfig.Sysctls \"%s\": not allowed",
			            sk),
			       1;
	}
	const char *rt = jstr(hc, "Runtime");
	if (*rt && strcmp(rt, "runc") != 0 && !in_list(c->policy->runtimes, rt))
		return deny(d, 403, "HostConfig.Runtime", "HostConfig.Runtime \"%s\": not allowed", rt), 1;
	if (jempty(hc, "OomScoreAdj") == false && json_integer_value(json_object_get(hc, "OomScoreAdj")) < 0)
		return deny(d, 403, "HostConfig.OomScoreAdj",
		            "HostConfig.OomScoreAdj %lld: a negative OOM score is not allowed",
		            (long long)json_integer_value(json_object_get(hc, "OomScoreAdj"))),
		       1;
	json_t *lc = json_object_get(hc, "LogConfig");
	const char *lt = jstr(lc, "Type");
	static const char *const log_ok[] = { "", "json-file", "local", "none" };
	if (!in_static(log_ok, DR_ARRAY_LEN(log_ok), lt) && !in_list(c->policy->log_drivers, lt))
		return deny(d, 403, "HostConfig.LogConfig", "HostConfig.LogConfig.Type \"%s\": log "
		            "driver not allowed",
		            lt),
		       1;
	json_object_foreach(json_object_get(lc, "Config"), sk, sv) {
		static const char *const ok[] = { "max-size", "max-file", "compress", "mode",
			                          "max-buffer-size", "labels", "env", "tag" };
		if (!in_static(ok, DR_ARRAY_LEN(ok), sk))
			return deny(d, 403, "HostConfig.LogConfig", "HostConfig.LogConfig.Config \"%s\": "
			            "option not allowed",
			            sk),
			       1;
	}
	return 0;
}

int
check_endpoint(gd_decision *d, json_t *ep, const char *net, bool owned)
{
	if (!jempty(ep, "DriverOpts"))
		return deny(d, 403, "EndpointConfig.DriverOpts", "network \"%s\": endpoint driver "
		            "options are not allowed",
		            net),
		       1;
	json_t *ipam = json_object_get(ep, "IPAMConfig");
	if (!owned && ((ipam && !jempty(ipam, "IPv4Address")) ||
	               (ipam && !jempty(ipam, "IPv6Address")) || !jempty(ep, "MacAddress")))
		return deny(d, 403, "EndpointConfig.IPAMConfig", "network \"%s\": static addresses "
		            "are allowed only on the tenant's own networks",
		            net),
		       1;
	return 0;
}

/* ---- routes ---- */

static int
decide_create(const gd_ctx *c, gd_req *r, gd_decision *d, json_t *b)
{
	int k;
	if (check_name(c, d, "container name", gd_query_get(&r->query, "name")))
		return 0;
	if (own_labels(c, d, b, "Labels", "Labels", true))
		return 0;
	if ((k = check_image_read(c, d, jstr(b, "Image"), "Image")))
		return k < 0 ? -1 : 0;
	json_t *hc = json_object_get(b, "HostConfig");
	if (hc && !json_is_null(hc) && (k = check_hostconfig(c, d, hc)))
		return k < 0 ? -1 : 0;
	const char *net;
	json_t *ep;
	json_object_foreach(json_object_get(json_object_get(b, "NetworkingConfig"), "EndpointsConfig"),
	                    net, ep) {
		bool owned;
		if ((k = check_network_ref(c, d, net, "NetworkingConfig.EndpointsConfig", &owned)))
			return k < 0 ? -1 : 0;
		if ((k = check_endpoint(d, ep, net, owned)))
			return 0;
	}
	set_body(d, b);
	d->post = GD_POST_CONTAINER_CREATED;
	set_target(r, d, "/containers/create");
	return 0;
}

static int
decide_commit(const gd_ctx *c, gd_req *r, gd_decision *d)
{
	const char *cont = gd_query_get(&r->query, "container");
	if (!cont || !*cont)
		return deny(d, 400, "container", "commit: container is required"), 0;
	gd_obj o;
	int k = own_container(c, d, cont, &o);
	if (k)
		return k < 0 ? -1 : 0;
	gd_query_set(&r->query, "container", o.id);
	const char *repo = gd_query_get(&r->query, "repo");
	if (repo && *repo && check_write_ref(c, d, repo, "commit repo"))
		return 0;
	if (check_changes(c, r, d))
		return 0;
	if (r->body_len) {
		json_t *b = NULL;
		int st;
		char *why = NULL;
		if (gd_canon_decode(r->body, r->body_len, &gd_schema_config, &b, &st, &why) < 0) {
			deny(d, st, "body", "%s", why);
			free(why);
			return 0;
		}
		if (!own_labels(c, d, b, "Labels", "Labels", true))
			set_body(d, b);
		json_decref(b);
		if (d->status)
			return 0;
	}
	set_target(r, d, "/commit");
	return 0;
}

int
container_target(const gd_ctx *c, const gd_route *rt, const gd_req *r, gd_decision *d,
                 gd_obj *o, char **path)
{
	int k = own_container(c, d, rt->ref, o);
	if (k)
		return k;
	const char *slash = strchr(r->path + 1 + strlen("containers/"), '/');
	if (slash && slash[1] == '\0')
		slash = NULL;
	*path = dr_xasprintf("/containers/%s%s", o->id, slash ? slash : "");
	return 0;
}

/* A query flag as the daemon reads it (httputils.BoolValue): false when empty, "0", "no",
 * "false" or "none", in any case and with spaces around; true otherwise. */
static bool
daemon_bool(const char *v)
{
	if (!v)
		return false;
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	static const char *const no[] = { "", "0", "no", "false", "none" };
	for (size_t i = 0; i < DR_ARRAY_LEN(no); i++)
		if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0)
			return false;
	return true;
}

int
decide_containers(const gd_ctx *c, const gd_route *rt, gd_req *r, gd_decision *d,
                  json_t *body)
{
	if (rt->id == R_C_CREATE)
		return decide_create(c, r, d, body);
	if (rt->id == R_COMMIT)
		return decide_commit(c, r, d);
	gd_obj o;
	_cleanup_free_ char *path = NULL;
	int k = container_target(c, rt, r, d, &o, &path);
	if (k)
		return k < 0 ? -1 : 0;
	/* docker-py sends link=False on every remove; link=true removes a legacy link instead */
	if (rt->id == R_C_DELETE && daemon_bool(gd_query_get(&r->query, "link")))
		return deny(d, 403, "link", "containers.delete link: removing a legacy link is not allowed"),
		       0;
	if (rt->id == R_C_RENAME &&
	    check_name(c, d, "container name", gd_query_get(&r->query, "name")))
		return 0;
	if (rt->id == R_C_UPDATE) {
		if ((k = check_resources(c, d, body, "")) ||
		    (k = check_restart(c, d, json_object_get(body, "RestartPolicy"), "")))
			return 0;
		set_body(d, body);
	}
	set_target(r, d, path);
	return 0;
}
