/* image.c: `deskrun image build`: the helper image, FROM scratch plus the static deskrun
 * binary (the guard sidecar runs it; init containers copy it into emptyDirs for the dind
 * entrypoint). Built offline: the image's tar stream is written in memory and fed to
 * `docker import` (or `podman import`) on stdin; no Dockerfile, no registry, no temp file.
 * `image build --dind`: a dind image (--from, default docker:dind) with the same binary at
 * DR_DIND_IMAGE_BINARY, for --dind-image-has-deskrun: a build context (a Dockerfile and the
 * binary) as a tar stream on the engine's `build -` stdin. */
#include "lib/common.h"
#include "buildinfo.h"
#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/docker.h"
#include "lib/runner.h"
#include "lib/tar.h"
#include "lib/validate.h"
#include "sys/fsutil.h"
#include "sys/kube.h"
#include "sys/log.h"
#include "sys/progress.h"
#include "sys/spawn.h"

#include <fcntl.h>
#include <sys/stat.h>

#define BINARY_MAX (64u << 20)

enum { OPT_TAG = 1, OPT_ENGINE, OPT_BINARY, OPT_DIND, OPT_FROM };

static const dr_opt image_opts[] = {
	{ "tag", 't', "TAG", "the image's name (default " DR_DEFAULT_HELPER_IMAGE_REPO ":" DESKRUN_VERSION ")",
	  OPT_TAG },
	{ "engine", 0, "ENGINE", "docker (default) or podman: where the image is imported",
	  OPT_ENGINE },
	{ "binary", 0, "PATH",
	  "the statically linked deskrun to put in the image (default: deskrun-static next to this "
	  "deskrun, or this deskrun when it is static)",
	  OPT_BINARY },
	{ "dind", 0, NULL,
	  "build a dind image with deskrun at " DR_DIND_IMAGE_BINARY " instead (for add "
	  "--dind-image-has-deskrun; default tag deskrun-dind:VERSION)",
	  OPT_DIND },
	{ "from", 0, "IMAGE", "--dind: the dind image to add deskrun to (default " DR_DEFAULT_DIND_IMAGE
	  "; the engine must have it)",
	  OPT_FROM },
	{ NULL, 0, NULL, NULL, 0 },
};

static int
find_binary(const char *flag, char **data, size_t *len, char **path, dr_err **err)
{
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
	_cleanup_free_ char *sibling = NULL;
	if (self) {
		_cleanup_free_ char *dir = dr_dirname(self);
		sibling = dr_xasprintf("%s/deskrun-static", dir);
	}
	const char *candidates[] = { flag, flag ? NULL : sibling, flag ? NULL : self };
	for (size_t i = 0; i < DR_ARRAY_LEN(candidates); i++) {
		if (!candidates[i])
			continue;
		_cleanup_err_ dr_err *rerr = NULL;
		_cleanup_free_ char *d = NULL;
		size_t n = 0;
		if (dr_read_file(candidates[i], BINARY_MAX, &d, &n, &rerr) < 0) {
			if (flag)
				return dr_fail(err, DR_EXIT_USAGE, "--binary: %s", rerr->msg);
			continue;
		}
		int st = dr_elf_static(d, n);
		if (st == 1) {
			*data = TAKE_PTR(d);
			*len = n;
			*path = dr_xstrdup(candidates[i]);
			return 0;
		}
		if (flag)
			return dr_fail(err, DR_EXIT_USAGE,
			               "--binary %s: %s; the helper image is FROM scratch and needs a "
			               "statically linked deskrun (meson setup -Dstatic=true)",
			               flag, st < 0 ? "not a 64-bit ELF executable" : "dynamically linked");
	}
	return dr_fail(err, DR_EXIT_FAIL,
	               "no statically linked deskrun found (this one is dynamic and there is no "
	               "deskrun-static beside it): build one with 'meson setup build-static "
	               "-Dstatic=true && ninja -C build-static', then pass --binary");
}

int
dr_helper_image_build(const char *tag, const char *engine, const char *binary, dr_err **err)
{
	_cleanup_free_ char *data = NULL, *path = NULL;
	size_t len = 0;
	if (find_binary(binary, &data, &len, &path, err) < 0)
		return -1;
	_cleanup_buf_ dr_buf tar = DR_BUF_INIT(0);
	if (dr_tar_dir(&tar, "tmp/", 01777) < 0 || dr_tar_dir(&tar, "run/", 0755) < 0 ||
	    dr_tar_dir(&tar, "var/", 0755) < 0 || dr_tar_dir(&tar, "var/lib/", 0755) < 0 ||
	    dr_tar_file(&tar, "deskrun", 0755, data, len) < 0 || dr_tar_end(&tar) < 0)
		return dr_fail(err, DR_EXIT_FAIL, "cannot write the image's tar stream");
	_cleanup_free_ char *label = dr_xasprintf("LABEL org.opencontainers.image.version=%s",
	                                          DESKRUN_VERSION);
	_cleanup_strv_ char **args =
		dr_argv(engine, "import", "--change", "ENTRYPOINT [\"/deskrun\"]", "--change", label,
		        "-", tag, NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .stdin_data = tar.data, .stdin_len = tar.len, .timeout_ms = 5 * 60000 };
	const char *hint = strcmp(engine, "docker") == 0 ? "install docker.io (Debian) or Docker Engine"
	                                                 : "install podman";
	if (dr_run_tool(args, hint, &call, &res, err) < 0)
		return dr_err_prefix(err, "import the helper image");
	if (!dr_quiet())
		printf("built %s (%s, %zu bytes, FROM scratch) with %s\n", tag, path, len, engine);
	return 0;
}

