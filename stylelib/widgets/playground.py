"""The style playground: style transfer with every knob on screen, run in the background.

The controls only call plain methods (`settings`, `run`, `stop`, `wait`, `save`), which a notebook cell
or a test can call as well. The run goes through a `BackgroundRun` so the kernel stays free for Stop, and
every problem a user can cause (no style layer ticked, an existing output file) becomes a message.
"""
import math
import time
from pathlib import Path

import ipywidgets as W
import torch
from matplotlib.figure import Figure

from .. import images, runtime
from ..color import luminance_transfer, rgb_to_yiq, yiq_to_rgb
from ..errors import ImageError, SettingsError, StylelibError
from ..features import VGGFeatures, vgg
from ..objective import STYLE_LAYERS, Objective
from ..statistics import STATISTICS
from ..transfer import SCHEDULES, Run, stylize
from .parts import LABELS, BackgroundRun, ImagePicker, figure_png, image_png, log_slider, message, row_label, wide

CONTENT_CHOICES = ("relu2_2", "relu3_2", "relu4_2", "relu5_2")


# --- what a run shows -------------------------------------------------------------------------

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


def with_content_colours(image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """A live preview of a luminance-only run in colour: its luminance Y, the content's chroma I, Q
    (what `color.luminance_transfer` does to the final image)."""
    return yiq_to_rgb(torch.cat([rgb_to_yiq(image)[:, :1], rgb_to_yiq(content)[:, 1:]], 1)).clamp(0, 1)


# --- the widget -------------------------------------------------------------------------------

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
        # the painting's size relative to the photo's (Objective.style_scale): below 1 smaller strokes, above larger
        self.style_scale = W.FloatSlider(value=Objective().style_scale, min=0.25, max=2.0, step=0.25,
                                         description="Style scale", readout_format=".2f", style=LABELS, layout=wide())
        self.layers = {name: W.Checkbox(value=True, description=name, indent=False, layout=W.Layout(width="auto"))
                       for name in STYLE_LAYERS}
        self.content_layer = W.Dropdown(options=self.model.check_layers(CONTENT_CHOICES), value="relu4_2",
                                        description="Content layer", style=LABELS, layout=W.Layout(width="330px"))
        # what each style layer matches (Objective.style_statistic; notebook 05c compares them)
        self.statistic = W.Dropdown(options=list(STATISTICS), value=Objective().style_statistic,
                                    description="Style statistic", style=LABELS, layout=W.Layout(width="330px"))
        self.optimizer = W.ToggleButtons(options=[("L-BFGS", "lbfgs"), ("Adam", "adam")],
                                         style={"button_width": "80px"},
                                         tooltips=["L-BFGS: few steps, the classic choice",
                                                   "Adam: first-order, lr 0.02"])
        self.schedule = W.ToggleButtons(options=list(SCHEDULES), value=Run().schedule, style={"button_width": "80px"},
                                        tooltips=["pyramid: the library's default (L-BFGS on a pyramid of corrections)",
                                                  "plain: the textbook loop on the pixels (notebook 03)"])
        self.colours = W.Checkbox(value=False, description="Keep the content's colours (luminance-only transfer)",
                                  indent=False, layout=W.Layout(width="auto"))

    def _build_results(self, path: str):
        """Run and Stop, what a run shows while it goes (progress, preview, curves, status), and saving."""
        self.run_button = W.Button(description="Run", button_style="success", icon="play",
                                   tooltip="start the optimization")
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
                           self.steps, self.style_scale, W.HBox([row_label("Style layers"), layer_boxes]),
                           self.content_layer, self.statistic, W.HBox([row_label("Optimizer"), self.optimizer]),
                           W.HBox([row_label("Schedule"), self.schedule]),
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
        """The keyword arguments for `stylize` that the controls describe, so `sl.stylize(c, s, **settings())`
        repeats a run. The colour switch is not among them: it chooses `luminance_transfer` instead (see `run`)."""
        layers = [name for name, box in self.layers.items() if box.value]
        if not layers:
            raise SettingsError("tick at least one style layer")
        return {"size": self.size.value, "steps": self.steps.value, "style_weight": self.style_weight.value,
                "tv_weight": self.tv_weight.value, "style_layers": layers, "content_layers": [self.content_layer.value],
                "optimizer": self.optimizer.value, "schedule": self.schedule.value,
                "style_scale": self.style_scale.value, "style_statistic": self.statistic.value}

    def run(self) -> bool:
        """Start a run of `settings()` in a background thread, through `luminance_transfer` when the colour switch
        is on; False (and a message) when the settings are not usable."""
        if self.running:
            return False
        try:
            settings = self.settings()
            content = self.content.image(settings["size"])
            style = self.style.image(round(settings["size"] * settings["style_scale"]))  # as stylize sizes it
        except StylelibError as error:
            self.status.value = message(error, "error")
            return False
        self._clear(settings["steps"])
        return self._run.start(self._work, content, style, settings, self.colours.value)

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

    def _work(self, content, style, settings: dict, keep_colours: bool):
        """The background job: one run that reports every step; any failure becomes a message, not a lost traceback."""
        steps = settings["steps"]
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
        return message(f"done: {result.steps} steps in {seconds:.1f} s; showing the best image (loss {best:.4g})",
                       "done")

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
