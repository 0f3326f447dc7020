PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8501
# Every install takes the tested versions from requirements.lock (`make lock` renews it).
INSTALL := $(BIN)/pip install --quiet --constraint requirements.lock

.PHONY: install install-dev migrate run demo test lint bench lock clean

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The application: dashboard, discovery and PostgreSQL support.
$(VENV)/.installed-app: $(BIN)/pip pyproject.toml requirements.lock
	$(INSTALL) -e '.[postgres,discovery,dashboard]'
	touch $@

# Everything the suite needs (a superset of the application's extras).
$(VENV)/.installed-dev: $(BIN)/pip pyproject.toml requirements.lock
	$(INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app

install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python -m registry migrate

run: migrate
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

demo: install
	$(BIN)/python -m registry.demo --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

# The newest versions pyproject.toml allows, resolved in a throw-away virtualenv; run
# `make test` (which installs them) before committing the new lock.
lock:
	rm -rf $(VENV)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --upgrade pip
	$(VENV)-lock/bin/pip install --quiet -e '.[dev]'
	{ sed -n '/^#/p' requirements.lock; $(VENV)-lock/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) $(VENV)-lock data build .pytest_cache .mypy_cache .ruff_cache

# Generated package data (README "Where retirement dates come from", "The curated catalog").
.PHONY: lifecycle-data catalog-data
lifecycle-data: install-dev
	$(BIN)/python scripts/lifecycle_data.py

catalog-data: install-dev
	$(BIN)/python scripts/catalog_data.py
