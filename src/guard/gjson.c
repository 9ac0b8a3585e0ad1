/* gjson.c: Go-compatible decoding and canonical re-serialization of request bodies, and the
 * field tables of the daemon's request types (moby api/types: container Config, HostConfig,
 * Resources, mount.Mount, network EndpointSettings, exec and volume/network create). */
#include "lib/common.h"
#include "guard/gjson.h"

#include "lib/buf.h"

#define F(n, k) { n, k, NULL }
#define S(n, k, s) { n, k, &s }
#define END { NULL, GK_BOOL, NULL }

static const gd_field health_f[] = {
	F("Test", GK_STRV), F("Interval", GK_INT), F("Timeout", GK_INT), F("StartPeriod", GK_INT),
	F("StartInterval", GK_INT), F("Retries", GK_INT), F("NoWait", GK_BOOL), END,
};
static const gd_schema health_s = { "Healthcheck", health_f };

#define CONFIG_FIELDS                                                                        \
	F("Hostname", GK_STR), F("Domainname", GK_STR), F("User", GK_STR),                   \
		F("AttachStdin", GK_BOOL), F("AttachStdout", GK_BOOL), F("AttachStderr", GK_BOOL), \
		F("ExposedPorts", GK_MAP_EMPTY), F("Tty", GK_BOOL), F("OpenStdin", GK_BOOL),       \
		F("StdinOnce", GK_BOOL), F("Env", GK_STRV), F("Cmd", GK_STRSLICE),                 \
		S("Healthcheck", GK_OBJ, health_s), F("ArgsEscaped", GK_BOOL), F("Image", GK_STR), \
		F("Volumes", GK_MAP_EMPTY), F("WorkingDir", GK_STR), F("Entrypoint", GK_STRSLICE), \
		F("NetworkDisabled", GK_BOOL), F("MacAddress", GK_STR), F("OnBuild", GK_STRV),     \
		F("Labels", GK_MAP_STR), F("StopSignal", GK_STR), F("StopTimeout", GK_INT),        \
		F("Shell", GK_STRSLICE)

static const gd_field weightdev_f[] = { F("Path", GK_STR), F("Weight", GK_UINT), END };
static const gd_schema weightdev_s = { "WeightDevice", weightdev_f };
static const gd_field throttle_f[] = { F("Path", GK_STR), F("Rate", GK_UINT), END };
static const gd_schema throttle_s = { "ThrottleDevice", throttle_f };
static const gd_field device_f[] = { F("PathOnHost", GK_STR), F("PathInContainer", GK_STR),
	                             F("CgroupPermissions", GK_STR), END };
static const gd_schema device_s = { "Devices", device_f };
static const gd_field devreq_f[] = { F("Driver", GK_STR), F("Count", GK_INT),
	                             F("DeviceIDs", GK_STRV), F("Capabilities", GK_ARR_STRV),
	                             F("Options", GK_MAP_STR), END };
static const gd_schema devreq_s = { "DeviceRequests", devreq_f };
static const gd_field ulimit_f[] = { F("Name", GK_STR), F("Hard", GK_INT), F("Soft", GK_INT), END };
static const gd_schema ulimit_s = { "Ulimits", ulimit_f };

#define RESOURCE_FIELDS                                                                      \
	F("CpuShares", GK_INT), F("Memory", GK_INT), F("NanoCpus", GK_INT),                  \
		F("CgroupParent", GK_STR), F("BlkioWeight", GK_UINT),                              \
		S("BlkioWeightDevice", GK_ARR_OBJ, weightdev_s),                                   \
		S("BlkioDeviceReadBps", GK_ARR_OBJ, throttle_s),                                   \
		S("BlkioDeviceWriteBps", GK_ARR_OBJ, throttle_s),                                  \
		S("BlkioDeviceReadIOps", GK_ARR_OBJ, throttle_s),                                  \
		S("BlkioDeviceWriteIOps", GK_ARR_OBJ, throttle_s), F("CpuPeriod", GK_INT),         \
		F("CpuQuota", GK_INT), F("CpuRealtimePeriod", GK_INT),                             \
		F("CpuRealtimeRuntime", GK_INT), F("CpusetCpus", GK_STR), F("CpusetMems", GK_STR), \
		S("Devices", GK_ARR_OBJ, device_s), F("DeviceCgroupRules", GK_STRV),               \
		S("DeviceRequests", GK_ARR_OBJ, devreq_s), F("KernelMemory", GK_INT),              \
		F("KernelMemoryTCP", GK_INT), F("MemoryReservation", GK_INT),                      \
		F("MemorySwap", GK_INT), F("MemorySwappiness", GK_INT),                            \
		F("OomKillDisable", GK_BOOL), F("PidsLimit", GK_INT),                              \
		S("Ulimits", GK_ARR_OBJ, ulimit_s), F("CpuCount", GK_INT), F("CpuPercent", GK_INT), \
		F("IOMaximumIOps", GK_UINT), F("IOMaximumBandwidth", GK_UINT)

