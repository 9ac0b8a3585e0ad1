/* github_none.c: github.h for the static helper binary, which runs in pods and never checks
 * GitHub: linking OpenSSL statically would only grow the FROM-scratch image. */
#include "lib/common.h"
#include "sys/github.h"

void
dr_http_response_clear(dr_http_response *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int
dr_https_get(const char *url, const char *authorization, const dr_proxy *proxy,
             long timeout_ms, dr_http_response *r, dr_err **err)
{
	(void)url, (void)authorization, (void)proxy, (void)timeout_ms, (void)r;
	return dr_fail(err, DR_EXIT_FAIL,
	               "this deskrun (the static helper) has no HTTPS client: run the host's deskrun");
}

int
dr_http_request_do(const dr_http_request *q, dr_http_response *r, dr_err **err)
{
	(void)q;
	memset(r, 0, sizeof(*r));
	return dr_fail(err, DR_EXIT_FAIL,
	               "this deskrun (the static helper) has no HTTPS client: run the host's deskrun");
}

char *
dr_http_header(const dr_http_response *r, const char *name)
{
	(void)r, (void)name;
	return NULL;
}

int
dr_jwt_rs256(const char *app_id, const char *pem, int64_t now, char **jwt, dr_err **err)
{
	(void)app_id, (void)pem, (void)now, (void)jwt;
	return dr_fail(err, DR_EXIT_FAIL,
	               "this deskrun (the static helper) cannot sign: run the host's deskrun");
}
