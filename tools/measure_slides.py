"""Walk built reveal.js decks in headless Chromium and count what would go wrong on a projector.

    python tools/measure_slides.py [--problems] slides/*.slides.html

For every slide (the last fragment state, where everything on it is shown) of every deck, at the size
of a classroom projector (1280×800), offline: is the slide taller than the screen, is a code block or a
display formula wider than its box, is a formula drawn twice (MathJax's output and, beside it, its
hidden MathML copy, which a browser that draws MathML itself can show)? Prints one line per deck
(with --problems, each problem too); tests/test_slides.py walks the decks with `walk_deck` and asserts
that every count is 0. The deck's lib/ (reveal.js, MathJax) must lie beside it, as `make slides` puts it.
"""
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_browser import offline_page  # noqa: E402  (Chromium as every browser test opens it)

SCREEN = (1280, 800)
REVEAL = "require('lib/reveal.js/dist/reveal.js')"  # the module require.js loaded (the deck has no global Reveal)

# Resolves once MathJax (2 or 3) has typeset everything it was given so far and two frames have been drawn
# (the deck's own scripts have laid the slide out).
SETTLED = """() => new Promise(done => {
    const drawn = () => requestAnimationFrame(() => requestAnimationFrame(done));
    setTimeout(done, 10000);  // a MathJax that never finishes: measure what is there
    if (window.MathJax && MathJax.Hub) MathJax.Hub.Register.StartupHook('End', () => MathJax.Hub.Queue(drawn));
    else if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(drawn);
    else drawn();
})"""

# What is wrong on the slide that is shown now. A copy counts as drawn when any of its area survives the
# clipping and overflow of its ancestors (MathJax hides its copy by clipping it to nothing).
MEASURE = """(slide) => {
    const shown = el => { for (let a = el; a; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.display === 'none' || s.visibility === 'hidden' || a.matches('aside.notes')) return false; }
        return true; };
    const visibleArea = el => {
        const r = el.getBoundingClientRect();
        let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
        for (let a = el; a && a !== document.body; a = a.parentElement) {
            const s = getComputedStyle(a), box = a.getBoundingClientRect();
            if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return 0;
            let clip = null;
            if (s.clipPath !== 'none' && s.clipPath.startsWith('inset(50%')) return 0;
            if (s.clip && s.clip.startsWith('rect(') && ['absolute', 'fixed'].includes(s.position)) {
                const [t, rt, b, l] = s.clip.slice(5, -1).split(/[ ,]+/).map(parseFloat);
                clip = [box.left + l, box.top + t, box.left + rt, box.top + b];
            } else if (a !== el && (s.overflowX !== 'visible' || s.overflowY !== 'visible')) {
                clip = [box.left, box.top, box.right, box.bottom];
            }
            if (clip) [left, top, right, bottom] = [Math.max(left, clip[0]), Math.max(top, clip[1]),
                                                    Math.min(right, clip[2]), Math.min(bottom, clip[3])];
        }
        return Math.max(0, right - left) * Math.max(0, bottom - top);
    };
    const area = slide.getBoundingClientRect();
    const describe = el => (el.textContent || '').replace(/\\s+/g, ' ').replace('¶', '').trim().slice(0, 60);
    const heading = slide.querySelector('h1, h2, h3');
    const result = {title: heading ? describe(heading) : describe(slide), tall: 0, wide: [], twice: [],
                    formulas: 0, display_formulas: 0, code: 0, figures: 0, broken_figures: 0, notes: 0, raw_tex: false};
    // taller than the screen: content below the window's bottom edge, or a slide that scrolls
    let bottom = area.bottom;
    // (what lies inside a box that scrolls, a capped printed output, counts by the box's own bottom)
    const scrolled = el => { for (let a = el.parentElement; a && a !== slide; a = a.parentElement)
        if (getComputedStyle(a).overflowY !== 'visible') return true; return false; };
    for (const el of slide.querySelectorAll('*'))
        if (shown(el) && !scrolled(el)) bottom = Math.max(bottom, el.getBoundingClientRect().bottom);
    const overflow = Math.max(bottom - window.innerHeight, slide.scrollHeight - slide.clientHeight, -area.top);
    if (overflow > 1) result.tall = Math.round(overflow);
    // wider than the box: a block whose content overflows it, or that sticks out of the slide
    const blocks = [...slide.querySelectorAll('pre')].map(el => [el, el])
        .concat([...slide.querySelectorAll('mjx-container[display="true"], .MathJax_Display, .MJXc-display')]
                .map(el => [el, el.firstElementChild || el]));
    for (const [box, content] of blocks) {
        if (!shown(box)) continue;
        const b = box.getBoundingClientRect(), c = content.getBoundingClientRect();
        const excess = Math.max(box.scrollWidth - box.clientWidth, c.right - b.right, b.right - area.right,
                                area.left - b.left);
        if (excess > 1) result.wide.push(`${box.tagName.toLowerCase()} ${Math.round(excess)} px: ${describe(box)}`);
    }
    // drawn twice: a formula whose MathML copy can be seen next to MathJax's drawing
    for (const formula of slide.querySelectorAll('mjx-container, .MathJax_CHTML, .MathJax_SVG, .MathJax')) {
        if (!shown(formula)) continue;
        result.formulas += 1;
        const copy = formula.querySelector('math');
        if (copy && visibleArea(copy) > 4) result.twice.push(describe(copy));
    }
    result.display_formulas = blocks.filter(([box]) => box.tagName !== 'PRE' && shown(box)).length;
    result.code = [...slide.querySelectorAll('.jp-InputArea-editor pre')].filter(shown).length;
    const figures = [...slide.querySelectorAll('.jp-OutputArea-output img')].filter(shown);
    result.figures = figures.length;
    result.broken_figures = figures.filter(img => !(img.complete && img.naturalWidth > 0)).length;
    result.notes = slide.querySelectorAll('aside.notes').length;
    result.raw_tex = slide.innerText.includes('$$');  // a display formula MathJax left as TeX
    return result;
}"""


