# Two entry points for a fresh machine (see README):  make demo   |   make test
# Everything is installed into ./.venv; torch==2.13.0 goes in first and exactly (local CPU wheel).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-slow bench firmware clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	$(PIP) install -q --no-deps mediapipe==0.10.21
	$(PY) -c "import dms, torch, bpy, onnxruntime, cv2, mediapipe; print('dms', dms.__version__, 'installed')"
	touch $(STAMP)

# The main job: the live loop on a bundled clip with the shipped models (headless; writes out/demo/).
demo: install
	$(VENV)/bin/dms run --source tools/demo/demo_clip.mp4 --headless --out out/demo

# pytest's exit code 5 (no tests collected) counts as success; everything else is passed through.
test: install
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

test-slow: install
	$(PY) -m pytest -q -m slow

bench: install
	$(VENV)/bin/dms bench runtime

firmware:
	$(MAKE) -C firmware_bridge test

clean-venv:
	rm -rf $(VENV)