static const gd_field logcfg_f[] = { F("Type", GK_STR), F("Config", GK_MAP_STR), END };
static const gd_schema logcfg_s = { "LogConfig", logcfg_f };
static const gd_field portbinding_f[] = { F("HostIp", GK_STR), F("HostPort", GK_STR), END };
static const gd_schema portbinding_s = { "PortBindings", portbinding_f };
static const gd_field restart_f[] = { F("Name", GK_STR), F("MaximumRetryCount", GK_INT), END };
static const gd_schema restart_s = { "RestartPolicy", restart_f };

static const gd_field bindopt_f[] = { F("Propagation", GK_STR), F("NonRecursive", GK_BOOL),
	                              F("CreateMountpoint", GK_BOOL),
	                              F("ReadOnlyNonRecursive", GK_BOOL),
	                              F("ReadOnlyForceRecursive", GK_BOOL), END };
static const gd_schema bindopt_s = { "BindOptions", bindopt_f };
static const gd_field driver_f[] = { F("Name", GK_STR), F("Options", GK_MAP_STR), END };
static const gd_schema driver_s = { "DriverConfig", driver_f };
static const gd_field volopt_f[] = { F("NoCopy", GK_BOOL), F("Labels", GK_MAP_STR),
	                             F("Subpath", GK_STR), S("DriverConfig", GK_OBJ, driver_s),
	                             END };
static const gd_schema volopt_s = { "VolumeOptions", volopt_f };
static const gd_field imgopt_f[] = { F("Subpath", GK_STR), END };
static const gd_schema imgopt_s = { "ImageOptions", imgopt_f };
static const gd_field tmpfsopt_f[] = { F("SizeBytes", GK_INT), F("Mode", GK_UINT),
	                               F("Options", GK_ARR_STRV), END };
static const gd_schema tmpfsopt_s = { "TmpfsOptions", tmpfsopt_f };
static const gd_field clusteropt_f[] = { END };
static const gd_schema clusteropt_s = { "ClusterOptions", clusteropt_f };
static const gd_field mount_f[] = {
	F("Type", GK_STR), F("Source", GK_STR), F("Target", GK_STR), F("ReadOnly", GK_BOOL),
	F("Consistency", GK_STR), S("BindOptions", GK_OBJ, bindopt_s),
	S("VolumeOptions", GK_OBJ, volopt_s), S("ImageOptions", GK_OBJ, imgopt_s),
	S("TmpfsOptions", GK_OBJ, tmpfsopt_s), S("ClusterOptions", GK_OBJ, clusteropt_s), END,
};
static const gd_schema mount_s = { "Mounts", mount_f };

static const gd_field hostconfig_f[] = {
	F("Binds", GK_STRV), F("ContainerIDFile", GK_STR), S("LogConfig", GK_OBJ, logcfg_s),
	F("NetworkMode", GK_STR), S("PortBindings", GK_MAP_ARR_OBJ, portbinding_s),
	S("RestartPolicy", GK_OBJ, restart_s), F("AutoRemove", GK_BOOL),
	F("VolumeDriver", GK_STR), F("VolumesFrom", GK_STRV), F("ConsoleSize", GK_UINT_PAIR),
	F("Annotations", GK_MAP_STR), F("CapAdd", GK_STRV), F("CapDrop", GK_STRV),
	F("CgroupnsMode", GK_STR), F("Dns", GK_STRV), F("DnsOptions", GK_STRV),
	F("DnsSearch", GK_STRV), F("ExtraHosts", GK_STRV), F("GroupAdd", GK_STRV),
	F("IpcMode", GK_STR), F("Cgroup", GK_STR), F("Links", GK_STRV), F("OomScoreAdj", GK_INT),
	F("PidMode", GK_STR), F("Privileged", GK_BOOL), F("PublishAllPorts", GK_BOOL),
	F("ReadonlyRootfs", GK_BOOL), F("SecurityOpt", GK_STRV), F("StorageOpt", GK_MAP_STR),
	F("Tmpfs", GK_MAP_STR), F("UTSMode", GK_STR), F("UsernsMode", GK_STR),
	F("ShmSize", GK_INT), F("Sysctls", GK_MAP_STR), F("Runtime", GK_STR),
	F("Isolation", GK_STR), RESOURCE_FIELDS, S("Mounts", GK_ARR_OBJ, mount_s),
	F("MaskedPaths", GK_STRV), F("ReadonlyPaths", GK_STRV), F("Init", GK_BOOL), END,
};
static const gd_schema hostconfig_s = { "HostConfig", hostconfig_f };

