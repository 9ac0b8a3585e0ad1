/* cli_util.c: helpers shared by the command files (see cli_util.h). */
#include "lib/common.h"
#include "cmd/cli_util.h"
#include "sys/config_store.h"

int
dr_cli_load_config(dr_cli *cli, char **path, dr_config **config, dr_err **err)
{
	if (dr_config_path(cli->config_flag, path, err) < 0)
		return -1;
	return dr_config_load(*path, config, err);
}

int
dr_cli_select(const dr_config *c, const char *path, char *const *names, size_t n,
              const dr_runner ***out, size_t *n_out, dr_err **err)
{
	size_t count = n ? n : c->n_runners;
	_cleanup_free_ const dr_runner **sel = dr_xcalloc(count ? count : 1, sizeof(*sel));
	if (n == 0) {
		for (size_t i = 0; i < c->n_runners; i++)
			sel[i] = c->runners[i];
	} else {
		/* Keep config (name) order whatever order the names came in; drop repeats. */
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (!dr_config_find(c, names[i]))
				return dr_fail(err, DR_EXIT_USAGE,
				               "no runner named \"%s\" in %s (see 'deskrun list')",
				               names[i], path);
		for (size_t i = 0; i < c->n_runners; i++)
			for (size_t j = 0; j < n; j++)
				if (strcmp(c->runners[i]->name, names[j]) == 0) {
					sel[k++] = c->runners[i];
					break;
				}
		count = k;
	}
	*out = TAKE_PTR(sel);
	*n_out = count;
	return 0;
}
