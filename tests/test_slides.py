"""Slides: every notebook carries the slide metadata of tools/slide_metadata.py, and every deck fits a projector.

The browser test builds the reveal.js deck of every notebook once, in quick mode, as `make slides` does
(tools/slides_config.py; reveal.js, require.js, jQuery and MathJax from .reveal/, which `make reveal`
installs with npm), opens each in headless Chromium at 1280×800 with every http(s) request refused
(offline, as in a classroom without internet) and walks every slide with tools/measure_slides.py: none
taller than the screen, no code block or display formula wider than its box, no formula drawn twice,
no code beside a figure, one speaker-notes block at most per slide. It leaves screenshots of a formula
slide, a figure slide and a code slide in screenshots/ (git-ignored).
"""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]
import measure_slides  # noqa: E402
import slide_rules  # noqa: E402
from test_browser import CHROMIUM, SCREENSHOTS, offline_page  # noqa: E402
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
VENDORED = ROOT / ".reveal" / "node_modules"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slide_metadata(path):
    """Stored slide types and hide-input tags are what tools/slide_metadata.py gives (locked cells aside)."""
    nb = nbformat.read(path, as_version=4)
    stored = [cell.metadata.get("slideshow", {}).get("slide_type") for cell in nb.cells]
    fix = (f"run `python tools/slide_metadata.py {path.relative_to(ROOT)}` (or mark a cell "
           "\"slideshow_locked\": true to keep a hand-made choice)")
    invalid = [i for i, kind in enumerate(stored) if kind not in slide_rules.SLIDE_TYPES]
    assert not invalid, f"cells {invalid} have no valid slide type: {fix}"
    expected = slide_rules.slide_types(nb)
    unlocked = [i for i, cell in enumerate(nb.cells) if not slide_rules.is_locked(cell)]
    differ = [i for i in unlocked if stored[i] != expected[i]]
    assert not differ, f"cells {differ} differ from the rules: {fix}"
    hidden = [slide_rules.HIDE_INPUT in nb.cells[i].metadata.get("tags", []) for i in unlocked]
    tags_differ = [i for i, hides in zip(unlocked, hidden) if hides != slide_rules.hides_input(nb.cells[i], stored[i])]
    assert not tags_differ, f"cells {tags_differ}: the {slide_rules.HIDE_INPUT} tag differs from the rules: {fix}"
    assert stored[0] == "slide"
    first_section = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## "))
    assert all(stored[i] == "skip" for i, c in enumerate(nb.cells[:first_section]) if c.cell_type == "code"), \
        "set-up code (before the first section) is skipped"


def test_rules_on_a_made_up_notebook():
    cells = [nbformat.v4.new_markdown_cell("# Title\n\nThe idea. More about it."),
             nbformat.v4.new_code_cell("import stylelib as sl"), nbformat.v4.new_markdown_cell("One photo for all."),
             nbformat.v4.new_markdown_cell("## 1. Idea"), nbformat.v4.new_code_cell("x = 1"),
             nbformat.v4.new_markdown_cell("Next, a picture. What to look for: the edges."),
             nbformat.v4.new_code_cell("plots.show_images(x)"),
             nbformat.v4.new_markdown_cell("**Going deeper.** Another loss."), nbformat.v4.new_code_cell("y = x"),
             nbformat.v4.new_markdown_cell("### Exercise 1"),
             nbformat.v4.new_code_cell("answer = 2", metadata={"nbgrader": {"solution": True}}),
             nbformat.v4.new_code_cell("assert answer == 2", metadata={"nbgrader": {"grade": True}}),
             nbformat.v4.new_code_cell("y = 2", metadata={"slideshow_locked": True, "slideshow": {"slide_type": "notes"}})]
    nb = nbformat.v4.new_notebook(cells=cells)
    expected = ["slide", "skip", "notes", "slide", "subslide", "subslide", "-", "notes", "subslide", "subslide",
                "skip", "skip", "notes"]
    assert slide_rules.slide_types(nb) == expected
    assert slide_rules.apply(nb) and not slide_rules.apply(nb)  # idempotent
    assert nb.cells[-1].metadata["slideshow"] == {"slide_type": "notes"}
    assert [slide_rules.HIDE_INPUT in cell.metadata.get("tags", []) for cell in nb.cells] == [i == 6 for i in range(13)]


