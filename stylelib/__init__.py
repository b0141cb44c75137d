"""stylelib: the thin library behind the neural style transfer notebooks.

One idea per module: images (files in and out), weights (where VGG weights come from), layers (their
names), features (VGG with named layers), losses (Gram matrix, content, style, total variation),
objective (the Gatys objective as data), transfer (the optimization loop), runtime (device and tier),
models (the shipped trained networks). The notebooks use what this package exports (`__all__`) and the
public modules' own `__all__`: measure, color, fast, images, losses, models, plots, presets, multiscale, widgets.
"""
from .errors import ImageError, SettingsError, StylelibError, WeightsError
from .features import VGGFeatures, describe, normalized, vgg
from .images import catalog, content, load_image, resize_tensor, save_image, style, texture, to_pil, to_tensor
from .layers import layer_names
from .losses import content_loss, gram_matrix, style_loss, tv_anisotropic, tv_isotropic, tv_squared
from .objective import CONTENT_LAYERS, STYLE_LAYERS, Objective
from .runtime import device, pick, quick, tier
from .transfer import Result, Run, invert_features, optimize, stylize, synthesize_texture
from . import measure, color, fast, images, losses, models, plots, presets, multiscale, widgets  # the public modules
from .color import luminance_transfer, match_colors
from .presets import PRESETS, preset
from .multiscale import largest_size, stylize_multiscale, time_limit

__all__ = [
    "ImageError", "SettingsError", "StylelibError", "WeightsError",
    "VGGFeatures", "describe", "layer_names", "normalized", "vgg",
    "catalog", "content", "load_image", "resize_tensor", "save_image", "style", "texture", "to_pil", "to_tensor",
    "content_loss", "gram_matrix", "style_loss", "tv_anisotropic", "tv_isotropic", "tv_squared",
    "CONTENT_LAYERS", "STYLE_LAYERS", "Objective",
    "device", "pick", "quick", "tier",
    "Result", "Run", "invert_features", "optimize", "stylize", "synthesize_texture",
    "measure", "color", "fast", "images", "losses", "models", "plots", "presets", "multiscale", "widgets",
    "luminance_transfer", "match_colors", "PRESETS", "preset", "largest_size", "stylize_multiscale", "time_limit",
]

