"""Training a transformer network for one style: random crops of photos, the perceptual losses of the
optimisation method (`stylelib.objective`, Johnson et al.'s preset by default), Adam, and checkpoints that
resume a run exactly.
"""
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import images, runtime
from ..errors import ImageError, SettingsError
from ..features import VGGFeatures, vgg_for
from ..objective import Objective
from ..presets import JOHNSON_2016
from ..validation import MAX_STEPS, number, whole
from .network import TransformerNet, atomic_save, read_state

__all__ = ["ZOOMS", "STYLE_SIZE", "OBJECTIVE", "image_paths", "random_crops", "Training", "save_checkpoint",
           "load_checkpoint", "train"]


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


@functools.lru_cache(maxsize=256)
def _photo(path: Path, short_side: int) -> torch.Tensor:
    """A photo scaled so its shorter side is `short_side` (cached: small folders are re-read often)."""
    img = images.open_rgb(path)
    scale = short_side / min(img.size)
    return images.to_tensor(images.resize_long_side(img, max(short_side, round(max(img.size) * scale))))


ZOOMS = (1.0, 1.5, 2.0, 3.0)  # crop scales: a network meets the things in photos at many sizes
STYLE_SIZE = 384  # the painting's long side while training: the size of the pictures the networks paint
# Johnson et al.'s layers and the library's scale-free terms (objective.py), a departure from the paper's raw
# terms: with those and the offline VGG16 the networks painted a flat wash of the painting's colours with blobs
# (data/models/README.md: the diagnosis).
OBJECTIVE = Objective(content_layers=JOHNSON_2016.objective.content_layers,
                      style_layers=JOHNSON_2016.objective.style_layers, style_weight=3.0)


def random_crops(paths, count: int, size: int, generator: torch.Generator, zooms=ZOOMS) -> torch.Tensor:
    """`count` random `size`×`size` crops, each from a random photo whose shorter side is scaled to
    `zoom`·`size` for a zoom drawn from `zooms` (1: the whole height of the photo; 3: a detail),
    flipped left-right half of the time. Unreadable files are skipped."""
    crops = []
    while len(crops) < count:
        path = paths[int(torch.randint(len(paths), (1,), generator=generator))]
        zoom = zooms[int(torch.randint(len(zooms), (1,), generator=generator))]
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
    """A trained (or partly trained) network, the settings that made it, per step its weighted losses and the
    time, and what a callback recorded on photos it does not train on (`fast.store.Progress`)."""

    net: TransformerNet
    settings: dict = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)  # the names of the training photos
    stopped: str | None = None  # None (ran all steps), "interrupted" or "non-finite"

    @property
    def steps(self) -> int:
        return len(self.seconds)


