/* test_validate.c: every validation rule of a runner definition, with its exact message. */
#include "test.h"

#include "lib/config.h"
#include "lib/mode.h"
#include "lib/validate.h"

/* ---- NAME ---- */

static void
name_valid(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	assert_succeeds(dr_validate_name("web", 1, &err_));
	assert_succeeds(dr_validate_name("a", 1, &err_));
	assert_succeeds(dr_validate_name("a-1-b", 1, &err_));
	/* 45 characters is ARC's limit for a scale set name. */
	assert_succeeds(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghij-x", 1, &err_));
	/* 43 characters + "-3" = 45. */
	assert_succeeds(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghij", 3, &err_));
}

static void
name_invalid(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	assert_fails(dr_validate_name("", 1, &err_), DR_EXIT_USAGE,
	             "NAME is missing: give the runner a name, e.g. 'deskrun add my-runner "
	             "--repository URL'");
	assert_fails(dr_validate_name("Web", 1, &err_), DR_EXIT_USAGE,
	             "NAME \"Web\" is not a DNS-1123 label: use lowercase letters, digits and '-', "
	             "starting and ending with a letter or digit");
	assert_fails(dr_validate_name("my_runner", 1, &err_), DR_EXIT_USAGE,
	             "NAME \"my_runner\" is not a DNS-1123 label: use lowercase letters, digits and "
	             "'-', starting and ending with a letter or digit");
	assert_fails(dr_validate_name("-web", 1, &err_), DR_EXIT_USAGE,
	             "NAME \"-web\" is not a DNS-1123 label: use lowercase letters, digits and '-', "
	             "starting and ending with a letter or digit");
	assert_fails(dr_validate_name("web-", 1, &err_), DR_EXIT_USAGE,
	             "NAME \"web-\" is not a DNS-1123 label: use lowercase letters, digits and '-', "
	             "starting and ending with a letter or digit");
	assert_fails(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghij-xy", 1, &err_),
	             DR_EXIT_USAGE,
	             "NAME \"abcdefghij-abcdefghij-abcdefghij-abcdefghij-xy\" is 46 characters: ARC "
	             "allows 45 for a scale set name, use at most 45");
	assert_fails(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghij-", 3, &err_),
	             DR_EXIT_USAGE,
	             "NAME \"abcdefghij-abcdefghij-abcdefghij-abcdefghij-\" is not a DNS-1123 label: "
	             "use lowercase letters, digits and '-', starting and ending with a letter or "
	             "digit");
	assert_fails(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghijk", 3, &err_),
	             DR_EXIT_USAGE,
	             "NAME \"abcdefghij-abcdefghij-abcdefghij-abcdefghijk\" is 44 characters: with "
	             "--instances 3 the scale sets are named "
	             "abcdefghij-abcdefghij-abcdefghij-abcdefghijk-1.."
	             "abcdefghij-abcdefghij-abcdefghij-abcdefghijk-3 and ARC allows 45 characters, "
	             "so use at most 43");
	assert_fails(dr_validate_name("abcdefghij-abcdefghij-abcdefghij-abcdefghij", 10, &err_),
	             DR_EXIT_USAGE,
	             "NAME \"abcdefghij-abcdefghij-abcdefghij-abcdefghij\" is 43 characters: with "
	             "--instances 10 the scale sets are named "
	             "abcdefghij-abcdefghij-abcdefghij-abcdefghij-1.."
	             "abcdefghij-abcdefghij-abcdefghij-abcdefghij-10 and ARC allows 45 characters, "
	             "so use at most 42");
}

/* ---- --repository ---- */

static void
repo_ok(const char *in, const char *want)
{
	dr_err *err_ = NULL;
	char *out = NULL;
	assert_succeeds(dr_validate_repository(in, &out, &err_));
	assert_string_equal(out, want);
	free(out);
}

static void
repository_valid(void **state)
{
	(void)state;
	repo_ok("https://github.com/acme/web", "https://github.com/acme/web");
	repo_ok("https://github.com/acme/web/", "https://github.com/acme/web");
	repo_ok("https://github.com/acme/web.git", "https://github.com/acme/web");
	repo_ok("https://github.com/acme/web.git/", "https://github.com/acme/web");
	repo_ok("https://github.com/acme//", "https://github.com/acme");
	repo_ok("https://github.com/acme", "https://github.com/acme");
	repo_ok("https://github.com/enterprises/big-co", "https://github.com/enterprises/big-co");
	repo_ok("https://ghes.example.com:8443/acme/web.js", "https://ghes.example.com:8443/acme/web.js");
	repo_ok("https://github.com/Acme-1/my_repo.v2", "https://github.com/Acme-1/my_repo.v2");
}

#define FORMS                                                                                \
	"use https://github.com/OWNER/REPO, https://github.com/ORG or "                     \
	"https://github.com/enterprises/NAME (or the same on your GHES host)"

static void
repository_invalid(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *out = NULL;
	assert_fails(dr_validate_repository("", &out, &err_), DR_EXIT_USAGE,
	             "--repository is missing: " FORMS);
	assert_fails(dr_validate_repository("http://github.com/acme/web", &out, &err_), DR_EXIT_USAGE,
	             "--repository \"http://github.com/acme/web\": must use https://, not http://");
	assert_fails(dr_validate_repository("git@github.com:acme/web.git", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"git@github.com:acme/web.git\": not an https:// GitHub URL: " FORMS);
	assert_fails(dr_validate_repository("https://github.com", &out, &err_), DR_EXIT_USAGE,
	             "--repository \"https://github.com\": names no organization, repository or "
	             "enterprise: " FORMS);
	assert_fails(dr_validate_repository("https://github.com/acme/web/tree/main", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://github.com/acme/web/tree/main\": has extra path "
	             "\"/tree/main\" after the repository: " FORMS);
	assert_fails(dr_validate_repository("https://github.com//web", &out, &err_), DR_EXIT_USAGE,
	             "--repository \"https://github.com//web\": has an empty path segment (\"//\"): "
	             FORMS);
	assert_fails(dr_validate_repository("https://github.com/ac_me/web", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://github.com/ac_me/web\": \"ac_me\" is not a valid "
	             "GitHub owner (letters, digits and '-', at most 39)");
	assert_fails(dr_validate_repository("https://github.com/acme/we$b", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://github.com/acme/we$b\": \"we$b\" is not a valid "
	             "repository name (letters, digits, '.', '-' and '_', at most 100)");
	assert_fails(dr_validate_repository("https://github.com/enterprises", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://github.com/enterprises\": an enterprise URL needs its "
	             "name: https://HOST/enterprises/NAME");
	assert_fails(dr_validate_repository("https://github.com/enterprises/Big_Co", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://github.com/enterprises/Big_Co\": \"Big_Co\" is not a "
	             "valid enterprise slug (lowercase letters, digits and '-')");
	assert_fails(dr_validate_repository("https://user:tok@github.com/acme/web", &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository \"https://user:tok@github.com/acme/web\": must not contain "
	             "credentials, a query, a fragment or spaces: " FORMS);
	assert_fails(dr_validate_repository("https://git hub.com/acme", &out, &err_), DR_EXIT_USAGE,
	             "--repository \"https://git hub.com/acme\": must not contain credentials, a "
	             "query, a fragment or spaces: " FORMS);
	assert_fails(dr_validate_repository("https://-github.com/acme", &out, &err_), DR_EXIT_USAGE,
	             "--repository \"https://-github.com/acme\": \"-github.com\" is not a valid "
	             "host name");
	assert_fails(dr_validate_repository(
	                     "https://github.com/abcdefghij-abcdefghij-abcdefghij-abcdefghij/x",
	                     &out, &err_),
	             DR_EXIT_USAGE,
	             "--repository "
	             "\"https://github.com/abcdefghij-abcdefghij-abcdefghij-abcdefghij/x\": "
	             "\"abcdefghij-abcdefghij-abcdefghij-abcdefghij\" is not a valid GitHub owner "
	             "(letters, digits and '-', at most 39)");
	assert_null(out);
}

/* ---- --labels ---- */

static void
labels(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char **l = NULL;
	assert_succeeds(dr_parse_labels("linux,gpu", &l, &err_));
	assert_int_equal(dr_strv_len(l), 2);
	assert_string_equal(l[0], "linux");
	assert_string_equal(l[1], "gpu");
	dr_strv_free(l);
	l = NULL;
	assert_succeeds(dr_parse_labels("", &l, &err_));
	assert_null(l);
	assert_fails(dr_parse_labels("a,,b", &l, &err_), DR_EXIT_USAGE,
	             "--labels: label 2 is empty: give labels as L1,L2 with no empty entries");
	assert_fails(dr_parse_labels("a,b,a", &l, &err_), DR_EXIT_USAGE,
	             "--labels: label \"a\" is given twice: list each label once");
	char longl[257];
	memset(longl, 'x', 256);
	longl[256] = '\0';
	assert_fails(dr_parse_labels(longl, &l, &err_), DR_EXIT_USAGE,
	             "--labels: label 1 is 256 characters: ARC needs fewer than 256");
	longl[255] = '\0';
	assert_succeeds(dr_parse_labels(longl, &l, &err_));
	dr_strv_free(l);
}

/* ---- --cache and --mount ---- */

static void
cache_specs(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *src = NULL, *dst = NULL;
	assert_succeeds(dr_parse_cache("/var/lib/docker", &src, &dst, &err_));
	assert_null(src);
	assert_string_equal(dst, "/var/lib/docker");
	free(dst);
	assert_succeeds(dr_parse_cache("/srv/go:/root/go", &src, &dst, &err_));
	assert_string_equal(src, "/srv/go");
	assert_string_equal(dst, "/root/go");
	free(src);
	free(dst);
	src = dst = NULL;
	assert_fails(dr_parse_cache("var/lib/docker", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"var/lib/docker\": the container path \"var/lib/docker\" must be an "
	             "absolute path (starting with /)");
	assert_fails(dr_parse_cache("/a/../etc", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"/a/../etc\": the container path \"/a/../etc\" must not contain "
	             "\"..\": give the resolved path");
	assert_fails(dr_parse_cache("../x:/y", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"../x:/y\": the node path \"../x\" must be an absolute path "
	             "(starting with /)");
	assert_fails(dr_parse_cache("/", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"/\": the container path must not be / itself: name a directory "
	             "such as /var/lib/docker");
	assert_fails(dr_parse_cache("/nix/store", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"/nix/store\": mounting over /nix/store hides the image's Nix store "
	             "and breaks it: mount the cache at /nix/store-host (and bind it in the job) or "
	             "cache /root/.cache/nix");
	assert_succeeds(dr_parse_cache("/nix/store:/nix/store-host", &src, &dst, &err_));
	free(src);
	free(dst);
	src = dst = NULL;
	assert_fails(dr_parse_cache("/var//lib/", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"/var//lib/\": the container path \"/var//lib/\" is not in normal "
	             "form: remove repeated '/', '.' and trailing '/'");
	assert_fails(dr_parse_cache("/a:/b:/c", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"/a:/b:/c\": too many ':'; the form is [SRC:]TARGET (use --mount "
	             "SRC:TARGET:TYPE for a typed mount)");
	assert_fails(dr_parse_cache(":/x", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \":/x\": SRC is empty; give SRC:TARGET or just TARGET");
	assert_fails(dr_parse_cache("", &src, &dst, &err_), DR_EXIT_USAGE,
	             "--cache \"\": TARGET is empty: give the container directory to keep, e.g. "
	             "--cache /var/lib/docker");
	assert_null(src);
	assert_null(dst);
}

static void
mount_specs(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	char *src = NULL, *dst = NULL;
	dr_mount_type t;
	assert_succeeds(dr_parse_mount("/srv/tools:/opt/tools", &src, &dst, &t, &err_));
	assert_int_equal(t, DR_MOUNT_DIRECTORY_OR_CREATE);
	free(src);
	free(dst);
	assert_succeeds(dr_parse_mount("/run/x.sock:/run/x.sock:Socket", &src, &dst, &t, &err_));
	assert_int_equal(t, DR_MOUNT_SOCKET);
	free(src);
	free(dst);
	assert_succeeds(dr_parse_mount("/data:/data:Directory", &src, &dst, &t, &err_));
	assert_int_equal(t, DR_MOUNT_DIRECTORY);
	free(src);
	free(dst);
	src = dst = NULL;
	assert_fails(dr_parse_mount("/data", &src, &dst, &t, &err_), DR_EXIT_USAGE,
	             "--mount \"/data\": needs SRC:TARGET[:TYPE], a node path and a container path");
	assert_fails(dr_parse_mount("/a:/b:File", &src, &dst, &t, &err_), DR_EXIT_USAGE,
	             "--mount \"/a:/b:File\": unknown type \"File\": use Directory, "
	             "DirectoryOrCreate or Socket");
	assert_fails(dr_parse_mount("/a:/b:Socket:x", &src, &dst, &t, &err_), DR_EXIT_USAGE,
	             "--mount \"/a:/b:Socket:x\": too many ':'; the form is SRC:TARGET[:TYPE]");
	assert_fails(dr_parse_mount("a:/b", &src, &dst, &t, &err_), DR_EXIT_USAGE,
	             "--mount \"a:/b\": the node path \"a\" must be an absolute path (starting "
	             "with /)");
	assert_fails(dr_parse_mount("/a:", &src, &dst, &t, &err_), DR_EXIT_USAGE,
	             "--mount \"/a:\": needs SRC:TARGET[:TYPE], a node path and a container path");
	assert_fails(dr_parse_mount("/a:/nix/store:Directory", &src, &dst, &t, &err_),
	             DR_EXIT_USAGE,
	             "--mount \"/a:/nix/store:Directory\": mounting over /nix/store hides the "
	             "image's Nix store and breaks it: mount the cache at /nix/store-host (and bind "
	             "it in the job) or cache /root/.cache/nix");
	assert_null(src);
}

/* ---- quantities and images ---- */

static void
quantities(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	static const char *const good[] = { "2", "500m", "4Gi", "1.5", "1e3", "+1", "0.5Ti", ".5",
		                            "100M", "1E-3", NULL };
	for (size_t i = 0; good[i]; i++)
		assert_succeeds(dr_validate_quantity("--cpu", good[i], "500m or 2", &err_));
	assert_fails(dr_validate_quantity("--cpu", "2 cores", "500m or 2", &err_), DR_EXIT_USAGE,
	             "--cpu \"2 cores\": not a Kubernetes quantity: use e.g. 500m or 2");
	assert_fails(dr_validate_quantity("--memory", "4GB", "512Mi or 4Gi", &err_), DR_EXIT_USAGE,
	             "--memory \"4GB\": not a Kubernetes quantity: use e.g. 512Mi or 4Gi");
	static const char *const bad[] = { "", "Gi", "-1", "1.2.3", "e3", "1e", "1Ki5", NULL };
	for (size_t i = 0; bad[i]; i++) {
		assert_int_equal(dr_validate_quantity("--cpu", bad[i], "x", &err_), -1);
		dr_err_free(err_);
		err_ = NULL;
	}
}

static void
images(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	assert_succeeds(dr_validate_image("--runner-image", "registry.local:5000/runner:2.334", &err_));
	assert_fails(dr_validate_image("--runner-image", "", &err_), DR_EXIT_USAGE,
	             "--runner-image is empty: name an image, e.g. "
	             "ghcr.io/actions/actions-runner:latest");
	assert_fails(dr_validate_image("--runner-image", "a b", &err_), DR_EXIT_USAGE,
	             "--runner-image \"a b\": an image reference has no spaces or control "
	             "characters");
}

/* ---- credentials ---- */

static void
auth_pat(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	dr_auth a = { .type = DR_AUTH_PAT };
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "no GitHub token: give --auth-value-file PATH, --auth-value - (read from "
	             "stdin) or --auth-value TOKEN");
	a.token = (char *)"ghp abc";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--auth-value: the token contains whitespace or a control character: give the "
	             "token alone");
	a.token = (char *)"ghp_abc";
	assert_succeeds(dr_validate_auth(&a, &err_));
	a.app_id = (char *)"123";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--app-id, --installation-id and --private-key-file are for --auth-type "
	             "github-app: drop them or set --auth-type github-app");
}

static void
auth_app(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_free_ char *rsa = test_read_data("tests/data/app-key.pem");
	_cleanup_free_ char *pkcs8 = test_read_data("tests/data/app-key-pkcs8.pem");
	_cleanup_free_ char *ec = test_read_data("tests/data/ec-key.pem");
	dr_auth a = { .type = DR_AUTH_APP };
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--auth-type github-app needs --app-id ID (the App ID or client ID from the "
	             "App's settings page)");
	a.app_id = (char *)"12ab";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--app-id \"12ab\": must be the numeric App ID or the client ID (Iv1.../Iv23...)");
	a.app_id = (char *)"Iv23liAbCdEf";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--auth-type github-app needs --installation-id ID (the number at the end of "
	             "the installation's settings URL)");
	a.installation_id = (char *)"x1";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--installation-id \"x1\": must be a number");
	a.installation_id = (char *)"4242";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--auth-type github-app needs --private-key-file PATH (the .pem downloaded "
	             "from the App's settings page)");
	a.private_key = (char *)"not a key";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--private-key-file: not a usable PEM private key: no \"-----BEGIN RSA "
	             "PRIVATE KEY-----\" line; give the .pem file GitHub generated for the App");
	a.private_key = ec;
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--private-key-file: not a usable PEM private key: not a private key "
	             "(expected RSA PRIVATE KEY or PRIVATE KEY); give the .pem file GitHub "
	             "generated for the App");
	/* A truncated body no longer decodes to a whole DER SEQUENCE. */
	_cleanup_free_ char *cut = dr_xstrdup(rsa);
	char *mid = strstr(cut, "\n") + 200;
	const char *tail = "\n-----END RSA PRIVATE KEY-----\n";
	memcpy(mid, tail, strlen(tail) + 1);
	a.private_key = cut;
	assert_int_equal(dr_validate_auth(&a, &err_), -1);
	assert_non_null(strstr(err_->msg, "not a usable PEM private key"));
	dr_err_free(err_);
	err_ = NULL;
	a.private_key = rsa;
	assert_succeeds(dr_validate_auth(&a, &err_));
	a.private_key = pkcs8;
	a.app_id = (char *)"123456";
	assert_succeeds(dr_validate_auth(&a, &err_));
	a.token = (char *)"ghp_x";
	assert_fails(dr_validate_auth(&a, &err_), DR_EXIT_USAGE,
	             "--auth-type github-app takes its key from --private-key-file, not a token");
}

/* ---- whole definitions ---- */

static dr_runner *
base_runner(const dr_mode *mode)
{
	dr_runner *r = dr_runner_new("web");
	r->repository = dr_xstrdup("https://github.com/acme/web");
	r->mode = mode;
	r->auth.token = dr_xstrdup("ghp_x");
	return r;
}

static void
runner_counts(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *r = base_runner(&dr_mode_dind);
	assert_succeeds(dr_validate_runner(r, &err_));
	r->min_runners = 6;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--min-runners 6 is more than --max-runners 5: set --min-runners <= "
	             "--max-runners");
	r->min_runners = -1;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--min-runners -1: must be 0 or more");
	r->min_runners = 0;
	r->max_runners = -2;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--max-runners -2: must be 0 or more");
	r->max_runners = 5;
	r->instances = 0;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE, "--instances 0: must be 1 or more");
	r->instances = 3;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--max-runners 5 with --instances 3: each instance is one runner with its own "
	             "caches (max 1); drop --max-runners or use --instances 1");
	r->max_runners = 1;
	r->min_runners = 1;
	assert_succeeds(dr_validate_runner(r, &err_));
}

static void
runner_fields(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *r = base_runner(&dr_mode_kubernetes);
	r->namespace = dr_xstrdup("Arc_Runners");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--namespace \"Arc_Runners\": not a valid namespace (lowercase letters, "
	             "digits and '-', at most 63)");
	free(r->namespace);
	r->namespace = NULL;
	r->storage_class = dr_xstrdup("Fast SSD");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--storage-class \"Fast SSD\": not a valid StorageClass name (lowercase "
	             "letters, digits, '-' and '.')");
	free(r->storage_class);
	r->storage_class = NULL;
	r->work_volume_size = dr_xstrdup("10GB");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--work-volume-size \"10GB\": not a Kubernetes quantity: use e.g. 1Gi or 10Gi");
	free(r->work_volume_size);
	r->work_volume_size = NULL;
	r->repository[8] = 'G'; /* https://Github.com/...: valid host, but not normalised */
	assert_succeeds(dr_validate_runner(r, &err_));
	free(r->repository);
	r->repository = dr_xstrdup("https://github.com/acme/web/");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--repository \"https://github.com/acme/web/\" is not normalised (expected "
	             "\"https://github.com/acme/web\")");
}

static void
runner_targets(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *r = base_runner(&dr_mode_dind);
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	dr_runner_add_mount(r, "/srv/x", "/var/lib/docker", DR_MOUNT_DIRECTORY);
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--mount: container path /var/lib/docker is given twice (as --cache and "
	             "--mount): mount each path once");

	_cleanup_runner_ dr_runner *d = base_runner(&dr_mode_dind);
	dr_runner_add_cache(d, NULL, "/var/run");
	assert_fails(dr_validate_runner(d, &err_), DR_EXIT_USAGE,
	             "--cache /var/run: mode dind already mounts /var/run in the dind container; "
	             "choose another path");

	_cleanup_runner_ dr_runner *d2 = base_runner(&dr_mode_dind);
	dr_runner_add_mount(d2, "/srv/w", "/home/runner/_work", DR_MOUNT_DIRECTORY);
	assert_fails(dr_validate_runner(d2, &err_), DR_EXIT_USAGE,
	             "--mount /srv/w:/home/runner/_work: mode dind already mounts "
	             "/home/runner/_work in the runner container; choose another path");

	_cleanup_runner_ dr_runner *p = base_runner(&dr_mode_privileged);
	dr_runner_add_mount(p, "/proc", "/proc", DR_MOUNT_DIRECTORY);
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--mount /proc:/proc: mode cached-privileged-kubernetes already mounts /proc "
	             "in the job container; choose another path");

	_cleanup_runner_ dr_runner *k = base_runner(&dr_mode_kubernetes);
	dr_runner_add_cache(k, NULL, "/__w");
	assert_fails(dr_validate_runner(k, &err_), DR_EXIT_USAGE,
	             "--cache /__w: mode kubernetes already mounts /__w in the job container; "
	             "choose another path");
}

static void
settings(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	dr_settings s;
	dr_settings_init(&s);
	assert_succeeds(dr_validate_settings(&s, &err_));
	size_t i;
	assert_int_equal(dr_settings_lookup("cache-root", &i), 0);
	dr_settings_set(&s, i, "relative/dir");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "cache-root \"relative/dir\": the node path \"relative/dir\" must be an "
	             "absolute path (starting with /)");
	dr_settings_set(&s, i, "/");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "cache-root must not be / itself");
	dr_settings_set(&s, i, "/srv/cache");
	assert_int_equal(dr_settings_lookup("controller-namespace", &i), 0);
	dr_settings_set(&s, i, "ARC");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-namespace \"ARC\": not a valid namespace name");
	dr_settings_set(&s, i, "arc-systems");
	/* controller-chart: empty (ghcr.io's), an absolute path or an oci:// reference */
	assert_int_equal(dr_settings_lookup("controller-chart", &i), 0);
	assert_string_equal(dr_settings_value(&s, i), "");
	static const char *const good[] = {
		"/srv/charts/gha-runner-scale-set-controller",
		"/srv/charts/gha-runner-scale-set-controller-0.14.2.tgz",
		"oci://registry.local:5000/charts/gha-runner-scale-set-controller",
	};
	for (size_t k = 0; k < DR_ARRAY_LEN(good); k++) {
		dr_settings_set(&s, i, good[k]);
		assert_succeeds(dr_validate_settings(&s, &err_));
	}
	dr_settings_set(&s, i, "charts/arc");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-chart \"charts/arc\": give an absolute path to a chart directory "
	             "or .tgz archive, or an oci://HOST/PATH/gha-runner-scale-set-controller "
	             "reference (empty: ghcr.io's chart)");
	dr_settings_set(&s, i, "https://example.com/arc.tgz");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-chart \"https://example.com/arc.tgz\": give an absolute path to a "
	             "chart directory or .tgz archive, or an "
	             "oci://HOST/PATH/gha-runner-scale-set-controller reference (empty: ghcr.io's "
	             "chart)");
	dr_settings_set(&s, i, "oci://");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-chart \"oci://\": give an absolute path to a chart directory or "
	             ".tgz archive, or an oci://HOST/PATH/gha-runner-scale-set-controller reference "
	             "(empty: ghcr.io's chart)");
	dr_settings_set(&s, i, "oci://registry.local/a b");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-chart \"oci://registry.local/a b\": a control character or space "
	             "is not allowed");
	dr_settings_set(&s, i, "/srv/arc\n.tgz");
	assert_fails(dr_validate_settings(&s, &err_), DR_EXIT_USAGE,
	             "controller-chart \"/srv/arc\n.tgz\": a control character is not allowed");
	assert_int_equal(dr_settings_lookup("nope", &i), -1);
	dr_settings_clear(&s);
}

