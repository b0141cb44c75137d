"""The widgets' logic, driven without a browser: what they compute, when they stop, what they write."""
import dataclasses
import datetime
import inspect
import io
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

import stylelib as sl
from stylelib.color import chroma_shift
from stylelib.objective import FIELDS
from stylelib.transfer import Run
from stylelib.widgets import (TOP, TOP_CHOICE, BackgroundRun, FeatureExplorer, FeatureView, ImagePicker,
                              StylePlayground)


@pytest.fixture
def playground(model, tmp_path):
    return StylePlayground(model=model, content=("content", "cat"), size=32, steps=4, path=str(tmp_path / "out.png"))


def upload(name: str, data: bytes) -> tuple:
    """What ipywidgets 8's FileUpload puts in its value after the user picks a file."""
    return ({"name": name, "type": "", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# --- feature explorer ---------------------------------------------------------------------------

def test_feature_view_statistics_match_numpy():
    features = torch.relu(torch.randn(40, 5, 7, generator=torch.Generator().manual_seed(1)))
    view = FeatureView("relu3_1", features, TOP_CHOICE)
    flat = features.numpy().reshape(40, -1).astype(np.float64)
    gram = flat @ flat.T / flat.shape[1]
    np.testing.assert_allclose(view.gram.numpy(), gram, rtol=1e-5)
    energy, means = (flat**2).mean(1), flat.mean(1)
    assert view.channels == list(np.argsort(-means)[:TOP])
    rows = view.channel_stats()
    assert [r["rank"] for r in rows] == list(range(1, TOP + 1))
    for row in rows:
        c = row["channel"]
        assert row["mean"] == pytest.approx(flat[c].mean(), rel=1e-5)
        assert row["std"] == pytest.approx(flat[c].std(ddof=1), rel=1e-5)
        assert row["zeros"] == pytest.approx((flat[c] == 0).mean())
        assert row["energy"] == pytest.approx(energy[c], rel=1e-5)
    single = FeatureView("relu3_1", features, 7)
    assert single.channels == [7]
    assert single.channel_stats()[0]["rank"] == 1 + int((means > means[7]).sum())
    assert view.layer_stats()["zeros"] == pytest.approx((flat == 0).mean())


def test_explorer_follows_its_controls(model):
    explorer = FeatureExplorer(model=model, size=48, layer="relu1_1")
    assert len(explorer.channel.options) == 64 + 1 and explorer.channel.value == TOP_CHOICE
    top_figure = explorer.figure.value
    explorer.channel.value = 5
    assert explorer.figure.value != top_figure
    assert "channel</th><td style='padding:0 5px;text-align:right'>5</td></tr>" in explorer.stats.value
    image = sl.content("cat", 48)
    with torch.no_grad():
        expected = model(image, ["relu1_1"])["relu1_1"][0, 5]
    assert explorer.view().channel_stats()[0]["mean"] == pytest.approx(float(expected.mean()), rel=1e-5)

    explorer.layer.value = "relu4_1"  # a channel number that still exists is kept
    assert len(explorer.channel.options) == 512 + 1 and explorer.channel.value == 5
    assert "relu4_1" in explorer.stats.value
    explorer.channel.value = 300
    explorer.layer.value = "conv2_1"  # 128 channels: 300 no longer exists
    assert len(explorer.channel.options) == 128 + 1 and explorer.channel.value == TOP_CHOICE
    before = explorer.figure.value
    explorer.picker.menu.value = ("style", "starry_night")
    assert explorer.figure.value != before and explorer.note.value == ""


def test_explorer_says_when_an_image_is_too_thin_for_the_layer(model):
    explorer = FeatureExplorer(model=model, size=48, layer="relu1_1")
    explorer.picker.upload.value = upload("strip.png", png_bytes(np.full((3, 300, 3), 200, np.uint8)))
    assert explorer.note.value == "" and explorer.view().features.shape[-2:] == (1, 48)  # 48×0.48 px → 1 row
    figure = explorer.figure.value
    explorer.layer.value = "relu3_1"  # two poolings: needs 4 px on each side
    assert "too thin for relu3_1" in explorer.note.value and "stylelib-error" in explorer.note.value
    assert explorer.figure.value == figure  # the last good figure stays


# --- uploads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data", [("notes.txt", b"not a picture"), ("empty.png", b""),
                                        ("broken.png", png_bytes(np.zeros((8, 8, 3), np.uint8))[:40])])
def test_upload_of_a_non_image_becomes_a_message(name, data):
    picker = ImagePicker("Content", default=("content", "cat"))
    picker.upload.value = upload(name, data)  # as the browser does: no exception may escape
    assert picker.menu.value == ("content", "cat")
    assert "stylelib-error" in picker.note.value and name in picker.note.value
    assert "/tmp" not in picker.note.value  # the message names the user's file, not our temporary copy


