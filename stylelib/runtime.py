"""Where code runs and how hard it works: the device, the three tiers and their defaults.

A tier sizes the work for the machine: `full` (GPU-sized images and step counts), `laptop` (every
notebook in minutes on a laptop's CPU, pictures still large enough to judge) and `quick` (tiny, for CI).
With no setting the tier is `full` on a CUDA GPU and `laptop` elsewhere; STYLELIB_MODE=quick|laptop|full
chooses, and STYLELIB_QUICK=1 (older spelling) means quick. Notebooks never test the tier themselves:
they ask `pick(full=..., laptop=..., quick=...)` for a value; the library's own defaults are in `DEFAULTS`.
"""
import os
from dataclasses import dataclass

import torch

from .errors import SettingsError

TIERS = ("full", "laptop", "quick")

# Every size and step count the library picks by itself, as (full, laptop, quick): the one place to tune them.
DEFAULTS = {
    "size": (512, 256, 128),  # long side of a stylization, px
    "steps": (300, 200, 30),  # optimizer steps of a stylization
    "level_steps": (200, 100, 20),  # steps per level of a coarse-to-fine run
    "explorer_size": (256, 256, 128),  # the feature explorer's image
    "playground_size": (384, 256, 128),  # the style playground's first size
    "playground_steps": (200, 100, 20),
    "train_steps": (40000, 300, 60),  # feed-forward training
    "train_batch": (4, 2, 2),
    "train_size": (256, 128, 96),  # training crop side
    "denoise_steps": (100, 100, 40),  # TV denoising
}


@dataclass(frozen=True)
class Tier:
    """The tier in force and, in words, why it was chosen."""

    name: str
    reason: str

    def __str__(self):
        return f"{self.name} ({self.reason})"


def tier() -> Tier:
    """STYLELIB_MODE if set, else STYLELIB_QUICK=1 → quick, else full on a CUDA GPU and laptop elsewhere."""
    mode = os.environ.get("STYLELIB_MODE", "").strip().lower()
    if mode:
        if mode not in TIERS:
            raise SettingsError(f"STYLELIB_MODE={mode!r} is not a tier: use one of {', '.join(TIERS)}")
        return Tier(mode, f"STYLELIB_MODE={mode}")
    if os.environ.get("STYLELIB_QUICK", "0").strip().lower() in ("1", "true", "yes"):
        return Tier("quick", "STYLELIB_QUICK=1")
    if torch.cuda.is_available():
        return Tier("full", "a CUDA GPU is available")
    return Tier("laptop", "no CUDA GPU; STYLELIB_MODE=full runs the GPU-sized work anyway")


def quick() -> bool:
    """True in the quick tier (CI)."""
    return tier().name == "quick"


def pick(*, full, laptop, quick):
    """The value for the tier in force: the one place a notebook's sizes depend on the machine."""
    return {"full": full, "laptop": laptop, "quick": quick}[tier().name]


def default(name: str, value=None):
    """`value` if given, else the library's default `name` for the tier in force (see DEFAULTS)."""
    return pick(**dict(zip(TIERS, DEFAULTS[name]))) if value is None else value


def device(choice: str | torch.device | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `choice` (a name or a torch.device, or STYLELIB_DEVICE) chooses explicitly."""
    if isinstance(choice, torch.device):
        return choice
    choice = choice or os.environ.get("STYLELIB_DEVICE")
    if choice:
        try:
            dev = torch.device(choice)
        except (RuntimeError, TypeError):
            raise SettingsError(f"unknown device {choice!r}: use cpu, cuda, cuda:N or mps") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise SettingsError(f"device {choice!r} asked for, but CUDA is not available here: use cpu")
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise SettingsError(f"device {choice!r} asked for, but Apple MPS is not available here: use cpu")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