/* ---- Docker options (modes issue) ---- */

static void
mirrors_and_registries(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	assert_succeeds(dr_validate_mirror("https://mirror.gcr.io", false, &err_));
	assert_succeeds(dr_validate_mirror("http://10.0.0.5:5000/path", false, &err_));
	assert_succeeds(dr_validate_mirror("auto", true, &err_));
	assert_fails(dr_validate_mirror("auto", false, &err_), DR_EXIT_USAGE,
	             "--registry-mirror \"auto\": not a registry URL: use e.g. "
	             "https://mirror.gcr.io, http://10.0.0.5:5000 or auto");
	assert_fails(dr_validate_mirror("mirror.gcr.io", true, &err_), DR_EXIT_USAGE,
	             "--registry-mirror \"mirror.gcr.io\": not a registry URL: use e.g. "
	             "https://mirror.gcr.io, http://10.0.0.5:5000 or auto");
	assert_fails(dr_validate_mirror("https://u:p@mirror.local", true, &err_), DR_EXIT_USAGE,
	             "--registry-mirror \"https://u:p@mirror.local\": credentials do not belong in "
	             "a mirror URL (the daemon would print them in its logs)");
	assert_fails(dr_validate_mirror("https://mirror.local?x=1", true, &err_), DR_EXIT_USAGE,
	             "--registry-mirror \"https://mirror.local?x=1\": not a registry URL: use e.g. "
	             "https://mirror.gcr.io, http://10.0.0.5:5000 or auto");
	assert_succeeds(dr_validate_insecure_registry("registry.local:5000", &err_));
	assert_succeeds(dr_validate_insecure_registry("10.0.0.0/8", &err_));
	assert_fails(dr_validate_insecure_registry("http://registry.local", &err_), DR_EXIT_USAGE,
	             "--insecure-registry \"http://registry.local\": give HOST[:PORT] (e.g. "
	             "registry.local:5000) or a CIDR (e.g. 10.0.0.0/8), without a scheme");
	assert_fails(dr_validate_insecure_registry("10.0.0.0/33", &err_), DR_EXIT_USAGE,
	             "--insecure-registry \"10.0.0.0/33\": give HOST[:PORT] (e.g. "
	             "registry.local:5000) or a CIDR (e.g. 10.0.0.0/8), without a scheme");
	assert_succeeds(dr_validate_proxy("http://u:p@proxy.corp:3128", &err_));
	assert_fails(dr_validate_proxy("proxy.corp:3128", &err_), DR_EXIT_USAGE,
	             "--proxy: not a proxy URL: use http://[USER:PASSWORD@]HOST[:PORT], e.g. "
	             "http://proxy.corp:3128");
	char **np = NULL;
	assert_succeeds(dr_parse_no_proxy(".corp,10.0.0.0/8", &np, &err_));
	assert_int_equal(dr_strv_len(np), 2);
	dr_strv_free(np);
	np = NULL;
	assert_fails(dr_parse_no_proxy(".corp,,x", &np, &err_), DR_EXIT_USAGE,
	             "--no-proxy: entry 2 is empty or has spaces: give HOSTS as h1,.domain,10.0.0.0/8");
}

