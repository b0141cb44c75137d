"""Every notebook runs on the VGG19 architecture, the network an online student gets (issue 22).

torchvision's VGG19 weights cannot be downloaded here, so the test builds a stand-in with VGG19's layout from
the offline VGG16 (vgg16-hed): VGG19's extra convolutions (conv3_4, conv4_4, conv5_4) are identities (their
input has just passed a ReLU, so the ReLU after them changes nothing), and conv1_1 absorbs the change of input
convention (Caffe's BGR in 0–255 minus the mean → torchvision's RGB normalised by the ImageNet mean and std).
The file is saved as torchvision saves its weights and named after its own sha256 prefix; a startup file in
each kernel points stylelib's VGG19 address at that name, so the real loading code runs (resolve, the sha256
check, a weights_only load, the paper's layer names). The stand-in computes the VGG16's features (but at the
image border, where zero padding meets differently normalised inputs), so the notebooks' checks meet a trained
network; its layer table, receptive fields and feature scale are VGG19's and torchvision's.
"""
import hashlib
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from stylelib import features, weights
from stylelib.layers import channels, conv_names, layer_names

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def vgg19_from_vgg16(vgg16: dict) -> dict:
    """A torchvision-style VGG19 state dict (`features.N.weight`) that computes `vgg16`'s (Caffe-convention)
    features from torchvision-normalised inputs."""
    state = {}
    for name in conv_names("vgg19"):
        if f"{name}.weight" in vgg16:
            weight, bias = vgg16[f"{name}.weight"].clone(), vgg16[f"{name}.bias"].clone()
        else:  # conv3_4, conv4_4, conv5_4: the identity
            n = channels(name)
            weight, bias = torch.zeros(n, n, 3, 3), torch.zeros(n)
            weight[range(n), range(n), 1, 1] = 1.0
        if name == "conv1_1":  # caffe input j (BGR) = 255·(std_c·t_c + mean_c) − caffe_mean_j with c = 2 − j
            std, mean = torch.tensor(features.IMAGENET_STD), torch.tensor(features.IMAGENET_MEAN)
            shift = 255 * mean.flip(0) - torch.tensor(features.CAFFE_MEAN_BGR)  # per BGR input channel
            bias = bias + (weight.sum(dim=(2, 3)) * shift).sum(1)
            weight = (weight * (255 * std.flip(0)).view(1, 3, 1, 1)).flip(1)  # BGR inputs → RGB inputs
        state[name] = (weight, bias)
    index = {name: i for i, name in enumerate(layer_names("vgg19"))}  # torchvision's features.N numbering
    return {f"features.{index[name]}.{kind}": tensor
            for name, (weight, bias) in state.items() for kind, tensor in (("weight", weight), ("bias", bias))}


def test_the_stand_in_computes_the_vgg16_features():
    """The oracle for the stand-in: away from the border its relu5_4 equals the VGG16's relu5_3."""
    vgg16 = features.vgg("vgg16-hed", verbose=False)
    vgg19 = features.VGGFeatures("vgg19", "torchvision")
    raw = vgg19_from_vgg16(weights.load(vgg16.source))
    vgg19.body.load_state_dict({f"{conv}.{kind}": raw[key] for key, conv, kind in _named(raw)})
    image = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = vgg19(image, ["relu3_4", "relu5_4"]), vgg16(image, ["relu3_3", "relu5_3"])
    for mine, reference in (("relu3_4", "relu3_3"), ("relu5_4", "relu5_3")):
        a, b = ours[mine], theirs[reference]
        h, w = a.shape[-2:]
        inner = (..., slice(h // 4, -h // 4), slice(w // 4, -w // 4))  # the border differs: padding of other inputs
        assert (a[inner] - b[inner]).norm() < 1e-2 * b[inner].norm(), mine
        assert (a - b).norm() < 1e-2 * b.norm(), mine  # and the border only a little


def _named(raw: dict):
    """(torchvision key, paper conv name, weight/bias) for each entry of a VGG19 state dict."""
    names = layer_names("vgg19")
    for key in raw:
        _, index, kind = key.split(".")
        yield key, names[int(index)], kind


@pytest.fixture(scope="module")
def vgg19_world(tmp_path_factory):
    """A torch hub folder holding the stand-in VGG19, and an IPython folder whose startup names its file."""
    root = tmp_path_factory.mktemp("vgg19")
    checkpoints = root / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    draft = checkpoints / "vgg19.pth"
    torch.save(vgg19_from_vgg16(weights.load(weights.resolve("vgg16-hed", verbose=False))), draft)
    name = f"vgg19-{hashlib.sha256(draft.read_bytes()).hexdigest()[:8]}.pth"
    draft.rename(checkpoints / name)
    startup = root / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-vgg19.py").write_text(
        "import stylelib.weights\n"
        f"stylelib.weights.TORCHVISION_URLS['vgg19'] = 'https://download.pytorch.org/models/{name}'\n")
    return {"TORCH_HOME": str(root / "torch"), "IPYTHONDIR": str(root / "ipython")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_runs_on_vgg19(path, vgg19_world, monkeypatch):
    """Executed at the quick tier with `sl.vgg()` choosing the VGG19 (the cached one comes first); the first
    cell's `sl.describe()` says so."""
    for key, value in {**vgg19_world, "STYLELIB_MODE": "quick", "MPLBACKEND": "Agg",
                       "PYTHONPATH": str(ROOT)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STYLELIB_BACKBONE", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "weights: vgg19 (found in the torchvision cache)" in printed
