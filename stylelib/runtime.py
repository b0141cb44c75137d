"""Where code runs and how hard it works: the device and the one quick-mode switch.

Quick mode (`STYLELIB_QUICK=1`) shrinks image sizes and step counts so that every notebook
finishes in minutes on a laptop CPU or in CI. Notebooks never test the switch themselves:
they ask `pick(full=..., quick=...)` for a value.
"""
import os

import torch

from .errors import SettingsError


def quick() -> bool:
    """True when the environment variable STYLELIB_QUICK is set to 1 (CPU laptops, CI)."""
    return os.environ.get("STYLELIB_QUICK", "0").strip().lower() in ("1", "true", "yes")


def pick(full, quick_value):
    """`full` normally, `quick_value` in quick mode: the one place the switch is read."""
    return quick_value if quick() else full


def device(override: str | None = None) -> torch.device:
    """CUDA, then Apple MPS, then CPU; `override` (or STYLELIB_DEVICE) chooses explicitly."""
    choice = override or os.environ.get("STYLELIB_DEVICE")
    if choice:
        try:
            dev = torch.device(choice)
        except RuntimeError:
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


def describe(backbone: str = "auto") -> str:
    """One line for the top of every notebook: device, weight source, quick or full mode."""
    from .weights import resolve

    source = resolve(backbone, fetch=True, verbose=False)
    mode = "quick (STYLELIB_QUICK=1: small images, few steps)" if quick() else "full"
    return f"device: {device()} | weights: {source.name} ({source.reason}) | mode: {mode}"
