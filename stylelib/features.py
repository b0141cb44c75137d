"""VGG as a named-layer feature extractor: ask for `relu4_2`, get relu4_2.

Layers are named as in the papers (`conv3_1`, `relu3_1`, `pool3`), never by position. The input
normalisation that the weights were trained with happens inside, so callers always pass RGB in [0, 1].
"""
from collections import OrderedDict

import torch
from torch import nn

from . import runtime
from .errors import SettingsError
from .layers import channels, layer_names
from .weights import load, resolve

POOLINGS = ("max", "avg")

# torchvision weights expect ImageNet mean/std on RGB in [0, 1]; the Caffe/Keras convention
# (offline vgg16-hed) expects BGR in [0, 255] minus the per-channel mean.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


class InputNorm(nn.Module):
    """Maps RGB in [0, 1] to what the weights expect: y = x[:, order] * scale - shift."""

    def __init__(self, convention: str):
        super().__init__()
        if convention == "caffe":
            order, scale, shift = [2, 1, 0], [255.0] * 3, list(CAFFE_MEAN_BGR)
        else:
            order = [0, 1, 2]
            scale = [1 / s for s in IMAGENET_STD]
            shift = [m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        self.convention, self.order = convention, order
        self.register_buffer("scale", torch.tensor(scale).view(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor(shift).view(1, 3, 1, 1))

    def forward(self, x):
        return x[:, self.order] * self.scale - self.shift


class VGGFeatures(nn.Module):
    """Frozen VGG that returns the requested layers in one pass and stops after the deepest."""

    def __init__(self, arch: str = "vgg19", convention: str = "torchvision", pooling: str = "max"):
        super().__init__()
        if pooling not in POOLINGS:
            raise SettingsError(f"unknown pooling {pooling!r}: choose 'max' or 'avg'")
        self.arch, self.pooling, self.source = arch, pooling, None
        self.normalize = InputNorm(convention)
        layers, in_channels = OrderedDict(), 3
        for name in layer_names(arch):
            if name.startswith("conv"):
                out_channels = channels(name)
                layers[name] = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
                in_channels = out_channels
            elif name.startswith("relu"):
                layers[name] = nn.ReLU(inplace=False)
            else:
                layers[name] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        self.body = nn.Sequential(layers)
        self.requires_grad_(False).eval()

    @property
    def names(self) -> list[str]:
        return list(self.body._modules)

    def check_layers(self, layers) -> list[str]:
        """Return `layers` as a list, or raise SettingsError listing the valid names."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [name for name in layers if name not in self.body._modules]
        if unknown:
            raise SettingsError(
                f"unknown layer name(s) {', '.join(map(repr, unknown))} for {self.arch}: "
                f"valid names are {', '.join(self.names)}"
            )
        return layers

    def min_side(self, layers) -> int:
        """Smallest image side (px) that still has ≥ 1 pixel at the deepest of `layers`."""
        deepest = max(self.names.index(name) for name in self.check_layers(layers)) if layers else 0
        pools = sum(name.startswith("pool") for name in self.names[:deepest])
        return 2 ** pools

    def forward(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        """Features of `image` (N, 3, H, W, RGB in [0, 1]) at each of `layers`, keyed by name."""
        wanted = set(self.check_layers(layers))
        out, x = {}, self.normalize(image)
        for name, module in self.body.named_children():
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return {name: out[name] for name in self.check_layers(layers)}

    def train(self, mode: bool = True):
        """Always stays in eval mode: the network is a fixed measuring instrument."""
        return super().train(False)


def vgg(backbone: str = "auto", pooling: str = "max", device=None, verbose: bool = True) -> VGGFeatures:
    """A ready VGGFeatures on `device` with verified weights from the resolved source."""
    source = resolve(backbone, verbose=verbose)
    model = VGGFeatures(source.arch, source.convention, pooling)
    model.body.load_state_dict(load(source), strict=True)
    model.source = source
    return model.to(runtime.device(device))


def describe(backbone: str = "auto") -> str:
    """One line for the top of every notebook: device, weight source, and the tier with why it was chosen."""
    source = resolve(backbone, verbose=False)
    return f"device: {runtime.device()} | weights: {source.name} ({source.reason}) | tier: {runtime.tier()}"


def vgg_for(model: VGGFeatures | str | None, device) -> tuple[VGGFeatures, torch.device]:
    """The VGG to measure with (given, or loaded for a backbone name) and the device it runs on."""
    dev = runtime.device(device)
    if not isinstance(model, VGGFeatures):
        model = vgg(model or "auto", device=dev, verbose=False)
    return model.to(dev), dev
