/* test_pod_dockerd.c: the dockerd command line a lease runs (what is added, what the caller
 * keeps, which host is pinged, what is refused) and the quota's prune plan (which images and
 * build-cache records are candidates, least recently used first). */
#include "tests/unit/test.h"

#include "pod/dockerd.h"
#include "pod/prune.h"
#include "sys/spawn.h"

static char *
argv_of(const dr_pod_dockerd *d)
{
	return dr_argv_text(d->argv);
}

static void
adds_slot_flags(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *user[] = { (char *)"dockerd", (char *)"--host=unix:///var/run/docker.sock",
		         (char *)"--group=123", NULL };
	_cleanup_dockerd_ dr_pod_dockerd d = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(user, "/p/slot-1/docker", "/p/slot-1/exec",
	                                       "/p/slot-1/dockerd.pid", &d, &err_));
	_cleanup_free_ char *a = argv_of(&d);
	assert_string_equal(a, "dockerd --host=unix:///var/run/docker.sock --group=123 --data-root "
	                       "/p/slot-1/docker --exec-root /p/slot-1/exec --pidfile "
	                       "/p/slot-1/dockerd.pid");
	assert_string_equal(d.ping_url, "unix:///var/run/docker.sock");
	assert_true(d.own_exec_root);
	assert_true(d.own_pidfile);
	assert_int_equal(dr_strv_len(d.unix_sockets), 1);
	assert_string_equal(d.unix_sockets[0], "/var/run/docker.sock");
	assert_int_equal(dr_strv_len(d.added), 6);
}

static void
keeps_caller_flags(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	/* Every pflag form: --x=v, --x v, -H v, -H=v, -Hv, -p v. */
	char *user[] = { (char *)"/usr/local/bin/dockerd", (char *)"-H", (char *)"tcp://0.0.0.0:2375",
		         (char *)"-Hunix:///run/a.sock", (char *)"--host", (char *)"unix:///run/b.sock",
		         (char *)"-H=fd://", (char *)"--exec-root", (char *)"/run/x",
		         (char *)"-p", (char *)"/run/x.pid", (char *)"--host-gateway-ip=1.2.3.4", NULL };
	_cleanup_dockerd_ dr_pod_dockerd d = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(user, "/p/slot-0/docker", "/p/slot-0/exec",
	                                       "/p/slot-0/dockerd.pid", &d, &err_));
	/* The first unix:// host is pinged, even after a tcp:// one. */
	assert_string_equal(d.ping_url, "unix:///run/a.sock");
	assert_int_equal(dr_strv_len(d.unix_sockets), 2);
	assert_string_equal(d.unix_sockets[1], "/run/b.sock");
	assert_false(d.own_exec_root);
	assert_false(d.own_pidfile);
	assert_string_equal(d.exec_root, "/run/x");
	assert_string_equal(d.pidfile, "/run/x.pid");
	_cleanup_free_ char *added = dr_argv_text(d.added);
	assert_string_equal(added, "--data-root /p/slot-0/docker");
}

static void
default_and_tcp_hosts(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *plain[] = { (char *)"dockerd", NULL };
	_cleanup_dockerd_ dr_pod_dockerd d = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(plain, "/d", "/e", "/p", &d, &err_));
	assert_string_equal(d.ping_url, "unix:///var/run/docker.sock");
	char *tcp[] = { (char *)"dockerd", (char *)"--host=tcp://127.0.0.1:2375", NULL };
	_cleanup_dockerd_ dr_pod_dockerd t = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(tcp, "/d", "/e", "/p", &t, &err_));
	assert_string_equal(t.ping_url, "tcp://127.0.0.1:2375");
	assert_int_equal(dr_strv_len(t.unix_sockets), 0);
	char *bare[] = { (char *)"dockerd", (char *)"-H", (char *)"unix://", NULL };
	_cleanup_dockerd_ dr_pod_dockerd b = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(bare, "/d", "/e", "/p", &b, &err_));
	assert_string_equal(b.ping_url, "unix:///var/run/docker.sock");
}