static const gd_field ipam_ep_f[] = { F("IPv4Address", GK_STR), F("IPv6Address", GK_STR),
	                              F("LinkLocalIPs", GK_STRV), END };
static const gd_schema ipam_ep_s = { "IPAMConfig", ipam_ep_f };
static const gd_field endpoint_f[] = {
	S("IPAMConfig", GK_OBJ, ipam_ep_s), F("Links", GK_STRV), F("Aliases", GK_STRV),
	F("DriverOpts", GK_MAP_STR), F("GwPriority", GK_INT), F("NetworkID", GK_STR),
	F("EndpointID", GK_STR), F("Gateway", GK_STR), F("IPAddress", GK_STR),
	F("IPPrefixLen", GK_INT), F("IPv6Gateway", GK_STR), F("GlobalIPv6Address", GK_STR),
	F("GlobalIPv6PrefixLen", GK_INT), F("MacAddress", GK_STR), F("DNSNames", GK_STRV), END,
};
static const gd_schema endpoint_s = { "EndpointSettings", endpoint_f };
static const gd_field netcfg_f[] = { S("EndpointsConfig", GK_MAP_OBJ, endpoint_s), END };
static const gd_schema netcfg_s = { "NetworkingConfig", netcfg_f };

static const gd_field create_f[] = {
	CONFIG_FIELDS, S("HostConfig", GK_OBJ, hostconfig_s),
	S("NetworkingConfig", GK_OBJ, netcfg_s), END,
};
const gd_schema gd_schema_create = { "", create_f };
static const gd_field config_f[] = { CONFIG_FIELDS, END };
const gd_schema gd_schema_config = { "", config_f };

/* "Container" is what docker-py (the Python SDK, testcontainers-python's client) puts in every
 * exec body; the daemon takes the container from the path and never reads it. */
static const gd_field exec_f[] = {
	F("Container", GK_STR), F("User", GK_STR), F("Privileged", GK_BOOL), F("Tty", GK_BOOL),
	F("ConsoleSize", GK_UINT_PAIR), F("AttachStdin", GK_BOOL), F("AttachStderr", GK_BOOL),
	F("AttachStdout", GK_BOOL), F("Detach", GK_BOOL), F("DetachKeys", GK_STR),
	F("Env", GK_STRV), F("WorkingDir", GK_STR), F("Cmd", GK_STRV), END,
};
const gd_schema gd_schema_exec = { "", exec_f };
static const gd_field exec_start_f[] = { F("Detach", GK_BOOL), F("Tty", GK_BOOL),
	                                 F("ConsoleSize", GK_UINT_PAIR), END };
const gd_schema gd_schema_exec_start = { "", exec_start_f };
static const gd_field update_f[] = { RESOURCE_FIELDS, S("RestartPolicy", GK_OBJ, restart_s), END };
const gd_schema gd_schema_update = { "", update_f };

static const gd_field ipamcfg_f[] = { F("Subnet", GK_STR), F("IPRange", GK_STR),
	                              F("Gateway", GK_STR), F("AuxiliaryAddresses", GK_MAP_STR),
	                              END };
static const gd_schema ipamcfg_s = { "IPAM.Config", ipamcfg_f };
static const gd_field ipam_f[] = { F("Driver", GK_STR), F("Options", GK_MAP_STR),
	                           S("Config", GK_ARR_OBJ, ipamcfg_s), END };
