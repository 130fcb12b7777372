"""A corpus of bad and unusual image files, for tests that feed every surface (CLI verbs, the service) what users
and uploads really contain.

:func:`make_corpus` writes it into a folder and returns ``{key: path}``; :data:`CORPUS` describes each key and says
whether the file is *good* (must be processed: it decodes to a picture, with or without a face) or *bad* (must be
reported by name with a reason, never with a traceback, without stopping the other files).

Importable from other test files::

    from corpus import CORPUS, GOOD, make_corpus
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Entry:
    """One corpus file: what it is, whether it is good, and (for bad ones) words its error must contain."""

    description: str
    good: bool
    reason: str = ""
    big: bool = False  # written only with make_corpus(big=True): slow to make and to process


CORPUS: dict[str, Entry] = {
    "face": Entry("a real photo with one face (copied from the face photo given)", True),
    "truncated": Entry("the first half of a JPEG", False, "truncated"),
    "empty": Entry("a file of 0 bytes named .jpg", False, "empty"),
    "random": Entry("4 KB of random bytes named .jpg", False, "not an image"),
    "bomb_pillow": Entry("a 545-byte PNG whose header claims 30,000 x 30,000 (above Pillow's own bomb limit too)",
                         False, "above the limit of 64,000,000 pixels"),
    "bomb": Entry("a PNG header claiming 9,000 x 9,000 = 81 Mpx (above facerec's 64 Mpx, below Pillow's limit)",
                  False, "--max-pixels"),
    "gray16": Entry("a 16-bit grayscale PNG", True),
    "cmyk": Entry("a CMYK JPEG", True),
    "rgba": Entry("an RGBA PNG with a transparent half", True),
    "palette": Entry("a palette (P mode) PNG", True),
    "animated": Entry("an animated GIF of 3 frames (the first is used, with a note)", True),
    "multipage": Entry("a TIFF of 2 pages (the first is used, with a note)", True),
    "exif_rotated": Entry("the face photo as a JPEG stored sideways with EXIF orientation 6 (rotate 90)", True),
    "one_pixel": Entry("a 1 x 1 PNG", True),
    "strip": Entry("a 60,000 x 2 PNG", True),
    "non_utf8": Entry("the face photo under a file name whose bytes are not UTF-8 (Latin-1 'café')", True),
    "symlink": Entry("a symbolic link to the face photo, in another folder", True),
    "dangling": Entry("a symbolic link to a file that does not exist", False, "no such file"),
    "loop": Entry("a symbolic link to its own folder (a loop: must not be followed forever)", True),
    "dir_jpg": Entry("a directory named x.jpg (holding one good photo)", True),
    "blank_64mpx": Entry("a blank 8,000 x 7,999 PNG (just under the 64 Mpx limit; 187 KB)", True, big=True),
}

#: The keys of the files that must be processed.
GOOD = frozenset(k for k, e in CORPUS.items() if e.good)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG with a valid header for ``width`` x ``height`` gray pixels and a short, incomplete IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def make_corpus(root: Path, face_photo: Path | None = None, *, big: bool = False) -> dict[str, Path]:
    """Write the corpus into ``root`` (created) and return ``{key: path}`` for every key of :data:`CORPUS`.

    Layout: every file sits directly in ``root`` except ``symlink`` (``root/links/``), ``loop``
    (``root/links/loop -> ..``) and ``dir_jpg`` (the folder ``root/x.jpg/`` holding a copy of the face photo;
    the path returned is the folder). The ``big`` file is written only when ``big`` is true.

    Args:
        root: the folder to write into.
        face_photo: a real photo with one face (e.g. LFW or the reference ``obama.jpg``); without one, a
            synthetic picture with no face stands in, and the face-dependent keys show no face.
        big: also write the 64-megapixel blank PNG.
    """
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(16)
    if face_photo is not None:
        face_bytes = face_photo.read_bytes()
        face = Image.open(io.BytesIO(face_bytes)).convert("RGB")
    else:
        face = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
        face_bytes = _encoded(face, "JPEG", quality=90)
    small = face.copy()
    small.thumbnail((320, 320))
    paths: dict[str, Path] = {}

    def write(key: str, name: str, data: bytes) -> None:
        path = root / name
        path.write_bytes(data)
        paths[key] = path

    write("face", "face.jpg", face_bytes)
    write("truncated", "truncated.jpg", face_bytes[: len(face_bytes) // 2])
    write("empty", "empty.jpg", b"")
    write("random", "random.jpg", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    write("bomb_pillow", "bomb_pillow.png", _png_header_only(30_000, 30_000))
    write("bomb", "bomb.png", _png_header_only(9_000, 9_000))
    gray = np.asarray(small.convert("L"), dtype=np.uint16) * 257
    write("gray16", "gray16.png", _encoded(Image.fromarray(gray), "PNG"))
    write("cmyk", "cmyk.jpg", _encoded(small.convert("CMYK"), "JPEG", quality=90))
    rgba = small.convert("RGBA")
    alpha = np.full((rgba.size[1], rgba.size[0]), 255, dtype=np.uint8)
    alpha[:, : rgba.size[0] // 2] = 0
    rgba.putalpha(Image.fromarray(alpha))
    write("rgba", "rgba.png", _encoded(rgba, "PNG"))
    write("palette", "palette.png", _encoded(small.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"))
    frames = [small.convert("P", palette=Image.Palette.ADAPTIVE), small.rotate(90).convert("P"),
              small.rotate(180).convert("P")]
    write("animated", "animated.gif", _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:],
                                               duration=100, loop=0))
    write("multipage", "multipage.tiff", _encoded(small, "TIFF", save_all=True, append_images=[small.rotate(90)]))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the stored picture must be rotated 90 degrees clockwise to be shown upright
    write("exif_rotated", "exif_rotated.jpg", _encoded(face.rotate(90, expand=True), "JPEG", quality=90, exif=exif))
    write("one_pixel", "one_pixel.png", _encoded(Image.new("RGB", (1, 1), (200, 100, 50)), "PNG"))
    write("strip", "strip.png", _encoded(Image.new("RGB", (60_000, 2), (90, 90, 90)), "PNG"))
    non_utf8 = os.fsdecode(b"caf\xe9.jpg")  # 'café' in Latin-1: the byte 0xE9 alone is not UTF-8
    write("non_utf8", non_utf8, face_bytes)
    links = root / "links"
    links.mkdir(exist_ok=True)
    (links / "symlink.jpg").symlink_to(root / "face.jpg")
    paths["symlink"] = links / "symlink.jpg"
    (root / "dangling.jpg").symlink_to(root / "missing-target.jpg")
    paths["dangling"] = root / "dangling.jpg"
    (links / "loop").symlink_to("..")
    paths["loop"] = links / "loop"
    folder = root / "x.jpg"
    folder.mkdir(exist_ok=True)
    (folder / "inside.jpg").write_bytes(face_bytes)
    paths["dir_jpg"] = folder
    if big:
        write("blank_64mpx", "blank_64mpx.png", _encoded(Image.new("L", (8_000, 7_999), 255), "PNG"))
    return paths
