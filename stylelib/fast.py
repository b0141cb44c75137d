"""Fast style transfer (Johnson et al., 2016): train a network once per style, then stylise in one pass.

The transformer network maps a photo to its stylised version: three convolutions (the last two
with stride 2) shrink it, residual blocks transform it, and two nearest-neighbour upsamplings each
followed by a convolution grow it back; a 9×9 convolution and a sigmoid give RGB in [0, 1].
Reflection padding avoids dark borders. It is trained with the perceptual losses of the
optimisation method (`stylelib.objective`, Johnson et al.'s preset by default) on random crops of photos.

Two parts came after Johnson et al., who used batch normalisation, strided convolutions down,
transposed ("fractionally strided") convolutions up and a scaled tanh output:
- instance normalisation (Ulyanov et al., 2016), the default here; `norm="batch"` is Johnson's choice;
- resize-convolution upsampling (Odena et al., 2016): a strided transposed convolution can leave a
  checkerboard pattern, most easily where its kernel size is not a multiple of its stride (output
  pixels then get unequal numbers of contributions).
"""
import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import images, runtime
from .errors import ImageError, SettingsError, WeightsError
from .features import VGGFeatures
from .objective import Objective
from .presets import JOHNSON_2016
from .validation import MAX_STEPS, number, whole
from .transfer import network

__all__ = ["NORMS", "ConvBlock", "ResidualBlock", "TransformerNet", "random_crops", "image_paths", "Training",
           "train", "apply", "ms_per_image", "save_transformer", "load_transformer"]

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

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, norm: str | None = "instance", relu: bool = True):
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
            raise SettingsError(f"images for the transformer need both sides ≥ {MIN_SIDE} px, got {tuple(x.shape[-2:])}")
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


# --- training images ----------------------------------------------------------------------------

def image_paths(folder=None) -> list[Path]:
    """Every image file under `folder` (default data/content), searched recursively, sorted."""
    folder = Path(folder) if folder is not None else images.DATA_DIR / "content"
    if not folder.is_dir():
        raise ImageError(f"training folder {folder} does not exist or is not a folder")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in images.EXTENSIONS and p.is_file())
    if not paths:
        raise ImageError(f"no images ({', '.join(images.EXTENSIONS)}) found in {folder}")
    return paths


@functools.lru_cache(maxsize=64)
def _photo(path: Path, short_side: int) -> torch.Tensor:
    """A photo scaled so its shorter side is `short_side` (cached: small folders are re-read often)."""
    img = images.open_rgb(path)
    scale = short_side / min(img.size)
    return images.to_tensor(images.resize_long_side(img, max(short_side, round(max(img.size) * scale))))


def random_crops(paths, count: int, size: int, generator: torch.Generator, zoom: float = 1.5) -> torch.Tensor:
    """`count` random `size`×`size` crops, each from a random photo whose shorter side is scaled
    to `zoom`·`size`, flipped left-right half of the time. Unreadable files are skipped."""
    crops = []
    while len(crops) < count:
        path = paths[int(torch.randint(len(paths), (1,), generator=generator))]
        try:
            photo = _photo(path, round(size * zoom))
        except ImageError as error:
            print(f"skipping {error}")
            paths = [p for p in paths if p != path]
            if not paths:
                raise ImageError("none of the training images could be read") from None
            continue
        h, w = photo.shape[-2:]
        top = int(torch.randint(h - size + 1, (1,), generator=generator))
        left = int(torch.randint(w - size + 1, (1,), generator=generator))
        crop = photo[..., top:top + size, left:left + size]
        crops.append(crop.flip(-1) if float(torch.rand(1, generator=generator)) < 0.5 else crop)
    return torch.cat(crops)


# --- training -----------------------------------------------------------------------------------

@dataclass
class Training:
    """A trained (or partly trained) network, the settings that made it, and, per step, its weighted losses
    and the time."""

    net: TransformerNet
    settings: dict = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    stopped: str | None = None  # None (ran all steps), "interrupted" or "non-finite"

    @property
    def steps(self) -> int:
        return len(self.seconds)


def _atomic_save(obj, path: Path):
    """torch.save to a temporary file, then rename: an interrupted save never leaves half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_checkpoint(path, net, optimizer, generator, training: Training, settings: dict):
    """Everything needed to resume exactly: weights, optimizer moments, sampler state, history."""
    _atomic_save({"net": net.state_dict(), "config": net.config(), "optimizer": optimizer.state_dict(),
                  "generator": generator.get_state(), "history": training.history,
                  "seconds": training.seconds, "settings": settings}, path)


def load_checkpoint(path) -> dict:
    """A checkpoint as saved by `save_checkpoint`, read without unpickling code (weights_only)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"{path} is not a readable stylelib checkpoint: {str(error).splitlines()[0]}") from None


