"""Interactive UIs for notebook 07 (ipywidgets): the feature explorer and the style playground.

The feature explorer (`explorer`) shows what a VGG layer sees in an image: its channels' maps, their
statistics and the layer's Gram matrix. The style playground (`playground`) puts every knob of
`stylize` on screen and runs it in the background. `parts` holds what both are built from.
Each UI keeps its logic in plain methods, so tests and notebook cells drive it without a browser.
"""
from .explorer import TOP, TOP_CHOICE, FeatureExplorer, FeatureView
from .parts import BackgroundRun, ImagePicker
from .playground import StylePlayground

__all__ = ["FeatureExplorer", "StylePlayground", "FeatureView", "ImagePicker", "BackgroundRun", "TOP", "TOP_CHOICE"]
