"""Figures shared by the notebooks: every figure gets a title and labelled axes."""
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
import torch

from .images import to_pil

__all__ = ["show_images", "plot_history", "show_feature_maps", "show_overlays", "show_heatmaps", "plot_series",
           "pipeline_diagram"]


def show_images(images: dict, title: str, columns: int | None = None, width: float = 3.2,
                pixel_axes: bool = False):
    """A row (or grid) of images keyed by their caption, shown as pictures (no axes); with
    `pixel_axes=True`, axes in pixels so that sizes can be read off."""
    columns = columns or len(images)
    rows = math.ceil(len(images) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, width * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (caption, image) in zip(axes.flat, images.items()):
        ax.set_visible(True)
        ax.imshow(to_pil(image) if isinstance(image, torch.Tensor) else image)
        ax.set_title(caption, fontsize=10)
        if pixel_axes:
            ax.set_xlabel("x (px)")
            ax.set_ylabel("y (px)")
        else:
            ax.set_axis_off()
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


def show_feature_maps(features: torch.Tensor, title: str, channels=None, columns: int = 8, width: float = 1.6):
    """A grid of single-channel maps of a (1, N, H, W) feature tensor; bright = strong activation.

    Each map has its own colour scale (its maximum is printed), so weak channels stay visible."""
    channels = list(range(min(columns, features.shape[1]))) if channels is None else list(channels)
    rows = math.ceil(len(channels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, width * rows + 0.8), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, channel in zip(axes.flat, channels):
        fmap = features[0, channel].detach().float().cpu().numpy()
        ax.set_visible(True)
        ax.imshow(fmap, cmap="magma")
        ax.set_title(f"ch {channel} (max {fmap.max():.3g})", fontsize=8)
        ax.set_xlabel("x (position)", fontsize=7)
        ax.set_ylabel("y (position)", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_overlays(image: torch.Tensor, maps: dict, title: str, columns: int | None = None, width: float = 3.2,
                  cmap: str = "magma"):
    """Single-channel maps (caption → (H', W') tensor) laid over a grey copy of `image` (1, 3, H, W).

    Each map is stretched over the whole picture (position (i, j) of an H'×W' map covers the
    matching 1/H' × 1/W' of it) and scaled to its own maximum: transparent where the channel is
    silent, opaque colour where it fires most. Pictures, so no pixel axes; the colour bar is the
    activation as a fraction of that map's maximum."""
    photo = image[0].detach().float().cpu()
    grey = (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]).clamp(0, 1).numpy()
    h, w = grey.shape
    columns = columns or len(maps)
    rows = math.ceil(len(maps) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, width * h / w * rows + 0.9), squeeze=False)
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (caption, fmap) in zip(axes.flat, maps.items()):
        fmap = fmap.detach().float().cpu().squeeze().numpy()
        level = fmap / fmap.max() if fmap.max() > 0 else np.zeros_like(fmap)
        ax.set_visible(True)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
        shown = ax.imshow(level, cmap=cmap, vmin=0, vmax=1, alpha=0.15 + 0.8 * level,
                          extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="nearest")
        ax.set_title(caption, fontsize=10)
        ax.set_axis_off()
        bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        bar.solids.set_alpha(1)
        bar.set_label("activation / map maximum", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_heatmaps(matrices: dict, title: str, xlabel: str = "channel j", ylabel: str = "channel i",
                  width: float = 3.6, cmap: str = "viridis", log: bool = False, ticks=None, shared: bool = False):
    """Matrices (e.g. Gram matrices) side by side, each with its own colour bar.

    `log=True` uses a logarithmic colour scale (spanning 10^4 below the maximum), so that a few
    large entries do not hide the rest; `ticks` labels the rows and columns (e.g. channel numbers).
    `shared=True` puts every panel on one colour scale (from the largest entry of all), so the same
    colour means the same value in every panel and the panels can be compared entry by entry."""
    arrays = {caption: m.detach().float().cpu().squeeze().numpy() for caption, m in matrices.items()}
    top = max(float(a.max()) for a in arrays.values())
    low = min(float(a.min()) for a in arrays.values())
    fig, axes = plt.subplots(1, len(matrices), figsize=(width * len(matrices), width), squeeze=False)
    for ax, (caption, matrix) in zip(axes.flat, arrays.items()):
        vmax = top if shared else float(matrix.max())
        if log:
            norm = LogNorm(vmin=vmax * 1e-4, vmax=vmax, clip=True)
        else:
            norm = Normalize(vmin=low, vmax=top) if shared else None
        shown = ax.imshow(matrix, cmap=cmap, norm=norm)
        if max(matrix.shape) <= 8:  # small enough to read: print every value in its cell
            for (i, j), value in np.ndenumerate(matrix):
                ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=9)
            ax.set_xticks(range(matrix.shape[1]))
            ax.set_yticks(range(matrix.shape[0]))
        if ticks is not None:
            step = max(1, len(ticks) // 8)
            ax.set_xticks(range(0, len(ticks), step), [str(t) for t in ticks][::step], fontsize=7)
            ax.set_yticks(range(0, len(ticks), step), [str(t) for t in ticks][::step], fontsize=7)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(caption, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_series(series: dict, title: str, xlabel: str, ylabel: str, x=None, log: bool = True,
                logx: bool = False, marker: str | None = None):
    """Several named curves (label → list of y values) over a shared x (default 1, 2, …)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, values in series.items():
        xs = list(range(1, len(values) + 1)) if x is None else list(x)[: len(values)]
        ax.plot(xs, values, label=label, marker=marker)
    ax.set_yscale("log" if log else "linear")
    if logx:  # symmetric log keeps a weight of 0 on the axis
        ax.set_xscale("symlog", linthresh=min(v for v in x if v > 0))
        ax.set_xlim(left=min(x))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pipeline_diagram(content=None, style=None, image=None,
                     title: str = "Gatys et al.'s style transfer: one evaluation of the loss"):
    """The algorithm as a diagram: three images into one fixed VGG, the features and Gram matrices compared
    in the three loss terms, and the gradient of their sum flowing back to the pixels of x (the only thing
    that changes). `content`, `style`, `image` ((1, 3, H, W) tensors) are drawn as thumbnails where given."""
    fig, ax = plt.subplots(figsize=(11, 5.4))
    ax.set_xlim(0, 11.4)
    ax.set_ylim(-1.5, 6.0)
    ax.set_axis_off()

    def box(x0, y0, w, h, text, colour, size=9):
        ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0.05", facecolor=colour, edgecolor="0.3"))
        ax.text(x0 + w / 2, y0 + h / 2, text, ha="center", va="center", fontsize=size)

    def arrow(start, end, colour="0.25", style="-|>", **options):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=colour, lw=1.4, **options))

    rows = {"p": 5.2, "a": 3.0, "x": 0.8}  # centre heights of the photo, painting and image rows
    pictures = {"p": (content, "content image p\n(the photo)"), "a": (style, "style image a\n(the painting)"),
                "x": (image, "image x\n(the pixels optimised)")}
    for key, (picture, label) in pictures.items():
        y = rows[key]
        if picture is not None:
            ax.imshow(to_pil(picture), extent=(0.2, 1.6, y - 0.65, y + 0.65), aspect="auto", zorder=2)
            ax.text(0.9, y - 0.8, label, ha="center", va="top", fontsize=8)
        else:
            box(0.2, y - 0.6, 1.4, 1.2, label, "#f2f2f2", size=8)
        arrow((1.75, y), (2.75, y))
    box(2.8, 0.1, 1.2, 5.8, "VGG\n(weights\nfixed)", "#dbe8f6", size=11)
    features = {"p": "P: relu4_2 features of p", "a": "A: Gram matrices of a\nat relu1_1 … relu5_1",
                "x": "F: relu4_2 features of x\nG: Gram matrices of x\nat relu1_1 … relu5_1"}
    for key, text in features.items():
        box(4.6, rows[key] - 0.5, 2.3, 1.0, text, "#fff6d8", size=8)
        arrow((4.05, rows[key]), (4.55, rows[key]))
    terms = {4.1: ("α · L_content(F, P)", 2.65), 2.3: ("β · L_style(G, A)", 2.3),
             -0.5: ("λ_TV · TV(x)\n(notebook 04; not in the paper)", 1.95)}  # height: (text, where it joins the sum)
    for y, (text, joins) in terms.items():
        box(7.5, y - 0.4, 2.0, 0.8, text, "#e4f4e0", size=8 if "\n" in text else 9)
        arrow((9.55, y), (10.15, joins))
    arrow((6.95, rows["p"]), (7.45, 4.2))
    arrow((6.95, rows["x"] + 0.25), (7.45, 3.95))
    arrow((6.95, rows["a"]), (7.45, 2.4))
    arrow((6.95, rows["x"] + 0.05), (7.45, 2.2))
    arrow((1.7, rows["x"] - 0.3), (7.45, -0.5), connectionstyle="angle,angleA=-90,angleB=180,rad=0")
    box(10.2, 1.9, 1.0, 0.8, "L(x)\nsum", "#f9d9d6", size=10)
    red = "#c0392b"  # the backward pass: from the loss down, along the bottom, back into x
    ax.plot([10.7, 10.7, 0.02, 0.02], [1.85, -1.35, -1.35, rows["x"]], color=red, lw=1.4, linestyle="--")
    arrow((0.02, rows["x"]), (0.18, rows["x"]), colour=red)
    ax.text(4.2, -1.15, "gradient ∂L/∂x, back through the VGG: the optimiser changes only the pixels of x",
            ha="center", va="center", fontsize=9, color=red)
    ax.set_title(title)
    fig.tight_layout()
    return fig

