# The two commands: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint browser fixtures bench doc-images clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# bytecode, as a wheel's install has it (an editable install under
	# PYTHONDONTWRITEBYTECODE=1 compiles every module at every start otherwise)
	$(BIN)/python -m compileall -q src/gradtrace
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradtrace demo

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/ruff format --check src tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The report's browser test drives Debian's chromium (never a downloaded browser).
browser:
	@test -x /usr/bin/chromium || (command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	   >/dev/null) || echo "note: chromium could not be installed; the browser test is skipped")

# --dist loadfile: a test file's tests on one worker, which compiles their programs
# once and keeps them (spread over the workers, each compiled them)
test: lint browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile

# Benchmarks against the peers (needs torch: pip install .[bench]); see docs/benchmarks.md.
bench: $(STAMP)
	$(or $(BENCH_PYTHON),$(BIN)/python) benchmarks/sweep_vs_torch.py --gradtrace $(BIN)/gradtrace

# Regenerate the oracle fixtures: needs the real frameworks (see tools/fixtures/README.md).
fixtures:
	$(FIXTURE_PYTHON) tools/fixtures/make_fixtures.py

# The pictures in docs/img, drawn again by the commands the docs print beside them.
doc-images: $(STAMP)
	$(BIN)/python tools/doc_images.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