def test_slide_part_and_speaker_notes():
    """A section keeps its heading, key sentence, lists and display formulas; the notes get its whole text."""
    text = ("## 1. The objective\n\nFor a photo $p$, Gatys et al. (2016) minimise a sum. It has two terms.\n\n"
            "$$L = \\alpha C + \\beta S$$\n\nBoth terms compare features.\n\n## References\n\n- A. Author (2015).")
    first, references = slide_rules.sections(text)
    shown, notes = slide_rules.slide_and_notes(first)
    assert shown == "## 1. The objective\n\nFor a photo $p$, Gatys et al. (2016) minimise a sum.\n\n$$L = \\alpha C + \\beta S$$"
    assert notes == ("For a photo $p$, Gatys et al. (2016) minimise a sum. It has two terms.\n\n"
                     "$$L = \\alpha C + \\beta S$$\n\nBoth terms compare features.")
    assert slide_rules.slide_and_notes(references) == (references, "")  # all of it shown: no notes
    assert slide_rules.key_sentence("**Names.** Layers are named. More.") == ("**Names.** Layers are named.", "More.")

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 1. Idea\n\nThe key. The detail."),
                                         nbformat.v4.new_markdown_cell("**Going deeper.** Background."),
                                         nbformat.v4.new_code_cell("x = 1")])
    slide_rules.apply(nb)
    built, _ = slide_rules.SlideParts().preprocess(nb, {})
    assert [(cell.source, cell.metadata.slideshow.slide_type) for cell in built.cells] == [
        ("## 1. Idea\n\nThe key.", "slide"),
        ("The key. The detail.\n\n**Going deeper.** Background.", "notes"),  # one notes block per slide
        ("x = 1", "subslide")]


def test_one_slide_per_figure():
    """A figure cell that draws two figures gives two slides, the printed text with the figure it comes before."""
    png = {"image/png": "iVBORw0KGgo="}
    outputs = [nbformat.v4.new_output("stream", text="64 px\n"), nbformat.v4.new_output("display_data", data=png),
               nbformat.v4.new_output("display_data", data=png), nbformat.v4.new_output("stream", text="done\n")]
    cell = nbformat.v4.new_code_cell("plots.show_images(x)\nplots.show_images(y)", outputs=outputs)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 1. Idea"), cell])
    slide_rules.apply(nb)
    built, _ = slide_rules.SlideParts().preprocess(nb, {})
    assert [cell.metadata.slideshow.slide_type for cell in built.cells] == ["slide", "subslide", "subslide"]
    assert [[output.output_type for output in cell.outputs] for cell in built.cells[1:]] == [
        ["stream", "display_data"], ["display_data", "stream"]]
    assert all(slide_rules.HIDE_INPUT in cell.metadata.tags for cell in built.cells[1:])


