"""nbconvert settings for the reveal.js decks (`make slides`, tests/test_slides.py): `--config tools/slides_config.py`.

Every script a deck loads comes from lib/ beside it (a copy of .reveal/node_modules, which `make reveal`
fills with npm), not from a CDN, so the decks work without internet. What a slide shows is chosen by
tools/slide_rules.py: the cells' stored slide types (set by tools/slide_metadata.py), its SlideParts preprocessor
(the explanation into the speaker notes) and the tag on figure cells that hides their code here. tools/slides_template/ is
nbconvert's reveal template with MathJax 3 and CSS that fits code, formulas and figures on a slide.
"""
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent  # traitlets runs this file with its __file__
sys.path.insert(0, str(TOOLS))
import slide_rules  # noqa: E402

c = get_config()  # noqa: F821 (nbconvert provides it)
c.SlidesExporter.extra_template_basedirs = [str(TOOLS)]
c.SlidesExporter.template_name = "slides_template"
c.SlidesExporter.reveal_url_prefix = "lib/reveal.js"  # nbconvert 7's template wants reveal.js 4: dist/, plugin/
c.SlidesExporter.reveal_width = "1120"  # 16:10, as a 1280×800 projector: code lines get the whole width
c.SlidesExporter.reveal_height = "700"
c.SlidesExporter.preprocessors = [slide_rules.SlideParts]
c.SlidesExporter.exclude_input_prompt = True  # "In [3]:" takes width from the code and means nothing on a slide
c.SlidesExporter.exclude_output_prompt = True
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_input_tags = {slide_rules.HIDE_INPUT}
c.HTMLExporter.require_js_url = "lib/requirejs/require.js"
c.HTMLExporter.jquery_url = "lib/jquery/dist/jquery.min.js"
c.HTMLExporter.mathjax_url = "lib/mathjax/es5/tex-svg.js"
