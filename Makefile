# GRU Memory Lab: two commands on a fresh Debian machine.
#   make run    set up (.venv, Debian Qt libraries, CPU torch) and launch the app
#   make test   the same set-up plus the dev extra, then ruff and the whole test suite
# CUDA is opt-in: `make run GML_TORCH=cuda` installs PyPI's CUDA build of torch instead of the CPU one.
PY ?= python3
VENV ?= .venv
GML_TORCH ?= cpu
VPY := $(VENV)/bin/python

.PHONY: run test setup setup-dev sysdeps lint bench clean

run: setup
	$(VPY) main.py $(ARGS)

test: setup-dev
	$(VPY) -m ruff check .
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -ra $(PYTEST_ARGS)

sysdeps:
	@bash scripts/sysdeps.sh

setup: sysdeps
	@GML_TORCH=$(GML_TORCH) PY=$(PY) VENV=$(VENV) bash scripts/setup_venv.sh

setup-dev: sysdeps
	@GML_TORCH=$(GML_TORCH) PY=$(PY) VENV=$(VENV) bash scripts/setup_venv.sh dev

lint: setup-dev
	$(VPY) -m ruff check .

bench: setup-dev
	$(VPY) bench/online.py && $(VPY) bench/batch.py && $(VPY) bench/gui.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
