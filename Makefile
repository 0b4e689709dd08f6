# The two commands: `make report` and `make test`. Both create .venv/ from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PERIOD ?=
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
JOBS   ?= 2
# pytest-xdist: a test file (a notebook, for nbval) stays on one worker, so module fixtures are built
# once, and the files that start a local Spark share a worker (tests/conftest.py, ONE_SPARK)
XDIST  := $(if $(filter 1,$(JOBS)),,-n $(JOBS) --dist loadfile)

.PHONY: help report test test-slow lint check unit nbval notebooks docs messages sample-data bench clean

help:
	@echo "make report     build reports/<latest month>/ from the sample company (PERIOD=2025-Q4 to choose)"
	@echo "make test       lint beside the unit tests and the nbval regression tests of the notebooks"
	@echo "                in one pytest run on JOBS=2 workers (JOBS=1: one process); a few minutes"
	@echo "make test-slow  the tests marked slow: whole packs, the job under faults, the CLI in"
	@echo "                subprocesses, local Spark (CI runs both: .ci/run)"
	@echo "make notebooks  re-execute the notebooks in place (refresh stored outputs)"
	@echo "make docs       regenerate the KPI table of docs/metrics.md from the registry"
	@echo "make messages   extract the pack's words into kpilib/locale/kpilib.pot and add new ones to every .po"
	@echo "make bench      run the performance benchmarks"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# kpilib's bytecode, written once: where PYTHONDONTWRITEBYTECODE is set, each of a pack's processes (the
# runner, its workers, their kernels) would otherwise compile the package again (0.2 s of CPU each)
BYTECODE := $(BIN)/python -m compileall -q kpilib

report: $(STAMP)
	$(BYTECODE)
	env -u MPLBACKEND $(BIN)/kpi report $(if $(PERIOD),--period $(PERIOD),)

# lint and the tests side by side: mypy from an empty cache (a fresh clone) takes 19 s of two cores,
# which the test run's start and end leave partly idle (JOBS=1: one after the other); a failure of either
# fails `make test`
test: $(STAMP)
	@$(MAKE) --no-print-directory -j$(JOBS) lint check

# the notebooks' regression tests and the unit tests together, spread over $(JOBS) workers (the notebooks,
# 6-10 s each, first: short test files end the run on both workers); the tests marked slow
# (pyproject.toml) are left to `make test-slow`
check: $(STAMP)
	$(BYTECODE)
	env -u MPLBACKEND $(BIN)/python -m pytest $(XDIST) -m "not slow" $(NBVAL) notebooks tests -q -p no:cacheprovider

# whole packs, the job under faults, CLI runs in subprocesses, local Spark: seconds each (CI runs them)
test-slow: $(STAMP)
	$(BYTECODE)
	env -u MPLBACKEND $(BIN)/python -m pytest $(XDIST) -m slow tests -q -p no:cacheprovider

# mypy checks in $(JOBS) processes: 19 s instead of 32 s on two cores from an empty cache (a fresh clone)
lint: $(STAMP)
	$(BIN)/ruff check kpilib tests benchmarks
	$(BIN)/mypy $(if $(filter 1,$(JOBS)),,--num-workers $(JOBS))

unit: $(STAMP)
	env -u MPLBACKEND $(BIN)/python -m pytest $(XDIST) tests -q

nbval: $(STAMP)
	env -u MPLBACKEND $(BIN)/python -m pytest $(NBVAL) notebooks -q -p no:cacheprovider

notebooks: $(STAMP)
	env -u MPLBACKEND $(BIN)/python -m kpilib.report.notebooks

docs: $(STAMP)
	$(BIN)/python -c "from kpilib.report.registry import write_registry_docs; write_registry_docs()"

# the message template, then every language's catalog brought up to it (new messages empty, none fuzzy)
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k ngettext:1,2 --no-location --sort-output \
		--project kpilib -o kpilib/locale/kpilib.pot .
	for po in kpilib/locale/*.po; do \
		$(BIN)/pybabel -q update -N --ignore-obsolete -i kpilib/locale/kpilib.pot -o $$po -l $$(basename $$po .po) \
		|| exit 1; done

sample-data: $(STAMP)
	$(BIN)/kpi sample-data --out data/sample --force

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/model.py
	$(BIN)/python benchmarks/engine.py
	env -u MPLBACKEND $(BIN)/python benchmarks/scale.py --copies 1,10,100 --repeat 3

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
