# The two commands a newcomer needs: `make run` and `make test`.
# Both create the virtual environment and install what they need first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
WEB_PORT ?= 8000

.PHONY: run test lint format clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,lint]"
	touch $@ $(VENV)/.installed

DIMSE_PORT ?= 11112

# The demo: the embedded SQLite database under var/, demo data loaded once,
# an admin login printed, the web UI, REST API, UPS-RS and its WebSocket events
# on http://127.0.0.1:8000 (uvicorn, ASGI) and the DICOM service on port 11112
# (accepting any calling AE title) until Ctrl-C.
run: export DEBUG ?= 1
run: export RIS_DIMSE_ACCEPT_ANY_AE ?= 1
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py demo_setup
	@echo "Web UI: http://$(HOST):$(WEB_PORT)/ (logins above)  Admin: /admin/  REST API: /api/docs/"
	@echo "DICOM service: AE title $${RIS_AE_TITLE:-RIS}, port $(DIMSE_PORT) (try: findscu -W -aec RIS -k PatientName 127.0.0.1 $(DIMSE_PORT))"
	$(BIN)/python manage.py dimse --port $(DIMSE_PORT) & dimse=$$!; \
	trap 'kill $$dimse 2>/dev/null; wait $$dimse' EXIT INT TERM; \
	$(BIN)/uvicorn ris.asgi:application --host $(HOST) --port $(WEB_PORT)

# The whole suite: SQLite by default, PostgreSQL when DATABASE_URL points at one.
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

# Modality Worklist latency against DCMTK wlmscpfs at 100, 1,000, 10,000 and
# 100,000 scheduled steps, the worklist under load (50 modalities) and memory
# over 10,000 associations, MPPS pairs and UPS event fan-out (empty, and with
# 10,000 completed workitems and MPPS), a mixed MPPS and UPS load with its
# connection check, and the day board's cost by day size (docs/benchmarks.md;
# about 35 minutes in all). Needs DCMTK and a
# PostgreSQL on 127.0.0.1:5432 where user postgres may create databases (each
# script drops and creates only its own ris_bench* database).
bench: $(VENV)/.installed
	$(BIN)/python bench/mwl_latency.py $(BENCH_ARGS)
	$(BIN)/python bench/mwl_load.py
	$(BIN)/python bench/ups_fanout.py
	$(BIN)/python bench/mixed_load.py
	$(BIN)/python bench/web_board.py
