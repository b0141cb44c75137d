"""The trained networks that ship with the series (data/models/), and how each was made.

A shipped network is two files: NAME.pt, its weights (`save_transformer`, stored in float16 to halve the file;
they are loaded back as float32), and NAME.json, its card: the sha256 of NAME.pt, the exact command that trained
it, the steps, the seconds, the device, the training photos, the final losses, the loss curves and the scores
on photos it never trained on.
`python -m stylelib train` writes both; loading checks the sha256 before torch reads the file.
"""
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from .. import images, runtime
from ..errors import SettingsError, WeightsError
from ..features import vgg_for
from ..measure import transfer_scores
from ..weights import sha256
from .network import NORMS, TransformerNet, apply, load_transformer, save_transformer
from .training import Training

__all__ = ["MODELS_DIR", "VALIDATION_PHOTOS", "VALIDATION_SIZE", "shipped", "card", "load", "norm_comparison",
           "Progress", "write", "output_paths"]

VALIDATION_PHOTOS = ("city_beach", "colonnade")  # never in the shipped networks' training photos
VALIDATION_SIZE = 384

MODELS_DIR = images.DATA_DIR / "models"
COMPARISON_DIR = MODELS_DIR / "norm_comparison"
CURVE_POINTS = 200  # a card keeps the loss curves as at most this many window means


def shipped() -> list[str]:
    """The names of the networks in data/models/ (each a NAME.pt with its NAME.json card)."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.json") if p.with_suffix(".pt").is_file())


def _paths(name_or_path) -> tuple[Path, Path]:
    """(weights, card) of a shipped name or of a .pt file written by `python -m stylelib train`."""
    path = Path(name_or_path)
    if path.suffix == ".pt":
        if not path.is_file():
            raise WeightsError(f"no network file {path}")
        return path, path.with_suffix(".json")
    if str(name_or_path) not in shipped():
        raise WeightsError(f"no shipped network named {str(name_or_path)!r}: the shipped networks are "
                           f"{', '.join(shipped()) or 'none'} (or give the path of a .pt file)")
    return MODELS_DIR / f"{name_or_path}.pt", MODELS_DIR / f"{name_or_path}.json"


def _read_card(card_path: Path) -> dict:
    if not card_path.is_file():
        raise WeightsError(f"{card_path} is missing: the card says how the network was trained and its sha256")
    return json.loads(card_path.read_text())


def card(name_or_path) -> dict:
    """How a network was made: command, steps, seconds, device, final losses, curves (its NAME.json)."""
    return _read_card(_paths(name_or_path)[1])


def load(name_or_path, device=None) -> TransformerNet:
    """A shipped network by name ("starry_night") or a trained .pt file, after checking its sha256 against its
    card; torch reads it with weights_only=True, so the file cannot run code."""
    weights, card_path = _paths(name_or_path)
    if sha256(weights) != _read_card(card_path)["sha256"]:
        raise WeightsError(f"{weights} does not match the sha256 in its card (changed or damaged): "
                           "train it again or restore the file")
    return load_transformer(weights, device)


def norm_comparison() -> dict[str, tuple[dict, torch.Tensor]]:
    """The recorded normalisation experiment of notebook 06: per norm (instance, batch, none), the card of its
    training run and its output on golden_gate_fog (512 px). Three Starry Night networks that differ only in
    their normalisation layers, trained side by side on one GPU with the same seed (1000 steps, batch 4,
    256-px crops, float32): too long a run for a laptop, so the series ships its record."""
    return {norm: (json.loads((COMPARISON_DIR / f"{norm}.json").read_text()),
                   images.load_image(COMPARISON_DIR / f"{norm}_golden_gate_fog.jpg")) for norm in NORMS}


class Progress:
    """The `callback` of `train` that shows how a run is going on photos it does not train on: each call saves
    the network's pictures of them side by side (FOLDER/step_NNNNN.jpg) and records their transfer scores
    against the painting (`measure.transfer_scores`) in `training.validation`, which checkpoints and the card
    keep, so a failing run shows early."""

    def __init__(self, style, folder, photos=VALIDATION_PHOTOS, size: int = VALIDATION_SIZE, model=None,
                 device=None):
        self.model, dev = vgg_for(model, device)
        self.folder = Path(folder)
        self.names = [Path(str(photo)).stem for photo in photos]
        self.photos = [images.as_image(photo, size).to(dev) for photo in photos]
        self.painting = images.as_image(style, size).to(dev)

    def __call__(self, training: Training) -> None:
        outputs = [apply(training.net, photo) for photo in self.photos]
        scores = [transfer_scores(out.to(photo.device), photo, self.painting, self.model)
                  for out, photo in zip(outputs, self.photos)]
        training.validation.append({"step": training.steps, **dict(zip(self.names, scores))})
        height = min(out.shape[-2] for out in outputs)
        row = torch.cat([torch.nn.functional.interpolate(out, size=(height, round(out.shape[-1] * height /
                                                                                   out.shape[-2])), mode="area")
                         for out in outputs], dim=-1)
        self.folder.mkdir(parents=True, exist_ok=True)
        images.save_image(row, self.folder / f"step_{training.steps:05d}.jpg", overwrite=True)


def _window(steps: int) -> int:
    """Steps per point of a card's curves: at most CURVE_POINTS points."""
    return max(1, -(-steps // CURVE_POINTS))


def _curve(values: list[float]) -> list[float]:
    """Window means: the per-batch losses are noisy and long; a card keeps their shape."""
    window = _window(len(values))
    return [sum(values[i:i + window]) / len(values[i:i + window]) for i in range(0, len(values), window)]


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def write(training: Training, path, style: str, argv=None) -> dict:
    """Save the trained network (float16) to `path` and its card beside it; returns the card."""
    path = Path(path)
    save_transformer(training.net, path, half=True)
    history = training.history
    last = max(1, min(100, training.steps // 10))  # final losses: the mean over the last steps' batches
    info = {
        "style": style,
        "sha256": sha256(path),
        "command": "python -m stylelib " + shlex.join(sys.argv[1:] if argv is None else argv),
        "steps": training.steps,
        "stopped": training.stopped,
        "seconds": round(training.seconds[-1], 1) if training.seconds else 0.0,
        "device": _device_name(next(training.net.parameters()).device),
        "torch": torch.__version__,
        "tier": runtime.tier().name,
        "date": time.strftime("%Y-%m-%d"),
        "settings": training.settings,
        "photos": training.photos,
        "final_losses": {term: sum(v[-last:]) / len(v[-last:]) for term, v in history.items()},
        "curve_window": _window(training.steps),
        "curves": {term: _curve(v) for term, v in history.items()},
        "validation": training.validation,  # what a Progress recorded
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, path.with_suffix(".json"))
    return info


def output_paths(path, overwrite: bool = False) -> tuple[Path, Path]:
    """(network file, checkpoint) for `train --out path`, checked before hours of training: a .pt file in a
    writable folder, not replacing a finished network unless `overwrite`; an existing checkpoint resumes."""
    path = Path(path)
    if path.suffix != ".pt":
        raise SettingsError(f"--out {path} should end in .pt (its card goes beside it as {path.stem}.json)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SettingsError(f"cannot write {path}: folder {folder} does not exist or is not writable")
    checkpoint = path.with_suffix(".ckpt")
    if path.exists() and not checkpoint.exists() and not overwrite:
        raise SettingsError(f"{path} already exists: add --overwrite to replace it, or choose another --out")
    return path, checkpoint
