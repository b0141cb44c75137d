"""stylelib: the thin library behind the neural style transfer notebooks.

One idea per module: images (files in and out), weights (where VGG weights come from),
features (VGG with named layers), losses (Gram matrix, content, style, total variation),
objective (the Gatys objective as data), transfer (the optimization loop), runtime (device and quick mode).
"""
from .errors import ImageError, SettingsError, StylelibError, WeightsError
from .features import VGGFeatures, describe, vgg
from .images import catalog, content, load_image, save_image, style, texture, to_pil, to_tensor
from .losses import content_loss, gram_matrix, style_loss, tv_anisotropic, tv_isotropic, tv_squared
from .layers import layer_names
from .objective import CONTENT_LAYERS, STYLE_LAYERS, Objective
from .runtime import device, pick, quick
from .transfer import Result, Run, invert_features, optimize, stylize, synthesize_texture

__all__ = [
    "ImageError", "SettingsError", "StylelibError", "WeightsError",
    "VGGFeatures", "layer_names", "vgg",
    "catalog", "content", "load_image", "save_image", "style", "texture", "to_pil", "to_tensor",
    "content_loss", "gram_matrix", "style_loss", "tv_anisotropic", "tv_isotropic", "tv_squared",
    "describe", "device", "pick", "quick",
    "Result", "Run", "invert_features", "optimize", "stylize", "synthesize_texture",
    "CONTENT_LAYERS", "STYLE_LAYERS", "Objective",
]

# controls (colour, multi-scale, presets) and fast feed-forward style transfer (issue 4)
from . import color, fast, presets, pyramid  # noqa: E402
from .color import luminance_transfer, match_colors  # noqa: E402
from .presets import PRESETS, preset  # noqa: E402
from .pyramid import largest_size, stylize_multiscale, time_limit  # noqa: E402

__all__ += ["color", "fast", "presets", "pyramid", "luminance_transfer", "match_colors", "PRESETS", "preset",
            "largest_size", "stylize_multiscale", "time_limit"]
