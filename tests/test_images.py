"""Loading every common format and mode as upright RGB in [0, 1]; resizing; saving safely."""
import hashlib
import os
import stat

import numpy as np
import pytest
import torch
from PIL import Image

import stylelib as sl
from stylelib import images

# A 4x2 RGB picture with distinct colours, to check orientation and values after round trips.
PIXELS = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]],
                   [[0, 255, 255], [255, 0, 255], [128, 128, 128], [0, 0, 0]]], dtype=np.uint8)


def _expected():
    return torch.from_numpy(PIXELS.astype(np.float32) / 255).permute(2, 0, 1).unsqueeze(0)


@pytest.mark.parametrize("ext", ["png", "webp", "tiff", "bmp"])
def test_lossless_formats_load_exactly(tmp_path, ext):
    path = tmp_path / f"img.{ext}"
    Image.fromarray(PIXELS).save(path, lossless=True) if ext == "webp" else Image.fromarray(PIXELS).save(path)
    loaded = sl.load_image(path)
    assert loaded.shape == (1, 3, 2, 4) and loaded.dtype == torch.float32
    assert torch.allclose(loaded, _expected(), atol=1 / 255 + 1e-6)


def test_jpeg_loads_close_to_the_original(tmp_path):
    big = np.kron(PIXELS, np.ones((8, 8, 1), dtype=np.uint8))  # 16x32 blocks: JPEG keeps flat colours
    Image.fromarray(big).save(tmp_path / "a.jpg", quality=95)
    loaded = sl.load_image(tmp_path / "a.jpg")
    assert loaded.shape == (1, 3, 16, 32)
    assert (loaded[0, :, 4, 4] - torch.tensor([1.0, 0, 0])).abs().max() < 0.1


def test_grayscale_and_palette_and_cmyk(tmp_path):
    Image.fromarray(np.full((3, 3), 200, np.uint8), "L").save(tmp_path / "g.png")
    assert torch.allclose(sl.load_image(tmp_path / "g.png"), torch.full((1, 3, 3, 3), 200 / 255))
    Image.fromarray(PIXELS).convert("P", palette=Image.ADAPTIVE, colors=8).save(tmp_path / "p.gif")
    assert torch.allclose(sl.load_image(tmp_path / "p.gif"), _expected(), atol=2 / 255)
    Image.new("CMYK", (2, 2), (0, 255, 255, 0)).save(tmp_path / "c.jpg")  # pure red in CMYK
    red = sl.load_image(tmp_path / "c.jpg")[0, :, 0, 0]
    assert red[0] > 0.9 and red[1:].max() < 0.1


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32768], [65535, 16384]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "16.png")
    loaded = sl.load_image(tmp_path / "16.png")[0, 0]
    np.testing.assert_allclose(loaded.numpy(), values / 65535, atol=1 / 255)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = [255, 0, 0, 255]      # opaque red stays red
    rgba[0, 1] = [0, 0, 0, 0]          # fully transparent becomes white
    rgba[1, :] = [0, 0, 0, 128]        # half-transparent black becomes mid grey
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    loaded = sl.load_image(tmp_path / "t.png")[0]
    assert torch.allclose(loaded[:, 0, 0], torch.tensor([1.0, 0, 0]))
    assert torch.allclose(loaded[:, 0, 1], torch.ones(3))
    assert torch.allclose(loaded[:, 1, 0], torch.full((3,), 127 / 255), atol=2 / 255)


def test_exif_orientation_is_honoured(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    big = np.kron(PIXELS, np.ones((8, 8, 1), dtype=np.uint8))  # 8x8 blocks survive JPEG
    Image.fromarray(big).save(tmp_path / "r.jpg", exif=exif, quality=95)
    loaded = sl.load_image(tmp_path / "r.jpg")
    assert loaded.shape == (1, 3, 32, 16)  # stored 32 wide, 16 high; displayed upright 16 wide, 32 high
    # after a clockwise turn the stored top-left block (red) is at the top-right
    assert loaded[0, 0, 4, 12] > 0.8 and loaded[0, 1:, 4, 12].max() < 0.2


def test_resize_by_long_side_keeps_aspect():
    img = Image.new("RGB", (400, 100))
    assert images.resize_long_side(img, 100).size == (100, 25)
    full, small = sl.content("cat"), sl.content("cat", size=64)
    assert max(small.shape[-2:]) == 64
    assert small.shape[-1] / small.shape[-2] == pytest.approx(full.shape[-1] / full.shape[-2], rel=0.05)


def test_tensor_pil_round_trip():
    assert torch.equal(images.to_tensor(images.to_pil(_expected())), _expected())


def test_catalog_and_names():
    cat = sl.catalog()
    assert set(cat) == {"content", "style", "texture"}
    assert "cat" in cat["content"] and "starry_night" in cat["style"] and "brick" in cat["texture"]
    assert max(sl.style("starry_night", size=96).shape[-2:]) == 96
    with pytest.raises(sl.ImageError, match="available are .*starry_night"):
        sl.style("mona_lisa")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_save_is_atomic_and_never_overwrites(tmp_path):
    out = tmp_path / "out.png"
    images.save_image(_expected(), out)
    before = _digest(out)
    with pytest.raises(sl.ImageError, match=r"already exists: pass --overwrite \(overwrite=True in Python\)"):
        images.save_image(torch.zeros(1, 3, 2, 4), out)
    assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left behind
    images.save_image(torch.zeros(1, 3, 2, 4), out, overwrite=True)
    assert sl.load_image(out).max() == 0


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_saved_files_get_the_users_usual_permissions(tmp_path, umask):
    """Outputs are for sharing and viewing: mode 0o666 minus the umask, as any program's new file
    (a temporary file from tempfile.mkstemp would leave them 0600)."""
    old = os.umask(umask)
    try:
        out = images.save_image(_expected(), tmp_path / "out.png")
        replaced = images.save_image(_expected(), out, overwrite=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o666 & ~umask


def test_save_refuses_an_input_and_bad_places(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(PIXELS).save(src)
    before = _digest(src)
    with pytest.raises(sl.ImageError, match="one of the input images"):
        images.save_image(_expected(), src, inputs=[src], overwrite=True)
    assert _digest(src) == before
    with pytest.raises(sl.ImageError, match="does not exist"):
        images.save_image(_expected(), tmp_path / "missing" / "x.png")
    with pytest.raises(sl.ImageError, match="image extension"):
        images.save_image(_expected(), tmp_path / "x.txt")


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"this is not an image", "not an image"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, match):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(sl.ImageError, match=match) as info:
        sl.load_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(sl.ImageError, match="does not exist"):
        sl.load_image(tmp_path / "nope.png")
    with pytest.raises(sl.ImageError, match="is a directory"):
        sl.load_image(tmp_path)
