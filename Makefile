# Safeguard: the two set-up commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean system-deps video-extra

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,spark,nudity]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: $(STAMP)
	$(VENV)/bin/safeguard demo

test: $(STAMP) system-deps video-extra
	$(PY) -m pytest -q -n 2 --dist loadgroup

# vPDQ needs the libav*-dev packages from system-deps; video stays optional.
video-extra: $(STAMP)
	@$(PY) -c "import vpdq" 2>/dev/null || $(PY) -m pip install --quiet -e '.[video]' \
	  || echo "note: vpdq could not be built; video hashing is disabled (install libav*-dev)"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache
