"""Interactive UIs for the notebooks: a feature explorer and a style playground (ipywidgets).

Each UI keeps its logic in plain methods and functions (what to compute, what to show, when to
stop, whether a file may be written) so tests drive it without a browser; the controls only call
them. Building the controls, wiring their events and laying them out are separate steps, and the
playground's run goes through a `BackgroundRun` (a thread and a stop flag) so the kernel stays free.
Figures are drawn with matplotlib's object API straight into PNG bytes: that is safe from the
playground's background thread, where pyplot is not. Every problem a user can cause (a file that
is not an image, no style layer ticked, an existing output file) becomes a message in the widget.
"""
import html
import math
import io
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from . import images, runtime
from .errors import ImageError, SettingsError, StylelibError
from .measure import top_channels
from .color import luminance_transfer, rgb_to_yiq, yiq_to_rgb
from .features import VGGFeatures, vgg
from .losses import gram_matrix
from .objective import STYLE_LAYERS, Objective
from .transfer import stylize

__all__ = ["FeatureExplorer", "StylePlayground"]

TOP = 16  # how many channels "top channels" shows
TOP_CHOICE = -1  # the channel menu's value for "top 16 channels"
CONTENT_CHOICES = ("relu2_2", "relu3_2", "relu4_2", "relu5_2")
LABELS = {"description_width": "10em"}  # wide enough that no label is cut off


def wide() -> W.Layout:
    """Room for a 10em label, the slider and a readout such as 1.0e-02."""
    return W.Layout(width="490px")


def message(text: str, kind: str = "info") -> str:
    """HTML for a one-line message: info (grey), done (green), warning (orange) or error (red)."""
    colour = {"info": "#555", "done": "#1a7f37", "warning": "#b35900", "error": "#c62828"}[kind]
    mark = {"info": "", "done": "✔ ", "warning": "⚠ ", "error": "✖ "}[kind]
    return f'<span class="stylelib-{kind}" style="color:{colour}">{mark}{html.escape(str(text))}</span>'


# --- figures as PNG bytes ---------------------------------------------------------------------

def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def image_png(image) -> bytes:
    """A (1, 3, H, W) tensor or a PIL image as PNG bytes, for an ipywidgets Image."""
    buffer = io.BytesIO()
    (image if not isinstance(image, torch.Tensor) else images.to_pil(image)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- picking an image: data/ or an upload -----------------------------------------------------

class ImagePicker:
    """A menu of the images in data/ plus an upload button; uploads join the menu."""

    def __init__(self, title: str, kinds=images.KINDS, default: tuple[str, str] | None = None):
        options = [(f"{kind}: {name}", (kind, name)) for kind in kinds for name in images.catalog(kind)]
        if not options:
            raise ImageError(f"no images found in {images.DATA_DIR}: upload one instead")
        self.uploads = {}  # name → PIL image, already decoded and upright
        self.menu = W.Dropdown(options=options, value=default if default in dict(options).values() else options[0][1],
                               description=title, style=LABELS, layout=W.Layout(width="330px"))
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Upload",
                                   tooltip=f"use your own {title.lower()} image", layout=W.Layout(width="150px"))
        self.thumbnail = W.Image(format="png", layout=W.Layout(max_width="120px", max_height="120px"))
        self.note = W.HTML()
        self.upload.observe(self._on_upload, "value")
        self.menu.observe(lambda change: self._show_thumbnail(), "value")
        self._show_thumbnail()
        indent = W.HTML(layout=W.Layout(width="10em", flex="0 0 auto"))  # thumbnail under the menu, not the label
        self.widget = W.VBox([W.HBox([self.menu, self.upload]), W.HBox([indent, self.thumbnail, self.note])])

    def image(self, size: int) -> torch.Tensor:
        """The chosen image as a (1, 3, H, W) tensor with long side `size`."""
        kind, name = self.menu.value
        if kind == "upload":
            return images.to_tensor(images.resize_long_side(self.uploads[name], size))
        return images.load_image(images.data_path(kind, name), size)

    def add_upload(self, name: str, data: bytes) -> bool:
        """Decode an uploaded file and select it; a bad file leaves a message and the old choice."""
        name = Path(name).name or "upload"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{Path(name).suffix}"  # never trust the name as a path
            path.write_bytes(data)
            try:
                picture = images.open_rgb(path)
            except ImageError as error:
                self.note.value = message(str(error).replace(str(path), f"uploaded file {name!r}"), "error")
                return False
        self.uploads[name] = picture
        if ("upload", name) not in dict(self.menu.options).values():
            self.menu.options = [*self.menu.options, (f"upload: {name}", ("upload", name))]
        self.menu.value = ("upload", name)
        self._show_thumbnail()  # also when the same name is uploaded again with new content
        self.note.value = message(f"uploaded {name} ({picture.width}×{picture.height} px)", "done")
        return True

    def _on_upload(self, change):
        for item in change["new"]:
            self.add_upload(item["name"], bytes(item["content"]))
        if change["new"]:
            self.upload.value = ()  # so that the same file can be uploaded again

    def _show_thumbnail(self):
        try:
            self.thumbnail.value, self.note.value = image_png(self.image(96)), ""
        except StylelibError as error:  # e.g. a damaged file in data/
            self.note.value = message(error, "error")


