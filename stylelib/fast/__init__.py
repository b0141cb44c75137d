"""Fast style transfer (Johnson et al., 2016): train a network once per style, then stylise a photo in one pass.

The optimisation of `stylelib.transfer` repeats hundreds of passes through VGG for every picture. Johnson et al.
instead train a feed-forward *transformer network* on many photos with the same perceptual losses (VGG
features and Gram matrices, `stylelib.objective`); once trained, it stylises any photo in a single forward pass.

- `network`: the transformer network (`TransformerNet`), using it (`apply`), saving and loading its weights;
- `training`: random crops of photos, the training loop (`train`) and its resumable checkpoints;
- `store`: the trained networks shipped in data/models/ (`shipped`, `load`, `card`), watching a run on photos
  it does not train on (`Progress`) and writing new networks with their cards.

Every name is also here: `sl.fast.train`, `sl.fast.load("starry_night")`, `sl.fast.apply`.
"""
from .network import (NORMS, ConvBlock, ResidualBlock, TransformerNet, apply, load_transformer, ms_per_image,
                      save_transformer)
from .store import (MODELS_DIR, VALIDATION_PHOTOS, VALIDATION_SIZE, Progress, card, load, norm_comparison,
                    output_paths, shipped, write)
from .training import (OBJECTIVE, STYLE_SIZE, ZOOMS, Training, image_paths, load_checkpoint, random_crops,
                       save_checkpoint, train)

__all__ = [
    "NORMS", "ConvBlock", "ResidualBlock", "TransformerNet", "apply", "ms_per_image", "save_transformer",
    "load_transformer",
    "OBJECTIVE", "STYLE_SIZE", "ZOOMS", "image_paths", "random_crops", "Training", "save_checkpoint",
    "load_checkpoint", "train",
    "MODELS_DIR", "VALIDATION_PHOTOS", "VALIDATION_SIZE", "shipped", "card", "load", "norm_comparison", "Progress",
    "write", "output_paths",
]