int
dr_dind_image_build(const char *tag, const char *from, const char *engine, const char *binary,
                    dr_err **err)
{
	if (dr_validate_image("--from", from, err) < 0 || dr_validate_image("--tag", tag, err) < 0)
		return -1;
	_cleanup_free_ char *data = NULL, *path = NULL;
	size_t len = 0;
	if (find_binary(binary, &data, &len, &path, err) < 0)
		return -1;
	_cleanup_free_ char *dockerfile =
		dr_xasprintf("FROM %s\nCOPY deskrun " DR_DIND_IMAGE_BINARY "\n"
		             "LABEL org.opencontainers.image.version=%s io.deskrun.binary=" DR_DIND_IMAGE_BINARY
		             "\n",
		             from, DESKRUN_VERSION);
	_cleanup_buf_ dr_buf tar = DR_BUF_INIT(0);
	if (dr_tar_file(&tar, "Dockerfile", 0644, dockerfile, strlen(dockerfile)) < 0 ||
	    dr_tar_file(&tar, "deskrun", 0755, data, len) < 0 || dr_tar_end(&tar) < 0)
		return dr_fail(err, DR_EXIT_FAIL, "cannot write the build context's tar stream");
	_cleanup_strv_ char **args = strcmp(engine, "podman") == 0
		? dr_argv(engine, "build", "--network", "none", "--pull=never", "-q", "-t", tag, "-", NULL)
		: dr_argv(engine, "build", "-q", "-t", tag, "-", NULL);
	_cleanup_spawn_ dr_spawn_result res = { 0 };
	dr_call call = { .stdin_data = tar.data, .stdin_len = tar.len, .timeout_ms = 5 * 60000 };
	const char *hint = strcmp(engine, "docker") == 0 ? "install docker.io (Debian) or Docker Engine"
	                                                 : "install podman";
	if (dr_run_tool(args, hint, &call, &res, err) < 0)
		return (*err)->code == 127 /* no such engine: the hint says what to install */
		               ? dr_err_prefix(err, "build the dind image")
		               : dr_err_prefix(err, "build the dind image FROM %s (the engine needs that "
		                                    "image: pull or load it first)", from);
	if (!dr_quiet())
		printf("built %s (FROM %s, deskrun at %s from %s, %zu bytes) with %s\n", tag,
		       from, DR_DIND_IMAGE_BINARY, path, len, engine);
	return 0;
}

static int
run_image(dr_cli *cli, int argc, char **argv, dr_err **err)
{
	const char *verb = NULL, *tag = NULL, *engine = "docker", *binary = NULL, *from = NULL;
	bool dind = false;
	dr_optparse p;
	dr_optparse_init(&p, &dr_cmd_image, cli, argc, argv);
	for (;;) {
		int id = 0;
		const char *v = NULL;
		int k = dr_optparse_next(&p, &id, &v, err);
		if (k < 0)
			return -1;
		if (k == DR_OPT_END)
			break;
		if (k == DR_OPT_HELP) {
			dr_cmd_print_help(&dr_cmd_image, stdout);
			return 0;
		}
		if (k == DR_OPT_ARG) {
			if (verb)
				return dr_usage_extra_arg(&dr_cmd_image, v, err);
			verb = v;
			continue;
		}
		if (id == OPT_TAG)
			tag = v;
		else if (id == OPT_ENGINE) {
			if (strcmp(v, "docker") && strcmp(v, "podman"))
				return dr_fail(err, DR_EXIT_USAGE,
				               "--engine \"%s\": use docker or podman", v);
			engine = v;
		} else if (id == OPT_BINARY)
			binary = v;
		else if (id == OPT_DIND)
			dind = true;
		else if (id == OPT_FROM)
			from = v;
	}
	if (!verb || strcmp(verb, "build") != 0)
		return dr_fail(err, DR_EXIT_USAGE, "usage: deskrun image build [--tag TAG]");
	if (from && !dind)
		return dr_fail(err, DR_EXIT_USAGE, "--from is the base of a --dind image: add --dind");
	if (dind)
		return dr_dind_image_build(tag ? tag : "deskrun-dind:" DESKRUN_VERSION,
		                           from ? from : DR_DEFAULT_DIND_IMAGE, engine, binary, err);
	_cleanup_free_ char *default_tag = dr_xstrdup(DR_DEFAULT_HELPER_IMAGE_REPO ":" DESKRUN_VERSION);
	if (!tag)
		tag = default_tag;
	return dr_helper_image_build(tag, engine, binary, err);
}

const dr_cmd dr_cmd_image = {
	.name = "image",
	.summary = "build deskrun's helper image (FROM scratch + the static binary), or a dind image with it",
	.synopsis = "build [--tag TAG] [--engine docker|podman] [--binary PATH] [--dind [--from IMAGE]]",
	.description =
		"Build the helper image the guard sidecar and the dind entrypoint come from: an image "
		"with nothing but /deskrun, a statically linked deskrun, and ENTRYPOINT [\"/deskrun\"]. "
		"It is written as a tar stream in memory and imported with 'docker import' (or "
		"'podman import'), so it builds offline. 'deskrun up' loads it into kind nodes that "
		"lack it; other clusters pull it from where you push it (--helper-image on add). "
		"With --dind it builds a dind image instead: --from (default " DR_DEFAULT_DIND_IMAGE ") "
		"plus deskrun at " DR_DIND_IMAGE_BINARY ", so a --cache-pool runner added with "
		"--dind-image NAME --dind-image-has-deskrun starts its pods without the init container "
		"that copies deskrun from the helper image.",
	.opts = image_opts,
	.run = run_image,
};
