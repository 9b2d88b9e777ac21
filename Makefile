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

.PHONY: help setup demo test test-python test-scala stack-up stack-down stack-status consumer-jar proto clean

help:
	@echo "make demo         run the pipeline end to end on a local Kafka (ARGS='--keep -n 5000' to pass options)"
	@echo "make test         run every test"
	@echo "make setup        install and build everything the two above need"
	@echo "make stack-up     start the local Kafka + schema registry and leave them running"
	@echo "make stack-down   stop them"
	@echo "make consumer-jar build the Scala consumer's fat jar ($(JAR))"
	@echo "make clean        remove build output (keeps downloaded dependencies in .stack/)"

setup: $(VENV)/.installed proto stack-install consumer-jar

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
	touch $@

proto: $(VENV)/.installed
	$(PY) -m txpipe.compile_protos

stack-install: $(VENV)/.installed
	$(PY) -m txpipe.local_stack install

consumer-jar: $(JAR)

$(JAR): $(SCALA_SOURCES)
	cd scala && ../bin/sbt assembly </dev/null

demo: setup
	$(PY) -m txpipe.demo $(ARGS)

test: $(VENV)/.installed proto stack-install
	cd scala && ../bin/sbt test assembly </dev/null
	$(MAKE) --no-print-directory test-python

test-python: $(VENV)/.installed proto
	@# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; exit $$rc

test-scala:
	cd scala && ../bin/sbt test </dev/null

stack-up: $(VENV)/.installed
	$(PY) -m txpipe.local_stack up $(ARGS)

stack-down:
	PYTHONPATH=src $(PYTHON) -m txpipe.local_stack down

stack-status:
	PYTHONPATH=src $(PYTHON) -m txpipe.local_stack status

clean:
	rm -rf scala/target scala/project/target src/txpipe/gen .pytest_cache
