# extws-wasm — the two commands a newcomer needs: `make run` and `make test`.
#
# Builds go to $(CARGO_TARGET_DIR) (default ./target); components land in target/guests/.

CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
BIN        := $(CARGO_TARGET_DIR)/debug/extws-wasm
GUESTS     := $(CURDIR)/target/guests
WASM_OUT   := $(CARGO_TARGET_DIR)/wasm32-wasip2/guest
TEST_GUESTS := trap misbehave loop-forever memory-hog stack-overflow huge-reply probe slow stateful
LANGS      := go c python js
LISTEN     ?= 127.0.0.1:8000

.PHONY: run test e2e bench host guests guest-rust guests-other guest-tinygo wasm-target lint fmt clean

## run: build the host and the calc example, serve it on ws://$(LISTEN) without auth
run: host guest-rust
	$(BIN) serve --component $(GUESTS)/calc.wasm --listen $(LISTEN) --no-auth

## test: build everything the tests need and run them (Rust suites, then the JS/Chromium e2e)
test: host guests
	cargo test -p extws-wasm -- --test-threads=2
	$(MAKE) e2e

# Node 20 exposes the global WebSocket only behind a flag; Node >= 22 has it.
E2E_NODE_FLAGS := $(shell node -e 'process.stdout.write(typeof WebSocket === "function" ? "" : "--experimental-websocket")' 2>/dev/null)

## e2e: the JS client against the real server, and the Mini App in headless Chromium
e2e: host guest-rust
	cd tests/e2e && npm ci --no-audit --no-fund
	cd tests/e2e && EXTWS_WASM=$(BIN) timeout 600 node $(E2E_NODE_FLAGS) --test

host:
	cargo build -p extws-wasm

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

## guests: every example component whose toolchain is present (others say why they skip)
guests: guest-rust guests-other

guest-rust: wasm-target
	cargo build --target wasm32-wasip2 --profile guest -p calc -p counter $(addprefix -p ,$(TEST_GUESTS))
	@mkdir -p $(GUESTS)
	cp $(WASM_OUT)/counter.wasm $(GUESTS)/counter.wasm
	cp $(WASM_OUT)/calc.wasm $(GUESTS)/calc.wasm
	cp $(WASM_OUT)/calc.wasm $(GUESTS)/calc-rust.wasm
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
	done; exit $$status

## guest-tinygo: the Go example built with TinyGo (skips with a message when tinygo is missing)
guest-tinygo: host
	@EXTWS_WASM=$(BIN) guest-examples/go/calc/build-tinygo.sh $(GUESTS)/calc-tinygo.wasm; \
	rc=$$?; [ $$rc -eq 77 ] && exit 0 || exit $$rc

BENCH ?= quick

## bench: benchmarks -> target/bench/{results.json,results.md,chart.png} (BENCH=full: the long run)
bench: guests
	BENCH=$(BENCH) bench/run.sh

lint:
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings

fmt:
	cargo fmt --all

clean:
	rm -rf $(GUESTS)
