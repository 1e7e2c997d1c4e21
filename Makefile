# svcplane - node service proxy. See README.md and docs/architecture.md.
#
#   make          build svcplane and svcplanectl
#   make deps     install every Debian package the build, tests, demo and bench need
#   make check    unit tests (plain and ASan+UBSan), fuzz smoke runs, integration tests
#   make test     deps + build + check (what CI runs)

CC       ?= gcc
CLANG    ?= clang
PKGS     := libcjson yaml-0.1 libmicrohttpd libnftnl libmnl libnl-3.0 libnl-route-3.0 libcrypto libcurl \
	    libnetfilter_conntrack libbpf zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lm
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

B := build

.DEFAULT_GOAL := all

COMMON_SRC  := common/addr.c common/lists.c common/hmap.c common/log.c common/ratelimit.c common/khash.c \
	       common/clock.c common/nft_lex.c common/lb_algorithm.c common/id_pool.c
CONTROL_SRC := control/k8s_field.c control/k8s_service.c control/k8s_endpointslice.c \
	       control/k8s_node.c control/yaml.c control/manifest.c control/store.c \
	       control/model.c control/model_json.c control/topology.c control/source_dir.c \
	       control/kubeconfig.c control/json_lines.c control/json_list_stream.c control/kube_events.c control/gunzip.c \
	       control/kube_transfer.c control/source_kube.c \
	       control/maglev.c
DATAPLANE_SRC := dataplane/backend.c dataplane/dryrun/dryrun_backend.c \
		 dataplane/nft/nft_tx.c dataplane/nft/nft_expr.c dataplane/nft/nft_layout.c \
		 dataplane/nft/nft_render.c dataplane/nft/nft_codec.c \
		 dataplane/nft/nft_readsrc_nl.c dataplane/nft/nft_decode.c dataplane/nft/nft_project.c \
		 dataplane/nft/nft_dispatch.c dataplane/nft/nft_readtext.c \
		 dataplane/nft/nft_mirror.c dataplane/nft/nft_plan.c dataplane/nft/nft_msgs.c dataplane/nft/nft_stale.c \
		 dataplane/nft/nft_backend.c \
		 dataplane/netlink/node_addrs.c dataplane/netlink/conntrack.c dataplane/netlink/bridge_ports.c \
		 dataplane/bpf/bpf_addrs.c dataplane/bpf/bpf_loader.c dataplane/bpf/bpf_maps.c dataplane/bpf/bpf_readback.c \
		 dataplane/bpf/bpf_udp.c dataplane/bpf/bpf_backend.c dataplane/bpf/bpf_tc.c \
		 dataplane/bpf/bpf_ct.c dataplane/bpf/bpf_maglev.c dataplane/bpf/bpf_podifs.c dataplane/bpf/bpf_sweep.c \
		 dataplane/userspace/us_balance.c dataplane/userspace/us_flows.c \
		 dataplane/userspace/us_addrs.c dataplane/userspace/us_state.c \
		 dataplane/userspace/us_fwd.c dataplane/userspace/us_conn.c dataplane/userspace/us_splice.c \
		 dataplane/userspace/us_sctp.c dataplane/userspace/us_udp.c dataplane/userspace/us_port.c \
		 dataplane/userspace/us_host.c dataplane/userspace/us_metrics.c \
		 dataplane/userspace/us_explain.c dataplane/userspace/us_ctl.c \
		 dataplane/userspace/us_backend.c \
		 dataplane/kubeproxy/kp_chains.c dataplane/kubeproxy/kp_nft.c dataplane/kubeproxy/kp_legacy.c \
		 dataplane/kubeproxy/kp_takeover.c
AGENT_LIB_SRC := agent/duration.c agent/kpconfig.c agent/config.c agent/loop.c agent/runner.c agent/health.c \
		 agent/metrics.c agent/http.c agent/http_conns.c \
		 agent/hcserver.c agent/agent.c
AGENT_SRC   := agent/main.c
INSPECT_SRC := tools/ctl_backend.c tools/inspect/inspect.c tools/inspect/kp_iptables_save.c \
	       tools/inspect/kp_nft_json.c tools/inspect/kp_nft_text.c tools/inspect/nft_text.c \
	       tools/inspect/ipt_nft_text.c \
	       tools/inspect/svcplane_nft.c tools/inspect/explain.c tools/inspect/explain_relay.c \
	       tools/inspect/detect.c tools/inspect/kp_ipvs.c tools/inspect/inspect_print.c \
	       tools/model_print.c