# --- feature explorer: logic ------------------------------------------------------------------

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
             ("zeros", "zeros", "{:.0%}".format), ("energy G<sub>ii</sub>", "energy", short), ("rank by mean", "rank", str)]
    cell = "<td style='padding:0 5px;text-align:right'>"
    table = "".join(f"<tr><th style='text-align:left;padding:0 5px'>{label}</th>"
                    + "".join(f"{cell}{form(r[key])}</td>" for r in rows) + "</tr>" for label, key, form in lines)
    return f"{head}<div style='overflow-x:auto'><table style='font-size:90%;line-height:1.3'>{table}</table></div>"


def short(value: float) -> str:
    """Three significant digits, without an exponent below a million (2270, not 2.27e+03)."""
    return f"{value:.0f}" if 1000 <= abs(value) < 1e6 else f"{value:.3g}"


# --- feature explorer: widget -----------------------------------------------------------------

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


def with_content_colours(image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """A live preview of a luminance-only run in colour: its luminance Y, the content's chroma I, Q
    (what `color.luminance_transfer` does to the final image)."""
    return yiq_to_rgb(torch.cat([rgb_to_yiq(image)[:, :1], rgb_to_yiq(content)[:, 1:]], 1)).clamp(0, 1)


# --- style playground -------------------------------------------------------------------------

def losses_png(history: dict, steps: int) -> bytes:
    """Weighted loss terms per step on a log scale, the x axis spanning the whole run."""
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    for term, values in history.items():
        if term != "range" or any(values):
            style = {"color": "black", "linestyle": "--", "linewidth": 1} if term == "total" else {}
            ax.plot(range(1, len(values) + 1), [v if v > 0 else float("nan") for v in values], label=term, **style)
    ax.set_yscale("log")
    ax.set_xlim(1, max(steps, 2))
    ax.set_title("Loss terms (weighted) during the run")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_png(fig)


def log_slider(description: str, value: float, low: float, high: float) -> W.FloatLogSlider:
    """A weight from 10**low to 10**high in quarter decades: weights matter by their order of magnitude.
    The notches are counted from `low`, so a `low` that is log10(value) minus whole decades puts `value` on one."""
    return W.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.25, description=description,
                            readout_format=".1e", style=LABELS, layout=wide())


def row_label(text: str) -> W.Label:
    """A label as wide as the sliders' descriptions, so that a row of checkboxes or buttons lines up with them."""
    return W.Label(text, layout=W.Layout(width="10em", flex="0 0 auto"))


class BackgroundRun:
    """One job at a time in a daemon thread, with a stop flag that the job polls.

    While the job runs the kernel stays idle, so a Stop click (or any cell) is handled at once; the job
    ends itself when it sees `stopping`, which is how a run keeps its best image instead of being killed.
    """

    def __init__(self):
        self._thread, self._stop = None, threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """Whether `stop()` was called since the job started."""
        return self._stop.is_set()

    def start(self, job, *args) -> bool:
        """Call `job(*args)` in a new thread; False while the last job still runs."""
        if self.running:
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=job, args=args, daemon=True)
        self._thread.start()
        return True

    def stop(self) -> bool:
        """Ask the job to end at its next look at `stopping`; False when none is running."""
        if not self.running:
            return False
        self._stop.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or `timeout` seconds have passed (False)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running


