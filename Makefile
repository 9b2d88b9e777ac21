# A new user needs two commands:
#   make demo   installs what is missing, runs the whole pipeline on a local Kafka, checks the totals
#   make test   runs every test (Scala and Python, unit and integration on a real local stack)
# Everything is installed inside the repository (.venv/, .stack/): nothing global.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JAR := scala/target/txpipe-consumer.jar
SCALA_SOURCES := $(shell find scala/src scala/project -type f \( -name '*.scala' -o -name '*.sbt' -o -name '*.properties' \) 2>/dev/null) scala/build.sbt $(wildcard proto/*.proto)

# Transactions per fault scenario (tests/faults). `make test` runs them at the lighter CI size;
# `make test-faults` runs only them, at the full size the issue asks for.
TXPIPE_FAULT_TX ?= 20000
export TXPIPE_FAULT_TX
FAULT_TX ?= 100000
# The consumer-kill scenario also runs on the sasl_ssl and mtls stacks: smaller under `make test`
# (fewer transactions and kills: CI time), the plain size and five kills under `make test-faults`.
TXPIPE_SECURED_FAULT_TX ?= 3000
TXPIPE_SECURED_FAULT_KILLS ?= 3
export TXPIPE_SECURED_FAULT_TX TXPIPE_SECURED_FAULT_KILLS

# The soak tests (tests/soak). `make test` runs them short (their defaults); `make test-soak` at the
# issue's size; `make test-soak-long` for an hour, writing its figures and plot to docs/soak/.
SOAK_SECONDS ?= 660
SOAK_PRELOAD ?= 3000000
SOAK_PRELOAD_RETENTION ?= 600

.PHONY: help setup demo test test-python test-scala test-faults test-live test-soak test-soak-long test-stdin-1g stack-up stack-down stack-status consumer-jar proto lint fmt clean

help:
	@echo "make demo         run the pipeline end to end on a local Kafka (ARGS='--keep -n 5000' to pass options)"
	@echo "make test         run every test (fault scenarios at TXPIPE_FAULT_TX=$(TXPIPE_FAULT_TX) transactions)"
	@echo "make fmt-scala    format the Scala sources and build files with scalafmt (make test checks them)"
	@echo "make test-faults  run only the fault scenarios, at FAULT_TX=$(FAULT_TX) transactions each"
	@echo "make test-live    the consumer's HTTP service with $(LIVE_TX) transactions a test (three instances, scale 3->2->3, kill -9)"
	@echo "make test-soak    the consumer for $(SOAK_SECONDS)s at a steady rate, and a store of $(SOAK_PRELOAD) ids forgotten under load"
	@echo "make test-soak-long  the same for an hour; figures and plot into docs/soak/"
	@echo "make test-stdin-1g  the producer streaming 1 GB of rows from standard input to a local Kafka"
	@echo "make setup        install and build everything the two above need"
	@echo "make stack-up     start the local Kafka + schema registry and leave them running"
	@echo "make stack-down   stop them"
	@echo "make consumer-jar build the Scala consumer's fat jar ($(JAR))"
	@echo "make lint         ruff check, ruff format --check and mypy (make test runs it first)"
	@echo "make fmt          fix what can be fixed: ruff format, ruff check --fix, scalafmt"
	@echo "make clean        remove build output (keeps downloaded dependencies in .stack/)"

setup: $(VENV)/.installed proto stack-install consumer-jar

# `pip install .` installs only the producer package (txpipe). The project's tooling (src/txpipe_tools:
# local stack, demo, consumer runner, verifier) is found through a path entry in the venv instead, so
# `python -m txpipe_tools...` works from anywhere with the venv's python.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-bench.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "txpipe_tools.pth").write_text(str(pathlib.Path("src").resolve()) + "\n")'
	touch $@

proto: $(VENV)/.installed
	$(PY) -m txpipe_tools.compile_protos

stack-install: $(VENV)/.installed
	$(PY) -m txpipe_tools.local_stack install

# Debian's Chromium and ChromeDriver for the live page's browser test (nothing when present).
.PHONY: browser-install
browser-install:
	bash tools/browser/setup-chromium.sh

consumer-jar: $(JAR)

$(JAR): $(SCALA_SOURCES)
	cd scala && ../bin/sbt assembly </dev/null

demo: setup
	$(PY) -m txpipe_tools.demo $(ARGS)

test: $(VENV)/.installed proto stack-install browser-install
	cd scala && ../bin/sbt scalafmtCheckAll scalafmtSbtCheck test assembly </dev/null
	$(MAKE) --no-print-directory test-python

# Lint, format check and types: seconds, so `make test` runs them before the suites.
LINT_PATHS := src tests bench
test: lint

lint: $(VENV)/.installed proto
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff format $(LINT_PATHS)
	$(VENV)/bin/ruff check --fix $(LINT_PATHS)
	$(MAKE) --no-print-directory fmt-scala

test-python: $(VENV)/.installed proto
	@# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; exit $$rc

test-faults: $(VENV)/.installed proto stack-install consumer-jar
	TXPIPE_FAULT_TX=$(FAULT_TX) TXPIPE_SECURED_FAULT_TX=$(FAULT_TX) TXPIPE_SECURED_FAULT_KILLS=5 \
	  $(PY) -m pytest -m faults -s tests/faults $(PYTEST_ARGS)

# The consumer's HTTP service at the issue's size: 50,000 transactions in each test; the three-instance
# ones (every account on every instance, scale 3->2->3, kill -9) over 200 accounts.
LIVE_TX ?= 50000

test-live: $(VENV)/.installed proto stack-install consumer-jar
	TXPIPE_LIVE_TX=$(LIVE_TX) TXPIPE_LIVE_MULTI_TX=$(LIVE_TX) TXPIPE_LIVE_DISRUPT_TX=$(LIVE_TX) \
	  $(PY) -m pytest -s tests/integration/test_live_totals.py $(PYTEST_ARGS)

test-soak: $(VENV)/.installed proto stack-install consumer-jar
	TXPIPE_SOAK_SECONDS=$(SOAK_SECONDS) TXPIPE_SOAK_PRELOAD=$(SOAK_PRELOAD) TXPIPE_SOAK_PRELOAD_RETENTION=$(SOAK_PRELOAD_RETENTION) \
	  TXPIPE_SOAK_REPORT=$(or $(SOAK_REPORT),soak-results.json) $(PY) -m pytest -m soak -s tests/soak $(PYTEST_ARGS)

# The stdin delivery test at the issue's size: 1 GB of valid rows through `-i -` (make test sends 20 MB).
test-stdin-1g: $(VENV)/.installed proto stack-install
	TXPIPE_STDIN_BYTES=1000000000 $(PY) -m pytest tests/integration/test_input_delivery.py -k streams_from_stdin -s $(PYTEST_ARGS)

test-soak-long: $(VENV)/.installed proto stack-install consumer-jar
	rm -f docs/soak/results.json
	$(MAKE) --no-print-directory test-soak SOAK_SECONDS=3600 SOAK_REPORT=docs/soak/results.json
	$(PY) -m tests.soak.plot docs/soak/results.json docs/soak/soak.png

test-scala:
	cd scala && ../bin/sbt test </dev/null

.PHONY: fmt-scala
fmt-scala:
	cd scala && ../bin/sbt scalafmtAll scalafmtSbt </dev/null

stack-up: $(VENV)/.installed
	$(PY) -m txpipe_tools.local_stack up $(ARGS)

stack-down:
	PYTHONPATH=src $(PYTHON) -m txpipe_tools.local_stack down

stack-status:
	PYTHONPATH=src $(PYTHON) -m txpipe_tools.local_stack status

clean:
	rm -rf scala/target scala/project/target src/txpipe/gen .pytest_cache .mypy_cache .ruff_cache

# Benchmark against Kafka's own tools (issue 5): results in bench-results/ (JSON, table, PNG).
# BENCH_ARGS e.g. "--size 100000 --reps 3"; bench-smoke is the tiny CI-sized run.
BENCH_OUT ?= bench-results

.PHONY: bench bench-smoke
bench: $(VENV)/.installed proto stack-install consumer-jar
	$(PY) -m bench.run --out $(BENCH_OUT) $(BENCH_ARGS)

bench-smoke: $(VENV)/.installed proto stack-install consumer-jar
	$(PY) -m bench.run --smoke --out $(BENCH_OUT)/smoke $(BENCH_ARGS)