def test_upload_of_an_image_is_selected_and_used():
    pixels = np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    picker = ImagePicker("Content", default=("content", "cat"))
    picker.upload.value = upload("../../escape.png", png_bytes(pixels))
    assert picker.menu.value == ("upload", "escape.png") and "stylelib-done" in picker.note.value
    np.testing.assert_array_equal(sl.to_pil(picker.image(10)), pixels)
    assert picker.upload.value == ()  # cleared, so the same file can be uploaded again


# --- playground -----------------------------------------------------------------------------------

def test_background_run_holds_one_job_and_ends_it_on_request():
    run = BackgroundRun()
    assert not run.running and run.wait(timeout=0) and run.stop() is False  # nothing to wait for or to stop
    started, ended = threading.Event(), []

    def job(name):
        started.set()
        while not run.stopping:
            time.sleep(0.005)
        ended.append(name)

    assert run.start(job, "first") and started.wait(timeout=10) and run.running
    assert run.start(job, "second") is False and not run.wait(timeout=0.05)  # still busy with the first
    assert run.stop() and run.wait(timeout=10) and ended == ["first"]
    assert run.start(job, "third") and not run.stopping  # the stop flag does not carry over to the next job
    run.stop()
    assert run.wait(timeout=10) and ended == ["first", "third"]


def test_settings_follow_the_controls(playground):
    playground.style_weight.value, playground.tv_weight.value = 1e-3, 10.0
    playground.optimizer.value = "adam"
    playground.layers["relu1_1"].value = playground.layers["relu5_1"].value = False
    playground.content_layer.value = "relu3_2"
    settings = playground.settings()
    assert settings["style_weight"] == pytest.approx(1e-3) and settings["tv_weight"] == pytest.approx(10.0)
    assert settings["style_layers"] == ["relu2_1", "relu3_1", "relu4_1"]
    assert settings["content_layers"] == ["relu3_2"] and settings["optimizer"] == "adam"
    assert (settings["size"], settings["steps"]) == (32, 4)
    assert (settings["schedule"], settings["style_scale"]) == (Run().schedule, 1.0)  # stylize's defaults
    playground.schedule.value, playground.style_scale.value = "plain", 1.5
    assert (playground.settings()["schedule"], playground.settings()["style_scale"]) == ("plain", 1.5)

    playground.layers["relu5_1"].value = True
    playground.content.menu.value = ("content", "golden_gate_fog")  # 32×15 px: four poolings leave nothing
    assert playground.run() and playground.wait(timeout=60)  # stylize refuses it at once: a message, no traceback
    assert "too thin" in playground.status.value and "stylelib-error" in playground.status.value
    assert playground.result is None and not playground.run_button.disabled
    for box in playground.layers.values():
        box.value = False
    assert playground.run() is False and not playground.running
    assert "tick at least one style layer" in playground.status.value


def test_settings_are_all_keywords_that_stylize_accepts(playground):
    """So `sl.stylize(content, style, **playground.settings())` repeats a run, as notebook 07's exercise does."""
    parameters = inspect.signature(sl.stylize).parameters.items()
    named = {name for name, p in parameters if p.kind != p.VAR_KEYWORD} - {"content", "style"}  # given apart
    accepted = named | set(FIELDS) | {field.name for field in dataclasses.fields(Run)}
    for colours in (False, True):  # the colour switch chooses luminance_transfer: it is no stylize keyword
        playground.colours.value = colours
        assert set(playground.settings()) <= accepted


def test_schedule_and_style_scale_reach_stylize(playground):
    """The painting is sized as stylize sizes it (style_scale × size), and the schedule is passed on: the widget's run
    repeats a direct stylize call loss for loss, which loads the painting from its file."""
    playground.schedule.value, playground.style_scale.value, playground.steps.value = "plain", 1.5, 3
    assert playground.run() and playground.wait(timeout=120) and "done" in playground.status.value
    direct = sl.stylize("cat", "starry_night", model=playground.model, progress=False, **playground.settings())
    np.testing.assert_allclose(playground.result.history["total"], direct.history["total"], rtol=1e-4)
    unscaled = sl.stylize("cat", "starry_night", model=playground.model, progress=False,
                      **(playground.settings() | {"style_scale": 1.0}))
    assert abs(unscaled.history["total"][0] - direct.history["total"][0]) > 1e-3  # the painting's size changes the loss