static void
docker_options(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *r = base_runner(&dr_mode_dind);
	r->mtu = 67;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--mtu 67: out of range: an MTU is 68..65535 (1500 for Ethernet, 1450 under "
	             "VXLAN overlays)");
	r->mtu = 65536;
	assert_int_equal(dr_validate_runner(r, &err_), -1);
	dr_err_free(err_);
	err_ = NULL;
	r->mtu = 68;
	assert_succeeds(dr_validate_runner(r, &err_));
	r->mtu = 65535;
	assert_succeeds(dr_validate_runner(r, &err_));
	r->dockerd_memory = dr_xstrdup("2GB");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--dockerd-memory \"2GB\": not a Kubernetes quantity: use e.g. 1Gi or 4Gi");
	free(r->dockerd_memory);
	r->dockerd_memory = NULL;
	r->dockerd_cpu = dr_xstrdup("one");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--dockerd-cpu \"one\": not a Kubernetes quantity: use e.g. 500m or 2");
	free(r->dockerd_cpu);
	r->dockerd_cpu = NULL;
	/* Storage combinations. */
	r->docker_storage_size = dr_xstrdup("50Gi");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--docker-storage-size is the size of the pvc storage: add --docker-storage "
	             "pvc or drop it");
	r->docker_storage = DR_STORAGE_PVC;
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--max-runners 5 with a persistent /var/lib/docker: two daemons must never "
	             "share one data root; use --max-runners 1, --instances N (one cache each) or "
	             "--docker-storage ephemeral");
	r->max_runners = 1;
	assert_succeeds(dr_validate_runner(r, &err_));
	dr_runner_add_cache(r, NULL, "/var/lib/docker");
	assert_fails(dr_validate_runner(r, &err_), DR_EXIT_USAGE,
	             "--docker-storage pvc and --cache /var/lib/docker both place the daemon's "
	             "data: give one");
	r->docker_storage = DR_STORAGE_HOSTPATH;
	free(r->docker_storage_size);
	r->docker_storage_size = NULL;
	assert_succeeds(dr_validate_runner(r, &err_));
	assert_int_equal(dr_runner_docker_storage(r), DR_STORAGE_HOSTPATH);
	assert_true(dr_runner_persistent_docker(r));

	/* The cache pool: warm caches with autoscaling, and its own rules. */
	_cleanup_runner_ dr_runner *p = base_runner(&dr_mode_dind);
	p->cache_pool = 4;
	assert_succeeds(dr_validate_runner(p, &err_)); /* max 5: each daemon leases its slot */
	assert_false(dr_runner_persistent_docker(p));
	p->instances = 2;
	p->max_runners = 1;
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--cache-pool with --instances 2: both answer how runners get warm caches; the "
	             "pool lets one autoscaling scale set lease a slot per runner, instances pin "
	             "one runner per set: choose one");
	p->instances = 1;
	p->docker_storage = DR_STORAGE_PVC;
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--cache-pool keeps /var/lib/docker in its leased slots: drop --docker-storage "
	             "and --cache /var/lib/docker");
	p->docker_storage = DR_STORAGE_DEFAULT;
	p->cache_pool = 65;
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--cache-pool 65: give 1..64 slots per node");
	p->cache_pool = 0;
	p->cache_max_size = dr_xstrdup("20Gi");
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--cache-max-size is the quota of a --cache-pool slot: add --cache-pool N or "
	             "drop it");
	p->cache_pool = 2;
	free(p->cache_max_size);
	p->cache_max_size = dr_xstrdup("20GB");
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--cache-max-size \"20GB\": not a Kubernetes quantity: use e.g. 20Gi");
	_cleanup_runner_ dr_runner *k = base_runner(&dr_mode_kubernetes);
	k->cache_pool = 2;
	assert_fails(dr_validate_runner(k, &err_), DR_EXIT_USAGE,
	             "--cache-pool is for modes dind and dind-daemonset; this runner's mode is "
	             "kubernetes");
	/* --dind-image-has-deskrun: only with a pool, and only with a --dind-image (the default
	 * upstream image has no deskrun). */
	free(p->cache_max_size);
	p->cache_max_size = NULL;
	p->dind_image_has_deskrun = true;
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--dind-image-has-deskrun: the default docker:dind has no deskrun: build one "
	             "with 'deskrun image build --dind --tag NAME' and add --dind-image NAME");
	p->dind_image = dr_xstrdup("registry.local/dind-deskrun:1");
	assert_succeeds(dr_validate_runner(p, &err_));
	p->cache_pool = 0;
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE,
	             "--dind-image-has-deskrun is how a --cache-pool daemon gets deskrun: add "
	             "--cache-pool N or drop it");
}

