"""The command line: the default pair works; bad input exits non-zero with one line and changes nothing;
`--help` shows the library's own defaults and words."""
import dataclasses
import hashlib
import inspect
import shutil
import subprocess
import sys

import pytest

import stylelib as sl
from stylelib import images, runtime
from stylelib import __main__ as cli


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "stylelib", *map(str, args)], capture_output=True, text=True)


def test_default_pair_writes_a_png(tmp_path):
    out = tmp_path / "result.png"
    done = _cli("stylize", "-o", out, "--size", 48, "--steps", 4)
    assert done.returncode == 0, done.stderr
    assert max(sl.load_image(out).shape[-2:]) == 48
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def inputs(tmp_path):
    content, style = tmp_path / "content.jpg", tmp_path / "style.jpg"
    shutil.copy(images.data_path("content", "cat"), content)
    shutil.copy(images.data_path("style", "the_scream"), style)
    return content, style


def _digests(paths):
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.mark.parametrize("case", ["missing", "not_an_image", "unwritable", "output_is_input", "exists"])
def test_bad_input_exits_with_one_line_and_changes_nothing(tmp_path, inputs, case):
    content, style = inputs
    out = tmp_path / "out.png"
    extra = []
    if case == "missing":
        content, match = tmp_path / "nowhere.jpg", "does not exist"
    elif case == "not_an_image":
        content = tmp_path / "notes.jpg"
        content.write_text("shopping list: eggs")
        match = "not an image"
    elif case == "unwritable":
        (tmp_path / "file.txt").write_text("x")
        out, match = tmp_path / "file.txt" / "out.png", "does not exist"
    elif case == "output_is_input":
        out, match, extra = content, "one of the input images", ["--overwrite"]
    else:
        out.write_bytes(b"precious")
        match = "already exists: pass --overwrite"
    before = _digests([p for p in (content, style, out) if p.is_file()])
    done = _cli("stylize", content, style, "-o", out, "--size", 32, "--steps", 2, *extra)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], done.stderr
    assert _digests([p for p in (content, style, out) if p.is_file()]) == before


def test_bad_option_values_also_give_one_line(tmp_path):
    done = _cli("stylize", "-o", tmp_path / "o.png", "--size", "big")
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "'big' is not a whole number" in done.stderr


@pytest.mark.parametrize("cached, argv, archs", [
    ("vgg16-hed", [], ["vgg16"]),                # the offline classroom: VGG16, which has no relu3_4
    ("vgg19", [], ["vgg19"]),
    (None, ["--backbone", "vgg16"], ["vgg16"]),  # explicit: the network is known before its weights are
    (None, [], ["vgg19", "vgg16"]),              # nothing cached: both, each labelled
])
def test_list_prints_the_layers_of_the_backbone_stylize_would_use(tmp_path, monkeypatch, capsys, cached, argv, archs):
    from stylelib import weights
    from stylelib.__main__ import main
    from stylelib.features import layer_names

    monkeypatch.setenv("STYLELIB_CACHE", str(tmp_path / "stylelib"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("STYLELIB_BACKBONE", raising=False)
    if cached:
        weights.file_path(cached).parent.mkdir(parents=True)
        weights.file_path(cached).write_bytes(b"list does not load the file")
    assert main(["list", *argv]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("layers (")]
    assert [line.split()[1].strip("(,):") for line in lines] == archs
    for line, arch in zip(lines, archs):
        assert line.split("): ")[-1].split(", ") == layer_names(arch)
    if archs == ["vgg16"]:
        assert "relu3_4" not in lines[0]


def _help(command, capsys) -> str:
    """`COMMAND --help` as printed, with its line breaks undone."""
    with pytest.raises(SystemExit):
        cli.parser().parse_args([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_stylize_options_take_default_and_help_from_the_library(capsys):
    """The options named after a field of Objective or Run take that field's default and show its help:
    `--help` cannot drift from what stylize does."""
    args = vars(cli.parser().parse_args(["stylize", "-o", "out.png"]))
    fields = {f.name: f for cls in (sl.Objective, sl.Run) for f in dataclasses.fields(cls) if f.name in args}
    assert set(fields) == {"content_weight", "style_weight", "tv_weight", "style_statistic", "optimizer", "schedule",
                           "init", "seed"}
    shown = _help("stylize", capsys)
    for name, field in fields.items():
        assert args[name] == field.default, name
        assert f"{field.metadata['help']} (default: {field.default})" in shown, name
    for name in ("size", "steps"):  # by tier, from the table the library uses
        assert ", ".join(f"{tier} {value}" for tier, value in zip(runtime.TIERS, runtime.DEFAULTS[name])) in shown


def test_stylize_options_reach_stylize_by_field_name(monkeypatch, tmp_path):
    """Given or not, each such option reaches stylize as the keyword of its field."""
    seen = {}

    def fake_stylize(content, style, **settings):
        seen.update(settings)
        raise sl.SettingsError("stop before the optimization")

    monkeypatch.setattr(cli, "stylize", fake_stylize)
    assert cli.main(["stylize", "cat", "the_scream", "-o", str(tmp_path / "o.png"), "--schedule", "plain",
                     "--init", "noise", "--style-weight", "7"]) == 1
    assert {k: seen[k] for k in ("schedule", "init", "style_weight", "content_weight", "seed")} == {
        "schedule": "plain", "init": "noise", "style_weight": 7.0, "content_weight": sl.Objective().content_weight,
        "seed": sl.Run().seed}


def test_style_statistic_reaches_stylize_and_an_unknown_one_is_one_line(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_stylize(content, style, **settings):
        seen.update(settings)
        raise sl.SettingsError("stop before the optimization")

    monkeypatch.setattr(cli, "stylize", fake_stylize)
    assert cli.main(["stylize", "cat", "the_scream", "-o", str(tmp_path / "o.png"), "--style-statistic", "sliced"]) == 1
    assert seen["style_statistic"] == "sliced"
    capsys.readouterr()  # the first call's message
    with pytest.raises(SystemExit) as exit_:
        cli.main(["stylize", "-o", str(tmp_path / "o.png"), "--style-statistic", "histogram"])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and len(error.strip().splitlines()) == 1
    assert "invalid choice: 'histogram'" in error and all(name in error for name in sl.statistics.STATISTICS)
    assert not (tmp_path / "o.png").exists()


def test_train_options_take_their_defaults_from_the_training(capsys):
    args = vars(cli.parser().parse_args(["train", "starry_night", "--out", "net.pt"]))
    train = inspect.signature(sl.fast.train).parameters
    for name in ("norm", "lr", "seed", "checkpoint_every", "style_size"):
        assert args[name] == train[name].default, name
    shown = _help("train", capsys)  # β and λ_TV: the objective the training uses
    assert f"β (default {sl.fast.OBJECTIVE.style_weight:g}, scale-free terms)" in shown
    assert f"λ_TV (default {sl.fast.OBJECTIVE.tv_weight:g})" in shown
