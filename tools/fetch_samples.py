"""Fetch the sample photos for the demo and the core tests from PyPI (never committed to the repository).

The ``face_recognition==1.3.0`` source distribution ships the reference library's test photos
(``tests/test_images/``). This script downloads it with pip, unpacks the photos into ``DEST/test_images`` and lays out
the demo: ``DEST/known/<name>.jpg`` (one photo per person) and ``DEST/unknown/`` (photos to identify).

Usage: python tools/fetch_samples.py [DEST]   (default: samples)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "face_recognition==1.3.0"
KNOWN = {"obama.jpg": "barack_obama.jpg", "biden.jpg": "joe_biden.jpg"}
UNKNOWN = ["obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "32bit.png"]


def main(dest: Path) -> int:
    images = dest / "test_images"
    if not (images / "obama.jpg").is_file():
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                   "--dest", tmp, PACKAGE]
            subprocess.run(cmd, check=True)
            archive = next(Path(tmp).glob("face_recognition-*.tar.gz"))
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers()
                           if "/tests/test_images/" in m.name and m.isfile() and not m.name.endswith(".DS_Store")]
                images.mkdir(parents=True, exist_ok=True)
                for member in members:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        (images / Path(member.name).name).write_bytes(handle.read())
    for sub in ("known", "unknown"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for src, name in KNOWN.items():
        shutil.copyfile(images / src, dest / "known" / name)
    for src in UNKNOWN:
        shutil.copyfile(images / src, dest / "unknown" / src)
    print(f"sample photos in {dest}/ ({len(list(images.iterdir()))} test images)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("samples")))
