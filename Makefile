# extws-wasm — the two commands a newcomer needs: `make run` and `make test`.
#
# Builds go to $(CARGO_TARGET_DIR) (default ./target); components land in target/guests/.

CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
BIN        := $(CARGO_TARGET_DIR)/debug/extws-wasm
GUESTS     := $(CURDIR)/target/guests
WASM_OUT   := $(CARGO_TARGET_DIR)/wasm32-wasip2/guest
TEST_GUESTS := act trap misbehave loop-forever memory-hog stack-overflow huge-reply probe slow stateful hoard
LANGS      := go c python js
# Test guests in other languages, each built by tests/guests/NAME/build.sh (exit 77: skipped)
OTHER_TEST_GUESTS := python-fetch
# The counter example on the SDKs of these languages (the Rust one is built by guest-rust).
COUNTER_LANGS := python go
LISTEN     ?= 127.0.0.1:8000

SOAK_SECONDS ?= 600

.PHONY: run test sdk-checks deps e2e bench fuzz soak host guests guest-rust guests-other guest-tinygo wasm-target lint fmt clean

## run: build the host and the calc example, serve it on ws://$(LISTEN) without auth
run: host guest-rust
	$(BIN) serve --component $(GUESTS)/calc.wasm --listen $(LISTEN) --no-auth

## test: install what is missing, build everything the tests need and run them (Rust suites,
## then the JS/Chromium e2e)
test: deps host guests
	cargo test -p extws-wasm -- --test-threads=2
	$(MAKE) sdk-checks
	$(MAKE) e2e

## sdk-checks: the SDKs' own unit tests (Python, JS, Go) and the Go 1.23 / TinyGo-level vet
## (skips with a message when a toolchain cannot be had)
sdk-checks:
	python3 -m unittest discover -s sdk/python/tests -q
	sdk/js/test/run.sh
	@sdk/go/check-go123.sh; rc=$$?; [ $$rc -eq 77 ] && exit 0 || exit $$rc

# apt-get needs root; as another user, sudo (when there is one).
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

## deps: install what the tests use and this machine lacks, saying what: the wasm32-wasip2
## target, redis-server (state and push across nodes), chromium (the Mini App e2e, driven by
## playwright-core; Node and npm come with the machine) and Python `websockets` (a client
## nobody here wrote). The guest toolchains (Go, ...) are installed by their build.sh scripts.
deps: wasm-target
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	python3 -c 'import websockets' 2>/dev/null || python3 -m pip --version >/dev/null 2>&1 || \
	  missing="$$missing python3-pip"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@python3 -c 'import websockets' 2>/dev/null || { \
	  echo "deps: installing Python websockets (pip)"; \
	  python3 -m pip install --quiet 'websockets>=12' 2>/dev/null || \
	  python3 -m pip install --quiet --break-system-packages 'websockets>=12'; }

# Node 20 exposes the global WebSocket only behind a flag; Node >= 22 has it.
E2E_NODE_FLAGS := $(shell node -e 'process.stdout.write(typeof WebSocket === "function" ? "" : "--experimental-websocket")' 2>/dev/null)

## e2e: the JS client against the real server, and the Mini App in headless Chromium
e2e: host guest-rust
	cd tests/e2e && npm ci --no-audit --no-fund
	cd tests/e2e && EXTWS_WASM=$(BIN) timeout 600 node $(E2E_NODE_FLAGS) --test

host:
	cargo build -p extws-wasm

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip2 || { \
	  echo "deps: installing the wasm32-wasip2 Rust target (rustup)"; \
	  rustup target add wasm32-wasip2; }

## guests: every example component whose toolchain is present (others say why they skip), and
## the test guests in other languages ($(OTHER_TEST_GUESTS); rebuilt only when their sources change)
guests: guest-rust guests-other

guest-rust: wasm-target
	cargo build --target wasm32-wasip2 --profile guest -p calc -p calc-raw -p counter -p notify -p shop $(addprefix -p ,$(TEST_GUESTS))
	@mkdir -p $(GUESTS)
	cp $(WASM_OUT)/counter.wasm $(GUESTS)/counter.wasm
	cp $(WASM_OUT)/notify.wasm $(GUESTS)/notify.wasm
	cp $(WASM_OUT)/shop.wasm $(GUESTS)/shop.wasm
	cp $(WASM_OUT)/calc.wasm $(GUESTS)/calc.wasm
	cp $(WASM_OUT)/calc.wasm $(GUESTS)/calc-rust.wasm
	cp $(WASM_OUT)/calc_raw.wasm $(GUESTS)/calc-raw.wasm
	@for g in $(TEST_GUESTS); do cp $(WASM_OUT)/$$(echo $$g | tr - _).wasm $(GUESTS)/$$g.wasm; done