CTL_SRC     := tools/svcplanectl.c tools/cmd_model.c tools/rig.c tools/rig_cgroup.c \
	       tools/cmd_rig.c tools/echod.c tools/cmd_dump.c tools/cmd_diff.c \
	       tools/cmd_inspect.c tools/cmd_explain.c

LIB_SRC  := $(COMMON_SRC) $(CONTROL_SRC) $(DATAPLANE_SRC) $(AGENT_LIB_SRC)
UNIT_SRC := $(sort $(wildcard tests/unit/*.c)) $(INSPECT_SRC)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))

.DEFAULT_GOAL := all
obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# eBPF programs: CO-RE objects and their skeletons, generated into build/ (the
# loader includes the skeleton; nothing generated is committed).
BPF_PROGS := bpf/sock_lb.bpf.c bpf/tc_nat.bpf.c bpf/udp_destroy.bpf.c
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_PROGS))
.SECONDARY: $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_PROGS))
# -mcpu=v3: 32-bit jumps and ALU, atomics that return a value (SNAT port
# claims; kernel 5.12 or later)
BPF_CFLAGS := -target bpf -mcpu=v3 -g -O2 -Wall -Werror -I/usr/include/$(shell uname -m)-linux-gnu
CFLAGS += -I$(B)/bpf

$(B)/bpf/%.bpf.o: bpf/%.bpf.c bpf/maps.h bpf/kernel_types.h bpf/lb_maps.bpf.h bpf/lb_pick.bpf.h bpf/flow_hash.h bpf/jhash.h bpf/ct_timeout.h
	@mkdir -p $(dir $@)
	@echo "  BPF     $<"
	@$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	@echo "  SKEL    $@"
	@bpftool gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

# The loaders' objects need the skeletons first.
$(call obj,rel,dataplane/bpf/bpf_loader.c dataplane/bpf/bpf_udp.c) \
	$(call obj,asan,dataplane/bpf/bpf_loader.c dataplane/bpf/bpf_udp.c): $(BPF_SKELS)

.PHONY: all deps check test demo bench conformance clean unit unit-asan fuzz integration format \
	image image-base image-engine image-if-engine
all: svcplane svcplanectl

# --- build -------------------------------------------------------------------
$(B)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC-SAN  $<"
	@$(CC) $(CFLAGS) $(CHECK_CFLAGS) -O1 $(SAN) -MMD -MP -c $< -o $@

$(B)/rel/tests/%.o: CFLAGS += $(CHECK_CFLAGS)

# One static library per layer, linked highest first: a lower layer that
# called up into a higher one would not link (agent → dataplane → control →
# common), and svcplanectl links no agent code at all.
$(B)/libsp_%.a:
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $^

$(B)/libsp_common.a: $(call obj,rel,$(COMMON_SRC))
$(B)/libsp_control.a: $(call obj,rel,$(CONTROL_SRC))
$(B)/libsp_dataplane.a: $(call obj,rel,$(DATAPLANE_SRC))
$(B)/libsp_agent.a: $(call obj,rel,$(AGENT_LIB_SRC))

LAYERS_AGENT := $(B)/libsp_agent.a $(B)/libsp_dataplane.a $(B)/libsp_control.a $(B)/libsp_common.a
LAYERS_CTL   := $(B)/libsp_dataplane.a $(B)/libsp_control.a $(B)/libsp_common.a

svcplane: $(call obj,rel,$(AGENT_SRC)) $(LAYERS_AGENT)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

svcplanectl: $(call obj,rel,$(CTL_SRC) $(INSPECT_SRC)) $(LAYERS_CTL)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The agent built under ASan+UBSan, for the integration tests that run it
# (tests/integration/006x_agent_hostile_*).
$(B)/svcplane_asan: $(call obj,asan,$(AGENT_SRC) $(LIB_SRC))
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(B)/unit_tests: $(call obj,rel,$(LIB_SRC) $(UNIT_SRC))
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(B)/unit_tests_asan: $(call obj,asan,$(LIB_SRC) $(UNIT_SRC))
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

# libFuzzer targets: clang, ASan+UBSan. The sources are compiled once,
# instrumented, into one archive every target links (not once a target).
FUZZ_CFLAGS := -g -O1 -std=gnu11 $(PKG_CFLAGS) -I$(B)/bpf
$(B)/fuzzlib/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(dir $@)
	@echo "  CC-FUZZ $<"
	@$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

$(B)/libsp_fuzz.a: $(call obj,fuzzlib,$(COMMON_SRC) $(CONTROL_SRC) $(AGENT_LIB_SRC) $(DATAPLANE_SRC) \
		$(INSPECT_SRC))
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $^

$(B)/fuzz/%: tests/fuzz/%.c $(B)/libsp_fuzz.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# --- dependencies --------------------------------------------------------------
DEB_PKGS := build-essential pkg-config clang llvm libclang-rt-14-dev \
	libcjson-dev libyaml-dev libmicrohttpd-dev check \
	libnftnl-dev libmnl-dev libnl-3-dev libnl-route-3-dev libcurl4-openssl-dev libssl-dev zlib1g-dev \
	libnetfilter-conntrack-dev libbpf-dev bpftool \
	nftables conntrack iproute2 iptables curl socat netcat-openbsd dnsutils \
	nginx-light dnsmasq haproxy iperf3 wrk sockperf python3 python3-yaml python3-scapy \
	procps psmisc openssl ca-certificates \
	podman runc mmdebstrap
NPM_PKGS := dockerfilelint

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all installed"; else \
		echo "deps: installing $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@# npm: Debian's package, unless an npm is already there (it may come with
	@# another nodejs, which Debian's npm package would conflict with)
	@command -v npm >/dev/null || { export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends npm; }
	@for p in $(NPM_PKGS); do command -v $$p >/dev/null || \
		{ echo "deps: npm install -g $$p"; npm install -g --no-fund --no-audit $$p >/dev/null; }; done

# --- container image -----------------------------------------------------------
# make image: $(IMAGE) from agent/deploy/Dockerfile, with podman (preferred)
# or docker (ENGINE=docker). The Dockerfile's base is a build argument: docker
# pulls debian:bookworm-slim; podman here, with no registry, gets the same
# from the Debian mirror with mmdebstrap (about 20 s), imported as
# $(LOCAL_BASE) and kept in the store: rebuilt when missing or older than
# IMAGE_BASE_DAYS days (`make image-base IMAGE_BASE_DAYS=0` forces it). The
# image itself is rebuilt when a source, the Dockerfile or the base changed
# (build/image.id records what it was built from); the image it replaces is
# removed, so no untagged image is left. podman's settings for this host are
# in agent/deploy/podman.conf. IMAGE_BASE is NAME:TAG (the Dockerfile's BASE
# and BASE_TAG).
IMAGE           ?= svcplane:dev
ENGINE          ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
LOCAL_BASE      := localhost/svcplane-base:bookworm
IMAGE_BASE_DAYS ?= 7
DEBIAN_MIRROR   ?= http://deb.debian.org/debian
DEBIAN_SECURITY ?= http://deb.debian.org/debian-security
ifeq ($(ENGINE),podman)
ENGINE_CMD  := CONTAINERS_CONF=$(CURDIR)/agent/deploy/podman.conf podman
# --layers=false: no cached stage images (they would be left untagged);
# --network=host: RUN steps reach the mirror without a bridge network (which
# would add firewall rules to the machine's ruleset).
BUILD_FLAGS := --layers=false --network=host
IMAGE_BASE  ?= $(LOCAL_BASE)
else
ENGINE_CMD  := $(ENGINE)
BUILD_FLAGS := --network=host
IMAGE_BASE  ?= debian:bookworm-slim
endif
IMAGE_DEPS := Makefile .dockerignore agent/deploy/Dockerfile \
	$(shell find common control dataplane agent tools bpf -type f 2>/dev/null)

# image-engine: "engine CMD", the engine command line the image tests use, or
# "none REASON" when no engine runs here.
image-engine:
	@if ! command -v $(ENGINE) >/dev/null; then echo "none $(ENGINE) is not installed"; \
	elif ! $(ENGINE_CMD) info >/dev/null 2>&1; then echo "none $(ENGINE) cannot run here ($(ENGINE) info fails)"; \
	else echo "engine $(ENGINE_CMD)"; fi

# mmdebstrap: minbase as debian:bookworm-slim is (merged /usr, no docs, man
# pages or locales), the apt settings of this machine's mirror.
image-base:
	@[ "$(IMAGE_BASE)" = "$(LOCAL_BASE)" ] || exit 0; \
	created=$$($(ENGINE_CMD) image inspect --format '{{.Created.Unix}}' $(LOCAL_BASE) 2>/dev/null); \
	if [ -n "$$created" ] && [ $$(( $$(date +%s) - created )) -lt $$(( $(IMAGE_BASE_DAYS) * 86400 )) ]; then \
		exit 0; fi; \
	echo "  BASE    $(LOCAL_BASE) (mmdebstrap bookworm from $(DEBIAN_MIRROR))"; \
	old=$$($(ENGINE_CMD) image inspect --format '{{.Id}}' $(LOCAL_BASE) 2>/dev/null); \
	mkdir -p $(B)/image && rm -f $(B)/image/base.tar && \
	mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Languages "none"' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		bookworm $(B)/image/base.tar "deb $(DEBIAN_MIRROR) bookworm main" \
		"deb $(DEBIAN_MIRROR) bookworm-updates main" "deb $(DEBIAN_SECURITY) bookworm-security main" && \
	$(ENGINE_CMD) import --quiet $(B)/image/base.tar $(LOCAL_BASE) >/dev/null && rm -f $(B)/image/base.tar && \
	if [ -n "$$old" ]; then $(ENGINE_CMD) rmi $$old >/dev/null 2>&1 || true; fi

image: image-base
	@base=$$($(ENGINE_CMD) image inspect --format '{{.Id}}' $(IMAGE_BASE) 2>/dev/null); \
	old=$$($(ENGINE_CMD) image inspect --format '{{.Id}}' $(IMAGE) 2>/dev/null); \
	if [ -n "$$old" ] && [ "$$(cat $(B)/image.id 2>/dev/null)" = "$$base $$old" ] && \
	   [ -z "$$(find $(IMAGE_DEPS) -newer $(B)/image.id 2>/dev/null | head -1)" ]; then \
		echo "  IMAGE   $(IMAGE) up to date"; exit 0; fi; \
	echo "  IMAGE   $(IMAGE) ($(ENGINE), base $(IMAGE_BASE))"; \
	mkdir -p $(B) && rm -f $(B)/image.id && \
	b=$(IMAGE_BASE); \
	$(ENGINE_CMD) build $(BUILD_FLAGS) --build-arg BASE=$${b%:*} --build-arg BASE_TAG=$${b##*:} \
		-f agent/deploy/Dockerfile \
		-t $(IMAGE) . >$(B)/image.log 2>&1 || { tail -30 $(B)/image.log; exit 1; }; \
	new=$$($(ENGINE_CMD) image inspect --format '{{.Id}}' $(IMAGE)); \
	[ -z "$$base" ] && base=$$($(ENGINE_CMD) image inspect --format '{{.Id}}' $(IMAGE_BASE)); \
	echo "$$base $$new" >$(B)/image.id; \
	if [ -n "$$old" ] && [ "$$old" != "$$new" ]; then $(ENGINE_CMD) rmi $$old >/dev/null 2>&1 || true; fi; \
	echo "  IMAGE   $(IMAGE): $$($(ENGINE_CMD) image inspect --format '{{.Size}}' $(IMAGE) | \
		awk '{printf "%.1f MB", $$1 / 1e6}')"

# make test: the image where an engine runs; elsewhere the image tests skip.
image-if-engine:
	@case "$$($(MAKE) -s --no-print-directory image-engine)" in \
	"engine "*) $(MAKE) --no-print-directory image ;; \
	*) echo "image: not built: $$($(MAKE) -s --no-print-directory image-engine | cut -d' ' -f2-)" \
		"(the image tests will skip)" ;; esac

# --- tests ---------------------------------------------------------------------
unit: $(B)/unit_tests
	$(B)/unit_tests

unit-asan: $(B)/unit_tests_asan
	$(B)/unit_tests_asan

fuzz: $(FUZZ_BIN)

check: all $(B)/unit_tests $(B)/unit_tests_asan $(B)/svcplane_asan $(FUZZ_BIN)
	@tests/check.sh

test: deps
	$(MAKE) -j2 all
	$(MAKE) image-if-engine
	$(MAKE) -j2 check

demo: deps
	$(MAKE) all
	@examples/demo.sh

conformance: deps
	$(MAKE) all
	tests/conformance/run.sh

bench: deps
	$(MAKE) all
	python3 bench/run.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B) svcplane svcplanectl
