"""Slides: every notebook carries the slide metadata of tools/slide_metadata.py, and a deck presents.

The browser test builds the reveal.js deck of notebook 04 in quick mode as `make slides` does
(tools/slides_config.py; reveal.js, require.js, jQuery and MathJax from .reveal/, which `make reveal`
installs with npm), opens it in headless Chromium with every http(s) request refused (offline, as in a
classroom without internet), steps through it with the arrow keys to a figure and leaves a screenshot in
screenshots/slides_figure.png (git-ignored).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]
import slide_metadata  # noqa: E402
from test_browser import CHROMIUM, SCREENSHOTS, offline_page  # noqa: E402
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
VENDORED = ROOT / ".reveal" / "node_modules"
DECK = "04_total_variation"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slide_metadata(path):
    """Stored slide types are what tools/slide_metadata.py gives (locked cells aside); run it after editing."""
    nb = nbformat.read(path, as_version=4)
    stored = [cell.metadata.get("slideshow", {}).get("slide_type") for cell in nb.cells]
    fix = (f"run `python tools/slide_metadata.py {path.relative_to(ROOT)}` (or mark a cell "
           "\"slideshow_locked\": true to keep a hand-made choice)")
    invalid = [i for i, kind in enumerate(stored) if kind not in slide_metadata.SLIDE_TYPES]
    assert not invalid, f"cells {invalid} have no valid slide type: {fix}"
    expected = slide_metadata.slide_types(nb)
    differ = [i for i, (s, e) in enumerate(zip(stored, expected)) if s != e and not slide_metadata.is_locked(nb.cells[i])]
    assert not differ, f"cells {differ} differ from the rules: {fix}"
    assert stored[0] == "slide"
    first_section = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## "))
    assert all(stored[i] == "skip" for i, c in enumerate(nb.cells[:first_section]) if c.cell_type == "code"), \
        "set-up code (before the first section) is skipped"
    for i, cell in enumerate(nb.cells):
        if slide_metadata.is_figure(cell) and not slide_metadata.is_locked(cell):
            assert stored[i] in ("slide", "subslide"), f"cell {i} draws a figure and does not start a slide"


def test_rules_on_a_made_up_notebook():
    cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("import stylelib as sl"),
             nbformat.v4.new_markdown_cell("## 1. Idea"), nbformat.v4.new_code_cell("x = 1"),
             nbformat.v4.new_markdown_cell("Next, a picture."), nbformat.v4.new_code_cell("plots.show_images(x)"),
             nbformat.v4.new_markdown_cell("Read the picture."), nbformat.v4.new_markdown_cell("### Exercise 1"),
             nbformat.v4.new_code_cell("answer = 2", metadata={"nbgrader": {"solution": True}}),
             nbformat.v4.new_code_cell("assert answer == 2", metadata={"nbgrader": {"grade": True}}),
             nbformat.v4.new_code_cell("y = 2", metadata={"slideshow_locked": True, "slideshow": {"slide_type": "notes"}})]
    nb = nbformat.v4.new_notebook(cells=cells)
    expected = ["slide", "skip", "slide", "-", "subslide", "subslide", "fragment", "subslide", "skip", "skip", "notes"]
    assert slide_metadata.slide_types(nb) == expected
    assert slide_metadata.apply(nb) and not slide_metadata.apply(nb)  # idempotent
    assert nb.cells[-1].metadata["slideshow"] == {"slide_type": "notes"}


def test_deck_presents_offline_in_chromium(tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: run `make browser` (Debian: apt-get install chromium)")
    if not (VENDORED / "reveal.js" / "dist" / "reveal.js").is_file():
        pytest.fail(f"no reveal.js in {VENDORED}: run `make reveal` (npm install)")
    os.symlink(VENDORED, tmp_path / "lib")
    nb = nbformat.read(ROOT / "notebooks" / f"{DECK}.ipynb", as_version=4)
    slide_metadata.apply(nb)  # the deck as the rules make it, whether or not the notebook stores them yet
    nbformat.write(nb, tmp_path / f"{DECK}.ipynb")
    env = {**os.environ, "STYLELIB_MODE": "quick",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures (Agg would draw none)
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", "--execute",
                    "--config", str(ROOT / "tools" / "slides_config.py"), "--ExecutePreprocessor.timeout=600",
                    "--output-dir", str(tmp_path), str(tmp_path / f"{DECK}.ipynb")],
                   env=env, check=True, capture_output=True, timeout=900)
    deck = tmp_path / f"{DECK}.slides.html"
    assert "unpkg.com/reveal" not in deck.read_text() and "cdnjs.cloudflare.com/ajax/libs/require" not in deck.read_text()

    with offline_page(1280, 800, "slides_failure.png") as (page, refused, errors):
        page.goto(deck.as_uri())
        page.locator(".reveal.ready section.present").first.wait_for()  # reveal.js has initialised
        reveal = "require('lib/reveal.js/dist/reveal.js')"  # the module require.js loaded (no global Reveal)
        indices = f"() => {reveal}.getIndices()"
        assert page.evaluate(indices)["h"] == 0 and page.evaluate(indices)["v"] == 0
        assert "Total variation" in page.locator("section.present").first.inner_text()

        page.keyboard.press("ArrowRight")  # to section 1
        page.wait_for_function(f"() => {reveal}.getIndices().h === 1")
        seen = {(page.evaluate(indices)["h"], page.evaluate(indices)["v"])}
        figure = page.locator("section.present section.present img, section.present:not(.stack) img")
        for _ in range(10):  # down through section 1 to its first figure
            if figure.count():
                break
            page.keyboard.press("ArrowDown")
            time.sleep(0.6)  # the slide transition
            seen.add((page.evaluate(indices)["h"], page.evaluate(indices)["v"]))
        assert figure.count(), f"no figure on the slides visited: {sorted(seen)}"
        assert len(seen) >= 2, "the arrow keys did not move through the deck"
        assert figure.first.evaluate("img => img.complete && img.naturalWidth > 0"), "the figure did not load"
        page.wait_for_function("() => document.querySelectorAll('.MathJax_CHTML').length > 0")  # MathJax from lib/
        time.sleep(1.0)  # let the previous slide fade out
        page.screenshot(path=SCREENSHOTS / "slides_figure.png")
        assert not [e for e in errors if "mermaid" not in e], f"errors in the deck: {errors}"
        # optional extras nbconvert's template adds may ask: mermaid (diagrams; none in these notebooks) and
        # the reveal.js theme's web fonts (the browser falls back to local fonts); nothing else may
        essential = [url for url in refused if "mermaid" not in url and "fonts.googleapis.com" not in url]
        assert not essential, f"the deck asked the internet for {essential}"