static void
options_per_mode(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_runner_ dr_runner *k = base_runner(&dr_mode_kubernetes);
	k->mtu = 1400;
	assert_fails(dr_validate_runner(k, &err_), DR_EXIT_USAGE,
	             "--mtu is for modes dind and dind-daemonset; this runner's mode is kubernetes");
	k->mtu = 0;
	k->buildkit = true;
	assert_fails(dr_validate_runner(k, &err_), DR_EXIT_USAGE,
	             "--buildkit is for modes dind, docker-socket and dind-daemonset; this runner's "
	             "mode is kubernetes");
	k->buildkit = false;
	k->cluster_builds = true;
	assert_succeeds(dr_validate_runner(k, &err_));
	_cleanup_runner_ dr_runner *d = base_runner(&dr_mode_dind);
	d->cluster_builds = true;
	assert_fails(dr_validate_runner(d, &err_), DR_EXIT_USAGE,
	             "--cluster-builds is for mode kubernetes; this runner's mode is dind");
	d->cluster_builds = false;
	d->no_guard = true;
	assert_fails(dr_validate_runner(d, &err_), DR_EXIT_USAGE,
	             "--no-guard is for mode docker-socket; this runner's mode is dind");
	d->no_guard = false;
	d->guard_image = dr_xstrdup("g:1");
	assert_fails(dr_validate_runner(d, &err_), DR_EXIT_USAGE,
	             "--guard-image is for modes docker-socket and dind-daemonset; this runner's "
	             "mode is dind");
	_cleanup_runner_ dr_runner *s = base_runner(&dr_mode_docker_socket);
	s->no_guard = true;
	assert_succeeds(dr_validate_runner(s, &err_));
	s->guard_image = dr_xstrdup("g:1"); /* the --no-guard guard only maps folders */
	assert_succeeds(dr_validate_runner(s, &err_));
	_cleanup_runner_ dr_runner *ds = base_runner(&dr_mode_dind_daemonset);
	ds->docker_storage = DR_STORAGE_PVC;
	assert_fails(dr_validate_runner(ds, &err_), DR_EXIT_USAGE,
	             "--docker-storage pvc: the dind-daemonset daemon keeps one data root per node; "
	             "use hostpath (default) or ephemeral");
	ds->docker_storage = DR_STORAGE_DEFAULT;
	assert_succeeds(dr_validate_runner(ds, &err_)); /* max 5: the daemon is shared per node */
	assert_false(dr_runner_persistent_docker(ds));
	_cleanup_runner_ dr_runner *c = base_runner(&dr_mode_containerd);
	dr_runner_add_mount(c, "/x", "/run/containerd/containerd.sock", DR_MOUNT_SOCKET);
	assert_fails(dr_validate_runner(c, &err_), DR_EXIT_USAGE,
	             "--mount /x:/run/containerd/containerd.sock: mode containerd-socket already "
	             "mounts /run/containerd/containerd.sock in the runner container; choose another "
	             "path");
	_cleanup_runner_ dr_runner *p = base_runner(&dr_mode_dind);
	p->no_proxy = dr_xcalloc(2, sizeof(char *));
	p->no_proxy[0] = dr_xstrdup(".corp");
	assert_fails(dr_validate_runner(p, &err_), DR_EXIT_USAGE, "--no-proxy needs --proxy URL");
}

