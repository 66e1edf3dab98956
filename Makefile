# The same commands locally and in CI. `make demo` and `make test` each set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORE := $(VENV)/.installed-core

.PHONY: setup core demo test lint unit thorough bench goldens clean fuzz

# Everything the tests need: the dev tools and the PyTorch extras (torch pinned to 2.13.0).
setup: $(STAMP)

$(STAMP): pyproject.toml | $(CORE)
	$(BIN)/pip install --quiet -e ".[dev,peers,onnx,train,visualise]"
	touch $(STAMP)

# cnncalc alone (typer, rich, pyyaml, sympy): all the analysis commands need, no torch.
core: $(CORE)

$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(CORE)

# A real analysis of bundled specs on a fresh machine.
demo: core
	$(BIN)/cnncalc summary specs/alexnet.yaml
	$(BIN)/cnncalc flops specs/resnet50.yaml --convention fvcore --format md | tail -n 12
	$(BIN)/cnncalc shape specs/lenet5.yaml --input 1xHxW

# Everything CI runs: lint, types, tests.
test: setup lint unit

lint: setup
	$(BIN)/ruff check cnncalc tests benchmarks
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest

# Every property test with ten times the examples (tests/conftest.py): nightly, not per push.
thorough: setup
	$(BIN)/python -m pytest --hypothesis-profile thorough

bench: setup
	$(BIN)/python benchmarks/run.py

# Regenerate golden files after a deliberate change; review them with git diff.
goldens: setup
	CNNCALC_UPDATE_GOLDENS=1 $(BIN)/python -m pytest tests -q -k golden

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The spec fuzzer (tests/fuzz/fuzz.py): 10,000 mutants of the bundled specs through every
# command, a tenth as real processes, 10 CPU-seconds each. Last line:
# `fuzz: N specs, T tracebacks, H hangs`; failing specs are kept in .fuzz/ for tests/fuzz/.
fuzz: setup
	$(BIN)/python -m tests.fuzz.fuzz --cases 10000 --save .fuzz