def save_checkpoint(path, net, optimizer, generator, training: Training, settings: dict):
    """Everything needed to resume exactly: weights, optimizer moments, sampler state, history."""
    atomic_save({"net": net.state_dict(), "config": net.config(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(), "history": training.history,
                 "seconds": training.seconds, "validation": training.validation, "settings": settings}, path)


def load_checkpoint(path) -> dict:
    """A checkpoint as saved by `save_checkpoint`, read without unpickling code (weights_only)."""
    return read_state(path)


def train(style, folder=None, objective: Objective | None = None, *, steps: int | None = None,
          batch_size: int | None = None, size: int | None = None, norm: str = "instance", lr: float = 1e-3,
          style_size: int = STYLE_SIZE, zooms=ZOOMS, seed: int = 0, checkpoint=None, checkpoint_every: int = 500,
          callback=None, model: VGGFeatures | str | None = None, device=None, progress: bool = True,
          width: int = 32, blocks: int = 5, bf16: bool = False, **changes) -> Training:
    """Train a TransformerNet for one `style` on random crops of the photos in `folder`.

    Each step: random crops at several scales (`random_crops`, `zooms`) → the network → `objective`'s
    content and style terms (each crop is its own content target) → backward → one Adam step on the
    network's weights. The loss is `objective` (default `OBJECTIVE`: Johnson et al.'s layers, content
    relu3_3, style relu1_2, relu2_2, relu3_3, relu4_3, with scale-free terms); `changes` replace single
    Objective fields (e.g. content_weight, style_weight, tv_weight). The painting is measured at
    `style_size` px × style_scale: its strokes are learnt at that scale, so give it the size of the
    pictures the network will paint, not of the crops.

    With `checkpoint` (a file path) the state is saved every `checkpoint_every` steps, at the end and on
    Ctrl-C, and a run started with an existing checkpoint resumes from it: same seed, same result as an
    unbroken run. `callback(training)` is called every `checkpoint_every` steps and at the end
    (`fast.store.Progress` shows the network's pictures of photos it does not train on). `bf16` runs the
    forward passes in bfloat16 autocast (faster on a recent GPU; the weights and Adam stay float32).
    """
    steps, batch_size, size = (runtime.default(name, value) for name, value in
                               (("train_steps", steps), ("train_batch", batch_size), ("train_size", size)))
    for name, value, low in (("steps", steps, 1), ("batch_size", batch_size, 1), ("size", size, 16),
                             ("checkpoint_every", checkpoint_every, 1)):
        whole(name, value, low, MAX_STEPS)
    lr = number("lr", lr, strict_low=True)
    zooms = tuple(number("zoom", z, low=1.0) for z in zooms)
    if not zooms:
        raise SettingsError("zooms is empty: give at least one crop scale ≥ 1 (e.g. 1.5)")
    model, dev = vgg_for(model, device)  # the VGG that measures the losses
    objective = (objective or OBJECTIVE).replace(**changes)
    style_size = round(whole("style_size", style_size, 16, MAX_STEPS) * objective.style_scale)
    paths = image_paths(folder)
    o = objective
    settings = {"norm": norm, "lr": lr, "batch_size": batch_size, "size": size, "style_size": style_size,
                "zooms": list(zooms), "seed": seed, "width": width, "blocks": blocks, "bf16": bf16,
                "content_weight": o.content_weight, "style_weight": o.style_weight,
                "tv_weight": o.tv_weight, "content_layers": list(o.content_layers),
                "style_layers": list(o.style_layers), "scale_free": o.scale_free}

    torch.manual_seed(seed)  # the network's initial weights
    net = TransformerNet(norm, width, blocks).to(dev).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    training = Training(net, settings, photos=[p.name for p in paths])
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
        training.validation = state.get("validation", [])

    style_image = images.as_image(style, style_size).to(dev)
    # the photos of each batch are their own content targets; the sigmoid output stays in range
    loss = objective.loss(model, styles=[style_image], keep_in_range=False, content_per_call=True)
    offset = training.seconds[-1] if training.seconds else 0.0
    start = time.perf_counter()
    bar = tqdm(range(training.steps, steps), desc=f"training ({norm} norm)", disable=not progress, leave=False,
               initial=training.steps, total=steps)
    try:
        for step in bar:
            batch = random_crops(paths, batch_size, size, generator, zooms).to(dev)
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
            if (step + 1) % checkpoint_every == 0:
                if callback is not None:
                    callback(training)
                    net.train()  # the callback may have switched it to eval mode
                if checkpoint is not None:  # after the callback: the checkpoint keeps what it recorded
                    save_checkpoint(checkpoint, net, optimizer, generator, training, settings)
    except KeyboardInterrupt:
        training.stopped = "interrupted"
        print(f"interrupted after {training.steps} steps" + (f": saved to {checkpoint}, run again to resume"
                                                             if checkpoint is not None else ""))
    finally:
        bar.close()
    if checkpoint is not None:
        save_checkpoint(checkpoint, net, optimizer, generator, training, settings)
    if callback is not None and training.steps % checkpoint_every:  # the end, unless just called
        callback(training)
    net.eval()
    return training
