# lsid: two commands for a fresh machine with only python3.
#   make book   create .venv, install, run the study (profile $(PROFILE)) on $(AOI), build the HTML book
#   make test   create .venv if needed, run the linter (ruff) and the test suite
# Variables: PROFILE=smoke|cpu|paper (default cpu), AOI=data/aoi/<name>.yaml, PYTHON=python3.

PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= cpu
AOI     ?= data/aoi/ahai-synthetic.yaml
# --dist loadgroup: the tests that share the smoke book (xdist_group) run on one worker, which builds it once
PYTEST_ARGS ?= -n 2 --dist loadgroup

BIN := $(VENV)/bin
STAMP := $(VENV)/.lsid-installed

# The machine this project is built on caps pip at torchvision 0.29.1 through a global constraints
# file; requirements.txt pins 0.29.2 (the release the project tests), so installs ignore outside
# constraint files. requirements.txt is the only source of versions.
PIP := PIP_CONSTRAINT=/dev/null $(BIN)/python -m pip

.PHONY: all install book test lint clean distclean

all: test

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/lsid run --aoi $(AOI) --profile $(PROFILE)

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check lsid tests benchmarks notebooks

clean:
	rm -rf _build book/_executed .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) runs