def test_measure_catches_real_overflow_only():
    """A code block wider than its box is caught; a padded block that wraps, or a capped output that scrolls, is not."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM}")
    page_html = ("<section id=s style='width:600px'>"
                 "<pre style='white-space:pre;overflow:auto'>" + "x = 1; " * 200 + "</pre>"
                 "<pre style='white-space:pre-wrap;box-sizing:border-box;width:100%;padding:7px'>" + "y = 2; " * 200 + "</pre>"
                 "<div class=jp-OutputArea-output><pre style='max-height:100px;overflow-y:auto'>"
                 + "<span>line</span>\n" * 200 + "</pre></div></section>")
    with offline_page(*measure_slides.SCREEN, "measure_unit_failure.png") as (page, _, _):
        page.set_content(page_html)
        result = page.evaluate(f"() => ({measure_slides.MEASURE})(document.getElementById('s'))")
    assert len(result["wide"]) == 1 and result["wide"][0].startswith("pre "), result["wide"]
    assert "x = 1" in result["wide"][0]
    assert result["tall"] == 0


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> list[Path]:
    """Every notebook's deck, built once in quick mode with the rules applied, with lib/ beside them."""
    if not (VENDORED / "reveal.js" / "dist" / "reveal.js").is_file():
        pytest.fail(f"no reveal.js in {VENDORED}: run `make reveal` (npm install)")
    folder = tmp_path_factory.mktemp("slides")
    os.symlink(VENDORED, folder / "lib")
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        slide_rules.apply(nb)  # the deck as the rules make it, whether or not the notebook stores them yet
        nbformat.write(nb, folder / path.name)
    env = {**os.environ, "STYLELIB_MODE": "quick",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures (Agg would draw none)
    built = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "slides", "--execute",
                            "--config", str(ROOT / "tools" / "slides_config.py"), "--ExecutePreprocessor.timeout=600",
                            "--output-dir", str(folder), *(str(folder / path.name) for path in NOTEBOOKS)],
                           env=env, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-3000:]
    return [folder / f"{path.stem}.slides.html" for path in NOTEBOOKS]


def test_every_slide_fits_a_projector_offline(decks):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: run `make browser` (Debian: apt-get install chromium)")
    for deck in decks:
        html = deck.read_text()
        assert "unpkg.com/reveal" not in html and "cdnjs.cloudflare.com" not in html, f"{deck.name} loads from a CDN"

    wanted = {"formula": lambda s: s.display_formulas and not s.figures and not s.code,
              "figure": lambda s: s.figures and not s.code, "code": lambda s: s.code and not s.figures}
    screenshots = {}

    def screenshot(slide):
        for kind, matches in wanted.items():
            if kind not in screenshots and matches(slide) and not slide.tall and not slide.wide:
                screenshots[kind] = SCREENSHOTS / f"slides_{kind}.png"
                page.screenshot(path=screenshots[kind])

    with offline_page(*measure_slides.SCREEN, "slides_failure.png") as (page, refused, errors):
        measure_slides.open_deck(page, decks[0])  # the keys a teacher presses move through the deck
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => {measure_slides.REVEAL}.getIndices().h === 1")
        page.keyboard.press("ArrowDown")
        page.wait_for_function(f"() => {measure_slides.REVEAL}.getIndices().v === 1")

        slides = [slide for deck in decks for slide in measure_slides.walk_deck(page, deck, screenshot)]
        assert not [e for e in errors if "mermaid" not in e], f"errors in the decks: {errors}"
        # optional extras nbconvert's template adds may ask: mermaid (diagrams; none in these notebooks) and
        # the reveal.js theme's web fonts (the browser falls back to local fonts); nothing else may
        essential = [url for url in refused if "mermaid" not in url and "fonts.googleapis.com" not in url]
        assert not essential, f"the decks asked the internet for {essential}"

    problems = (measure_slides.problems(slides)
                + [f"{s}: {s.broken_figures} figures did not load" for s in slides if s.broken_figures]
                + [f"{s}: code beside a figure (tag the cell {slide_rules.HIDE_INPUT})"
                   for s in slides if s.figures and s.code]
                + [f"{s}: {s.notes} speaker-notes blocks (the speaker view shows the first)" for s in slides if s.notes > 1])
    assert not problems, f"{len(problems)} problems on {len(slides)} slides:\n" + "\n".join(problems)
    assert {s.deck for s in slides} == {path.stem for path in NOTEBOOKS}
    assert sum(s.formulas for s in slides) > 20, "MathJax drew (almost) no formulas"
    assert not [str(s) for s in slides if s.raw_tex], "display formulas left as TeX"
    for deck in {s.deck for s in slides}:
        assert any(s.notes for s in slides if s.deck == deck), f"deck {deck} has no speaker notes"
    assert sorted(screenshots) == sorted(wanted), f"no slide of kind {set(wanted) - set(screenshots)} fits"
