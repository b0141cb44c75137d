"""Images in and out: load anything common as RGB in [0, 1], resize, convert, save safely.

Every loaded image is a float tensor of shape (1, 3, H, W) with values in [0, 1], upright
(EXIF orientation applied). Transparent images are composited on white. Saving writes a temporary
file and renames it, never overwrites an existing file unless asked, and never writes over an input.
"""
import os
import secrets
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from . import resources
from .errors import ImageError

__all__ = ["catalog", "content", "style", "texture", "load_image", "as_image", "to_tensor", "to_pil",
           "resize_tensor", "save_image"]

DATA_DIR = resources.data_dir()  # $STYLELIB_DATA, else the images shipped with the package
KINDS = ("content", "style", "texture")
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp")
MAX_PIXELS = 100_000_000  # refuse larger images before decoding them (decompression bombs)
_OVERWRITE_HINT = "pass --overwrite (overwrite=True in Python) or choose another name"


# --- the data/ catalog -------------------------------------------------------------------------

def catalog(kind: str | None = None) -> dict[str, list[str]] | list[str]:
    """Names of the images in data/: all kinds as a dict, or one kind's sorted list."""
    kinds = KINDS if kind is None else (kind,)
    found = {k: sorted(p.stem for p in (DATA_DIR / k).glob("*") if p.suffix.lower() in EXTENSIONS) for k in kinds}
    return found if kind is None else found[kind]


def data_path(kind: str, name: str) -> Path:
    """Path of data/<kind>/<name>.*; the error lists the names that exist."""
    if kind not in KINDS:
        raise ImageError(f"unknown image kind {kind!r}: choose one of {', '.join(KINDS)}")
    matches = [p for p in (DATA_DIR / kind).glob(f"{name}.*") if p.suffix.lower() in EXTENSIONS]
    if not matches:
        raise ImageError(f"no {kind} image named {name!r} in {DATA_DIR}: available are {', '.join(catalog(kind))}")
    return matches[0]


def find(name_or_path) -> Path:
    """A file path as given, or the name of an image in data/ (searched in content, style, texture)."""
    path = Path(name_or_path)
    if path.exists() or path.suffix or os.sep in str(name_or_path):
        return path
    for kind in KINDS:
        if name_or_path in catalog(kind):
            return data_path(kind, name_or_path)
    names = sorted(n for k in KINDS for n in catalog(k))
    raise ImageError(f"{name_or_path!r} is neither a file nor an image in data/: available are {', '.join(names)}")


def content(name: str, size: int | None = None) -> torch.Tensor:
    """A content photo from data/content by name, e.g. content("cat", size=256)."""
    return load_image(data_path("content", name), size)


def style(name: str, size: int | None = None) -> torch.Tensor:
    """A painting from data/style by name, e.g. style("starry_night", size=256)."""
    return load_image(data_path("style", name), size)


def texture(name: str, size: int | None = None) -> torch.Tensor:
    """A texture photo from data/texture by name, e.g. texture("brick")."""
    return load_image(data_path("texture", name), size)


# --- loading -----------------------------------------------------------------------------------

