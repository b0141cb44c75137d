"""The slide rules: every notebook cell's slide type (reveal.js via `make slides`, or RISE in JupyterLab).
`python tools/slide_metadata.py notebooks/*.ipynb` applies them; tools/slides_config.py builds the decks with
`SlideParts`.

A slide carries what a teacher shows: a heading, the key sentence, the formulas, the figure large. The
explanation goes into the speaker notes (reveal.js: the `s` key), and the students have it in the notebook.

Stored in each cell's metadata (this script sets it; running it again changes nothing):
cell.metadata["slideshow"] = {"slide_type": ...}, by these rules, and the tag "slides-hide-input" on the
cells that draw a figure, whose slide shows the figure without its code (tools/slides_config.py).

  "# " title (the first cell)                   slide
  "## " heading                                 slide     (a heading cell stands alone on its slide)
  "### " heading (exercise, pitfall, …)         subslide
  code before the first "## " heading           skip      (imports, sl.describe(), model = sl.vgg(), constants)
  other markdown before the first "## "         notes     (it explains the set-up, which is skipped)
  exercise answers and checks                   skip      (nbgrader solution/grade cells; <details> solutions)
  "**Going deeper…" markdown                    notes     (background for the teacher, not for the slide)
  other markdown                                subslide  (a step of the argument)
  code right after such a step                  -         (its key sentence heads the code or figure)
  other code                                    subslide  (a figure, or a step, on a slide of its own)

When the deck is built, `SlideParts` (below) splits each shown markdown cell: its headings, the first
sentence after each heading (the key sentence), a list that follows a heading and the display formulas stay
on the slide; the speaker notes hold the cell's whole text without its headings, read in order. A further
"## " heading inside a cell (the title's "Learning objectives", "References") starts a slide of its own,
and so does each figure after the first that one cell draws.

A cell whose metadata has "slideshow_locked": true is a choice made by hand: it keeps its slide type and
tags, and the build shows it whole (or, typed "notes", puts it whole into the notes).
tests/test_slides.py checks that the stored metadata is what this script gives.
"""
import copy
import re

import nbformat
from nbconvert.preprocessors import Preprocessor

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
HIDE_INPUT = "slides-hide-input"  # a cell tag; tools/slides_config.py's TagRemovePreprocessor acts on it
# a call that draws: plots.show_images(...), plots.pipeline_diagram(...), show_heatmaps(...), plt.imshow(...)
FIGURE = re.compile(r"\b(?:plots\.\w+|show_\w+|plot_\w+)\s*\(|\bplt\.\w+\s*\(")
GOING_DEEPER = re.compile(r"\*\*Going deeper")
# the end of a sentence: . ! or ? after a word (not an initial, "A. Author"), perhaps closing bold or italics,
# a space, a capital letter, perhaps bold (not italic: a title after a reference's year)
SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]`$*_][.!?])(\*{1,2}|_)?\s+(?=(?:\*\*)?[A-Z])")


def is_figure(cell) -> bool:
    return cell.cell_type == "code" and bool(FIGURE.search(cell.source))


def is_exercise_answer(cell) -> bool:
    grading = cell.metadata.get("nbgrader", {})
    return bool(grading.get("solution") or grading.get("grade")) or cell.source.lstrip().startswith("<details>")


def is_locked(cell) -> bool:
    return bool(cell.metadata.get("slideshow_locked"))


def is_heading(cell) -> bool:
    return cell.cell_type == "markdown" and bool(re.match(r"#{1,3} ", cell.source.lstrip()))


def slide_types(nb) -> list[str]:
    """The slide type of each cell, by the rules in this module's docstring."""
    types, in_setup = [], True
    for index, cell in enumerate(nb.cells):
        text = cell.source.lstrip()
        before = nb.cells[index - 1] if index else None
        if cell.cell_type == "markdown" and text.startswith("## "):
            in_setup = False
        if is_locked(cell):
            kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        elif index == 0 or (cell.cell_type == "markdown" and re.match(r"#{1,2} ", text)):
            kind = "slide"
        elif cell.cell_type == "markdown" and text.startswith("### "):
            kind = "subslide"
        elif in_setup:
            kind = "skip" if cell.cell_type == "code" else "notes"
        elif is_exercise_answer(cell):
            kind = "skip"
        elif cell.cell_type == "markdown" and GOING_DEEPER.match(text):
            kind = "notes"
        elif cell.cell_type == "markdown":
            kind = "subslide"
        elif types[-1] == "subslide" and before.cell_type == "markdown" and not is_heading(before):
            kind = "-"  # the lead-in's slide
        else:
            kind = "subslide"
        types.append(kind)
    return types


def hides_input(cell, kind: str) -> bool:
    """Whether the cell's slide shows its output without its code: a figure, shown."""
    return is_figure(cell) and kind not in ("skip", "notes")


def apply(nb) -> bool:
    """Set the slide types and the hide-input tags on `nb`; True when something changed."""
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb)):
        if is_locked(cell):
            continue
        if cell.metadata.get("slideshow") != {"slide_type": kind}:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
        tags = cell.metadata.get("tags", [])
        if hides_input(cell, kind) != (HIDE_INPUT in tags):
            tags = [tag for tag in tags if tag != HIDE_INPUT] + ([HIDE_INPUT] if hides_input(cell, kind) else [])
            if tags:
                cell.metadata["tags"] = tags
            else:
                del cell.metadata["tags"]
            changed = True
    return changed


def blocks(markdown: str) -> list[str]:
    """The blocks of a markdown text (paragraphs, headings, lists, display formulas, fenced code), in order."""
    result = []
    for part in re.split(r"\n\s*\n", markdown.strip()):
        inside_fence = result and result[-1].count("```") % 2 == 1
        if inside_fence:
            result[-1] += "\n\n" + part
        else:
            result.extend(piece for piece in re.split(r"\n(?=#{1,6} )", part) if piece.strip())  # a heading ends a block
    return result


