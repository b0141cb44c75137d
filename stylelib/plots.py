"""Figures shared by the notebooks: every figure gets a title and labelled axes."""
import math

import matplotlib.pyplot as plt
import torch

from .images import to_pil


def show_images(images: dict, title: str, columns: int | None = None, width: float = 3.2):
    """A row (or grid) of images keyed by their caption; axes in pixels so sizes can be read off."""
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, width * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (caption, image) in zip(axes.flat, images.items()):
        ax.set_visible(True)
        ax.imshow(to_pil(image) if isinstance(image, torch.Tensor) else image)
        ax.set_title(caption, fontsize=10)
        ax.set_xlabel("x (px)")
        ax.set_ylabel("y (px)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_history(histories: dict, title: str, term: str = "total", against: str = "step", log: bool = True):
    """Loss curves of one term for several runs (`Result`s keyed by label), against step or seconds."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, result in histories.items():
        values = result.history[term]
        x = result.seconds[: len(values)] if against == "seconds" else range(1, len(values) + 1)
        ax.plot(x, values, label=label)
    ax.set_yscale("log" if log else "linear")
    ax.set_xlabel("seconds" if against == "seconds" else "step (one loss evaluation)")
    ax.set_ylabel(f"{term} loss" + (" (log scale)" if log else ""))
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
