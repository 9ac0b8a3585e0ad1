# deskrun: a thin front door over Meson + Ninja. See README.md.
#   make demo    build and render a dind runner with a persistent /var/lib/docker cache
#   make demo-local  the local provider end to end against a local stand-in for GitHub and a
#                private dockerd (root, offline): add --mode dind --cache-pool 1, up, two jobs,
#                the second warm from the pool slot the first filled (about 40 s; the first
#                run builds the dind image into build/local-dind-images, a few minutes more)
#   make check   install missing Debian packages, build (-Werror), run every test, and run
#                the unit tests again under ASan+UBSan
#   make e2e     only the engine tests (podman kube play of rendered pods)
#   make cluster-test  only the real-cluster suite (Kubernetes, etcd and helm built from Go
#                modules into /var/cache/deskrun-cluster; DESKRUN_CLUSTER_BUILD=1 builds a cold
#                cache, about 11 minutes once; root needed)
#   make clients build the docker buildx/compose plugins the guard's W07/W08 use (cached under
#                /var/cache/deskrun-clients; `make check` uses them once built, or builds them
#                itself with DESKRUN_BUILD_CLIENTS=1)
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=

.PHONY: all build deps check test unit e2e cluster-test demo demo-local clean install fuzz bench clients

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

check: deps
	@scripts/check.sh

test: build
	@scripts/check.sh --no-asan

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

clients:
	@tests/clients/build.sh

# The engine tests alone: rendered pods under podman, Docker inside the job (root needed).
e2e: deps build
	meson test -C $(BUILD) --suite e2e --print-errorlogs

# The real-cluster suite alone: deskrun against a private single-node cluster (root needed).
cluster-test: deps build
	meson test -C $(BUILD) --suite cluster --print-errorlogs

demo: deps build
	@scripts/demo.sh $(BUILD)/deskrun

demo-local: deps build
	@scripts/demo-local.sh $(BUILD)/deskrun

# Each libFuzzer target for a bounded time (FUZZ_SECONDS, default 60).
fuzz: deps
	@scripts/fuzz.sh

# The benchmarks under bench/: ratios against a baseline measured in the same run.
bench: deps build
	@scripts/bench.sh $(BUILD)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