static const gd_schema ipam_s = { "IPAM", ipam_f };
static const gd_field configfrom_f[] = { F("Network", GK_STR), END };
static const gd_schema configfrom_s = { "ConfigFrom", configfrom_f };
static const gd_field netcreate_f[] = {
	F("Name", GK_STR), F("CheckDuplicate", GK_BOOL), F("Driver", GK_STR), F("Scope", GK_STR),
	F("EnableIPv4", GK_BOOL), F("EnableIPv6", GK_BOOL), S("IPAM", GK_OBJ, ipam_s),
	F("Internal", GK_BOOL), F("Attachable", GK_BOOL), F("Ingress", GK_BOOL),
	F("ConfigOnly", GK_BOOL), S("ConfigFrom", GK_OBJ, configfrom_s), F("Options", GK_MAP_STR),
	F("Labels", GK_MAP_STR), END,
};
const gd_schema gd_schema_network_create = { "", netcreate_f };
static const gd_field connect_f[] = { F("Container", GK_STR),
	                              S("EndpointConfig", GK_OBJ, endpoint_s), END };
const gd_schema gd_schema_network_connect = { "", connect_f };
static const gd_field disconnect_f[] = { F("Container", GK_STR), F("Force", GK_BOOL), END };
const gd_schema gd_schema_network_disconnect = { "", disconnect_f };
static const gd_field volcreate_f[] = { F("Name", GK_STR), F("Driver", GK_STR),
	                                F("DriverOpts", GK_MAP_STR), F("Labels", GK_MAP_STR), END };
const gd_schema gd_schema_volume_create = { "", volcreate_f };

/* ---- folding and canonicalization ---- */

char *
gd_fold_key(const char *key)
{
	size_t n = strlen(key);
	char *out = dr_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)key[i];
		if (c == 0xE2 && i + 2 < n && (unsigned char)key[i + 1] == 0x84 &&
		    (unsigned char)key[i + 2] == 0xAA) { /* U+212A KELVIN SIGN */
			out[o++] = 'k';
			i += 3;
		} else if (c == 0xC5 && i + 1 < n && (unsigned char)key[i + 1] == 0xBF) { /* U+017F */
			out[o++] = 's';
			i += 2;
		} else {
			out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

static bool
fold_eq(const char *folded, const char *field)
{
	for (; *folded && *field; folded++, field++) {
		char f = *field;
		if (f >= 'A' && f <= 'Z')
			f = (char)(f + 32);
		if (*folded != f)
			return false;
	}
	return *folded == *field;
}

typedef struct canon_ctx {
	int status;
	char *why;
	int depth;
} canon_ctx;

static int
fail(canon_ctx *c, int status, const char *path, const char *fmt, ...) DR_PRINTF(4, 5);

static int
fail(canon_ctx *c, int status, const char *path, const char *fmt, ...)
{
	if (c->why)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = dr_xvasprintf(fmt, ap);
	va_end(ap);
	c->status = status;
	c->why = dr_xasprintf("%s%s%s", path[0] ? path : "request body", path[0] ? ": " : ": ", m);
	return -1;
}

static json_t *canon_object(canon_ctx *c, json_t *in, const gd_schema *s, const char *path);

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "a number";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static json_t *
canon_strv(canon_ctx *c, json_t *v, const char *path)
{
	if (!json_is_array(v)) {
		fail(c, 400, path, "expected an array of strings, got %s", type_name(v));
		return NULL;
	}
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			fail(c, 400, path, "expected an array of strings, got %s inside", type_name(e));
			return NULL;
		}
	}
	return json_deep_copy(v);
}