static void
shared_daemon(void **state)
{
	(void)state;
	dr_err *err_ = NULL;
	_cleanup_config_ dr_config *c = dr_config_new();
	dr_runner *a = base_runner(&dr_mode_dind_daemonset);
	free(a->name);
	a->name = dr_xstrdup("a");
	dr_config_put(c, a);
	_cleanup_runner_ dr_runner *b = base_runner(&dr_mode_dind_daemonset);
	assert_succeeds(dr_check_shared_daemon(c, b, &err_));
	b->mtu = 1400;
	assert_fails(dr_check_shared_daemon(c, b, &err_), DR_EXIT_USAGE,
	             "runner a uses dind-daemonset with other daemon settings (--registry-mirror, "
	             "--insecure-registry, --mtu, --dockerd-cpu, --dockerd-memory, --dind-image, "
	             "--docker-storage, --cache-pool, --dind-image-has-deskrun): the node's shared "
	             "daemon has one configuration; give the same ones");
	/* A dind runner has its own daemon: no constraint. */
	b->mode = &dr_mode_dind;
	assert_succeeds(dr_check_shared_daemon(c, b, &err_));
}

int
main(void)
{
	test_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_valid),        cmocka_unit_test(name_invalid),
		cmocka_unit_test(repository_valid),  cmocka_unit_test(repository_invalid),
		cmocka_unit_test(labels),            cmocka_unit_test(cache_specs),
		cmocka_unit_test(mount_specs),       cmocka_unit_test(quantities),
		cmocka_unit_test(images),            cmocka_unit_test(auth_pat),
		cmocka_unit_test(auth_app),          cmocka_unit_test(runner_counts),
		cmocka_unit_test(runner_fields),     cmocka_unit_test(runner_targets),
		cmocka_unit_test(settings),         cmocka_unit_test(mirrors_and_registries),
		cmocka_unit_test(docker_options),   cmocka_unit_test(options_per_mode),
		cmocka_unit_test(shared_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
