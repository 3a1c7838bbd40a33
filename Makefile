# The two commands of the README, each self-contained on a fresh machine:
#   make demo   creates .venv, installs saltseg, runs the whole pipeline on the synthetic dataset
#   make test   creates .venv, installs saltseg, runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test lint dag clean

$(BIN)/saltseg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: $(BIN)/saltseg
	$(BIN)/snakemake --cores $(CORES) --resources gpu=1 --configfile config/demo.yaml
	@cat results/test_score.txt

test: $(BIN)/saltseg
	$(BIN)/pytest -n $(CORES) --dist loadfile --durations=15

lint: $(BIN)/saltseg
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --configfile config/demo.yaml

dag: $(BIN)/saltseg
	$(BIN)/snakemake --configfile config/demo.yaml --rulegraph mermaid-js > docs/rulegraph.mmd

clean:
	rm -rf results .snakemake
