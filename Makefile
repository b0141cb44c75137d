# Every target creates .venv (and fetches VGG weights) when needed, so a fresh clone needs only
# Python >= 3.10 and access to the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: lab test weights render bench clean slides reveal assignments mathjax browser

# The venv with stylelib and one of its extras (pyproject.toml): lab (JupyterLab, what the notebooks need),
# teach (lab and nbgrader, RISE, Jupyter Book: slides, site, assignments), dev (teach and the test tools).
# Each target asks for the smallest extra it needs; .venv/.installed-EXTRA records that it is in.
.PRECIOUS: $(VENV)/.installed-%
$(VENV)/.installed-%: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[$*]'
	touch $@

weights: $(VENV)/.installed-lab
	$(PY) -m stylelib weights

# Jupyter refuses to start as root (containers, cloud machines) unless given --allow-root.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
LAB_ARGS ?=
lab: weights
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) notebooks/

# mathjax (below) serves tests/test_render.py, reveal tests/test_slides.py, browser every test that opens Chromium.
# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, so torch stays fast when
# the kernel, the test process and the browser share two cores (spinning measured up to 40x slower).
test: $(VENV)/.installed-dev weights mathjax reveal browser
	OMP_WAIT_POLICY=PASSIVE STYLELIB_MODE=quick MPLBACKEND=Agg $(PY) -m pytest --nbval-lax --nbval-current-env tests notebooks

clean:
	rm -rf $(VENV) render slides .reveal .mathjax release build/course bench/out .pytest_cache

# Executes every notebook at this machine's tier (STYLELIB_MODE=quick|laptop|full chooses; without it: full
# on CUDA, laptop elsewhere) and builds a Jupyter Book site of them in render/ (git-ignored): open
# render/index.html. Seconds per notebook in render/timings.json; a notebook that fails stops the target with
# its error. tools/render_site.py does the work (--notebooks NAME... renders some, --out DIR elsewhere).
render: $(VENV)/.installed-teach weights mathjax
	$(PY) tools/render_site.py

# npm (a package registry, like PyPI) installs the JavaScript that pages would otherwise load from CDNs, which a
# classroom or CI without internet cannot reach; apt-get installs npm where it is missing.
NEED_NPM = command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y npm; \
	  elif command -v sudo >/dev/null; then sudo apt-get update && sudo apt-get install -y npm; \
	  else echo "$@ needs npm (Debian: apt-get install npm; elsewhere: Node.js)" >&2; exit 1; fi; }

# MathJax 3 for the rendered pages (Sphinx's default loads it from a CDN), in .mathjax/; tools/render_site.py
# copies it into the site.
.mathjax/.installed-stamp: Makefile
	@$(NEED_NPM)
	npm install --prefix .mathjax --no-save --no-package-lock --no-audit --no-fund mathjax@3.2.2
	touch $@
mathjax: .mathjax/.installed-stamp

# nbconvert's decks load reveal.js, require.js, jQuery and MathJax from CDNs, so npm installs them into .reveal/
# and tools/slides_config.py points the decks at a copy in slides/lib/. nbconvert 7's template wants reveal.js 4
# (dist/, plugin/); tools/slides_template/ loads MathJax 3 (2.7 draws each formula twice in today's browsers).
REVEAL_PACKAGES := reveal.js@4.0.2 requirejs@2.3.8 jquery@2.2.4 mathjax@3.2.2
.reveal/.installed-stamp: Makefile
	@$(NEED_NPM)
	npm install --prefix .reveal --no-save --no-package-lock --no-audit --no-fund $(REVEAL_PACKAGES)
	touch $@
reveal: .reveal/.installed-stamp

# Executes every notebook (full mode unless STYLELIB_MODE says otherwise, e.g. `STYLELIB_MODE=quick make slides` on a
# laptop) and writes one reveal.js deck per notebook to slides/ (git-ignored), with slides/lib/ beside them:
# open slides/NAME.slides.html in a browser; the folder works offline and can be copied as a whole.
slides: $(VENV)/.installed-teach weights reveal
	mkdir -p slides
	rm -rf slides/lib && cp -r .reveal/node_modules slides/lib
	for nb in notebooks/*.ipynb; do \
		env -u MPLBACKEND $(VENV)/bin/jupyter nbconvert --to slides --execute --config tools/slides_config.py \
			--ExecutePreprocessor.timeout=-1 --output-dir slides "$$nb" || exit 1; \
	done

# Debian's chromium for the real-browser test (tests/test_browser.py; `playwright install` cannot
# download here). CI runs as root; elsewhere sudo is used when there is one. A browser named by
# $STYLELIB_CHROMIUM (what the test uses first) needs no install.
browser:
	@[ -x "$$STYLELIB_CHROMIUM" ] || command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	  elif command -v sudo >/dev/null; then sudo apt-get update && sudo apt-get install -y chromium; \
	  else echo "tests/test_browser.py needs chromium: install it (Debian: apt-get install chromium)" \
	    "or set STYLELIB_CHROMIUM to a Chromium or Chrome binary" >&2; exit 1; fi; }

# stylelib against the tutorial-style baseline (bench/README.md); results in bench/out/
bench: weights
	$(PY) bench/run.py

# Student versions of the notebooks (issue 12): nbgrader's generate_assignment replaces every solution
# region with a stub and removes hidden tests. The notebooks become the assignment `stylelib` of a course
# folder under build/, and the result goes to $(RELEASE)/ (both git-ignored). tests/test_assignments.py
# runs this target with its own RELEASE and COURSE folders.
RELEASE ?= release
COURSE ?= build/course
assignments: $(VENV)/.installed-teach
	rm -rf $(COURSE) && mkdir -p $(COURSE)/source/stylelib
	cp notebooks/*.ipynb $(COURSE)/source/stylelib/
	printf 'c = get_config()\nc.CourseDirectory.root = "%s"\n' "$(abspath $(COURSE))" > $(COURSE)/nbgrader_config.py
	cd $(COURSE) && $(abspath $(PY)) -m nbgrader generate_assignment stylelib --force --no-db --log-level=WARN
	rm -rf $(RELEASE) && mkdir -p $(RELEASE) && cp $(COURSE)/release/stylelib/*.ipynb $(RELEASE)/
	@echo "student notebooks in $(RELEASE)/"
