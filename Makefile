# The two commands a newcomer needs: `make run` and `make test`. See README.md.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600

.PHONY: all deps configure build run test bench fuzz soak clean install

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@./examples/quickstart/run.sh $(BUILD_DIR)/portico

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@./bench/run.sh $(BUILD_DIR)

# libFuzzer targets (clang, ASan + UBSan) in build-fuzz/, FUZZ_SECONDS each; see scripts/fuzz.sh.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# Soak (not in `make test`): wrk load while the config changes every 100 ms and backends are
# killed and restarted, SOAK_SECONDS long; see tests/soak/soak.py and tests/README.md.
soak: build
	@PORTICO_BIN=$(abspath $(BUILD_DIR))/portico PORTICO_TEST_BACKEND=$(abspath $(BUILD_DIR))/portico_test_backend \
		python3 tests/soak/soak.py --seconds $(SOAK_SECONDS)

install: build
	@cmake --install $(BUILD_DIR)

clean:
	@rm -rf $(BUILD_DIR)
