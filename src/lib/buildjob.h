/* buildjob.h: the Kubernetes Job of `deskrun build-job`: a daemonless image build in the
 * cluster (the seed's hybrid strategy), with rootless BuildKit (default) or Kaniko. Pure. */
#ifndef DESKRUN_BUILDJOB_H
#define DESKRUN_BUILDJOB_H

#include "lib/common.h"

#define DR_BUILDKIT_IMAGE "moby/buildkit:v0.17.3-rootless"
#define DR_KANIKO_IMAGE "cgr.dev/chainguard/kaniko:latest"

typedef enum dr_builder {
	DR_BUILDER_BUILDKIT = 0,
	DR_BUILDER_KANIKO,
} dr_builder;

typedef struct dr_build_spec {
	const char *context;         /* a directory (streamed on stdin) or a git URL */
	bool context_is_git;
	const char *dockerfile;      /* relative to the context; default Dockerfile */
	const char *destination;     /* image reference to push */
	dr_builder builder;
	const char *builder_image;   /* NULL = the builder's default */
	const char *cache_repo;      /* NULL = no registry cache */
	const char *registry_secret; /* NULL = none: a kubernetes.io/dockerconfigjson Secret */
	const char *name;            /* the Job's name */
	const char *namespace;       /* NULL = kubectl's current namespace */
} dr_build_spec;

/* True for https://, http://, git:// and git@ URLs (a context fetched by the builder). */
bool dr_build_context_is_git(const char *context);
/* build-<sha256(context, dockerfile, destination, builder) prefix>: stable for the same build. */
char *dr_build_job_name(const dr_build_spec *b);
/* The Job; for a directory context its first container ("context" init container for
 * BuildKit, the builder itself for Kaniko) reads a tar.gz of the context on stdin. */
json_t *dr_build_job(const dr_build_spec *b);
/* The container `kubectl attach -i -c` must stream the context to. */
const char *dr_build_stdin_container(const dr_build_spec *b);

#endif