def open_rgb(path) -> Image.Image:
    """Open `path` as an upright 8-bit RGB PIL image, whatever its format and mode."""
    path = Path(path)
    if path.is_dir():
        raise ImageError(f"{path} is a directory, not an image file")
    if not path.is_file():
        raise ImageError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise ImageError(f"{path} is empty (0 bytes)")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"{path} declares {width}×{height} pixels, over the limit of {MAX_PIXELS:,}: "
                    "refused before decoding (resize it first)"
                )
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{path} declares more pixels than the limit of {MAX_PIXELS:,}: refused before "
                         "decoding (resize it first)") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path} is not an image Pillow can read (unknown or damaged format)") from None
    except Exception as error:  # a damaged file can make any decoder fail in its own way
        detail = (str(error).splitlines() or [""])[0] or type(error).__name__
        raise ImageError(f"{path} could not be decoded (damaged or truncated?): {detail}") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode → RGB: 16-bit scaled down, palette expanded, transparency composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 or img.mode.startswith("I;16") else 255.0
        img = Image.fromarray(np.clip(values / peak * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(values * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img.convert("RGB")


def resize_long_side(img: Image.Image, size: int) -> Image.Image:
    """Resize so the longer side is `size` pixels, keeping the aspect ratio (Lanczos, antialiased)."""
    scale = size / max(img.size)
    new = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img if new == img.size else img.resize(new, Image.LANCZOS)


def load_image(path, size: int | None = None) -> torch.Tensor:
    """Load a file (or a data/ name) as a (1, 3, H, W) float tensor in [0, 1]; `size` = long side."""
    img = open_rgb(find(path))
    if size is not None:
        img = resize_long_side(img, size)
    return to_tensor(img)


def as_image(image, size: int | None = None) -> torch.Tensor:
    """A (1, 3, H, W) tensor from a tensor, file path or data/ name; long side `size` when given.
    Every function that takes an image accepts these three forms through here."""
    if isinstance(image, torch.Tensor):
        image = image.unsqueeze(0) if image.dim() == 3 else image
        return image if size is None or max(image.shape[-2:]) == size else resize_tensor(image, size)
    return load_image(image, size)


# --- conversion --------------------------------------------------------------------------------

def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB → (1, 3, H, W) float32 in [0, 1]."""
    array = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_pil(image: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] → PIL RGB (values clamped, rounded)."""
    image = image.detach().float().cpu()
    image = image[0] if image.dim() == 4 else image
    array = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(array, "RGB")


def resize_tensor(image: torch.Tensor, size) -> torch.Tensor:
    """Resize a (N, C, H, W) tensor to (H, W) = `size`, or to long side `size` when it is an int."""
    if isinstance(size, int):
        h, w = image.shape[-2:]
        scale = size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(image, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)


# --- saving ------------------------------------------------------------------------------------

def check_output(path, inputs=(), overwrite: bool = False) -> Path:
    """Raise ImageError unless `path` can be written: not an input, not existing (unless
    `overwrite`), in a writable folder, with an image extension. Call it before long work."""
    path = Path(path)
    if path.suffix.lower() not in EXTENSIONS:
        raise ImageError(f"output {path} needs an image extension such as .png or .jpg")
    for source in inputs:
        if Path(source).exists() and path.exists() and path.resolve() == Path(source).resolve():
            raise ImageError(f"output {path} is one of the input images: choose another file name")
    if path.is_dir():
        raise ImageError(f"output {path} is a directory: give a file name such as {path / 'result.png'}")
    if path.exists() and not overwrite:
        raise ImageError(f"output {path} already exists: {_OVERWRITE_HINT}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ImageError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ImageError(f"cannot write {path}: folder {folder} is not writable")
    return path


def _new_temporary(path: Path) -> tuple[int, Path]:
    """A new, uniquely named file next to `path`, opened for writing. Created with mode 0o666 so the
    umask gives the user's usual permissions (tempfile.mkstemp would make every output 0600)."""
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}{path.suffix}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue


def save_image(image, path, inputs=(), overwrite: bool = False) -> Path:
    """Save a tensor or PIL image atomically (temporary file, then rename); returns the path."""
    path = check_output(path, inputs, overwrite)
    img = image if isinstance(image, Image.Image) else to_pil(image)
    fd, tmp = _new_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=Image.registered_extensions()[path.suffix.lower()])
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if `path` appeared meanwhile: never clobbers
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise ImageError(f"output {path} already exists: {_OVERWRITE_HINT}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def image_for(image, size: int, label: str, min_side: int) -> torch.Tensor:
    """`as_image`, refusing an image too thin for the chosen layers (named by `label` or its path)."""
    label = label if isinstance(image, torch.Tensor) else str(image)
    image = as_image(image, size)
    if min(image.shape[-2:]) < min_side:
        h, w = image.shape[-2:]
        raise ImageError(f"{label} is {w}×{h} px at size {size}: too thin for the chosen layers, which need "
                         f"at least {min_side} px on each side (use a larger size or a less elongated image)")
    return image
