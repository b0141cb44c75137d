"""The feature explorer: an image's features at one VGG layer, as maps, statistics and a Gram matrix.

`FeatureView` holds what is computed (channels, statistics, the Gram matrix) and the draw functions turn
it into one figure, so tests check the numbers without a browser; `FeatureExplorer` only adds the controls.
"""
from dataclasses import dataclass
from functools import cached_property

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import runtime
from ..errors import ImageError, StylelibError
from ..features import VGGFeatures, vgg
from ..losses import gram_matrix
from ..measure import top_channels
from .parts import LABELS, ImagePicker, figure_png, message

TOP = 16  # how many channels "top channels" shows
TOP_CHOICE = -1  # the channel menu's value for "top 16 channels"


# --- what the explorer computes and draws -----------------------------------------------------

@dataclass
class FeatureView:
    """One layer's features of one image, and the channels to show: one, or the strongest ones."""

    layer: str
    features: torch.Tensor  # (N, H, W)
    channel: int = TOP_CHOICE

    @cached_property
    def gram(self) -> torch.Tensor:
        """The layer's (N, N) Gram matrix, as in the style loss."""
        return gram_matrix(self.features[None])[0]

    @property
    def channels(self) -> list[int]:
        """The chosen channel, or the TOP channels with the highest mean activation (as in notebook 01)."""
        if self.channel != TOP_CHOICE:
            return [self.channel]
        return [c for c, _ in top_channels(self.features[None], TOP)]

    def layer_stats(self) -> dict:
        n, h, w = self.features.shape
        return {"channels": n, "height": h, "width": w, "mean": float(self.features.mean()),
                "max": float(self.features.max()), "zeros": float((self.features == 0).float().mean())}

    def channel_stats(self) -> list[dict]:
        """Per shown channel: mean, std, max, share of zeros, energy G_cc, and the rank of its mean (1 = highest)."""
        energy, means = self.gram.diagonal(), self.features.mean(dim=(1, 2))
        rank = torch.empty_like(means, dtype=torch.long)
        rank[means.argsort(descending=True)] = torch.arange(1, len(means) + 1)
        rows = []
        for c in self.channels:
            f = self.features[c]
            rows.append({"channel": c, "mean": float(f.mean()), "std": float(f.std()), "max": float(f.max()),
                         "zeros": float((f == 0).float().mean()), "energy": float(energy[c]), "rank": int(rank[c])})
        return rows


def explorer_png(view: FeatureView) -> bytes:
    """Left: the chosen channel's map, or a 4×4 grid of the top channels; right: the layer's Gram matrix."""
    fig = Figure(figsize=(10.5, 4.6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1])
    channels = view.channels
    if len(channels) == 1:
        draw_one_channel(left, view, channels[0])
    else:
        draw_top_channels(left, view, channels)
    draw_gram(right, view)
    return figure_png(fig)


def draw_one_channel(panel, view: FeatureView, channel: int):
    """One map, large, with a colour bar: the actual activation values are readable."""
    ax = panel.add_subplot()
    shown = ax.imshow(view.features[channel].numpy(), cmap="magma")
    panel.colorbar(shown, ax=ax, label="activation")
    ax.set_title(f"{view.layer}, channel {channel}")
    ax.set_xlabel("x (position in the layer)")
    ax.set_ylabel("y (position in the layer)")


def draw_top_channels(panel, view: FeatureView, channels: list[int]):
    """A grid of small maps without a shared scale: each shows where its own channel fires."""
    side = int(len(channels) ** 0.5 + 0.999)
    for ax, c in zip(panel.subplots(side, side).flat, channels):
        ax.imshow(view.features[c].numpy(), cmap="magma")
        ax.set_title(f"channel {c}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    panel.suptitle(f"{view.layer}: the {len(channels)} channels with the highest mean activation\n"
                   "(each map scaled to its own range)", fontsize=10)
    panel.supxlabel("x (position in the layer)", fontsize=9)
    panel.supylabel("y (position in the layer)", fontsize=9)


def draw_gram(panel, view: FeatureView):
    """The layer's Gram matrix, the chosen channel's row and column marked in red."""
    ax = panel.add_subplot()
    gram = view.gram.numpy()
    low, high = np.percentile(gram, [1, 99])  # a few huge entries would leave the rest one dark colour
    shown = ax.imshow(gram, cmap="viridis", vmin=min(low, 0), vmax=high)
    panel.colorbar(shown, ax=ax, extend="max", label=r"$G_{ij}$ (colours clipped at the 99th percentile)")
    if view.channel != TOP_CHOICE:
        for line in (ax.axhline, ax.axvline):
            line(view.channel, color="red", linewidth=0.8)
    n = len(view.gram)
    ax.set_title(f"Gram matrix of {view.layer} ({n}×{n})")
    ax.set_xlabel("channel j")
    ax.set_ylabel("channel i")


