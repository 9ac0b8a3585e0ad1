/* test_scaleset.c: the pure parts of the scale set client (src/sys/scaleset.c): the REST base of
 * a runner URL (hosted and GHES, scaleset-protocol.md §1.2), the scope and the trimmed config
 * URL (§1.1), the errors for bad URLs and missing credentials, the admin JWT's exp (§2.5), the
 * case-insensitive JSON keys (§3); and the local provider's cluster record. */
#include "test.h"

#include "lib/cluster.h"
#include "lib/doctor.h"
#include "sys/scaleset.h"

static void
api_base(void **state)
{
	(void)state;
	unsetenv("GITHUB_ACTIONS_FORCE_GHES");
	const char *cases[][3] = {
		{ "https", "github.com", "https://api.github.com" },
		{ "https", "www.github.com", "https://api.github.com" },
		{ "https", "GitHub.com", "https://api.GitHub.com" },
		{ "https", "github.localhost", "https://api.github.localhost" },
		{ "https", "octo.ghe.com", "https://api.octo.ghe.com" },
		{ "https", "ghes.corp:8443", "https://ghes.corp:8443/api/v3" },
		{ "http", "127.0.0.1:8080", "http://127.0.0.1:8080/api/v3" },
		{ "https", "ghe.com", "https://ghe.com/api/v3" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(cases); i++) {
		_cleanup_free_ char *b = dr_scaleset_api_base(cases[i][0], cases[i][1]);
		assert_string_equal(b, cases[i][2]);
	}
	setenv("GITHUB_ACTIONS_FORCE_GHES", "1", 1);
	_cleanup_free_ char *forced = dr_scaleset_api_base("https", "github.com");
	assert_string_equal(forced, "https://github.com/api/v3");
	unsetenv("GITHUB_ACTIONS_FORCE_GHES");
}

static void
config_urls(void **state)
{
	(void)state;
	char tok[] = "ghp_x";
	dr_auth pat = { .type = DR_AUTH_PAT, .token = tok };
	const char *cases[][3] = {
		{ "https://ghes.corp/acme", "orgs/acme", "https://ghes.corp/acme" },
		{ "https://ghes.corp/acme/web/", "repos/acme/web", "https://ghes.corp/acme/web" },
		{ "https://ghes.corp//acme/web", "repos/acme/web", "https://ghes.corp/acme/web" },
		{ "https://github.com/enterprises/big", "enterprises/big",
		  "https://github.com/enterprises/big" },
		{ "https://github.com/Enterprises/big", "enterprises/big",
		  "https://github.com/Enterprises/big" },
		{ "http://127.0.0.1:8080/o/r", "repos/o/r", "http://127.0.0.1:8080/o/r" },
	};
	for (size_t i = 0; i < DR_ARRAY_LEN(cases); i++) {
		dr_err *e = NULL;
		_cleanup_scaleset_ dr_scaleset *c = dr_scaleset_new(cases[i][0], &pat, NULL, &e);
		assert_non_null(c);
		assert_string_equal(c->scope, cases[i][1]);
		assert_string_equal(c->config_url, cases[i][2]);
		assert_int_equal(c->attempts, 5);
		assert_int_equal(c->backoff_ms, 1000);
	}
	_cleanup_scaleset_ dr_scaleset *h = dr_scaleset_new("https://github.com/acme/web", &pat, NULL, NULL);
	assert_string_equal(h->api, "https://api.github.com");
}

static void
bad_inputs(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char tok[] = "ghp_x";
	dr_auth pat = { .type = DR_AUTH_PAT, .token = tok };
	assert_fails(dr_scaleset_new("https://h/a/b/c", &pat, NULL, &err_) ? 0 : -1, DR_EXIT_USAGE,
	             "--repository https://h/a/b/c: not a repository (HOST/OWNER/REPO), "
	             "organization (HOST/ORG) or enterprise (HOST/enterprises/NAME) URL");
	assert_fails(dr_scaleset_new("https://h", &pat, NULL, &err_) ? 0 : -1, DR_EXIT_USAGE,
	             "--repository https://h: not a repository (HOST/OWNER/REPO), organization "
	             "(HOST/ORG) or enterprise (HOST/enterprises/NAME) URL");
	assert_fails(dr_scaleset_new("ftp://h/a", &pat, NULL, &err_) ? 0 : -1, DR_EXIT_USAGE,
	             "--repository ftp://h/a: give an https:// URL of a repository, organization "
	             "or enterprise");
	dr_auth none = { .type = DR_AUTH_PAT };
	assert_fails(dr_scaleset_new("https://h/a", &none, NULL, &err_) ? 0 : -1, DR_EXIT_USAGE,
	             "the scale set has no token: give --auth-value");
	char one[] = "1", two[] = "2";
	dr_auth app = { .type = DR_AUTH_APP, .app_id = one, .installation_id = two };
	assert_fails(dr_scaleset_new("https://h/a", &app, NULL, &err_) ? 0 : -1, DR_EXIT_USAGE,
	             "the GitHub App needs an app id, an installation id and a private key");
	dr_err *e = NULL;
	assert_null(dr_scaleset_new("https://h/a", &pat, "https://proxy:3128", &e));
	assert_non_null(e);
	assert_non_null(strstr(e->msg, "--proxy"));
	assert_null(strstr(e->msg, "proxy:3128/")); /* the URL is never repeated */
	dr_err_free(e);
}

static char *
jwt_of(const char *payload)
{
	_cleanup_free_ char *h = dr_base64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
	_cleanup_free_ char *p = dr_base64url(payload, strlen(payload));
	return dr_xasprintf("%s.%s.c2ln", h, p);
}

static void
jwt_exp(void **state)
{
	(void)state;
	/* Payload lengths that need 0, 1 and 2 '=' of padding once made standard base64. */
	const char *payloads[] = { "{\"exp\":1700000000}", "{\"exp\":1700000000 }",
		                   "{\"exp\": 1700000000 }", "{\"iss\":\"x\",\"exp\":1700000000.0}" };
	for (size_t i = 0; i < DR_ARRAY_LEN(payloads); i++) {
		_cleanup_free_ char *j = jwt_of(payloads[i]);
		assert_int_equal(dr_jwt_exp(j), 1700000000);
	}
	_cleanup_free_ char *noexp = jwt_of("{\"iss\":\"x\"}");
	assert_int_equal(dr_jwt_exp(noexp), -1);
	_cleanup_free_ char *strexp = jwt_of("{\"exp\":\"1700000000\"}");
	assert_int_equal(dr_jwt_exp(strexp), -1);
	assert_int_equal(dr_jwt_exp("not-a-jwt"), -1);
	assert_int_equal(dr_jwt_exp("a.!!!.c"), -1);
}

static void
json_keys(void **state)
{
	(void)state;
	_cleanup_json_ json_t *o =
		json_pack("{s:s, s:I, s:f}", "TypeName", "X.AgentExistsException", "COUNT",
		          (json_int_t)3, "id", 7.0);
	assert_string_equal(dr_json_iget_str(o, "typeName"), "X.AgentExistsException");
	assert_int_equal(dr_json_iget_int(o, "count"), 3);
	assert_int_equal(dr_json_iget_int(o, "Id"), 7);
	assert_null(dr_json_iget(o, "message"));
	assert_null(dr_json_iget_str(o, "count"));
	assert_int_equal(dr_json_iget_int(NULL, "count"), 0);
}

static void
local_record(void **state)
{
	(void)state;
	dr_provider p;
	assert_int_equal(dr_provider_parse("local", &p), 0);
	assert_int_equal(p, DR_PROVIDER_LOCAL);
	_cleanup_cluster_ dr_cluster *c = dr_cluster_new(DR_PROVIDER_LOCAL, "local", "local");
	c->engine = dr_xstrdup("unix:///run/podman/podman.sock");
	c->state_dir = dr_xstrdup("/srv/agent");
	c->network = dr_xstrdup("host");
	_cleanup_json_ json_t *j = dr_cluster_to_json(c);
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "local");
	dr_err *e = NULL;
	_cleanup_cluster_ dr_cluster *back = dr_cluster_from_json(j, &e);
	assert_non_null(back);
	assert_int_equal(back->provider, DR_PROVIDER_LOCAL);
	assert_string_equal(back->engine, c->engine);
	assert_string_equal(back->state_dir, c->state_dir);
	assert_string_equal(back->network, "host");
	_cleanup_cluster_ dr_cluster *copy = dr_cluster_copy(back);
	assert_string_equal(copy->network, "host");
	json_object_set_new(j, "engine", json_string(""));
	dr_err *err_ = NULL;
	assert_fails(dr_cluster_from_json(j, &err_) ? 0 : -1, DR_EXIT_CONFIG,
	             "cluster: field \"engine\" must be a non-empty string");
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(api_base),   cmocka_unit_test(config_urls),
		cmocka_unit_test(bad_inputs), cmocka_unit_test(jwt_exp),
		cmocka_unit_test(json_keys),  cmocka_unit_test(local_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
