# The two commands of the README: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
# Runs, schedules and sensor cursors of `make dev` persist here (git-ignored).
DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install browser run test test-fast dev bench bench-backends clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled once here: uv installs without it, and where PYTHONDONTWRITEBYTECODE is set
# (as on the machines this was built on) every process compiled every module it imported again:
# importing the Definitions took 6.0 CPU s instead of 2.5, in each run, extraction worker and test process.
install: $(UV)  ## the locked environment in .venv (dev tools included), bytecode compiled
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode
	$(VENV)/bin/python -m compileall -q -j 0 factledger assets orchestration schemas benchmarks tests >/dev/null

run: install  ## ingest raw/, check, reconcile and publish into warehouse/
	$(VENV)/bin/factledger run

# Three pytest-xdist workers on the 2-core machines: the server, daemon and browser tests spend much
# of their time waiting on other processes, which a third worker fills (measured: 266 s with 3
# workers, 332 s with 2, on a fresh clone). Whole test files or shared folders per worker
# (tests/conftest.py). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 3
test: install browser  ## the whole test suite
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS)

test-fast: install  ## the suite less the tests marked slow (daemon, servers, browser, other processes): for the inner loop
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) -m "not slow"

# The report's browser test drives Debian's chromium through chromium-driver. Installed with apt-get
# only when missing (CI runs as root on a fresh machine; elsewhere sudo is used if there is one).
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
browser:  ## Debian's chromium + chromium-driver for the report's browser test (apt-get, only when missing)
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; \
	else echo "make browser: $(CHROMIUM) or $(CHROMEDRIVER) missing and not root: the browser test will be skipped" >&2; exit 0; fi; \
	echo "installing chromium and chromium-driver with apt-get"; \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver

# The Dagster UI and daemon (schedule, sensor, run queue) on loopback, with the instance in $(DAGSTER_HOME).
DAGSTER_PORT ?= 3000
dev: install  ## Dagster UI + daemon on http://127.0.0.1:$(DAGSTER_PORT); runs and sensor cursors persist in .dagster_home/
	mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_PORT)   (DAGSTER_HOME=$(DAGSTER_HOME); Ctrl-C stops UI and daemon)"
	DAGSTER_HOME=$(DAGSTER_HOME) \
	FACTLEDGER_RAW=$${FACTLEDGER_RAW:-$(CURDIR)/raw} \
	FACTLEDGER_WAREHOUSE=$${FACTLEDGER_WAREHOUSE:-$(CURDIR)/warehouse} \
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p $(DAGSTER_PORT)

# Every figure of docs/performance.md, each beside its baseline in the same run (about an hour on 2 cores).
bench: install  ## extraction vs quantulum3 and the DuckDB floor, checks vs pandera.ibis and hand-written SQL, end to end on 10k and 100k articles
	$(VENV)/bin/python benchmarks/bench_claims.py --articles 10000 --quantulum3-limit 2000
	$(VENV)/bin/python benchmarks/bench_floor.py --articles 10000
	$(VENV)/bin/python benchmarks/bench_checks.py --rows 10000000
	$(VENV)/bin/python benchmarks/bench_scale.py --articles 10000 --articles 100000 --no-single

bench-backends: install  ## one full run on SQLite + local vs Postgres + S3 (10,000 articles)
	$(VENV)/bin/python benchmarks/bench_backends.py

clean:  ## remove the environment and everything the pipeline wrote
	rm -rf $(VENV) $(TOOLS) warehouse/lake warehouse/reports warehouse/exports .dagster_home
