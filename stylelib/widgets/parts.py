"""What both UIs are built from: layout helpers, messages, figures as PNG bytes, the image picker,
weight sliders and the background runner.

Figures are drawn with matplotlib's object API straight into PNG bytes: that is safe from the
playground's background thread, where pyplot is not.
"""
import html
import io
import tempfile
import threading
from pathlib import Path

import ipywidgets as W
import torch
from matplotlib.figure import Figure

from .. import images
from ..errors import ImageError, StylelibError

LABELS = {"description_width": "10em"}  # wide enough that no label is cut off


def wide() -> W.Layout:
    """Room for a 10em label, the slider and a readout such as 1.0e-02."""
    return W.Layout(width="490px")


def row_label(text: str) -> W.Label:
    """A label as wide as the sliders' descriptions, so that a row of checkboxes or buttons lines up with them."""
    return W.Label(text, layout=W.Layout(width="10em", flex="0 0 auto"))


def log_slider(description: str, value: float, low: float, high: float) -> W.FloatLogSlider:
    """A weight from 10**low to 10**high in quarter decades: weights matter by their order of magnitude.
    The notches are counted from `low`, so a `low` that is log10(value) minus whole decades puts `value` on one."""
    return W.FloatLogSlider(value=value, base=10, min=low, max=high, step=0.25, description=description,
                            readout_format=".1e", style=LABELS, layout=wide())


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


# --- running a job without blocking the kernel ------------------------------------------------

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
