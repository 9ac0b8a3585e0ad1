/* config_store.c: the config file on disk (see config_store.h). */
#include "lib/common.h"
#include "sys/config_store.h"
#include "sys/fsutil.h"
#include "sys/log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

int
dr_config_path(const char *flag, char **out, dr_err **err)
{
	if (flag && *flag) {
		*out = dr_xstrdup(flag);
		return 0;
	}
	const char *env = getenv("DESKRUN_CONFIG");
	if (env && *env) {
		*out = dr_xstrdup(env);
		return 0;
	}
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && *xdg == '/') {
		*out = dr_xasprintf("%s/deskrun/config.json", xdg);
		return 0;
	}
	const char *home = getenv("HOME");
	if (!home || !*home)
		return dr_fail(err, DR_EXIT_CONFIG,
		               "cannot find the config file: HOME is not set; give --config PATH "
		               "or set DESKRUN_CONFIG");
	*out = dr_xasprintf("%s/.config/deskrun/config.json", home);
	return 0;
}

int
dr_config_load(const char *path, dr_config **out, dr_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_err_ dr_err *rerr = NULL;
	if (dr_read_file(path, DR_CONFIG_MAX_BYTES, &text, &len, &rerr) < 0) {
		if (rerr->errnum == ENOENT) {
			*out = dr_config_new();
			return 0;
		}
		return dr_fail(err, DR_EXIT_CONFIG, "config %s is unreadable: %s", path, rerr->msg);
	}
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		dr_warn("config %s is accessible to other users (mode %04o) and holds secrets; "
		        "run 'chmod 600 %s' (deskrun writes it 0600)",
		        path, (unsigned)(st.st_mode & 07777), path);
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return dr_fail(err, DR_EXIT_CONFIG,
		               "config %s is not valid JSON (line %d column %d: %s); it was left "
		               "untouched: fix it or move it away",
		               path, jerr.line, jerr.column, jerr.text);
	_cleanup_err_ dr_err *cerr = NULL;
	dr_config *c = dr_config_from_json(j, &cerr);
	if (!c)
		return dr_fail(err, DR_EXIT_CONFIG, "config %s: %s; it was left untouched", path,
		               cerr->msg);
	*out = c;
	return 0;
}

static int
lock_config(const char *path, dr_err **err)
{
	_cleanup_free_ char *lock = dr_xasprintf("%s.lock", path);
	_cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return dr_fail_errno(err, DR_EXIT_CONFIG, errno, "open lock file %s", lock);
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return TAKE_FD(fd);
		if (errno != EWOULDBLOCK && errno != EINTR)
			return dr_fail_errno(err, DR_EXIT_CONFIG, errno, "lock %s", lock);
		if (waited >= DR_CONFIG_LOCK_TIMEOUT_MS)
			return dr_fail(err, DR_EXIT_TIMEOUT,
			               "config %s is locked by another deskrun for more than %d s; "
			               "retry when it has finished",
			               path, DR_CONFIG_LOCK_TIMEOUT_MS / 1000);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int
dr_config_edit(const char *path, dr_config_edit_fn fn, void *arg, dr_err **err)
{
	_cleanup_free_ char *dir = dr_dirname(path);
	if (dr_mkdir_p(dir, 0700, err) < 0)
		return dr_err_prefix(err, "config directory");
	_cleanup_close_ int lock = lock_config(path, err);
	if (lock < 0)
		return -1;
	_cleanup_config_ dr_config *c = NULL;
	if (dr_config_load(path, &c, err) < 0)
		return -1;
	if (fn(c, arg, err) < 0)
		return -1;
	_cleanup_json_ json_t *j = dr_config_to_json(c);
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2));
	size_t n = strlen(text);
	text = dr_xrealloc(text, n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	if (dr_write_atomic(path, text, n + 1, 0600, err) < 0)
		return dr_err_prefix(err, "save config");
	return 0;
}