static json_t *
canon_value(canon_ctx *c, json_t *v, const gd_field *f, const char *path)
{
	if (json_is_null(v))
		return json_null();
	switch (f->kind) {
	case GK_BOOL:
		if (!json_is_boolean(v))
			break;
		return json_incref(v);
	case GK_INT:
		if (!json_is_integer(v))
			break;
		return json_incref(v);
	case GK_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			break;
		return json_incref(v);
	case GK_STR:
		if (!json_is_string(v))
			break;
		return json_incref(v);
	case GK_STRV:
		return canon_strv(c, v, path);
	case GK_STRSLICE:
		if (json_is_string(v))
			return json_incref(v);
		return canon_strv(c, v, path);
	case GK_MAP_STR: {
		if (!json_is_object(v))
			break;
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) {
			if (!json_is_string(e)) {
				fail(c, 400, path, "value of \"%s\" must be a string, got %s", k,
				     type_name(e));
				return NULL;
			}
		}
		return json_deep_copy(v);
	}
	case GK_MAP_EMPTY: {
		if (!json_is_object(v))
			break;
		json_t *out = json_object();
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) {
			if (!json_is_object(e)) {
				json_decref(out);
				fail(c, 400, path, "value of \"%s\" must be an object", k);
				return NULL;
			}
			json_object_set_new(out, k, json_object());
		}
		return out;
	}
	case GK_OBJ:
		if (!json_is_object(v))
			break;
		return canon_object(c, v, f->sub, path);
	case GK_ARR_OBJ: {
		if (!json_is_array(v))
			break;
		json_t *out = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			_cleanup_free_ char *p = dr_xasprintf("%s[%zu]", path, i);
			if (!json_is_object(e)) {
				json_decref(out);
				fail(c, 400, p, "expected an object, got %s", type_name(e));
				return NULL;
			}
			json_t *o = canon_object(c, e, f->sub, p);
			if (!o) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, o);
		}
		return out;
	}
	case GK_MAP_OBJ:
	case GK_MAP_ARR_OBJ: {
		if (!json_is_object(v))
			break;
		json_t *out = json_object();
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) {
			_cleanup_free_ char *p = dr_xasprintf("%s[\"%s\"]", path, k);
			json_t *o = NULL;
			if (f->kind == GK_MAP_OBJ) {
				if (json_is_object(e))
					o = canon_object(c, e, f->sub, p);
				else
					fail(c, 400, p, "expected an object, got %s", type_name(e));
			} else {
				gd_field af = { f->name, GK_ARR_OBJ, f->sub };
				o = canon_value(c, e, &af, p);
			}
			if (!o) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, k, o);
		}
		return out;
	}
	case GK_ARR_STRV: {
		if (!json_is_array(v))
			break;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!canon_strv(c, e, path))
				return NULL;
		}
		return json_deep_copy(v);
	}
	case GK_UINT_PAIR: {
		if (!json_is_array(v) || json_array_size(v) > 2)
			break;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 0) {
				fail(c, 400, path, "expected two unsigned numbers");
				return NULL;
			}
		}
		return json_deep_copy(v);
	}
	case GK_INT_MAP:
		break;
	}
	fail(c, 400, path, "%s is not a valid value here", type_name(v));
	return NULL;
}

static json_t *
canon_object(canon_ctx *c, json_t *in, const gd_schema *s, const char *path)
{
	if (++c->depth > 16) {
		fail(c, 400, path, "nested too deeply");
		return NULL;
	}
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) {
		_cleanup_free_ char *folded = gd_fold_key(key);
		const gd_field *f = NULL;
		for (const gd_field *x = s->fields; x->name; x++)
			if (strcmp(x->name, key) == 0) {
				f = x;
				break;
			}
		for (const gd_field *x = s->fields; !f && x->name; x++)
			if (fold_eq(folded, x->name))
				f = x;
		_cleanup_free_ char *p = dr_xasprintf("%s%s%s", path, path[0] ? "." : "",
		                                      f ? f->name : key);
		if (!f) {
			json_decref(out);
			fail(c, 403, p, "unknown field, not allowed by the guard");
			return NULL;
		}
		if (json_object_get(out, f->name)) {
			json_decref(out);
			fail(c, 400, p, "duplicate key (keys are matched case-insensitively)");
			return NULL;
		}
		json_t *cv = canon_value(c, v, f, p);
		if (!cv) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, f->name, cv);
	}
	c->depth--;
	return out;
}

json_t *
gd_json_object(const char *text, size_t len, char **why)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		*why = dr_xasprintf("invalid JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*why = dr_xstrdup("expected a JSON object");
		return NULL;
	}
	return j;
}

int
gd_canon_decode(const char *body, size_t len, const gd_schema *schema, json_t **out, int *status,
                char **why)
{
	*out = NULL;
	char *w = NULL;
	_cleanup_json_ json_t *in = gd_json_object(body, len, &w);
	if (!in) {
		*status = 400;
		*why = dr_xasprintf("request body: %s", w);
		free(w);
		return -1;
	}
	canon_ctx c = { 0, NULL, 0 };
	json_t *o = canon_object(&c, in, schema, "");
	if (!o) {
		*status = c.status ? c.status : 400;
		*why = c.why ? c.why : dr_xstrdup("request body: invalid");
		return -1;
	}
	*out = o;
	return 0;
}

char *
gd_json_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		DR_BUG("json_dumps failed");
	return s;
}

char *
gd_json_dump_line(const json_t *j)
{
	_cleanup_free_ char *s = gd_json_dump(j);
	return dr_xasprintf("%s\n", s);
}