class StylePlayground:
    """Style transfer with every knob on screen; runs in a thread so the notebook stays usable.

    `run()` starts, `stop()` asks the run to end after the current step (the optimizer calls back
    after every step), `wait()` blocks until it has ended, `save()` writes the best image as PNG.
    """

    def __init__(self, model: VGGFeatures | None = None, content: tuple[str, str] = ("content", "golden_gate_fog"),
                 style: tuple[str, str] = ("style", "starry_night"), size: int | None = None, steps: int | None = None,
                 path: str = "outputs/playground.png"):
        self.model = model or vgg(verbose=False)
        self.result, self._run = None, BackgroundRun()
        self._build_knobs(content, style, size, steps)
        self._build_results(path)
        self._wire()
        self.widget = self._layout()

    # -- controls ---------------------------------------------------------------------------------

    def _build_knobs(self, content: tuple[str, str], style: tuple[str, str], size: int | None, steps: int | None):
        """The settings of a run, each starting at stylize's default (size and steps: the tier's)."""
        weight = Objective().style_weight  # the slider starts where a plain stylize call runs
        decade = math.log10(weight)  # the default itself is a notch of the slider
        self.content = ImagePicker("Content image", default=content)
        self.style = ImagePicker("Style image", kinds=("style", "texture"), default=style)
        self.style_weight = log_slider("Style weight β", weight, decade - 4, decade + 3)
        self.tv_weight = log_slider("TV weight", 1.0, -2, 4)
        self.size = W.IntSlider(value=runtime.default("playground_size", size), min=32, max=1024, step=32,
                                description="Size (long side, px)", style=LABELS, layout=wide())
        self.steps = W.IntSlider(value=runtime.default("playground_steps", steps), min=1, max=1000,
                                 description="Steps", style=LABELS, layout=wide())
        self.layers = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="auto"))
                       for name in STYLE_LAYERS}
        self.content_layer = W.Dropdown(options=self.model.check_layers(CONTENT_CHOICES), value="relu4_2",
                                        description="Content layer", style=LABELS, layout=W.Layout(width="330px"))
        self.optimizer = W.ToggleButtons(options=[("L-BFGS", "lbfgs"), ("Adam", "adam")], style={"button_width": "80px"},
                                         tooltips=["L-BFGS: few steps, the classic choice", "Adam: first-order, lr 0.02"])
        self.colours = W.Checkbox(value=False, description="Keep the content's colours (luminance-only transfer)",
                                  indent=False, layout=W.Layout(width="auto"))

    def _build_results(self, path: str):
        """Run and Stop, what a run shows while it goes (progress, preview, curves, status), and saving."""
        self.run_button = W.Button(description="Run", button_style="success", icon="play", tooltip="start the optimization")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True,
                                    tooltip="stop after the current step and keep the best image so far")
        self.progress = W.IntProgress(value=0, min=0, max=self.steps.value, description="Progress",
                                      layout=W.Layout(width="400px"))
        self.progress_text, self.status = W.HTML(), W.HTML(message("press Run to start"))
        self.preview = W.Image(format="png", layout=W.Layout(width="320px"))
        self.curves = W.Image(format="png", layout=W.Layout(width="400px"))
        self.path = W.Text(value=path, description="Save as", style={"description_width": "5em"},
                           layout=W.Layout(width="280px"))
        self.save_button = W.Button(description="Save PNG", icon="save", tooltip="write the best image as a PNG file")
        self.overwrite_button = W.Button(description="Overwrite", button_style="warning",
                                         tooltip="replace the existing file", layout=W.Layout(display="none"))
        self.save_note = W.HTML()
        for widget, name in ((self.preview, "preview"), (self.curves, "curves"), (self.status, "status"),
                             (self.progress_text, "progress-text"), (self.save_note, "save-note")):
            widget.add_class(f"stylelib-{name}")  # names for the browser test to find them by

    def _wire(self):
        """The buttons call the methods a notebook cell can call; a new file name withdraws the Overwrite question."""
        self.run_button.on_click(lambda button: self.run())
        self.stop_button.on_click(lambda button: self.stop())
        self.save_button.on_click(lambda button: self.save())
        self.overwrite_button.on_click(lambda button: self.save(overwrite=True))
        self.path.observe(lambda change: self._ask_overwrite(False), "value")

    def _layout(self) -> W.VBox:
        """The knobs on the left, the run and its result on the right."""
        layer_boxes = W.GridBox(list(self.layers.values()), layout=W.Layout(grid_template_columns="repeat(3, 90px)"))
        controls = W.VBox([self.content.widget, self.style.widget, self.style_weight, self.tv_weight, self.size,
                           self.steps, W.HBox([row_label("Style layers"), layer_boxes]), self.content_layer,
                           W.HBox([row_label("Optimizer"), self.optimizer]),
                           self.colours, W.HBox([self.run_button, self.stop_button])],
                          layout=W.Layout(width="520px", flex="0 0 520px"))
        results = W.VBox([self.progress, self.progress_text, self.preview, self.curves, self.status,
                          W.HBox([self.path, self.save_button]), W.HBox([self.overwrite_button, self.save_note])],
                         layout=W.Layout(flex="1 1 auto", margin="0 0 0 12px"))
        widget = W.VBox([W.HTML("<h3>Style playground</h3>"), W.HBox([controls, results])],
                        layout=W.Layout(border="1px solid #ddd", padding="6px"))
        widget.add_class("stylelib-playground")
        return widget

    # -- logic ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._run.running

    def settings(self) -> dict:
        """The keyword arguments for `stylize` that the controls describe (plus the colour switch)."""
        layers = [name for name, box in self.layers.items() if box.value]
        if not layers:
            raise SettingsError("tick at least one style layer")
        return {"size": self.size.value, "steps": self.steps.value, "style_weight": self.style_weight.value,
                "tv_weight": self.tv_weight.value, "style_layers": layers, "content_layers": [self.content_layer.value],
                "optimizer": self.optimizer.value, "keep_colours": self.colours.value}

    def run(self) -> bool:
        """Start a run in a background thread; False (and a message) when the settings are not usable."""
        if self.running:
            return False
        try:
            settings = self.settings()
            content, style = self.content.image(settings["size"]), self.style.image(settings["size"])
        except StylelibError as error:
            self.status.value = message(error, "error")
            return False
        self._clear(settings["steps"])
        return self._run.start(self._work, content, style, settings)

    def stop(self):
        """Ask the run to end after the current step; the best image so far is kept."""
        if self._run.stop():
            self.status.value = message("stopping after this step…")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has ended (True) or `timeout` seconds have passed (False)."""
        return self._run.wait(timeout)

    def _clear(self, steps: int):
        """Forget the last run's result and messages; Run stays locked until the new run ends."""
        self.result = None
        self._ask_overwrite(False)
        self.progress.max, self.progress.value = steps, 0
        self.progress_text.value, self.status.value, self.save_note.value = "", message("running…"), ""
        self.run_button.disabled, self.stop_button.disabled = True, False

    def _work(self, content, style, settings):
        """The background job: one run that reports every step; any failure becomes a message, not a lost traceback."""
        keep_colours, steps = settings.pop("keep_colours"), settings["steps"]
        on_step = self._on_step(steps, content if keep_colours else None)
        start = time.perf_counter()
        try:
            method = luminance_transfer if keep_colours else stylize  # the former puts the colours back itself
            self.result = result = method(content, style, model=self.model, callback=on_step, every=1, progress=False,
                                          **settings)
            self.preview.value, self.curves.value = image_png(result.image), losses_png(result.history, steps)
            self.status.value = self._summary(result, steps, time.perf_counter() - start)
        except StylelibError as error:
            self.status.value = message(error, "error")
        except Exception as error:  # a thread's traceback would be lost: show it as a message instead
            self.status.value = message(f"unexpected {type(error).__name__}: {error}", "error")
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True

    def _on_step(self, steps: int, content_colours: torch.Tensor | None):
        """stylize's callback: progress after every step, about ten previews per run, True once Stop was asked.

        With `content_colours` (a luminance-only run) the preview gets the content's colours, as the result will.
        """
        every = max(1, round(steps / 10))

        def on_step(step, image, result):
            self.progress.value = step
            self.progress_text.value = f"step {step} of {steps} · loss {result.history['total'][-1]:.4g}"
            if step % every == 0 or step == steps:
                shown = image if content_colours is None else with_content_colours(image, content_colours)
                self.preview.value = image_png(shown)
                self.curves.value = losses_png(result.history, steps)
            return self._run.stopping
        return on_step

    @staticmethod
    def _summary(result, steps: int, seconds: float) -> str:
        best = min(result.history["total"])
        if result.stopped == "callback":
            return message(f"stopped after {result.steps} of {steps} steps: showing the best image so far "
                           f"(loss {best:.4g})", "warning")
        if result.stopped == "non-finite":
            return message(f"the loss became NaN or infinite after {result.steps} steps (weights too large?): "
                           "showing the last finite image", "warning")
        return message(f"done: {result.steps} steps in {seconds:.1f} s; showing the best image (loss {best:.4g})", "done")

    def save(self, overwrite: bool = False) -> Path | None:
        """Write the best image as PNG; an existing file is replaced only after 'Overwrite' is pressed."""
        if self.result is None:
            self.save_note.value = message("nothing to save yet: press Run first", "warning")
            return None
        path = Path(self.path.value).expanduser()
        if path.suffix.lower() != ".png":
            self.save_note.value = message(f"{path} does not end in .png: Save writes PNG files", "error")
            return None
        if path.exists() and not overwrite:
            self._ask_overwrite(True)
            self.save_note.value = message(f"{path} already exists: press Overwrite to replace it, "
                                           "or change the name", "warning")
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            images.save_image(self.result.image, path, overwrite=overwrite)
        except (ImageError, OSError) as error:
            self.save_note.value = message(error, "error")
            return None
        self._ask_overwrite(False)
        self.save_note.value = message(f"saved {path}", "done")
        return path

    def _ask_overwrite(self, ask: bool):
        self.overwrite_button.layout.display = None if ask else "none"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
