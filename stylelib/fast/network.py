"""The transformer network of Johnson et al. (2016): a photo in, its stylised version out, in one pass.

Three convolutions (the last two with stride 2) shrink the photo, residual blocks transform it, and two
nearest-neighbour upsamplings each followed by a convolution grow it back; a 9×9 convolution and a sigmoid
give RGB in [0, 1]. Reflection padding avoids dark borders.

Two parts came after Johnson et al., who used batch normalisation, strided convolutions down,
transposed ("fractionally strided") convolutions up and a scaled tanh output:
- instance normalisation (Ulyanov et al., 2016), the default here; `norm="batch"` is Johnson's choice;
- resize-convolution upsampling (Odena et al., 2016): a strided transposed convolution can leave a
  checkerboard pattern, most easily where its kernel size is not a multiple of its stride (output
  pixels then get unequal numbers of contributions).
"""
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import images, runtime
from ..errors import SettingsError, WeightsError

__all__ = ["NORMS", "ConvBlock", "ResidualBlock", "TransformerNet", "apply", "ms_per_image", "save_transformer",
           "load_transformer"]

NORMS = ("instance", "batch", "none")
MIN_SIDE = 8  # reflection padding needs every level of the network to be at least 2 px


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ConvBlock(nn.Sequential):
    """Reflection padding, convolution, then (optionally) normalisation and ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: str | None = "instance",
                 relu: bool = True):
        layers = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm is not None:
            layers.append(_norm(norm, cout))
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """x + conv-norm-ReLU-conv-norm(x): easy to learn "change a little" (He et al. 2016)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(ConvBlock(channels, channels, 3, norm=norm),
                                  ConvBlock(channels, channels, 3, norm=norm, relu=False))

    def forward(self, x):
        return x + self.body(x)


class TransformerNet(nn.Module):
    """Photo (B, 3, H, W) in [0, 1] → stylised photo of the same size in [0, 1].

    Any H, W ≥ 8 works: each upsampling goes back to the exact size of the matching downsampling
    level, so odd sizes come back unchanged. `norm` is "instance", "batch" or "none".
    """

    def __init__(self, norm: str = "instance", width: int = 32, blocks: int = 5):
        super().__init__()
        if norm not in NORMS:
            raise SettingsError(f"unknown normalisation {norm!r}: choose one of {', '.join(NORMS)}")
        self.norm, self.width, self.blocks = norm, width, blocks
        w = width
        self.down = nn.ModuleList([ConvBlock(3, w, 9, norm=norm), ConvBlock(w, 2 * w, 3, 2, norm),
                                   ConvBlock(2 * w, 4 * w, 3, 2, norm)])
        self.res = nn.Sequential(*[ResidualBlock(4 * w, norm) for _ in range(blocks)])
        self.up = nn.ModuleList([ConvBlock(4 * w, 2 * w, 3, norm=norm), ConvBlock(2 * w, w, 3, norm=norm)])
        self.out = ConvBlock(w, 3, 9, norm=None, relu=False)

    def forward(self, x):
        if min(x.shape[-2:]) < MIN_SIDE:
            raise SettingsError(f"images for the transformer need both sides ≥ {MIN_SIDE} px, "
                                f"got {tuple(x.shape[-2:])}")
        sizes = []
        for block in self.down:
            sizes.append(x.shape[-2:])
            x = block(x)
        x = self.res(x)
        for block, size in zip(self.up, reversed(sizes[1:])):  # back to 1/2, then full size
            x = block(F.interpolate(x, size=tuple(size), mode="nearest"))
        return torch.sigmoid(self.out(x))

    def config(self) -> dict:
        return {"norm": self.norm, "width": self.width, "blocks": self.blocks}


# --- using a trained network --------------------------------------------------------------------

@torch.no_grad()
def apply(net: TransformerNet, image, size: int | None = None) -> torch.Tensor:
    """Stylise one image (tensor, path or data/ name) with a trained network, in eval mode."""
    net.eval()
    device = next(net.parameters()).device
    return net(images.as_image(image, size).to(device)).cpu()


def ms_per_image(net: TransformerNet, image: torch.Tensor, repeats: int = 5) -> float:
    """Median milliseconds for one forward pass (after one warm-up pass)."""
    apply(net, image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        apply(net, image)
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


# --- saving and loading -------------------------------------------------------------------------

def atomic_save(obj, path) -> Path:
    """torch.save to a temporary file, then rename: an interrupted save never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def read_state(path) -> dict:
    """A file saved by `atomic_save` (a network or a training checkpoint), read without unpickling code
    (weights_only)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"{path} is not a readable stylelib network or checkpoint: "
                           f"{str(error).splitlines()[0]}") from None


def save_transformer(net: TransformerNet, path, half: bool = False) -> Path:
    """Save the network as a plain state dict (+ its shape settings): tensors, strings, ints only.
    `half` stores floating-point tensors as float16 (half the file; `load_transformer` reads them back
    as float32)."""
    state = {k: v.half() if half and v.is_floating_point() else v for k, v in net.state_dict().items()}
    return atomic_save({"config": net.config(), "state": state}, path)


def load_transformer(path, device=None) -> TransformerNet:
    """Load a saved network with torch.load(weights_only=True): no pickled code can run."""
    state = read_state(path)
    if "state" not in state:  # a training checkpoint (stylelib.fast.training) also holds the network
        state = {"config": state["config"], "state": state["net"]}
    net = TransformerNet(**state["config"])
    net.load_state_dict(state["state"])
    return net.to(runtime.device(device)).eval()
