/* kube.c: kubectl, helm and kind calls (see kube.h). */
#include "lib/common.h"
#include "sys/kube.h"

void
dr_argv_add(char ***argv, const char *arg)
{
	dr_strv_push(argv, arg);
}

char **
dr_argv(const char *first, ...)
{
	char **v = NULL;
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		dr_strv_push(&v, s);
	va_end(ap);
	return v;
}

int
dr_run_tool(char *const *argv, const char *hint, const dr_call *call, dr_spawn_result *res,
            dr_err **err)
{
	static const dr_call none = { 0 };
	if (!call)
		call = &none;
	dr_spawn_opts o = {
		.passthrough = call->passthrough,
		.argv = argv,
		.stdin_data = call->stdin_data,
		.stdin_len = call->stdin_len,
		.timeout_ms = call->timeout_ms ? call->timeout_ms : DR_KUBECTL_TIMEOUT_MS,
		.install_hint = hint,
		.max_output = call->max_output,
	};
	if (dr_spawn(&o, res, err) < 0)
		return -1;
	if (call->allow_fail && !res->timed_out)
		return 0;
	return dr_spawn_check(&o, res, err);
}

int
dr_kubectl(const dr_cluster *c, char *const *args, const dr_call *call, dr_spawn_result *res,
           dr_err **err)
{
	_cleanup_strv_ char **argv = dr_argv("kubectl", NULL);
	if (c->kubeconfig) {
		dr_argv_add(&argv, "--kubeconfig");
		dr_argv_add(&argv, c->kubeconfig);
	}
	if (*c->context) { /* "": kubectl's current context (or in-cluster credentials) */
		dr_argv_add(&argv, "--context");
		dr_argv_add(&argv, c->context);
	}
	for (size_t i = 0; args[i]; i++)
		dr_argv_add(&argv, args[i]);
	return dr_run_tool(argv, DR_HINT_KUBECTL, call, res, err);
}

int
dr_kubectl_json(const dr_cluster *c, char *const *args, json_t **out, dr_err **err)
{
	_cleanup_strv_ char **full = dr_strv_copy(args);
	dr_argv_add(&full, "-o");
	dr_argv_add(&full, "json");
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	if (dr_kubectl(c, full, NULL, &res, err) < 0)
		return -1;
	/* `kubectl get NAME... --ignore-not-found -o json` prints nothing at all when none of
	 * the names exists (found on the real kubectl): that is an empty List. */
	bool blank = true;
	for (size_t i = 0; i < res.out_len && blank; i++)
		blank = res.out[i] && strchr(" \t\r\n", res.out[i]) != NULL;
	if (blank && dr_strv_contains(args, "--ignore-not-found")) {
		*out = json_pack("{s:s, s:s, s:[]}", "apiVersion", "v1", "kind", "List", "items");
		return 0;
	}
	json_error_t je;
	json_t *j = json_loadb(res.out, res.out_len, 0, &je);
	if (!j) {
		_cleanup_free_ char *cmd = dr_argv_text(full);
		return dr_fail(err, DR_EXIT_FAIL, "'kubectl %s' printed no valid JSON (line %d: %s)",
		               cmd, je.line, je.text);
	}
	*out = j;
	return 0;
}

int
dr_helm(const dr_cluster *c, char *const *args, const dr_call *call, dr_spawn_result *res,
        dr_err **err)
{
	_cleanup_strv_ char **argv = dr_argv("helm", NULL);
	for (size_t i = 0; args[i]; i++)
		dr_argv_add(&argv, args[i]);
	dr_argv_add(&argv, "--kube-context");
	dr_argv_add(&argv, c->context);
	if (c->kubeconfig) {
		dr_argv_add(&argv, "--kubeconfig");
		dr_argv_add(&argv, c->kubeconfig);
	}
	dr_call def = { 0 };
	if (call)
		def = *call;
	if (!def.timeout_ms)
		def.timeout_ms = DR_HELM_TIMEOUT_MS;
	return dr_run_tool(argv, DR_HINT_HELM, &def, res, err);
}

int
dr_kind(char *const *args, const dr_call *call, dr_spawn_result *res, dr_err **err)
{
	_cleanup_strv_ char **argv = dr_argv("kind", NULL);
	for (size_t i = 0; args[i]; i++)
		dr_argv_add(&argv, args[i]);
	dr_call def = { 0 };
	if (call)
		def = *call;
	if (!def.timeout_ms)
		def.timeout_ms = DR_KIND_TIMEOUT_MS;
	return dr_run_tool(argv, DR_HINT_KIND, &def, res, err);
}
