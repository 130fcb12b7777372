"""Fetch the sample photos for the demo and the core tests from PyPI (never committed to the repository).

The ``face_recognition==1.3.0`` source distribution ships the reference library's test photos
(``tests/test_images/``) and its test suite. This script downloads it with pip, unpacks the photos into
``DEST/test_images``, lays out the demo: ``DEST/known/<name>.jpg`` (one photo per person) and ``DEST/unknown/``
(photos to identify), and writes the reference's own ``tests/test_face_recognition.py`` with its photos into
``DEST/face_recognition_suite/``, its three ``from face_recognition import ...`` lines rewritten to import
``facerec.compat.face_recognition`` instead (nothing else changed; ``tools/run_face_recognition_suite.sh`` runs it).

Usage: python tools/fetch_samples.py [DEST]   (default: samples)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "face_recognition==1.3.0"
KNOWN = {"obama.jpg": "barack_obama.jpg", "biden.jpg": "joe_biden.jpg"}
UNKNOWN = ["obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "32bit.png"]
#: ``make demo``: one known person, and photos of them, of somebody unknown and of the two together (a montage of
#: two of the reference's photos side by side, as the sdist holds no photo of two people).
DEMO_KNOWN = {"obama.jpg": "barack_obama.jpg"}
DEMO_PHOTOS = ["obama2.jpg", "biden.jpg"]
DEMO_MONTAGE = ("obama3.jpg", "biden.jpg", "two_people_montage.jpg")
SUITE = "face_recognition_suite"
SUITE_TEST = "tests/test_face_recognition.py"
#: The only lines of the reference's test file that change: its imports of the package under test.
IMPORTS = {f"from face_recognition import {module}\n": f"from facerec.compat.face_recognition import {module}\n"
           for module in ("api", "face_recognition_cli", "face_detection_cli")}


def rewrite_imports(text: str) -> str:
    """The reference's test file with its three imports of ``face_recognition`` pointing at the compat package.

    Raises:
        SystemExit: the file does not hold exactly those three import lines (another release of the sdist).
    """
    lines = text.splitlines(keepends=True)
    changed = [i for i, line in enumerate(lines) if line in IMPORTS]
    if sorted(lines[i] for i in changed) != sorted(IMPORTS) or "import face_recognition" in "".join(
            line for i, line in enumerate(lines) if i not in changed):
        raise SystemExit(f"{SUITE_TEST}: expected exactly the imports {sorted(IMPORTS)}; not rewriting")
    return "".join(IMPORTS.get(line, line) for line in lines)


def main(dest: Path) -> int:
    images = dest / "test_images"
    suite = dest / SUITE
    if not (images / "obama.jpg").is_file() or not (suite / "test_face_recognition.py").is_file():
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
                test_file = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/" + SUITE_TEST)))
                if test_file is None:
                    raise SystemExit(f"{archive.name}: {SUITE_TEST} is not a regular file")
                (suite / "test_images").mkdir(parents=True, exist_ok=True)
                for photo in images.iterdir():
                    shutil.copyfile(photo, suite / "test_images" / photo.name)
                (suite / "test_face_recognition.py").write_text(rewrite_imports(test_file.read().decode("utf-8")))
    copy_layout(images, dest, KNOWN, "unknown", UNKNOWN)
    lay_out_demo(images, dest / "demo")
    print(f"sample photos in {dest}/ ({len(list(images.iterdir()))} test images)")
    return 0


def copy_layout(images: Path, folder: Path, known: dict[str, str], other: str, others: Iterable[str]) -> None:
    """``folder/known/`` (the ``known`` photos under their new names) and ``folder/<other>/`` (``others``)."""
    for sub in ("known", other):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for src, name in known.items():
        shutil.copyfile(images / src, folder / "known" / name)
    for src in others:
        shutil.copyfile(images / src, folder / other / src)


def lay_out_demo(images: Path, demo: Path) -> None:
    """``demo/known/`` (one person) and ``demo/photos/`` (that person, somebody unknown, the two in one picture)."""
    from PIL import Image

    copy_layout(images, demo, DEMO_KNOWN, "photos", DEMO_PHOTOS)
    left_name, right_name, out_name = DEMO_MONTAGE
    with Image.open(images / left_name) as left, Image.open(images / right_name) as right:
        height = 480
        parts = [im.convert("RGB").resize((round(im.width * height / im.height), height), Image.Resampling.LANCZOS)
                 for im in (left, right)]
        montage = Image.new("RGB", (sum(p.width for p in parts), height))
        montage.paste(parts[0], (0, 0))
        montage.paste(parts[1], (parts[0].width, 0))
        montage.save(demo / "photos" / out_name, quality=92)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("samples")))
