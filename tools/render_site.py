"""Execute the notebooks and build a browsable site of them with Jupyter Book 1.x (`make render`).

    python tools/render_site.py [--notebooks 04_total_variation 07_playground] [--out render]

Step 1 executes each notebook (all of notebooks/ by default, in file-name order) with nbclient in this
Python's kernel, at the tier the environment gives (STYLELIB_MODE=quick|laptop|full; see
stylelib.runtime.tier()), with the kernel's inline figures (MPLBACKEND is dropped) and no time limit. The
executed notebooks go to OUT/_book/, the wall seconds of each and the tier to OUT/timings.json. A notebook that
fails stops the build, naming the notebook and the cell.

Step 2 writes a Jupyter Book project into OUT/_book/ (_config.yml with execution off, _toc.yml, and intro.md:
each notebook's title, linked, its learning objectives and its time), builds it, and moves the HTML up into OUT/:
open OUT/index.html. MathJax comes from .mathjax/ (`make mathjax`), so that formulas show without internet;
nothing is fetched from the network at build time.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from stylelib import runtime

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TITLE = "Neural style transfer, step by step"
# MathJax 3 from npm (`make mathjax`): the pages load this copy instead of Sphinx's default CDN
MATHJAX = ROOT / ".mathjax" / "node_modules" / "mathjax" / "es5"
MATHJAX_ENTRY = "tex-mml-chtml.js"  # the component Sphinx loads by default; it fetches fonts and extensions nearby
OBJECTIVES = re.compile(r"(?:#+\s*|\*\*)Learning objectives\b")
LIST_ITEM = re.compile(r"\s*(?:[-*]|\d+[.)])\s+(.*)")


def title_and_objectives(path: Path) -> tuple[str, list[str]]:
    """The `# ` title of a notebook's first cell and the items of its "Learning objectives" list, each on one line."""
    lines = nbformat.read(path, as_version=4).cells[0].source.splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), None)
    start = next((i for i, line in enumerate(lines) if OBJECTIVES.match(line.strip())), None)
    if title is None or start is None:
        raise SystemExit(f"render: {path.name}: the first cell needs a `# ` title and a "
                         "`## Learning objectives` (or `**Learning objectives**`) list for the index page")
    items = []
    for line in lines[start + 1:]:
        item = LIST_ITEM.match(line)
        if item:
            items.append(item.group(1).strip())
        elif items and line.strip() and line[0].isspace():  # an item continued on the next line
            items[-1] += " " + line.strip()
        elif items:  # the list has ended
            break
    if not items:
        raise SystemExit(f"render: {path.name}: no list items under its learning objectives")
    return title, items


def execute(path: Path, book: Path) -> float:
    """Run `path` top to bottom with its working directory in `book`, write it there, return its wall seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(book)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        nbformat.write(nb, book / path.name)
        failed = max(i for i, cell in enumerate(nb.cells)
                     if any(out.output_type == "error" for out in cell.get("outputs", [])))
        first_line = nb.cells[failed].source.strip().splitlines()[0]
        print(error, file=sys.stderr)
        raise SystemExit(f"render: {path.name} failed in cell {failed + 1} of {len(nb.cells)} "
                         f"(`{first_line}`); the notebook as far as it ran is in {book / path.name}") from None
    seconds = time.perf_counter() - start
    nbformat.write(nb, book / path.name)
    return seconds


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.0f} s"


def index_page(pages: dict, timings: dict) -> str:
    """intro.md: the tier, then per notebook its title linked to the page, its time and its learning objectives."""
    total = sum(timings["seconds"].values())
    lines = [f"# {TITLE}", "",
             (f"Every notebook below was executed top to bottom at the **{timings['tier']}** tier "
              f"({timings['reason']}), in {duration(total)} altogether. Read them in order: each page ends with "
              "links to the previous and the next one."), ""]
    for name, (title, objectives) in pages.items():
        lines += [f"## [{title}]({name}.ipynb)", "",
                  f"Executed in {duration(timings['seconds'][name])}. Learning objectives:", ""]
        lines += [f"- {item}" for item in objectives] + [""]
    return "\n".join(lines)


def build_site(pages: dict, timings: dict, book: Path, out: Path):
    """Write the Jupyter Book project into `book`, build it, and move the HTML up into `out`."""
    config = {
        "title": TITLE,
        "author": "stylelib",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},  # executed above, once, with the timings
        "html": {"use_multitoc_numbering": False},  # the titles carry the notebooks' own numbers
        "sphinx": {"config": {"mathjax_path": f"mathjax/{MATHJAX_ENTRY}",  # relative to _static/
                              "html_show_copyright": False}},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": name} for name in pages]}
    (book / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (book / "intro.md").write_text(index_page(pages, timings))

    jupyter_book = shutil.which("jupyter-book", path=Path(sys.executable).parent)
    if jupyter_book is None:
        raise SystemExit("render: jupyter-book is not installed in this Python: pip install -e '.[teach]'")
    built = subprocess.run([jupyter_book, "build", "--quiet", str(book)], check=False)
    if built.returncode:
        raise SystemExit(f"render: jupyter-book build failed ({built.returncode}); its log is above")
    shutil.copytree(book / "_build" / "html", out, dirs_exist_ok=True)
    shutil.rmtree(book / "_build")
    # after the build: Jupyter Book would add a <script> for every .js file in the book's _static/
    shutil.copytree(MATHJAX, out / "_static" / "mathjax",  # without the other combined components (14 MB)
                    ignore=lambda folder, names: [name for name in names if Path(folder) == MATHJAX
                                                  and name.endswith(".js") and name != MATHJAX_ENTRY])


def clear(out: Path):
    """Empty `out` for a new build, refusing a non-empty folder that an earlier render did not write."""
    if out.is_dir() and any(out.iterdir()):
        if not (out / "timings.json").is_file() and not (out / "_book").is_dir():
            raise SystemExit(f"render: {out} is not empty and holds no earlier render: give a new or empty --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", nargs="+", metavar="NAME",
                        help="notebooks to render, by file name without .ipynb (default: all in notebooks/)")
    parser.add_argument("--out", type=Path, default=ROOT / "render", help="build folder (default: render/)")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.notebooks:
        wanted = {name.removesuffix(".ipynb") for name in args.notebooks}
        unknown = wanted - {path.stem for path in paths}
        if unknown:
            raise SystemExit(f"render: no notebook {', '.join(sorted(unknown))} in {NOTEBOOKS}")
        paths = [path for path in paths if path.stem in wanted]
    pages = {path.stem: title_and_objectives(path) for path in paths}  # before executing: fail fast
    if not (MATHJAX / MATHJAX_ENTRY).is_file():
        raise SystemExit(f"render: no MathJax in {MATHJAX}: run `make mathjax` (npm installs it; the pages need it "
                         "to show formulas without internet)")

    out = args.out.resolve()
    clear(out)
    book = out / "_book"
    book.mkdir()
    tier = runtime.tier()
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures (Agg would show none)
    timings = {"tier": tier.name, "reason": tier.reason, "seconds": {}}
    for path in paths:
        print(f"render: executing {path.name} ({tier.name} tier)", flush=True)
        timings["seconds"][path.stem] = round(execute(path, book), 1)
        print(f"render: {path.name} took {duration(timings['seconds'][path.stem])}", flush=True)
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    build_site(pages, timings, book, out)
    print(f"render: open {out / 'index.html'}")


if __name__ == "__main__":
    main()
