"""Give every notebook cell its slide type and tags, by the rules of tools/slide_rules.py (its docstring lists them).

    python tools/slide_metadata.py notebooks/*.ipynb

Running it again changes nothing; tests/test_slides.py checks that the stored metadata is what it gives.
"""
import sys

import nbformat

from slide_rules import SLIDE_TYPES, apply, slide_types

if __name__ == "__main__":
    for name in sys.argv[1:]:
        nb = nbformat.read(name, as_version=4)
        if apply(nb):
            nbformat.write(nb, name)
        types = slide_types(nb)
        print(f"{name}: " + ", ".join(f"{kind} {n}" for kind in SLIDE_TYPES
                                      if (n := types.count(kind))))