def test_style_statistic_reaches_stylize(playground):
    """The control starts at the objective's default and offers every statistic; the run uses the one chosen."""
    assert playground.statistic.value == sl.Objective().style_statistic
    assert tuple(playground.statistic.options) == tuple(sl.statistics.STATISTICS)
    playground.statistic.value, playground.steps.value = "mean_std", 3
    assert playground.settings()["style_statistic"] == "mean_std"
    assert playground.run() and playground.wait(timeout=120) and "done" in playground.status.value
    direct = sl.stylize("cat", "starry_night", model=playground.model, progress=False, **playground.settings())
    np.testing.assert_allclose(playground.result.history["style"], direct.history["style"], rtol=1e-4)
    gram = sl.stylize("cat", "starry_night", model=playground.model, progress=False,
                      **(playground.settings() | {"style_statistic": "gram"}))
    assert abs(gram.history["style"][0] - direct.history["style"][0]) > 1e-3  # another statistic, another term


def test_run_reports_progress_preview_and_curves(playground):
    playground.optimizer.value = "adam"
    assert playground.run() and playground.run_button.disabled and not playground.stop_button.disabled
    assert playground.wait(timeout=120)
    result = playground.result
    assert result.steps == 4 and result.stopped is None
    assert playground.progress.value == playground.progress.max == 4
    assert "step 4 of 4" in playground.progress_text.value and "done: 4 steps" in playground.status.value
    np.testing.assert_array_equal(decoded(playground.preview.value), np.asarray(sl.to_pil(result.image)))
    assert decoded(playground.curves.value).std() > 0  # a drawn figure, not a blank
    assert not playground.run_button.disabled and playground.stop_button.disabled


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_stop_pressed_during_a_step_ends_the_run_after_that_step(playground, optimizer):
    playground.optimizer.value, playground.steps.value = optimizer, 1000
    playground.progress.observe(lambda change: change["new"] == 3 and playground.stop(), "value")
    playground.run()
    assert playground.wait(timeout=120)
    assert playground.result.steps == 3 and playground.result.stopped == "callback"
    assert "stopped after 3 of 1000 steps" in playground.status.value
    np.testing.assert_array_equal(decoded(playground.preview.value), np.asarray(sl.to_pil(playground.result.image)))


def test_stop_from_the_notebook_thread_is_honoured_within_one_step(playground):
    playground.optimizer.value, playground.steps.value = "adam", 1000
    playground.run()
    deadline = time.monotonic() + 120
    while playground.progress.value < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # the notebook thread is free meanwhile: the run is in the background
    seen = playground.progress.value
    playground.stop()
    assert playground.wait(timeout=120)
    assert seen >= 2 and seen <= playground.result.steps <= seen + 1


def test_save_never_overwrites_without_asking(playground, tmp_path):
    target = tmp_path / "out.png"
    assert playground.save() is None and "press Run first" in playground.save_note.value
    playground.run()
    playground.wait(timeout=120)
    picture = np.asarray(sl.to_pil(playground.result.image))

    target.write_bytes(b"precious")
    playground.save_button.click()
    assert target.read_bytes() == b"precious" and "already exists" in playground.save_note.value
    assert playground.overwrite_button.layout.display is None  # shown: the question is asked
    playground.path.value = str(tmp_path / "other.png")
    assert playground.overwrite_button.layout.display == "none"  # a new name cancels the question
    playground.path.value = str(target)
    playground.save_button.click()
    playground.overwrite_button.click()  # the user says yes
    np.testing.assert_array_equal(decoded(target.read_bytes()), picture)
    assert playground.overwrite_button.layout.display == "none"

    fresh = tmp_path / "new" / "result.png"
    playground.path.value = str(fresh)
    assert playground.save() == fresh
    np.testing.assert_array_equal(decoded(fresh.read_bytes()), picture)
    playground.path.value = str(tmp_path / "result.jpg")
    assert playground.save() is None and "PNG" in playground.save_note.value
    assert not (tmp_path / "result.jpg").exists()


def test_keep_colours_runs_on_luminance_and_keeps_the_content_chroma(playground):
    content = sl.content("cat", 32)
    playground.optimizer.value, playground.steps.value = "adam", 6
    playground.style.menu.value = ("style", "great_wave")  # blue and white on an orange-brown cat
    playground.run()
    assert playground.wait(timeout=120)
    plain = chroma_shift(playground.result.image, content)
    playground.colours.value = True
    playground.run()
    assert playground.wait(timeout=120) and "done" in playground.status.value
    kept = chroma_shift(playground.result.image, content)
    assert kept < 1e-3 and plain > 0.02  # only clipping to the RGB cube could move the colours at all
    np.testing.assert_array_equal(decoded(playground.preview.value), np.asarray(sl.to_pil(playground.result.image)))
