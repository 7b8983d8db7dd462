# wasmrpcd: `make help` lists the targets.
#
# On a fresh Debian machine `make run` and `make test` do all the set-up
# (Debian packages through scripts/deps.sh, Go modules through the Go
# module proxy).

SHELL := /bin/bash
GO ?= go
BIN := bin/wasmrpcd
CONFIG ?= examples/wasmrpcd.yaml
export AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/

WASI := GOOS=wasip1 GOARCH=wasm
GO_MODULES := testkit volumes
GUEST_SDK_SRC := $(shell find abi guest-sdk -name '*.go' -not -name '*_test.go')
WAT_SRC := $(wildcard host/wasm/testdata/*.wat)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install the Debian packages the build and the tests need (see scripts/deps.sh).
	@scripts/deps.sh

.PHONY: build
build: ## Build the daemon to bin/wasmrpcd.
	$(GO) build -o $(BIN) ./cmd/wasmrpcd

.PHONY: modules
modules: ## Build the example and test modules (Go, C and hand-written WAT).
modules: $(foreach m,$(GO_MODULES),modules/$(m)/$(m).wasm) \
	modules/testkit/testkit-v1.6.wasm \
	modules/testkit/testkit-v2.0.wasm \
	modules/cadder/cadder.wasm \
	$(WAT_SRC:.wat=.wasm)

# Each Go module builds from modules/NAME/*.go to modules/NAME/NAME.wasm.
define go_module
modules/$(1)/$(1).wasm: $(GUEST_SDK_SRC) $(wildcard modules/$(1)/*.go)
	$(WASI) $(GO) build -buildmode=c-shared -o $$@ ./modules/$(1)
endef
$(foreach m,$(GO_MODULES),$(eval $(call go_module,$(m))))

modules/testkit/testkit-v1.6.wasm: $(GUEST_SDK_SRC) $(wildcard modules/testkit/*.go)
	$(WASI) $(GO) build -buildmode=c-shared -ldflags "-X main.version=1.6" -o $@ ./modules/testkit

# The same source at another major version, for versions served side by side.
modules/testkit/testkit-v2.0.wasm: $(GUEST_SDK_SRC) $(wildcard modules/testkit/*.go)
	$(WASI) $(GO) build -buildmode=c-shared -ldflags "-X main.version=2.0" -o $@ ./modules/testkit

# The C module: no libc, exports named in the source (export_name).
modules/cadder/cadder.wasm: $(wildcard modules/cadder/*.c modules/cadder/*.h)
	clang --target=wasm32-unknown-unknown -O2 -mbulk-memory -ffreestanding -nostdlib -fno-builtin \
		-fvisibility=hidden -Wall -Wextra -Werror \
		-Wl,--no-entry -o $@ $(filter %.c,$^)

host/wasm/testdata/%.wasm: host/wasm/testdata/%.wat
	wat2wasm --enable-all -o $@ $<

# The fault test of tests/ (TestFault) closes every connection of the broker
# and restarts it, which would break the other packages' tests running at the
# same time: it runs alone, in a second step, with WASMRPCD_FAULT_TESTS=1
# (without it, it skips). It runs even when the first step fails; the target
# fails when either does.
.PHONY: test
test: deps modules broker ## Run the whole suite: unit, fuzz seeds, end-to-end on the real broker and binary, then the broker fault test.
	@status=0; \
	$(GO) test -count=1 -timeout 60m ./... || status=1; \
	WASMRPCD_FAULT_TESTS=1 $(GO) test -count=1 -timeout 10m -run '^TestFault$$' -v ./tests/ || status=1; \
	exit $$status

.PHONY: test-short
test-short: modules ## Run the unit tests only (no broker, no Python).
	$(GO) test -short ./...

.PHONY: check
check: ## Vet, format, cross-build the guest packages for wasip1, and check go.mod is tidy.
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(WASI) $(GO) build ./abi/... ./guest-sdk/...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: modules ## Run every fuzz target for FUZZTIME each (default 30s).
	@scripts/fuzz.sh $(FUZZTIME)

.PHONY: bench
bench: deps modules build broker ## Run the benchmarks whose figures docs/BENCHMARKS.md records.
	$(GO) test -run '^$$' -bench . -benchmem ./host/wasm/
	scripts/bench.sh
	$(GO) run ./tests/bench/swap -bin $(BIN)

# Closes every connection of the broker and restarts it: run it alone.
.PHONY: bench-faults
bench-faults: deps modules build broker ## Count every call across broker faults, wasmrpcd then Python (docs/BENCHMARKS.md, "Broker faults").
	$(GO) run ./tests/bench/faults -server wasmrpcd -bin $(BIN)
	$(GO) run ./tests/bench/faults -server python

.PHONY: bench-hostile
bench-hostile: modules build broker ## What hostile tenants cost a well-behaved one on the same daemon (docs/BENCHMARKS.md, "Hostile tenants").
	$(GO) run ./tests/bench/hostile -bin $(BIN)

.PHONY: broker
broker: ## Make sure a local RabbitMQ answers on 127.0.0.1:5672.
	@scripts/broker.sh

.PHONY: run
run: deps build modules broker ## Build everything and start the daemon on $(CONFIG).
	$(BIN) run --config $(CONFIG)

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf bin .cache
	find modules host -name '*.wasm' -delete
