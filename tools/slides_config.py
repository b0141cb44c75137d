"""nbconvert settings for the reveal.js decks (`make slides`, tests/test_slides.py): `--config tools/slides_config.py`.

Every script a deck loads comes from lib/ beside it (a copy of .reveal/node_modules, which `make reveal`
fills with npm), not from a CDN, so the decks work without internet.
"""
c = get_config()  # noqa: F821 (nbconvert provides it)
c.SlidesExporter.reveal_url_prefix = "lib/reveal.js"  # nbconvert 7's template wants reveal.js 4: dist/, plugin/
c.SlidesExporter.reveal_scroll = True  # a slide taller than the screen (code + figure) scrolls instead of being cut
c.HTMLExporter.require_js_url = "lib/requirejs/require.js"
c.HTMLExporter.jquery_url = "lib/jquery/dist/jquery.min.js"
c.HTMLExporter.mathjax_url = "lib/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