@dataclass
class Slide:
    """One slide at its last fragment state: where it is (h/v), what it shows and what is wrong with it."""
    deck: str
    h: int
    v: int
    title: str
    tall: int  # pixels the slide reaches below the screen (0: it fits)
    wide: list = field(default_factory=list)  # blocks wider than their box, each "tag excess: text"
    twice: list = field(default_factory=list)  # formulas whose MathML copy shows, each by its text
    formulas: int = 0
    display_formulas: int = 0
    code: int = 0  # code blocks shown
    figures: int = 0  # images in the outputs
    broken_figures: int = 0  # of those, images that did not load
    notes: int = 0  # speaker-notes blocks (aside.notes)
    raw_tex: bool = False  # TeX shown as text: MathJax did not typeset it

    def __str__(self):
        return f"{self.deck} slide {self.h}/{self.v} ({self.title!r})"


def open_deck(page, deck: Path):
    """Load `deck` without slide transitions and wait for reveal.js and MathJax."""
    page.goto(deck.as_uri() + "?transition=none&backgroundTransition=none")
    page.locator(".reveal.ready section.present").first.wait_for()
    page.evaluate(SETTLED)


def show(page, h: int, v: int):
    """Go to slide h/v with all of its fragments shown, and wait until MathJax is done with it."""
    page.evaluate(f"""([h, v]) => {{
        const reveal = {REVEAL};
        reveal.slide(h, v, reveal.getSlide(h, v).querySelectorAll('.fragment').length - 1);
    }}""", [h, v])
    page.evaluate(SETTLED)


def walk_deck(page, deck: Path, on_slide=None) -> list[Slide]:
    """Every slide of `deck`, measured; `on_slide(slide)` is called while each is on screen."""
    open_deck(page, deck)
    counts = page.evaluate(f"() => {REVEAL}.getHorizontalSlides().map(s => Math.max(1, s.querySelectorAll(':scope > section').length))")
    slides = []
    for h, count in enumerate(counts):
        for v in range(count):
            show(page, h, v)
            measured = page.evaluate(f"() => ({MEASURE})({REVEAL}.getCurrentSlide())")
            slides.append(Slide(deck.name.removesuffix(".slides.html"), h, v, **measured))
            if on_slide:
                on_slide(slides[-1])
    return slides


def problems(slides: list[Slide]) -> list[str]:
    """One line per thing wrong on `slides`."""
    return ([f"{s}: {s.tall} px taller than the screen" for s in slides if s.tall]
            + [f"{s}: wider than its box: {block}" for s in slides for block in s.wide]
            + [f"{s}: formula drawn twice: {formula}" for s in slides for formula in s.twice])


def main(decks: list[Path], show_problems: bool):
    print(f"{'deck':28} {'slides':>6} {'taller than the screen':>22} {'wider than the box':>18} {'formulas drawn twice':>20}")
    totals = [0, 0, 0, 0]
    with offline_page(*SCREEN, "measure_failure.png") as (page, _, _):
        for deck in decks:
            slides = walk_deck(page, deck)
            row = [len(slides), sum(1 for s in slides if s.tall), sum(len(s.wide) for s in slides),
                   sum(len(s.twice) for s in slides)]
            totals = [t + n for t, n in zip(totals, row)]
            print(f"{slides[0].deck:28} {row[0]:6} {row[1]:22} {row[2]:18} {row[3]:20}", flush=True)
            if show_problems:
                print("".join(f"    {line}\n" for line in problems(slides)), end="")
    print(f"{'all':28} {totals[0]:6} {totals[1]:22} {totals[2]:18} {totals[3]:20}")


if __name__ == "__main__":
    main([Path(name).resolve() for name in sys.argv[1:] if name != "--problems"], "--problems" in sys.argv)
