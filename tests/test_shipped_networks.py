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


SHIPPED = ["composition_vii", "great_wave", "starry_night"]
# about 1.5× the transfer scores of each network on colonnade at 256 px when it shipped (2026-12-05: style 0.32,
# 0.33, 0.37; content 0.46, 0.50, 0.38)
LIMITS = {"composition_vii": {"style": 0.47, "content": 0.69}, "great_wave": {"style": 0.50, "content": 0.74},
          "starry_night": {"style": 0.55, "content": 0.57}}


def test_shipped_networks_have_cards_that_match_their_files():
    assert fast.shipped() == SHIPPED
    for name in fast.shipped():
        weights, card = fast.MODELS_DIR / f"{name}.pt", fast.card(name)
        assert weights.stat().st_size <= 10e6  # the size limit
        assert sha256(weights) == card["sha256"]
        assert card["command"].startswith(f"python -m stylelib train {name} ")
        assert card["steps"] >= 800 and card["settings"]["norm"] == "instance"
        assert set(card["final_losses"]) == {"content", "style", "total"}
        # trained without the validation photos, and watched on them
        assert not {f"{photo}.jpg" for photo in fast.VALIDATION_PHOTOS} & set(card["photos"])
        assert card["validation"][-1]["step"] == card["steps"]
        assert set(card["validation"][-1]) == {"step", *fast.VALIDATION_PHOTOS}
        # the curves fell: the last window's total well below the first's
        assert card["curves"]["total"][-1] < card["curves"]["total"][0] / 2


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_network_paints_a_photo_it_never_saw(model, name):
    """Judged apart from the training loss (`measure.transfer_scores`: Gatys' layers, relative to the photo and
    the painting) on a held-out photo at 256 px: the network's picture moves far towards the painting in style
    and keeps much of the photo's layout (the photo itself: style 1, content 0; the painting: content 1)."""
    net = fast.load(name)
    photo = sl.content(fast.VALIDATION_PHOTOS[1], 256)
    out = fast.apply(net, photo)
    assert out.shape == photo.shape and 0 <= out.min() and out.max() <= 1
    scores = sl.measure.transfer_scores(out, photo, sl.style(name, 256), model)
    assert scores["style"] < LIMITS[name]["style"] and scores["content"] < LIMITS[name]["content"], scores


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


def _train(out, steps, *options):
    return main(["train", "starry_night", "--out", str(out), "--steps", str(steps), "--batch-size", "1",
                 "--size", "32", "--checkpoint-every", "1", *(options or ["--validate"])])


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


def test_train_command_shows_progress_on_held_out_photos_across_a_resume(tmp_path):
    """Every --checkpoint-every steps: the network's picture of each --validate photo in OUT_progress/ and its
    transfer scores in the card; an interrupted run keeps the records of its first part."""
    out = tmp_path / "net.pt"
    assert _train(out, 1, "--validate", "cat", "--checkpoint-every", "1") == 0
    assert _train(out, 2, "--validate", "cat", "--checkpoint-every", "1") == 0  # resumes from net.ckpt
    assert sorted(p.name for p in (tmp_path / "net_progress").iterdir()) == ["step_00001.jpg", "step_00002.jpg"]
    assert sl.load_image(tmp_path / "net_progress" / "step_00002.jpg").shape[-1] == fast.VALIDATION_SIZE
    records = fast.card(out)["validation"]
    assert [r["step"] for r in records] == [1, 2] and set(records[0]["cat"]) == {"style", "content"}
    assert all(r["cat"]["style"] > 0 and r["cat"]["content"] > 0 for r in records)  # a changed picture


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
