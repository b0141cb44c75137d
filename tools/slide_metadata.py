"""Give every notebook cell its slide type (reveal.js via `make slides`, or RISE in JupyterLab).

    python tools/slide_metadata.py notebooks/*.ipynb

Sets cell.metadata["slideshow"] = {"slide_type": ...} on every cell by the rules below; running it
again changes nothing. A cell whose metadata has "slideshow_locked": true keeps what it has (an
override by hand). tests/test_slides.py checks that the stored metadata is what this script gives.

  "# " title (the first cell)              slide
  "## " heading                            slide
  "### " heading (exercise, pitfall, …)    subslide
  code before the first "## " heading      skip      (imports, sl.describe(), model = sl.vgg(), constants)
  exercise answers and checks              skip      (nbgrader solution/grade cells; <details> solutions)
  code that draws a figure                 subslide  (the figure gets its own slide)
  markdown after a figure, before no code  fragment  (a comment on it, revealed on the figure's slide)
  anything else after a figure             subslide  (the figure's slide holds only the figure and its note)
  other markdown after code                subslide  (the next step of the argument)
  everything else                          -         (continues the slide above)
"""
import re
import sys

import nbformat

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
# a call of a plotting function: plots.show_images(...), show_heatmaps(...), plot_history(...), plt.imshow(...)
FIGURE = re.compile(r"\b(?:show_\w+|plot_\w+)\s*\(|\bplt\.\w+\s*\(")


def is_figure(cell) -> bool:
    return cell.cell_type == "code" and bool(FIGURE.search(cell.source))


def is_exercise_answer(cell) -> bool:
    grading = cell.metadata.get("nbgrader", {})
    return bool(grading.get("solution") or grading.get("grade")) or cell.source.lstrip().startswith("<details>")


def is_locked(cell) -> bool:
    return bool(cell.metadata.get("slideshow_locked"))


def slide_types(nb) -> list[str]:
    """The slide type of each cell, by the rules in this module's docstring."""
    types, previous, in_setup = [], None, True  # previous: the last cell that is shown
    for index, cell in enumerate(nb.cells):
        text = cell.source.lstrip()
        if cell.cell_type == "markdown" and text.startswith("## "):
            in_setup = False
        if is_locked(cell):
            kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        elif index == 0 or (cell.cell_type == "markdown" and re.match(r"#{1,2} ", text)):
            kind = "slide"
        elif cell.cell_type == "markdown" and text.startswith("### "):
            kind = "subslide"
        elif (cell.cell_type == "code" and in_setup) or is_exercise_answer(cell):
            kind = "skip"
        elif is_figure(cell):
            kind = "subslide"
        elif previous is not None and is_figure(previous):
            after = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            comment = cell.cell_type == "markdown" and (after is None or after.cell_type != "code")
            kind = "fragment" if comment else "subslide"
        elif cell.cell_type == "markdown" and previous is not None and previous.cell_type == "code":
            kind = "subslide"
        else:
            kind = "-"
        types.append(kind)
        if kind not in ("skip", "notes"):
            previous = cell
    return types


def apply(nb) -> bool:
    """Set the slide types on `nb`; True when something changed."""
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb)):
        if not is_locked(cell) and cell.metadata.get("slideshow") != {"slide_type": kind}:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
    return changed


if __name__ == "__main__":
    for name in sys.argv[1:]:
        nb = nbformat.read(name, as_version=4)
        if apply(nb):
            nbformat.write(nb, name)
        types = slide_types(nb)
        print(f"{name}: " + ", ".join(f"{kind} {n}" for kind in SLIDE_TYPES
                                      if (n := types.count(kind))))