def stats_html(view: FeatureView) -> str:
    """The layer's shape and statistics, then one column per shown channel."""
    layer = view.layer_stats()
    head = (f"<b>{view.layer}</b>: {layer['channels']} channels × {layer['height']}×{layer['width']} positions · "
            f"mean {layer['mean']:.3g} · max {layer['max']:.3g} · zeros {layer['zeros']:.0%}")
    rows = view.channel_stats()
    lines = [("channel", "channel", str), ("mean", "mean", short), ("std", "std", short), ("max", "max", short),
             ("zeros", "zeros", "{:.0%}".format), ("energy G<sub>ii</sub>", "energy", short),
             ("rank by mean", "rank", str)]
    cell = "<td style='padding:0 5px;text-align:right'>"
    table = "".join(f"<tr><th style='text-align:left;padding:0 5px'>{label}</th>"
                    + "".join(f"{cell}{form(r[key])}</td>" for r in rows) + "</tr>" for label, key, form in lines)
    return f"{head}<div style='overflow-x:auto'><table style='font-size:90%;line-height:1.3'>{table}</table></div>"


def short(value: float) -> str:
    """Three significant digits, without an exponent below a million (2270, not 2.27e+03)."""
    return f"{value:.0f}" if 1000 <= abs(value) < 1e6 else f"{value:.3g}"


# --- the widget -------------------------------------------------------------------------------

class FeatureExplorer:
    """Pick an image, a layer and a channel; the maps, their statistics and the Gram matrix follow."""

    def __init__(self, model: VGGFeatures | None = None, size: int | None = None, layer: str = "relu3_1",
                 image: tuple[str, str] = ("content", "cat")):
        self.model = model or vgg(verbose=False)
        self.size = runtime.default("explorer_size", size)
        self._features, self._quiet = None, False
        self._build(image, layer)
        self._wire()
        self.refresh()
        self.widget = self._layout()

    def _build(self, image: tuple[str, str], layer: str):
        """The three choices (image, layer, channel) and the places the results go."""
        self.picker = ImagePicker("Image", default=image)
        self.layer = W.Dropdown(options=self.model.names, value=self.model.check_layers(layer)[0],
                                description="Layer", style=LABELS, layout=W.Layout(width="330px"))
        self.channel = W.Dropdown(description="Channel", style=LABELS, layout=W.Layout(width="330px"))
        self.figure = W.Image(format="png", layout=W.Layout(width="840px"))
        self.figure.add_class("stylelib-maps")  # for the browser test to find it by
        self.stats, self.note = W.HTML(), W.HTML()

    def _wire(self):
        """Every choice redraws at once, except the channel menu while `_match_channels` refills it."""
        self.picker.menu.observe(lambda change: self.refresh(), "value")
        self.layer.observe(lambda change: self.refresh(), "value")
        self.channel.observe(lambda change: self._quiet or self.refresh(), "value")

    def _layout(self) -> W.VBox:
        """The choices above the figure and its numbers."""
        widget = W.VBox([W.HTML("<h3>Feature explorer</h3>"), self.picker.widget, self.layer, self.channel,
                         self.note, self.figure, self.stats], layout=W.Layout(border="1px solid #ddd", padding="6px"))
        widget.add_class("stylelib-explorer")
        return widget

    def features(self) -> torch.Tensor:
        """(N, H, W) features of the chosen image at the chosen layer, computed once per choice."""
        key = (self.picker.menu.value, self.layer.value)
        if self._features is None or self._features[0] != key:
            image = self.picker.image(self.size).to(next(self.model.parameters()).device)
            need = self.model.min_side([self.layer.value])
            if min(image.shape[-2:]) < need:
                h, w = image.shape[-2:]
                raise ImageError(f"the image is {w}×{h} px at size {self.size}: too thin for {self.layer.value}, "
                                 f"which needs at least {need} px on each side")
            with torch.no_grad():
                self._features = key, self.model(image, [self.layer.value])[self.layer.value][0].cpu()
        return self._features[1]

    def view(self) -> FeatureView:
        return FeatureView(self.layer.value, self.features(), self.channel.value)

    def refresh(self):
        """Recompute what the controls ask for; a failure becomes a message, the old figures stay."""
        try:
            self._match_channels(len(self.features()))
            view = self.view()
            self.figure.value, self.stats.value = explorer_png(view), stats_html(view)
            self.note.value = ""
        except StylelibError as error:
            self.note.value = message(error, "error")

    def _match_channels(self, count: int):
        """Offer exactly the layer's channels, keeping the choice when it still exists."""
        if len(self.channel.options) == count + 1:
            return
        keep = self.channel.value if self.channel.value is not None and self.channel.value < count else TOP_CHOICE
        self._quiet = True
        self.channel.options = [(f"top {TOP} channels", TOP_CHOICE), *((f"channel {c}", c) for c in range(count))]
        self.channel.value = keep
        self._quiet = False

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
