"""What the bench files share: the paths, the image pair and its `Problem`, the synced timer, the peak-RSS
sampler and the precision wrapper.

It imports no other bench file, and no bench file imports a script (run.py, sweep.py, arithmetic.py), so
no module body runs twice (once as __main__, once under its name). Importing it puts the repo on sys.path.
"""
import ctypes
import ctypes.util
import gc
import os
import sys
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import stylelib as sl  # noqa: E402
from stylelib import images, losses, precision  # noqa: E402

PAIR = ("golden_gate_fog", "starry_night")


def square(name: str, size: int, device) -> torch.Tensor:
    """data/ image `name` scaled so its short side is `size`, centre-cropped to size × size."""
    image = images.load_image(name)
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    image = images.resize_tensor(image, (max(size, round(h * scale)), max(size, round(w * scale))))
    top, left = (image.shape[-2] - size) // 2, (image.shape[-1] - size) // 2
    return image[..., top:top + size, left:left + size].clamp(0, 1).contiguous().to(device)


class Problem:
    """One size: the images, the loss settings and an fp32 evaluator shared by every impl."""

    def __init__(self, model, size, device):
        self.model, self.size, self.device = model, size, device
        self.content, self.style = square(PAIR[0], size, device), square(PAIR[1], size, device)
        # the baseline's objective: the tutorial's raw terms (not scale-free), β tuned for the offline VGG16
        self.objective = sl.Objective(scale_free=False, style_weight=1e-2)
        self.content_layers, self.style_layers = list(self.objective.content_layers), list(self.objective.style_layers)
        self.style_weight = self.objective.style_weight
        with torch.no_grad():  # the evaluator's targets, once (the time-to-target mode scores every evaluation)
            self.grams = {k: losses.gram_matrix(v) for k, v in model(self.style, self.style_layers).items()}
            self.targets = model(self.content, self.content_layers)

    @torch.no_grad()
    def losses(self, image) -> tuple[float, float]:
        """(style, content) terms of `image`, weighted as in stylelib, in plain fp32."""
        f = self.model(image, [*self.content_layers, *self.style_layers])
        content = sum(losses.content_loss(f[n], self.targets[n]) for n in self.content_layers)
        return float(self.style_weight * losses.style_loss(f, self.grams)), float(content)


def timed(fn, device):
    """(wall seconds, result) of one call of `fn()`, the GPU's queue drained before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def with_precision(impl, **switches):
    """`impl` with `stylelib.precision` switches set, e.g. bf16=False: every convolution in fp32 (both modes use it)."""
    def run(*args):
        with precision.options(**switches):
            return impl(*args)
    return run


LIBC = ctypes.CDLL(ctypes.util.find_library("c")) if ctypes.util.find_library("c") else None


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak RSS above the starting RSS while the `with` block runs (sampled by a thread)."""

    def __enter__(self):
        gc.collect()
        if LIBC is not None and hasattr(LIBC, "malloc_trim"):
            LIBC.malloc_trim(0)
        self.start = self.peak = rss_bytes()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done.wait(0.002):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 2**20
