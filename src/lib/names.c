/* names.c: object names (see names.h). */
#include "lib/common.h"
#include "lib/names.h"

char *
dr_name_scale_set(const char *name, int index)
{
	return index > 0 ? dr_xasprintf("%s-%d", name, index) : dr_xstrdup(name);
}

char *
dr_name_fullname(const char *scale_set)
{
	char *f = dr_xasprintf("%s-gha-rs", scale_set);
	size_t n = strlen(f);
	if (n > DR_DNS_LABEL_MAX)
		n = DR_DNS_LABEL_MAX;
	while (n > 0 && f[n - 1] == '-')
		n--;
	f[n] = '\0';
	return f;
}

char *
dr_name_github_secret(const char *fullname)
{
	return dr_xasprintf("%s-github-secret", fullname);
}

char *
dr_name_no_permission(const char *fullname)
{
	return dr_xasprintf("%s-no-permission", fullname);
}

char *
dr_name_kube_mode(const char *fullname)
{
	return dr_xasprintf("%s-kube-mode", fullname);
}

char *
dr_name_manager(const char *fullname)
{
	return dr_xasprintf("%s-manager", fullname);
}

char *
dr_name_hook_extension(const char *scale_set)
{
	return dr_xasprintf("%s-hook-extension", scale_set);
}

size_t
dr_name_max_len(int instances)
{
	if (instances <= 1)
		return DR_SCALE_SET_NAME_MAX;
	char suffix[32];
	int n = snprintf(suffix, sizeof(suffix), "-%d", instances);
	return DR_SCALE_SET_NAME_MAX - (size_t)n;
}

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
label_ok(const char *s, size_t n)
{
	if (n == 0 || n > DR_DNS_LABEL_MAX)
		return false;
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

int
dr_is_dns_label(const char *s)
{
	return label_ok(s, strlen(s));
}

int
dr_is_dns_subdomain(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DR_DNS_SUBDOMAIN_MAX)
		return 0;
	const char *p = s;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!label_ok(p, len))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}
