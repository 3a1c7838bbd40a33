# The two commands of the README, each self-contained on a fresh machine:
#   make demo   creates .venv, installs saltseg, runs the whole pipeline on the synthetic dataset
#   make test   creates .venv, installs saltseg, runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test lint dag clean wheels

$(BIN)/saltseg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-cache-dir -e ".[dev]"
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

# Offline wheels for benchmarks/gpu_check.sh on a CUDA box with Python 3.12 and no network.
wheels: $(BIN)/saltseg
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 -d wheels -r benchmarks/gpu_wheels.txt

clean:
	rm -rf results .snakemake
