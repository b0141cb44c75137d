"""The files that ship with stylelib: the images and trained networks (data/) and the notebook series.

In a clone they sit beside the package (data/, notebooks/); an installed wheel carries them inside it
(stylelib/data, stylelib/notebooks: pyproject.toml maps the folders there), so `pip install stylelib`
works away from the clone. `copy_notebooks` gives a learner their own copy of the series.
"""
import os
import shutil
from pathlib import Path

from .errors import ImageError

PACKAGE = Path(__file__).resolve().parent
NOTEBOOK_FILES = ("*.ipynb", "TEACHING.md")


def folder(name: str) -> Path:
    """The installed copy of `name` ("data" or "notebooks") inside the package, else the clone's, beside it."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


def data_dir() -> Path:
    """Where the images and networks are: $STYLELIB_DATA, else the shipped folder."""
    return Path(os.environ.get("STYLELIB_DATA") or folder("data"))


def copy_notebooks(target, overwrite: bool = False) -> list[Path]:
    """Copy the series (and TEACHING.md) into the folder `target`, made if needed; the copies run there with
    nothing else around them. Refuses, before writing anything, when a file there would be replaced."""
    target = Path(target)
    sources = sorted(p for pattern in NOTEBOOK_FILES for p in folder("notebooks").glob(pattern))
    if target.exists() and not target.is_dir():
        raise ImageError(f"{target} is a file, not a folder: give a folder to copy the notebooks into")
    existing = [target / p.name for p in sources if (target / p.name).exists()]
    if existing and not overwrite:
        raise ImageError(f"{len(existing)} file(s) already in {target}, e.g. {existing[0].name}: pass --overwrite "
                         "(overwrite=True in Python) or choose another folder")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:  # "x": a file that appeared since the check is still not replaced
            with open(source, "rb") as src, open(target / source.name, "wb" if overwrite else "xb") as dst:
                shutil.copyfileobj(src, dst)
    except OSError as error:
        raise ImageError(f"cannot write the notebooks into {target} ({error.strerror or error})") from None
    return [target / p.name for p in sources]
