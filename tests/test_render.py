"""`make render` in small: tools/render_site.py executes notebooks 04 and 07 at the quick tier into a temporary
folder and builds the site. The index lists both with their titles, linked to pages that exist, and their learning
objectives; the page of notebook 04 shows figures. Headless Chromium (Debian's, as in tests/test_browser.py) opens
the index with every http(s) request refused (a classroom without internet), follows the link to notebook 04, and
checks that every image loaded, that MathJax typeset the formulas from the site's own copy, and that the page links
on to notebook 07. Screenshots render_index.png and render_notebook.png go to screenshots/ (git-ignored).
"""
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]
import render_site  # noqa: E402
from test_browser import CHROMIUM, SCREENSHOTS, offline_page  # noqa: E402
NAMES = ["04_total_variation", "07_playground"]  # two short notebooks (about 12 s each in quick mode)
FIGURES = "04_total_variation"  # the one with figures in quick mode (07's live inside its widgets)


class Page(HTMLParser):
    """The text, the link targets (with their text) and the image sources of one HTML file."""

    def __init__(self, path: Path):
        super().__init__()
        self.path, self.text, self.links, self.images, self.refresh = path, [], [], [], None
        self._link = None
        self.feed(path.read_text())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self._link = [attrs["href"], ""]
            self.links.append(self._link)
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.refresh = attrs["content"].split("url=", 1)[1]

    def handle_endtag(self, tag):
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        self.text.append(data)
        if self._link:
            self._link[1] += data

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())

    def target(self, href: str) -> Path:
        return self.path.parent / href.split("#")[0].split("?")[0]


def opened(path: Path) -> Page:
    """The page a browser shows for `path`, following a redirect (<meta http-equiv="refresh">)."""
    page = Page(path)
    return opened(page.target(page.refresh)) if page.refresh else page


def plain_start(markdown: str, words: int = 5) -> str:
    """The first words of a markdown item, before any math, code or emphasis (whose HTML reads differently)."""
    return " ".join(re.split(r"[$`*_\[]", markdown)[0].split()[:words])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render") / "site"
    env = {**os.environ, "STYLELIB_MODE": "quick",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "render_site.py"), "--notebooks", *NAMES,
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, f"render_site.py failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return out


def test_objectives_in_both_spellings(tmp_path):
    heading = "# 09 · A title\n\nIntro.\n\n## Learning objectives\n\n- one;\n- two, on\n  two lines;\n\nMore prose."
    bold = "# 10 · Another\n\n**Learning objectives** — after this notebook you can\n\n1. first;\n2. second."
    for source, expected in ((heading, ("09 · A title", ["one;", "two, on two lines;"])),
                             (bold, ("10 · Another", ["first;", "second."]))):
        path = tmp_path / "nb.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)]), path)
        assert render_site.title_and_objectives(path) == expected


def test_every_notebook_has_a_title_and_objectives():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        title, objectives = render_site.title_and_objectives(path)
        assert title and objectives, path.name


def test_a_failing_cell_stops_the_build_with_its_name(tmp_path):
    cells = [nbformat.v4.new_markdown_cell("# Broken"), nbformat.v4.new_code_cell("x = 1"),
             nbformat.v4.new_code_cell("x / 0")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "broken.ipynb")
    (tmp_path / "book").mkdir()
    with pytest.raises(SystemExit, match=r"broken\.ipynb failed in cell 3 of 3 \(`x / 0`\)"):
        render_site.execute(tmp_path / "broken.ipynb", tmp_path / "book")
    assert (tmp_path / "book" / "broken.ipynb").is_file()  # as far as it ran, to look at


def test_make_render_runs_at_the_machines_tier():
    done = subprocess.run(["make", "-n", "--no-print-directory", "render"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert "tools/render_site.py" in done.stdout, done.stdout + done.stderr
    assert "STYLELIB_QUICK" not in done.stdout and "STYLELIB_MODE" not in done.stdout  # no tier forced


def test_timings_name_the_tier(site):
    timings = json.loads((site / "timings.json").read_text())
    assert timings["tier"] == "quick" and timings["reason"]
    assert set(timings["seconds"]) == set(NAMES) and all(s > 0 for s in timings["seconds"].values())


def test_index_lists_titles_objectives_and_links(site):
    index = opened(site / "index.html")
    text = index.words()
    assert "quick" in text  # the tier
    for name in NAMES:
        title, objectives = render_site.title_and_objectives(ROOT / "notebooks" / f"{name}.ipynb")
        assert title in text, f"{name}: title missing from the index"
        links = [href for href, label in index.links if " ".join(label.split()) == title]
        assert links, f"{name}: the index has no link labelled {title!r}"
        assert index.target(links[0]).is_file(), f"{name}: the index links to {links[0]}, which does not exist"
        assert Path(links[0]).stem == name
        assert plain_start(objectives[0]) in text, f"{name}: first learning objective missing from the index"


def test_pages_have_their_figures(site):
    for name in NAMES:
        page = opened(site / f"{name}.html")
        missing = [src for src in page.images if not page.target(src).is_file()]
        assert not missing, f"{name}: images that are not in the site: {missing}"
    figures = [src for src in opened(site / f"{FIGURES}.html").images
               if Path(src).suffix == ".png" and (site / src).read_bytes().startswith(b"\x89PNG")]
    assert figures, f"{FIGURES}: no figure on the page"


def test_site_in_chromium_offline(site):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM}: run `make browser` (Debian: apt-get install chromium)")
    title = render_site.title_and_objectives(ROOT / "notebooks" / f"{FIGURES}.ipynb")[0]
    next_title = render_site.title_and_objectives(ROOT / "notebooks" / f"{NAMES[1]}.ipynb")[0]
    images_loaded = "() => [...document.images].every(img => img.complete)"
    broken_images = "() => [...document.images].filter(img => img.naturalWidth === 0).map(img => img.src)"
    typeset = "() => document.querySelectorAll('mjx-container').length > 0"
    # sphinx-thebe's inline `const THEBE_JS_URL = ...` lands twice in every page (Jupyter Book 1.0.4 with
    # Sphinx 7.4): the second throws, harmlessly, as thebe (live code through Binder) is not used here
    with offline_page(1280, 900, "render_failure.png", harmless="THEBE_JS_URL") as (page, refused, errors):
        page.goto((site / "index.html").as_uri())
        link = page.locator("article a", has_text=title).first  # the index's own link, not the sidebar's
        link.wait_for()
        page.wait_for_function(images_loaded)
        assert page.evaluate(broken_images) == [], "images on the index did not load"
        page.wait_for_function(typeset)  # the $\beta$ of 07's objectives, by the site's own MathJax
        page.screenshot(path=SCREENSHOTS / "render_index.png")

        link.click()
        page.wait_for_url(f"**/{FIGURES}.html")
        page.wait_for_function(images_loaded)
        assert page.locator("article img").count() >= 1, "no figure on the notebook's page"
        assert page.evaluate(broken_images) == [], "images on the notebook's page did not load"
        page.wait_for_function(typeset)
        following = page.locator("a", has_text="Next").filter(has_text=next_title)
        assert following.count() == 1, f"no link on to {next_title!r} at the end of the page"
        page.locator("article img").first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / "render_notebook.png")
        assert not errors, f"errors in the pages: {errors}"
        assert not refused, f"the pages asked the internet for {refused}"
