"""stylelib: the thin library behind the neural style transfer notebooks.

Read it in this order, after the notebooks (about 700 lines):
1. features: VGG with the papers' layer names (notebook 01);
2. losses: the Gram matrix, the content and style losses, total variation (notebooks 02–04);
3. objective: the Gatys objective as data, and the loss it measures (notebook 03);
4. transfer: the optimization loop of notebook 03, and `stylize` built on it;
then parameterization, what the default pyramid schedule changes in that loop.

The controls of notebook 05 are color, multiscale and presets; statistics the style statistics beyond the Gram
matrix and transforms style transfer as a feature transform (AdaIN, WCT; notebook 05c); fast is Johnson et al.'s
feed-forward network, its training and the shipped networks (notebook 06); widgets the playground (07); measure
the helpers that look inside the network and measure pictures. The rest is plumbing: images (files in and out), resources (where
the shipped images, networks and notebooks are), weights (where VGG weights come from), layers (their names),
precision (bf16 and memory layout), validation (each setting checked once), runtime (device and tier), plots,
errors. The notebooks use this package's `__all__` and the public modules' own `__all__`.
"""
from .errors import ImageError, SettingsError, StylelibError, WeightsError
from .features import VGGFeatures, describe, vgg
from .images import catalog, content, load_image, resize_tensor, save_image, style, texture, to_pil, to_tensor
from .layers import layer_names
from .losses import content_loss, gram_matrix, style_loss, tv_anisotropic, tv_isotropic, tv_squared
from .objective import CONTENT_LAYERS, STYLE_LAYERS, Objective
from .runtime import device, pick, quick, tier
from .transfer import Result, Run, invert_features, optimize, stylize, synthesize_texture
from . import measure, color, fast, images, losses, plots, presets, multiscale, statistics, transforms, widgets  # public
from .color import luminance_transfer, match_colors
from .presets import PRESETS, normalized, preset
from .multiscale import largest_size, stylize_multiscale, time_limit

__all__ = [
    "ImageError", "SettingsError", "StylelibError", "WeightsError",
    "VGGFeatures", "describe", "layer_names", "normalized", "vgg",
    "catalog", "content", "load_image", "resize_tensor", "save_image", "style", "texture", "to_pil", "to_tensor",
    "content_loss", "gram_matrix", "style_loss", "tv_anisotropic", "tv_isotropic", "tv_squared",
    "CONTENT_LAYERS", "STYLE_LAYERS", "Objective",
    "device", "pick", "quick", "tier",
    "Result", "Run", "invert_features", "optimize", "stylize", "synthesize_texture",
    "measure", "color", "fast", "images", "losses", "plots", "presets", "multiscale", "statistics", "transforms",
    "widgets",
    "luminance_transfer", "match_colors", "PRESETS", "preset", "largest_size", "stylize_multiscale", "time_limit",
]

