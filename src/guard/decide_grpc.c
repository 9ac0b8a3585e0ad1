/* decide_grpc.c: which gRPC calls may cross the BuildKit tunnel (POST /grpc, after its 101).
 * The guard reads the :path of every call the client opens (src/guard/h2grpc.c) and lets
 * through only the methods a build needs, as the real clients call them (docker buildx with
 * the docker driver, compose's bake; see ../shared/reference/buildkit-guard.md §1.3, §2): the
 * rest never reaches the daemon and the client gets PERMISSION_DENIED with the reason. */
#include "lib/common.h"
#include "guard/guard.h"

#define CONTROL "/moby.buildkit.v1.Control/"
#define BRIDGE "/moby.buildkit.v1.frontend.LLBBridge/"

static bool
in_list(const char *m, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(m, list[i]) == 0)
			return true;
	return false;
}

const char *
gd_grpc_refusal(const char *path, char *buf, size_t len)
{
	/* Control: run a build and follow it; the builder's description */
	static const char *const control[] = { "Solve", "Status", "ListWorkers", "Info", NULL };
	/* LLBBridge: what the Dockerfile frontend asks while it builds (the container API is
	 * left out: only `buildx debug` / --invoke uses it) */
	static const char *const bridge[] = { "Ping", "Solve", "Return", "Inputs",
		                              "ResolveImageConfig", "ResolveSourceMeta", "ReadFile",
		                              "ReadDir", "StatFile", "Evaluate", "Warn", NULL };
	if (strncmp(path, CONTROL, strlen(CONTROL)) == 0) {
		const char *m = path + strlen(CONTROL);
		if (in_list(m, control))
			return NULL;
		if (strcmp(m, "Prune") == 0 || strcmp(m, "DiskUsage") == 0)
			snprintf(buf, len, "BuildKit %s is refused: the build cache is shared between "
			                   "tenants and cannot be scoped to one (the daemon's GC prunes it)", m);
		else if (strcmp(m, "ListenBuildHistory") == 0 || strcmp(m, "UpdateBuildHistory") == 0)
			snprintf(buf, len, "BuildKit %s is refused: the build history is shared between "
			                   "tenants", m);
		else if (strcmp(m, "Session") == 0)
			snprintf(buf, len, "BuildKit Control/Session is refused: sessions go through "
			                   "POST /session");
		else
			snprintf(buf, len, "gRPC method %.200s is not on the guard's BuildKit allowlist", path);
		return buf;
	}
	if (strncmp(path, BRIDGE, strlen(BRIDGE)) == 0 && in_list(path + strlen(BRIDGE), bridge))
		return NULL;
	if (strncmp(path, "/containerd.services.content.v1.Content/", 40) == 0) {
		snprintf(buf, len, "BuildKit's content store (build history records) is refused: it is "
		                   "shared between tenants");
		return buf;
	}
	snprintf(buf, len, "gRPC method %.200s is not on the guard's BuildKit allowlist", path);
	return buf;
}
