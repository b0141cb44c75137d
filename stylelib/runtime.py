"""Where code runs and how hard it works: the device, the one quick-mode switch and its defaults.

Quick mode (`STYLELIB_QUICK=1`) shrinks image sizes and step counts so that every notebook
finishes in minutes on a laptop CPU or in CI. Notebooks never test the switch themselves:
they ask `pick(full=..., quick=...)` for a value; the library's own defaults are in `DEFAULTS`.
"""
import os

import torch

from .errors import SettingsError

# Every size and step count the library picks by itself, as (full, quick): the one place to tune them.
DEFAULTS = {
    "size": (512, 128),  # long side of a stylization, px
    "steps": (300, 30),  # optimizer steps of a stylization
    "level_steps": (200, 20),  # steps per level of a coarse-to-fine run
    "explorer_size": (256, 128),  # the feature explorer's image
    "playground_size": (384, 128),  # the style playground's first size
    "playground_steps": (200, 20),
    "train_steps": (40000, 60),  # feed-forward training
    "train_batch": (4, 2),
    "train_size": (256, 96),  # training crop side
    "denoise_steps": (100, 40),  # TV denoising
}


def quick() -> bool:
    """True when the environment variable STYLELIB_QUICK is set to 1 (CPU laptops, CI)."""
    return os.environ.get("STYLELIB_QUICK", "0").strip().lower() in ("1", "true", "yes")


def pick(full, quick_value):
    """`full` normally, `quick_value` in quick mode: the one place the switch is read."""
    return quick_value if quick() else full


def default(name: str, value=None):
    """`value` if given, else the library's default `name` for the current mode (see DEFAULTS)."""
    return pick(*DEFAULTS[name]) if value is None else value


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
