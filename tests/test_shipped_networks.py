"""The shipped feed-forward networks and the `train` / `fast` commands: verified loading, a real stylisation,
resumable training, one-line errors that change nothing."""
import json
import shutil

import pytest
import torch

import stylelib as sl
from stylelib import fast
from stylelib.__main__ import main
from stylelib.weights import sha256


def test_shipped_networks_have_cards_that_match_their_files():
    assert fast.shipped() == ["great_wave", "starry_night"]
    for name in fast.shipped():
        weights, card = fast.MODELS_DIR / f"{name}.pt", fast.card(name)
        assert weights.stat().st_size <= 10e6  # the size limit
        assert sha256(weights) == card["sha256"]
        assert card["command"].startswith(f"python -m stylelib train {name} ")
        assert card["steps"] >= 3000 and card["settings"]["norm"] == "instance"
        assert set(card["final_losses"]) == {"content", "style", "total"}
        # the curves fell: the last window's total is far below the first's
        assert card["curves"]["total"][-1] < card["curves"]["total"][0] / 100


@pytest.mark.parametrize("name", ["starry_night", "great_wave"])
def test_shipped_network_moves_a_photo_towards_its_painting(model, name):
    """Measured apart from the training loss (scale-free terms at 256 px, the training's style layers): the
    Gram-matrix style term against the painting falls more than 3-fold from the photo to the network's output
    (3.5-6.4× measured), and the output keeps the photo's layout: its relu3_3 content term is far below
    that of the painting resized to the same shape."""
    net = fast.load(name)
    photo = sl.content("golden_gate_fog", 256)
    out = fast.apply(net, photo)
    assert out.shape == photo.shape and 0 <= out.min() and out.max() <= 1
    painting = sl.style(name, 256)
    same_shape = torch.nn.functional.interpolate(painting, size=photo.shape[-2:], mode="bilinear")
    johnson = sl.preset("johnson2016").objective
    objective = sl.Objective(content_layers=johnson.content_layers, style_layers=johnson.style_layers)
    loss = objective.loss(model, photo, [painting])
    photo_terms, out_terms, painting_terms = (loss(x) for x in (photo, out, same_shape))
    assert out_terms["style"] < photo_terms["style"] / 3
    assert out_terms["content"] < painting_terms["content"] / 1.5  # 1.9× measured for starry_night


def test_a_changed_network_file_is_refused(tmp_path):
    for suffix in (".pt", ".json"):
        shutil.copy(fast.MODELS_DIR / f"starry_night{suffix}", tmp_path / f"copy{suffix}")
    data = bytearray((tmp_path / "copy.pt").read_bytes())
    data[-100] ^= 0xFF
    (tmp_path / "copy.pt").write_bytes(bytes(data))
    with pytest.raises(sl.WeightsError, match="does not match the sha256 in its card"):
        fast.load(tmp_path / "copy.pt")


def test_fast_command_stylizes_and_lists_the_networks_on_a_bad_name(tmp_path, capsys):
    out = tmp_path / "cat.png"
    assert main(["fast", "cat", "--model", "starry_night", "-o", str(out), "--size", "96"]) == 0
    image = sl.load_image(out)
    assert max(image.shape[-2:]) == 96
    expected = fast.apply(fast.load("starry_night"), "cat", 96)
    assert (image - expected).abs().max() <= 1 / 255 + 1e-6  # the network's output, up to 8-bit rounding
    before = out.read_bytes()
    assert main(["fast", "cat", "--model", "starry_night", "-o", str(out)]) == 1  # exists: not overwritten
    assert out.read_bytes() == before
    assert main(["fast", "cat", "--model", "starry", "-o", str(tmp_path / "x.png")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 2 and "already exists" in error[0]
    assert "no shipped network named 'starry'" in error[1] and "great_wave, starry_night" in error[1]


def _train(out, steps):
    return main(["train", "starry_night", "--out", str(out), "--steps", str(steps), "--batch-size", "1",
                 "--size", "32", "--checkpoint-every", "1"])


def test_train_command_resumes_to_the_same_network_as_an_unbroken_run(tmp_path, capsys):
    assert _train(tmp_path / "broken.pt", 2) == 0
    assert _train(tmp_path / "broken.pt", 3) == 0  # the same command, more steps: resumes from broken.ckpt
    assert "resuming from" in capsys.readouterr().out
    assert _train(tmp_path / "whole.pt", 3) == 0
    broken, whole = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("broken", "whole"))
    assert broken["steps"] == whole["steps"] == 3
    assert broken["curves"]["total"] == pytest.approx(whole["curves"]["total"], rel=1e-4)
    a, b = (fast.load_transformer(tmp_path / f"{n}.pt") for n in ("broken", "whole"))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-3), name
    assert fast.load(tmp_path / "whole.pt").config() == {"norm": "instance", "width": 32, "blocks": 5}


@pytest.mark.parametrize("case", ["suffix", "exists"])
def test_train_command_refuses_a_bad_out_before_training(tmp_path, capsys, case):
    out = tmp_path / ("net.txt" if case == "suffix" else "net.pt")
    if case == "exists":
        out.write_bytes(b"someone's file")
    assert main(["train", "starry_night", "--out", str(out), "--steps", "1", "--size", "16"]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and ("should end in .pt" if case == "suffix" else "--overwrite") in error
    assert not out.with_suffix(".ckpt").exists()
    if case == "exists":
        assert out.read_bytes() == b"someone's file"