def train(style, folder=None, objective: Objective | None = None, *, steps: int | None = None,
          batch_size: int | None = None, size: int | None = None, norm: str = "instance", lr: float = 1e-3,
          seed: int = 0, checkpoint=None, checkpoint_every: int = 500, model: VGGFeatures | str | None = None,
          device=None, progress: bool = True, width: int = 32, blocks: int = 5, bf16: bool = False,
          **changes) -> Training:
    """Train a TransformerNet for one `style` on random crops of the photos in `folder`.

    Each step: random crops (`random_crops`) → the network → `objective`'s content and style terms
    (each crop is its own content target) → backward → one Adam step on the network's weights.
    The loss is `objective` (default: Johnson et al.'s, `presets.JOHNSON_2016`, for the network's
    input convention: content relu3_3, style relu1_2, relu2_2, relu3_3, relu4_3); `changes` replace
    single Objective fields (e.g. content_weight, style_weight, tv_weight, style_scale). With
    `checkpoint` (a file path) the state is saved every `checkpoint_every` steps, at the end and on
    Ctrl-C, and a run started with an existing checkpoint resumes from it: same seed, same result as
    an unbroken run. `bf16` runs the forward passes in bfloat16 autocast (about twice the steps per
    second on a recent GPU; the weights and Adam stay float32).
    """
    steps, batch_size, size = (runtime.default(name, value) for name, value in
                               (("train_steps", steps), ("train_batch", batch_size), ("train_size", size)))
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1), ("size", size, 16),
                             ("checkpoint_every", checkpoint_every, 1)):
        whole(name, value, low, MAX_STEPS)
    lr = number("lr", lr, strict_low=True)
    model, dev = network(model, device)
    objective = (objective or JOHNSON_2016.settings(model)["objective"]).replace(**changes)
    paths = image_paths(folder)
    o = objective
    settings = {"norm": norm, "lr": lr, "batch_size": batch_size, "size": size, "seed": seed, "width": width,
                "blocks": blocks, "bf16": bf16, "content_weight": o.content_weight, "style_weight": o.style_weight,
                "tv_weight": o.tv_weight, "content_layers": list(o.content_layers), "style_layers": list(o.style_layers),
                "scale_free": o.scale_free}

    torch.manual_seed(seed)  # the network's initial weights
    net = TransformerNet(norm, width, blocks).to(dev).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    training = Training(net, settings)
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state["settings"] != settings:
            changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
            raise SettingsError(f"checkpoint {checkpoint} was trained with other settings ({', '.join(changed)}): "
                                "use the same settings or another checkpoint file")
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        training.history, training.seconds = state["history"], state["seconds"]

    style_image = images.as_image(style, round(size * objective.style_scale)).to(dev)
    # the photos of each batch are their own content targets; the sigmoid output stays in range
    loss = objective.loss(model, styles=[style_image], keep_in_range=False, content_per_call=True)
    offset = training.seconds[-1] if training.seconds else 0.0
    start = time.perf_counter()
    bar = tqdm(range(training.steps, steps), desc=f"training ({norm} norm)", disable=not progress, leave=False,
               initial=training.steps, total=steps)
    try:
        for step in bar:
            batch = random_crops(paths, batch_size, size, generator).to(dev)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                out = net(batch)
                terms = loss(out, content=batch)  # the photos are their own content targets
            terms = {name: term.float() for name, term in terms.items()}
            total = sum(terms.values())
            if not torch.isfinite(total):
                training.stopped = "non-finite"
                print(f"stopped at step {step + 1}: the loss became NaN or infinite (learning rate too large?)")
                break
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            for name, value in {**terms, "total": total}.items():
                training.history.setdefault(name, []).append(float(value.detach()))
            training.seconds.append(offset + time.perf_counter() - start)
            bar.set_postfix(loss=f"{training.history['total'][-1]:.4g}", refresh=False)
            if checkpoint is not None and (step + 1) % checkpoint_every == 0:
                save_checkpoint(checkpoint, net, optimizer, generator, training, settings)
    except KeyboardInterrupt:
        training.stopped = "interrupted"
        print(f"interrupted after {training.steps} steps" + (f": saved to {checkpoint}, run again to resume"
                                                             if checkpoint is not None else ""))
    finally:
        bar.close()
    if checkpoint is not None:
        save_checkpoint(checkpoint, net, optimizer, generator, training, settings)
    net.eval()
    return training


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


def save_transformer(net: TransformerNet, path, half: bool = False) -> Path:
    """Save the network as a plain state dict (+ its shape settings): tensors, strings, ints only.
    `half` stores floating-point tensors as float16 (half the file; `load_transformer` reads them back
    as float32)."""
    path = Path(path)
    state = {k: v.half() if half and v.is_floating_point() else v for k, v in net.state_dict().items()}
    _atomic_save({"config": net.config(), "state": state}, path)
    return path


def load_transformer(path, device=None) -> TransformerNet:
    """Load a saved network with torch.load(weights_only=True): no pickled code can run."""
    state = load_checkpoint(path)
    if "state" not in state:  # a training checkpoint also holds the network
        state = {"config": state["config"], "state": state["net"]}
    net = TransformerNet(**state["config"])
    net.load_state_dict(state["state"])
    return net.to(runtime.device(device)).eval()