static void
refusals(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	dr_pod_dockerd d = { 0 };
	char *dr[] = { (char *)"dockerd", (char *)"--data-root", (char *)"/var/lib/docker", NULL };
	assert_fails(dr_pod_dockerd_prepare(dr, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "dockerd argument \"--data-root\": the entrypoint sets the data root to the "
	             "leased slot; remove it");
	char *g[] = { (char *)"dockerd", (char *)"-g/var/lib/docker", NULL };
	assert_fails(dr_pod_dockerd_prepare(g, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "dockerd argument \"-g/var/lib/docker\": the entrypoint sets the data root to "
	             "the leased slot; remove it");
	char *graph[] = { (char *)"dockerd", (char *)"--graph=/x", NULL };
	assert_fails(dr_pod_dockerd_prepare(graph, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "dockerd argument \"--graph=/x\": the entrypoint sets the data root to the "
	             "leased slot; remove it");
	char *tls[] = { (char *)"dockerd", (char *)"--host=tcp://0.0.0.0:2376", (char *)"--tlsverify",
		        NULL };
	assert_fails(dr_pod_dockerd_prepare(tls, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "none of dockerd's hosts can be checked for readiness (unix:// or tcp:// "
	             "without TLS): add --host=unix:///var/run/docker.sock");
	char *fd[] = { (char *)"dockerd", (char *)"-H", (char *)"fd://", NULL };
	assert_fails(dr_pod_dockerd_prepare(fd, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "none of dockerd's hosts can be checked for readiness (unix:// or tcp:// "
	             "without TLS): add --host=unix:///var/run/docker.sock");
	char *missing[] = { (char *)"dockerd", (char *)"--host", NULL };
	assert_fails(dr_pod_dockerd_prepare(missing, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "dockerd argument --host needs a value");
	char *none[] = { NULL };
	assert_fails(dr_pod_dockerd_prepare(none, "/d", "/e", "/p", &d, &err_), DR_EXIT_USAGE,
	             "give the daemon's command after \"--\", e.g. -- dockerd "
	             "--host=unix:///var/run/docker.sock");
	/* With TLS on tcp, a unix host is still fine to ping. */
	char *both[] = { (char *)"dockerd", (char *)"--host=tcp://0.0.0.0:2376", (char *)"--tls",
		         (char *)"--host=unix:///run/d.sock", NULL };
	_cleanup_dockerd_ dr_pod_dockerd ok = { 0 };
	assert_succeeds(dr_pod_dockerd_prepare(both, "/d", "/e", "/p", &ok, &err_));
	assert_string_equal(ok.ping_url, "unix:///run/d.sock");
}

/* A /system/df answer as dockerd 20.10 gives it. */
static const char *df_text =
	"{\"LayersSize\": 90000000,"
	" \"Images\": ["
	"  {\"Id\": \"sha256:aaaaaaaaaaaaaaaa\", \"Created\": 1000, \"Size\": 30000000,"
	"   \"SharedSize\": 2000000, \"Containers\": 0, \"RepoTags\": [\"app:old\"]},"
	"  {\"Id\": \"sha256:bbbbbbbbbbbbbbbb\", \"Created\": 2000, \"Size\": 30000000,"
	"   \"SharedSize\": 2000000, \"Containers\": 1, \"RepoTags\": [\"app:running\"]},"
	"  {\"Id\": \"sha256:cccccccccccccccc\", \"Created\": 500, \"Size\": 2000000,"
	"   \"SharedSize\": 2000000, \"Containers\": 0, \"RepoTags\": [\"busybox:latest\"]},"
	"  {\"Id\": \"sha256:dddddddddddddddd\", \"Created\": 3000, \"Size\": 10000000,"
	"   \"SharedSize\": -1, \"Containers\": 0, \"RepoTags\": [\"<none>:<none>\"]},"
	"  {\"Id\": \"sha256:eeeeeeeeeeeeeeee\", \"Created\": 100, \"Size\": 5000000,"
	"   \"SharedSize\": 0, \"Containers\": -1, \"RepoTags\": []},"
	"  {\"Id\": \"sha256:ffffffffffffffff\", \"Created\": 400, \"Size\": 7000000,"
	"   \"SharedSize\": 0, \"Containers\": 0, \"RepoTags\": [\"retagged:yes\"]}"
	" ],"
	" \"BuildCache\": ["
	"  {\"ID\": \"k1\", \"Type\": \"regular\", \"Description\": \"RUN make\", \"InUse\": false,"
	"   \"Shared\": false, \"Size\": 4000000, \"CreatedAt\": \"1970-01-01T00:10:00Z\","
	"   \"LastUsedAt\": \"1970-01-01T00:25:00.250Z\"},"
	"  {\"ID\": \"k2\", \"Type\": \"regular\", \"InUse\": true, \"Shared\": false,"
	"   \"Size\": 4000000, \"CreatedAt\": \"1970-01-01T00:00:01Z\", \"LastUsedAt\": null},"
	"  {\"ID\": \"k3\", \"Type\": \"source.local\", \"InUse\": false, \"Shared\": true,"
	"   \"Size\": 1000, \"CreatedAt\": \"1970-01-01T00:00:01Z\"},"
	"  {\"ID\": \"k4\", \"Type\": \"exec.cachemount\", \"InUse\": false, \"Shared\": false,"
	"   \"Size\": 3000, \"CreatedAt\": \"1970-01-01T00:05:00Z\", \"LastUsedAt\": null}"
	" ]}";

static void
prune_plan(void **state)
{
	(void)state;
	json_error_t jerr;
	_cleanup_json_ json_t *df = json_loads(df_text, 0, &jerr);
	assert_non_null(df);
	/* "retagged" was tagged again at 4500 s: that is its last use, not its creation. */
	_cleanup_json_ json_t *times = json_pack("{s:I}", "sha256:ffffffffffffffff",
	                                         (json_int_t)4500000);
	size_t n = 0;
	dr_pod_prune_item *v = dr_pod_prune_plan(df, times, &n);
	/* Left out: the image a container uses (b), the one whose layers are all shared (c), the
	 * one with an unknown container count (e), the build cache in use (k2) and shared (k3). */
	assert_int_equal(n, 5);
	assert_string_equal(v[0].id, "k4"); /* 300 s: CreatedAt, no LastUsedAt */
	assert_int_equal(v[0].kind, DR_POD_PRUNE_BUILD_CACHE);
	assert_int_equal(v[0].last_used_ms, 300000);
	assert_string_equal(v[0].name, "build cache k4 exec.cachemount");
	assert_string_equal(v[1].id, "sha256:aaaaaaaaaaaaaaaa"); /* 1000 s */
	assert_string_equal(v[1].name, "app:old");
	assert_int_equal(v[1].size, 28000000);
	assert_string_equal(v[2].id, "k1"); /* 1500.25 s */
	assert_int_equal(v[2].last_used_ms, 1500250);
	assert_string_equal(v[2].name, "build cache k1 RUN make");
	assert_string_equal(v[3].id, "sha256:dddddddddddddddd"); /* 3000 s */
	assert_string_equal(v[3].name, "<untagged dddddddddddd>");
	assert_int_equal(v[3].size, 10000000); /* unknown shared size: all of it */
	assert_string_equal(v[4].id, "sha256:ffffffffffffffff"); /* 4500 s */
	assert_int_equal(v[4].last_used_ms, 4500000);
	dr_pod_prune_items_free(v, n);

	/* Without tag times, creation decides. */
	v = dr_pod_prune_plan(df, NULL, &n);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].id, "k4");
	assert_string_equal(v[1].id, "sha256:ffffffffffffffff"); /* created at 400 s */
	dr_pod_prune_items_free(v, n);

	/* Nothing to do on an empty daemon. */
	_cleanup_json_ json_t *empty = json_pack("{s:[],s:[]}", "Images", "BuildCache");
	v = dr_pod_prune_plan(empty, NULL, &n);
	assert_int_equal(n, 0);
	dr_pod_prune_items_free(v, n);
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adds_slot_flags), cmocka_unit_test(keeps_caller_flags),
		cmocka_unit_test(default_and_tcp_hosts), cmocka_unit_test(refusals),
		cmocka_unit_test(prune_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
