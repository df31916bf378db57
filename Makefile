# The course's commands. From a fresh clone, with only Python 3.10+ and make:
#   make lab      create the environment if needed, open JupyterLab on the first lesson
#   make test     create the environment if needed, run the whole test suite (what CI runs)
#   make check    run the lesson checks on your rnnlib/ (make check L=02 for one lesson)
#   make nbval    run the lessons under nbval on your rnnlib/, as CI does (make nbval L=02 for one lesson)
#   make generate FORCE=1 FILES=rnnlib/data.py   start a file over from a fresh copy (yours goes to backups/)
# Instructors (docs/instructors.md):
#   make release OUT=dir              write the student edition: no reference, no solved problem set
#   make grade SUBMISSIONS=dir OUT=dir   grade a folder of submissions with your checks (POINTS=table.csv)
#   make autograder OUT=file.zip      build the Gradescope autograder from the same code
#   make test-hub                     the JupyterHub hand-out test (installs JupyterHub; not in make test)
# The environment is .venv/, made with uv when it is installed (faster), else venv + pip.

VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
# RNNLIB=reference selects solutions/rnnlib; make passes it on to JupyterLab, the kernels and checks.
export RNNLIB

.PHONY: lab test test-hub check nbval generate notebooks release grade autograder clean

# Containers often run as root, which JupyterLab refuses unless told.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# The server's root is the course, and lesson 00 opens first with the file browser at that root
# (file-browser-path=/; opening a file alone shows the file's folder), so rnnlib/ and exercises/ are in
# view beside notebooks/. The first address printed is /, which redirects there with its token.
LAB_START := --LabApp.default_url='/lab/tree/notebooks/00_welcome.ipynb?file-browser-path=/' \
	--ServerApp.custom_display_url=/
lab: $(VENV)/.installed
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir='$(CURDIR)' $(LAB_START)

test: $(VENV)/.installed $(VENV)/.torch $(VENV)/.browser $(VENV)/.sandbox
	$(VENV)/bin/ruff check .
	RNNLIB=reference $(VENV)/bin/pytest -n 2 --dist loadfile

check: $(VENV)/.installed
	$(PY) tools/check.py $(L)

nbval: $(VENV)/.installed
	$(PY) tools/nbval_lessons.py $(L)

# Instructors: regenerate rnnlib/ and exercises/ from solutions/, re-execute the lessons. A file holding
# edits is kept (and if solutions/ changed it, nothing is written); FORCE=1 replaces every such file with a
# fresh copy, or with FILES='rnnlib/data.py ...' only those, after copying each under backups/<time>/.
generate: $(VENV)/.installed
	$(PY) tools/generate.py $(if $(FORCE),--force) $(FILES)

# Execute the lessons and solved problem sets with the reference (FILES='notebooks/10_shakespeare.ipynb ...'
# for some). One that holds changes since it was last executed here stops it; FORCE=1 executes it anyway,
# after copying it under backups/<time>/.
notebooks: $(VENV)/.installed
	$(PY) tools/notebooks.py $(if $(FORCE),--force) $(FILES)

release: $(VENV)/.installed
	@test -n "$(OUT)" || { echo "usage: make release OUT=dir"; exit 2; }
	$(PY) tools/release.py '$(OUT)'

grade: $(VENV)/.installed $(VENV)/.sandbox
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade SUBMISSIONS=dir OUT=dir [POINTS=table.csv]"; exit 2; }
	$(PY) tools/grade.py '$(SUBMISSIONS)' '$(OUT)' $(if $(POINTS),--points '$(POINTS)')

autograder: $(VENV)/.installed
	@test -n "$(OUT)" || { echo "usage: make autograder OUT=autograder.zip"; exit 2; }
	$(PY) tools/autograder.py '$(OUT)'

$(VENV)/.installed: pyproject.toml
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "The course needs Python 3.10 or newer as python3."; exit 1; }
ifneq ($(UV),)
	uv venv --seed --allow-existing $(VENV)
	uv pip install --python $(PY) -e '.[dev]'
else
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
endif
	touch $@

# torch is only the tests' reference. pip (not uv) installs it: a pinned CPU build may lie on disk, and
# an unpinned torch would pull a multi-GB CUDA build.
$(VENV)/.torch: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check 'torch==2.13.0'
	touch $@

# The browser tests (pytest -m browser) drive the system's Chromium through Playwright; Playwright's own
# browser download cannot run here. As root with apt-get, Chromium is installed; otherwise those tests skip.
$(VENV)/.browser: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[browser]'
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "Chromium could not be installed: the browser tests will skip."; \
	else echo "Chromium is not installed (apt-get install chromium): the browser tests will skip."; fi
	touch $@

# Grading runs each submission in a bubblewrap sandbox (tools/grading/sandbox.py). As root with apt-get it
# is installed; otherwise make grade says what is missing, and the grading tests skip.
$(VENV)/.sandbox: $(VENV)/.installed
	@if command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
		|| echo "bubblewrap could not be installed: the grading tests will skip."; \
	else echo "bubblewrap is not installed (apt-get install bubblewrap): the grading tests will skip."; fi
	touch $@

# make test-hub: the JupyterHub test (tests/end_to_end/test_jupyterhub.py), which needs JupyterHub, nbgitpuller
# and JupyterHub's proxy, configurable-http-proxy, a Node.js package put in .venv/node/. make test leaves it
# out (it skips there): the whole test command must stay under 15 minutes on two cores.
test-hub: $(VENV)/.installed $(VENV)/.sandbox $(VENV)/.hub
	RNNLIB=reference $(VENV)/bin/pytest tests/end_to_end/test_jupyterhub.py

$(VENV)/.hub: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[hub]'
	@if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy; \
	else echo "npm is not installed: the JupyterHub test will skip."; fi
	touch $@

clean:
	rm -rf $(VENV)