guests-other: host
	@mkdir -p $(GUESTS); status=0; \
	for lang in $(LANGS); do \
	  script=guest-examples/$$lang/calc/build.sh; \
	  if [ ! -x $$script ]; then echo "skipped calc-$$lang: no $$script"; continue; fi; \
	  EXTWS_WASM=$(BIN) $$script $(GUESTS)/calc-$$lang.wasm; rc=$$?; \
	  if [ $$rc -eq 0 ]; then echo "built calc-$$lang"; \
	  elif [ $$rc -eq 77 ]; then echo "skipped calc-$$lang (see above)"; \
	  else echo "FAILED calc-$$lang (exit $$rc)"; status=1; fi; \
	done; \
	for lang in $(COUNTER_LANGS); do \
	  EXTWS_WASM=$(BIN) guest-examples/$$lang/counter/build.sh $(GUESTS)/counter-$$lang.wasm; rc=$$?; \
	  if [ $$rc -eq 0 ]; then echo "built counter-$$lang"; \
	  elif [ $$rc -eq 77 ]; then echo "skipped counter-$$lang (see above)"; \
	  else echo "FAILED counter-$$lang (exit $$rc)"; status=1; fi; \
	done; \
	for g in $(OTHER_TEST_GUESTS); do \
	  out=$(GUESTS)/$$g.wasm; \
	  if [ -f $$out ] && [ -z "$$(find tests/guests/$$g wit guest-examples/python/calc -newer $$out -type f)" ]; then \
	    echo "$$g is up to date"; continue; fi; \
	  tests/guests/$$g/build.sh $$out; rc=$$?; \
	  if [ $$rc -eq 0 ]; then echo "built $$g"; \
	  elif [ $$rc -eq 77 ]; then echo "skipped $$g (see above)"; \
	  else echo "FAILED $$g (exit $$rc)"; status=1; fi; \
	done; exit $$status

## guest-tinygo: the Go example built with TinyGo (skips with a message when tinygo is missing)
guest-tinygo: host
	@EXTWS_WASM=$(BIN) guest-examples/go/calc/build-tinygo.sh $(GUESTS)/calc-tinygo.wasm; \
	rc=$$?; [ $$rc -eq 77 ] && exit 0 || exit $$rc

BENCH ?= quick

## bench: benchmarks -> target/bench/{results.json,results.md,*.png,history.md} (BENCH=full: the long run)
bench: guests
	BENCH=$(BENCH) bench/run.sh

FUZZ_SECONDS ?= 60

## fuzz: every fuzz target (host/tests/fuzz, docs/fuzzing.md) for FUZZ_SECONDS each, one after
## the other (not in CI: about 8 minutes at the default); prints executions and findings per
## target, the log in target/fuzz/log.txt; fails when a target found something
fuzz: guest-rust
	@mkdir -p target/fuzz
	@{ FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test -p extws-wasm --test fuzz -- --ignored \
	    --test-threads=1 --nocapture 2>&1; echo $$? > target/fuzz/status; } | tee target/fuzz/log.txt
	@echo "== fuzz summary ($(FUZZ_SECONDS) s per target)"
	@grep -o 'fuzz [a-z_]*: .* findings' target/fuzz/log.txt
	@exit $$(cat target/fuzz/status)

## soak: SOAK_SECONDS (default 600) of steady mixed load against a release server, RSS, open
## fds and the clean tenant's p50/p99 sampled every 10 s -> target/soak/{soak.json,soak.csv,
## soak.png}; fails if memory grows, fds grow or the clean p99 leaves its bound (not in CI).
## The fault tests (Redis killed/frozen, disk full, kill -9, SIGTERM) are quick: `make test`.
soak: guest-rust
	cargo build --release -p extws-wasm -p extws-bench
	$(CARGO_TARGET_DIR)/release/extws-bench soak --seconds $(SOAK_SECONDS) \
	  --extws $(CARGO_TARGET_DIR)/release/extws-wasm --guests $(GUESTS) --out $(CURDIR)/target/soak

lint:
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	rm -rf $(GUESTS)
