/* guard.c: `deskrun guard`: the per-tenant Docker Engine API guard, run as a sidecar of runner
 * pods. Parses the options and hands over to src/guard/ (see guard/guard.h). */
#include "lib/common.h"
#include "cmd/cmd.h"
#include "guard/guard.h"
#include "guard/podfs.h"

enum {
	OPT_UPSTREAM = 1,
	OPT_LISTEN,
	OPT_TENANT,
	OPT_SESSION,
	OPT_POLICY,
	OPT_ALLOW_BIND,
	OPT_STATE_DIR,
	OPT_CLEANUP,
	OPT_KEEP_VOLUMES,
	OPT_LOG_FORMAT,
	OPT_SOCKET_MODE,
	OPT_SOCKET_GROUP,
	OPT_BUSY_POLL,
	OPT_POD_DIR,
	OPT_DAEMON_POD_DIR,
	OPT_POD_MAP,
	OPT_UNRESTRICTED,
};

static const dr_opt guard_opts[] = {
	{ "upstream", 0, "URL", "the shared daemon (default unix:///var/run/docker.sock)",
	  OPT_UPSTREAM },
	{ "listen", 0, "PATH", "the tenant's socket (default /run/deskrun/docker.sock)", OPT_LISTEN },
	{ "tenant", 0, "ID", "the tenant: a lowercase name (the scale set); required", OPT_TENANT },
	{ "session", 0, "ID", "this pod: label what it creates so --cleanup-on-exit removes only it",
	  OPT_SESSION },
	{ "policy", 0, "FILE", "JSON policy that widens what the tenant may do (see "
	  "deskrun-guard(1))", OPT_POLICY },
	{ "allow-bind", 0, "PREFIX", "allow host bind mounts under PREFIX (repeatable)",
	  OPT_ALLOW_BIND },
	{ "state-dir", 0, "DIR", "persistent state (default <cache-root>/guard/<tenant>)",
	  OPT_STATE_DIR },
	{ "cleanup-on-exit", 0, NULL, "on SIGTERM remove the tenant's (or session's) containers, "
	  "networks and volumes", OPT_CLEANUP },
	{ "keep-volumes", 0, NULL, "with --cleanup-on-exit, keep the volumes", OPT_KEEP_VOLUMES },
	{ "log-format", 0, "FORMAT", "audit lines as text (default) or json", OPT_LOG_FORMAT },
	{ "socket-mode", 0, "MODE", "octal mode of the socket (default 0660)", OPT_SOCKET_MODE },
	{ "socket-group", 0, "GID", "group of the socket (e.g. the runner's docker group)",
	  OPT_SOCKET_GROUP },
	{ "pod-dir", 0, "DIR", "the runner pod's folder (work, externals, the socket) as the "
	  "guard sees it: binds of the runner's folders are mapped to it", OPT_POD_DIR },
	{ "daemon-pod-dir", 0, "PATH", "the same folder as the daemon sees it (default: DIR)",
	  OPT_DAEMON_POD_DIR },
	{ "pod-map", 0, "PATH=FOLDER", "a runner folder kept in the pod's folder (repeatable; "
	  "default /home/runner/_work=work and /home/runner/externals=externals)", OPT_POD_MAP },
	{ "unrestricted", 0, NULL, "check nothing, only map the runner's folders (what add's "
	  "no-guard renders: jobs are root on the node)", OPT_UNRESTRICTED },
	{ "busy-poll", 0, "USEC", "after traffic, poll up to USEC for the next event before "
	  "sleeping (default 50, adaptive; 0 never polls)", OPT_BUSY_POLL },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
run_guard(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_guard, cli, argc, argv);
	gd_config cfg = {
		.upstream = "/var/run/docker.sock",
		.listen = "/run/deskrun/docker.sock",
		.socket_mode = 0660,
		.socket_gid = -1,
		.busy_poll_us = 50,
	};
	_cleanup_strv_ char **binds = NULL;
	_cleanup_strv_ char **maps = NULL;
	int id = 0, k;
	const char *v = NULL;
	while ((k = dr_optparse_next(&p, &id, &v, err)) != DR_OPT_END) {
		if (k < 0)
			return -1;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_guard, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG)
			return dr_usage_extra_arg(&dr_cmd_guard, v, err);
		switch (id) {
		case OPT_UPSTREAM:
			if (dr_startswith(v, "unix://"))
				v += 7;
			if (v[0] != '/')
				return dr_fail(err, DR_EXIT_USAGE, "--upstream %s: give unix:///PATH of the "
				               "daemon's socket",
				               v);
			cfg.upstream = v;
			break;
		case OPT_LISTEN:
			if (v[0] != '/')
				return dr_fail(err, DR_EXIT_USAGE, "--listen %s: give an absolute socket path", v);
			cfg.listen = v;
			break;
		case OPT_TENANT:
		case OPT_SESSION:
			if (!gd_valid_id(v))
				return dr_fail(err, DR_EXIT_USAGE, "%s \"%s\": use lowercase letters, digits "
				               "and '-' (at most 63)",
				               id == OPT_TENANT ? "--tenant" : "--session", v);
			if (id == OPT_TENANT)
				cfg.tenant = v;
			else
				cfg.session = v;
			break;
		case OPT_POLICY:
			cfg.policy_file = v;
			break;
		case OPT_ALLOW_BIND:
			if (v[0] != '/')
				return dr_fail(err, DR_EXIT_USAGE, "--allow-bind %s: give an absolute host path",
				               v);
			if (!binds)
				binds = dr_xcalloc(1, sizeof(char *));
			dr_strv_push(&binds, v);
			break;
		case OPT_POD_DIR:
		case OPT_DAEMON_POD_DIR:
			if (!gd_path_clean(v) || strcmp(v, "/") == 0)
				return dr_fail(err, DR_EXIT_USAGE, "%s %s: give a clean absolute path",
				               id == OPT_POD_DIR ? "--pod-dir" : "--daemon-pod-dir", v);
			if (id == OPT_POD_DIR)
				cfg.pod_dir = v;
			else
				cfg.daemon_pod_dir = v;
			break;
		case OPT_POD_MAP:
			if (!strchr(v, '=') || v[0] != '/')
				return dr_fail(err, DR_EXIT_USAGE, "--pod-map %s: give RUNNER_PATH=FOLDER, "
				               "e.g. /home/runner/_work=work",
				               v);
			if (!maps)
				maps = dr_xcalloc(1, sizeof(char *));
			dr_strv_push(&maps, v);
			break;
		case OPT_UNRESTRICTED:
			cfg.unrestricted = true;
			break;
		case OPT_STATE_DIR:
			cfg.state_dir = v;
			break;
		case OPT_CLEANUP:
			cfg.cleanup_on_exit = true;
			break;
		case OPT_KEEP_VOLUMES:
			cfg.keep_volumes = true;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0)
				return dr_fail(err, DR_EXIT_USAGE, "--log-format %s: use text or json", v);
			cfg.log_json = strcmp(v, "json") == 0;
			break;
		case OPT_SOCKET_MODE: {
			char *end = NULL;
			long m = strtol(v, &end, 8);
			if (!*v || *end || m < 0 || m > 0777)
				return dr_fail(err, DR_EXIT_USAGE, "--socket-mode %s: give an octal mode such "
				               "as 0660",
				               v);
			cfg.socket_mode = (int)m;
			break;
		}
		case OPT_SOCKET_GROUP: {
			int g = 0;
			if (dr_parse_int("--socket-group", v, &g, err) < 0)
				return -1;
			if (g < 0)
				return dr_fail(err, DR_EXIT_USAGE, "--socket-group %s: give a group ID", v);
			cfg.socket_gid = g;
			break;
		}
		case OPT_BUSY_POLL: {
			int us = 0;
			if (dr_parse_int("--busy-poll", v, &us, err) < 0)
				return -1;
			if (us < 0 || us > 10000)
				return dr_fail(err, DR_EXIT_USAGE, "--busy-poll %s: give microseconds from 0 "
				               "(never poll) to 10000",
				               v);
			cfg.busy_poll_us = us;
			break;
		}
		default:
			break;
		}
	}
	if (!cfg.tenant)
		return dr_fail(err, DR_EXIT_USAGE, "--tenant is required: give the scale set's name, "
		               "e.g. --tenant ci");
	if (cfg.keep_volumes && !cfg.cleanup_on_exit)
		return dr_fail(err, DR_EXIT_USAGE, "--keep-volumes needs --cleanup-on-exit");
	if ((cfg.daemon_pod_dir || maps) && !cfg.pod_dir)
		return dr_fail(err, DR_EXIT_USAGE, "--daemon-pod-dir and --pod-map need --pod-dir");
	if (cfg.pod_dir && !cfg.daemon_pod_dir)
		cfg.daemon_pod_dir = cfg.pod_dir;
	cfg.allow_bind = binds;
	cfg.pod_maps = maps;
	return dr_guard_run(&cfg, err);
}

