# The two commands a stranger needs: `make demo` and `make test`. Both create .venv on first use.
# `make demo` installs the package alone (wheels preferred: nothing to build); `make test` adds the test
# extras (.[dev], whose llama-cpp-python builds from source for several minutes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
WORKSPACE ?= demo-workspace

.PHONY: demo test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --prefer-binary -e .
	@touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --prefer-binary -e '.[dev]'
	@touch $(DEV_STAMP) $(RUN_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/vivant demo --workspace $(WORKSPACE)

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n auto --durations=15

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_night.py
	$(BIN)/python benchmarks/bench_render.py
	$(BIN)/python benchmarks/bench_catalog.py
	$(BIN)/python benchmarks/bench_comfyui.py
	$(BIN)/python benchmarks/replay_seed_night.py

clean:
	rm -rf $(VENV) $(WORKSPACE) .pytest_cache .mypy_cache .ruff_cache
