# ConnectDesk — the two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint typecheck install lock bench prove fuzz clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve pyproject.toml to today's newest allowed versions and pin them, with the
## sha256 of every distribution, into requirements.lock (then commit it). uv does the resolving; it
## is a tool of this target only, kept out of .venv so the venv holds exactly the locked set.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --target $(VENV)/lock-tool 'uv>=0.9,<1'
	PYTHONPATH=$(VENV)/lock-tool $(VENV)/lock-tool/bin/uv pip compile pyproject.toml --extra test \
	  --upgrade --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --custom-compile-command 'make lock' --quiet -o requirements.lock

## make run: migrate, seed demo data, start Temporal dev server + worker + API/UI
run: install
	$(BIN)/connectdesk dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy domain workflows

## Debian's chromium for the browser tests (Playwright drives it; no browser download)
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## make test: lint, type-check, then the whole suite (SQLite, or PostgreSQL with TEST_DATABASE_URL)
test: lint typecheck chromium
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

## make prove: the fault suite at full scale (tests/reliability: 150 requests per scenario, the worker
## SIGKILLed every few seconds, dev server restarts, a database outage), on SQLite or TEST_DATABASE_URL;
## prints the table of figures. `make test` runs a light pass of it.
prove: install
	$(BIN)/python -m cli.dependency_audit
	RELIABILITY=full $(BIN)/python -m pytest tests/reliability -v $(PYTEST_ARGS)

## make fuzz: schemathesis over every operation of the real app (tests/fuzz), every phase (examples,
## coverage, fuzzing, stateful), at least 2,000 cases; prints the count. `make test` runs a sample.
FUZZ_MAX_EXAMPLES ?= 30
fuzz: install
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_PHASES=examples,coverage,fuzzing,stateful FUZZ_MIN_CASES=2000 \
	  $(BIN)/python -m pytest tests/fuzz -q -s $(PYTEST_ARGS)

## make bench: every benchmark on SQLite and PostgreSQL (scale_bench: SQLite, 10,000 open requests);
## tables printed, JSON under bench/results/
bench: install
	$(BIN)/python bench/seed_bench.py --consumers 100000
	$(BIN)/python bench/seed_bench.py --consumers 100000 --postgres
	$(BIN)/python bench/driver_bench.py --postgres
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/api_bench.py --postgres
	$(BIN)/python bench/read_bench.py
	$(BIN)/python bench/read_bench.py --postgres
	$(BIN)/python bench/scale_bench.py
	$(BIN)/python bench/scaleout_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