const dr_cmd dr_cmd_guard = {
	.name = "guard",
	.summary = "run the per-tenant Docker API guard (in pods)",
	.synopsis = "--tenant ID [--session ID] [--upstream URL] [--listen PATH] [--policy FILE]\n"
	            "[--allow-bind PREFIX]... [--pod-dir DIR [--daemon-pod-dir PATH] [--pod-map P=F]...]\n"
	            "[--state-dir DIR] [--cleanup-on-exit [--keep-volumes]] [--unrestricted]\n"
	            "[--log-format text|json] [--busy-poll USEC]",
	.description =
		"Serve a unix socket for one tenant's jobs in front of a shared Docker daemon. Every "
		"request is checked: what the tenant creates is labelled io.deskrun.tenant=ID (and "
		"io.deskrun.session=ID with --session), lists, events, prunes and system df show only "
		"its own objects, another tenant's objects answer like missing ones, and options that "
		"would reach the host (privileged, host namespaces, host binds, devices, capabilities, "
		"unconfined security options) are refused with 403. Image tags made here must be in "
		"the tenant's namespace (ID/NAME). BuildKit (buildx, compose, DOCKER_BUILDKIT=1) is "
		"served and checked: each Solve and the Dockerfile (no other tenant's local image) are "
		"read on their way; a policy with \"buildkit\": false refuses it.\n\n"
		"Runs until SIGTERM or SIGINT; with --cleanup-on-exit it then removes the containers, "
		"networks and volumes of the session (or, without --session, of the tenant).",
	.opts = guard_opts,
	.run = run_guard,
};