def key_sentence(paragraph: str) -> tuple[str, str]:
    """The first sentence of `paragraph` (two when the first is only a bold lead-in), and the rest."""
    ends = list(SENTENCE_END.finditer(paragraph))
    if not ends:
        return paragraph, ""
    first = ends[0]
    lead = paragraph[:first.end()].strip()
    if lead.startswith("**") and lead.endswith("**") and len(ends) > 1:  # "**Names.** Layers are named …"
        first = ends[1]
    return paragraph[:first.end()].rstrip(), paragraph[first.end():].strip()


def slide_and_notes(markdown: str) -> tuple[str, str]:
    """Split one markdown section into what the slide shows and the speaker notes: the section's whole text
    without its headings (the explanation read in order, as in the notebook), or nothing if all of it is shown."""
    shown, text, after_heading = [], [], True  # the start of a cell counts as just after a heading
    for block in blocks(markdown):
        if block.startswith("#"):
            shown.append(block)
            after_heading = True
            continue
        text.append(block)
        if block.startswith("$$") and block.rstrip().endswith("$$"):
            shown.append(block)
        elif after_heading and re.match(r"([-*]|\d+\.) ", block):  # objectives, summary, references
            shown.append(block)
        elif after_heading:
            shown.append(key_sentence(block)[0])
        after_heading = False
    left_out = [block for block in text if block not in shown]
    return "\n\n".join(shown), "\n\n".join(text) if left_out else ""


def sections(markdown: str) -> list[str]:
    """`markdown` cut before each "# " or "## " heading after its first block: one slide each."""
    parts = []
    for block in blocks(markdown):
        if parts and not re.match(r"#{1,2} ", block):
            parts[-1] += "\n\n" + block
        else:
            parts.append(block)
    return parts


class SlideParts(Preprocessor):
    """The build-time half of the rules (`make slides`, via tools/slides_config.py). Each shown markdown cell
    becomes its slide part and a notes cell; a figure cell that draws several figures becomes one slide per
    figure (each figure large); the notes of one slide are joined into one cell, since reveal.js's speaker
    view shows only the first notes of a slide. The notebook itself is not changed."""

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
            if is_locked(cell) or kind in ("skip", "notes"):
                cells.append(cell)
            elif cell.cell_type == "markdown":
                cells.extend(markdown_parts(cell, kind))
            elif HIDE_INPUT in cell.metadata.get("tags", []):
                cells.extend(figure_parts(cell))
            else:
                cells.append(cell)
        nb.cells = one_notes_cell_per_slide(cells)
        return nb, resources


def markdown_parts(cell, kind: str) -> list:
    """A shown markdown cell as slide cells (one per section) with the notes cell of each."""
    parts = []
    for number, section in enumerate(sections(cell.source)):
        shown, notes = slide_and_notes(section)
        parts.append(nbformat.v4.new_markdown_cell(shown, id=f"{cell.id}-{number}", metadata={
            "slideshow": {"slide_type": kind if number == 0 else "subslide"}}))
        if notes:
            parts.append(nbformat.v4.new_markdown_cell(notes, id=f"{cell.id}-{number}-notes", metadata={
                "slideshow": {"slide_type": "notes"}}))
    return parts


def figure_parts(cell) -> list:
    """A figure cell that draws several figures as one cell per figure (with the text printed before it),
    each after the first on a slide of its own."""
    groups = [[]]
    for output in cell.outputs:
        groups[-1].append(output)
        if "image/png" in output.get("data", {}):
            groups.append([])
    if not groups[-1]:
        groups.pop()
    elif len(groups) > 1:  # text printed after the last figure stays with it
        groups[-2].extend(groups.pop())
    parts = []
    for number, outputs in enumerate(groups):
        part = copy.deepcopy(cell)
        part.outputs = outputs
        if number:
            part.id = f"{cell.id}-{number}"
            part.metadata["slideshow"] = {"slide_type": "subslide"}
        parts.append(part)
    return parts


def one_notes_cell_per_slide(cells: list) -> list:
    """`cells` with the notes of each slide joined into that slide's first notes cell."""
    result, notes = [], None  # notes: the current slide's notes cell, once it has one
    for cell in cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind in ("slide", "subslide"):
            notes = None
        if kind == "notes" and notes is not None and cell.cell_type == "markdown":
            notes.source += "\n\n" + cell.source
            continue
        if kind == "notes" and cell.cell_type == "markdown":
            notes = cell
        result.append(cell)
    return result
