# The two commands: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fixtures bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradtrace demo

lint: $(STAMP)
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Benchmarks against the peers (needs torch: pip install .[bench]); see docs/benchmarks.md.
bench: $(STAMP)
	$(or $(BENCH_PYTHON),$(BIN)/python) benchmarks/sweep_vs_torch.py --gradtrace $(BIN)/gradtrace

# Regenerate the oracle fixtures: needs the real frameworks (see tools/fixtures/README.md).
fixtures:
	$(FIXTURE_PYTHON) tools/fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
