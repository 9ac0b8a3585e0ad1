/* table.c: the command table, alphabetical. Adding a command = one file + one line here. */
#include "lib/common.h"
#include "cmd/cmd.h"

const dr_cmd *const dr_commands[] = {
	&dr_cmd_add,    &dr_cmd_agent, &dr_cmd_build_job, &dr_cmd_cache,   &dr_cmd_cluster, &dr_cmd_config, &dr_cmd_dind_entrypoint, &dr_cmd_doctor,
	&dr_cmd_down,   &dr_cmd_guard,   &dr_cmd_help,   &dr_cmd_image,   &dr_cmd_list,
	&dr_cmd_remove, &dr_cmd_render,  &dr_cmd_self_install,  &dr_cmd_status, &dr_cmd_up,
	&dr_cmd_version, &dr_cmd_wait_docker, NULL,
};

const dr_cmd *
dr_cmd_find(const char *name)
{
	for (size_t i = 0; dr_commands[i]; i++)
		if (strcmp(dr_commands[i]->name, name) == 0)
			return dr_commands[i];
	return NULL;
}
