/* modes.c: the mode table. Adding a mode = one mode_<name>.c file and one line here. */
#include "lib/common.h"
#include "lib/buf.h"
#include "lib/mode.h"

const dr_mode *const dr_modes[] = {
	&dr_mode_kubernetes,
	&dr_mode_dind,
	&dr_mode_privileged,
	&dr_mode_docker_socket,
	&dr_mode_dind_daemonset,
	&dr_mode_containerd,
	NULL,
};

const dr_mode *
dr_mode_find(const char *name)
{
	for (size_t i = 0; dr_modes[i]; i++)
		if (strcmp(dr_modes[i]->name, name) == 0)
			return dr_modes[i];
	return NULL;
}

const char *
dr_mode_names(void)
{
	static char names[256];
	if (!names[0]) {
		size_t off = 0;
		for (size_t i = 0; dr_modes[i]; i++) {
			int n = snprintf(names + off, sizeof(names) - off, "%s%s", i ? "|" : "",
			                 dr_modes[i]->name);
			if (n < 0 || (size_t)n >= sizeof(names) - off)
				DR_BUG("mode names do not fit");
			off += (size_t)n;
		}
	}
	return names;
}
