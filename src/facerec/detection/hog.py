"""dlib's HOG frontal face detector: dlib's own scan, or its image pyramid split in two parts that run at once.

dlib scans an image pyramid: the (upsampled) photo, then copies 5/6, (5/6)^2, ... its size, down to the 80 x 80
window. The two largest levels are about half of the work, the rest the other half, so :class:`HogDetector` with
``split_pyramid=True`` scans them as two parts (on two threads when ``threads >= 2``, one after the other
otherwise: the same boxes either way):

* one thread runs dlib's detector limited to the pyramid's first :data:`TOP_LEVELS` levels (the same detector,
  its scanner's ``max_pyramid_levels`` set in its serialized form), on the image as asked;
* the other runs the unlimited detector on a copy scaled to the third level's size (Pillow bilinear), whose own
  pyramid is the rest of the levels;
* both lists are merged with dlib's rule for overlapping boxes (:func:`_merge`).

The first thread's boxes are dlib's own; the second thread's level images come from Pillow instead of dlib's
pyramid, so its boxes (faces above about 60 px at upsample 1) land within a pixel or two of dlib's and scores
differ in the second decimal (measured on face_detection_gt and face_recognition's photos, docs/BENCHMARKS.md).
``split_pyramid=False`` is dlib's scan, box for box: :class:`~facerec.FaceAnalyzer` uses it when asked for full-size
detection (``max_side=None``), which is what face_recognition does.
"""

from __future__ import annotations

import functools
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from facerec.concurrency import InstancePool
from facerec.types import Box, Detection

__all__ = ["MIN_SPLIT_PIXELS", "TOP_LEVELS", "HogDetector"]

#: Pyramid levels scanned by the first thread of a split scan (the rest go to the second).
TOP_LEVELS = 2
#: Below this many scanned pixels (after upsampling) one thread is faster than two: the scan is not split.
MIN_SPLIT_PIXELS = 120_000
#: dlib's pyramid_down<6>: each level is 5/6 the size of the one above.
_LEVEL_RATIO = 5.0 / 6.0
# The serialized frontal face detector: its scanner's max_pyramid_levels (1000, dlib's "no limit") sits at this
# offset, in dlib's integer packing (a byte count, then little-endian bytes).
_LEVELS_AT = 16
_NO_LIMIT = bytes([2, 0xE8, 0x03])
# Two boxes are one face when their IoU is above this, or when one covers this share of the smaller (dlib's
# overlap test for this detector, checked against its own non-maximum suppression on the reference photos).
_IOU = 0.5
_COVERED = 0.95


@functools.lru_cache(maxsize=1)
def _detector_files() -> tuple[str, str]:
    """dlib's frontal face detector serialized to a file, and its top-levels variant beside it.

    ``dlib.get_frontal_face_detector()`` decodes the detector from dlib's binary (about 0.26 s each time), while
    loading the serialized file takes about 1 ms: so the detector is decoded once, written under
    :func:`facerec.models.cache_dir` (keyed by dlib's version, with :func:`facerec.models.write_cache_file`; in a
    temporary folder when the cache cannot be written), and every instance after that is loaded from the file.
    """
    import dlib

    from facerec.models import cache_dir, write_cache_file

    name = f"frontal-dlib-{dlib.__version__}"
    full_name, top_name = f"{name}.svm", f"{name}-top{TOP_LEVELS}.svm"
    folder = cache_dir() / "hog"
    if (folder / full_name).is_file() and (folder / top_name).is_file():
        return str(folder / full_name), str(folder / top_name)
    scratch = Path(tempfile.mkdtemp(prefix="facerec-hog-"))
    dlib.get_frontal_face_detector().save(str(scratch / full_name))
    (scratch / top_name).write_bytes(_limit_levels((scratch / full_name).read_bytes(), TOP_LEVELS))
    try:
        for file in (full_name, top_name):
            write_cache_file(folder / file, (scratch / file).read_bytes())
    except OSError:  # a read-only cache: this process uses the scratch copies
        folder = scratch
    return str(folder / full_name), str(folder / top_name)


def _limit_levels(data: bytes, levels: int) -> bytes:
    """dlib's serialized frontal face detector ``data`` with its scanner limited to the first ``levels`` levels."""
    if not 1 <= levels <= 127:
        raise ValueError(f"levels must be between 1 and 127, got {levels}")
    if data[_LEVELS_AT:_LEVELS_AT + len(_NO_LIMIT)] != _NO_LIMIT:
        raise RuntimeError("dlib's serialized face detector has an unexpected layout")
    return data[:_LEVELS_AT] + bytes([1, levels]) + data[_LEVELS_AT + len(_NO_LIMIT):]


def _make_dlib_hog() -> Any:
    import dlib

    return dlib.fhog_object_detector(_detector_files()[0])


def _make_top_levels() -> Any:
    """dlib's frontal face detector limited to the first :data:`TOP_LEVELS` pyramid levels."""
    import dlib

    return dlib.fhog_object_detector(_detector_files()[1])


def _overlaps(a: Box, b: Box) -> bool:
    left, top, right, bottom = max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom)
    if right < left or bottom < top:
        return False
    inter = (right - left + 1) * (bottom - top + 1)
    area_a = (a.right - a.left + 1) * (a.bottom - a.top + 1)
    area_b = (b.right - b.left + 1) * (b.bottom - b.top + 1)
    return inter / (area_a + area_b - inter) > _IOU or inter / min(area_a, area_b) >= _COVERED


def _merge(detections: list[Detection]) -> list[Detection]:
    """Greedy non-maximum suppression, best score first."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if not any(_overlaps(det.box, k.box) for k in kept):
            kept.append(det)
    return kept


class HogDetector:
    """dlib's ``get_frontal_face_detector`` (HOG features + linear SVM, five poses).

    Safe to share between threads: dlib's detector object loads each image into itself while it runs, so every
    concurrent caller borrows its own copy from an :class:`~facerec.concurrency.InstancePool` (a few MB each, loaded
    in about 1 ms from the file :func:`_detector_files` writes once; threads then detect in parallel).

    Args:
        adjust_threshold: added to the SVM's decision threshold; higher finds fewer, surer faces (typical 0.0,
            the value face_recognition uses).
        split_pyramid: scan the pyramid as two parts (see the module's text: boxes within a pixel or two of dlib's,
            a few up to 10 px where the next level wins); ``False`` (the default): dlib's own scan. Scans under
            :data:`MIN_SPLIT_PIXELS` are never split.
        threads: with ``split_pyramid``, 2 or more runs the two parts at once (about 1.8x faster on one photo);
            1 runs them one after the other; ``None`` (the default): one per core.
    """

    name = "hog"

    def __init__(self, adjust_threshold: float = 0.0, split_pyramid: bool = False,
                 threads: int | None = None) -> None:
        self.adjust_threshold = adjust_threshold
        self.split_pyramid = split_pyramid
        self.threads = max(1, int(threads if threads is not None else os.cpu_count() or 1))
        self._pool: InstancePool[Any] = InstancePool(_make_dlib_hog)
        with self._pool.borrow():  # make the first one now: a missing dlib fails here, not on the first photo
            pass
        self._top: InstancePool[Any] | None = None
        self._executor: ThreadPoolExecutor | None = None
        if split_pyramid:
            self._top = InstancePool(_make_top_levels)
            with self._top.borrow():
                pass
            if self.threads > 1:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facerec-hog")

    def __del__(self) -> None:
        if getattr(self, "_executor", None) is not None:
            self._executor.shutdown(wait=False)  # type: ignore[union-attr]

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        if self._top is None or image.shape[0] * image.shape[1] * 4**upsample < MIN_SPLIT_PIXELS:
            return self._run(self._pool, image, upsample)
        if self._executor is None:
            return _merge(self._run(self._top, image, upsample) + self._lower_levels(image, upsample))
        rest = self._executor.submit(self._lower_levels, image, upsample)
        top = self._run(self._top, image, upsample)
        return _merge(top + rest.result())

    def _run(self, pool: InstancePool[Any], image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        with pool.borrow() as detector:
            rects, scores, _ = detector.run(image, upsample, self.adjust_threshold)
        return [Detection(Box(r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]

    def _lower_levels(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        """The pyramid from level :data:`TOP_LEVELS` down: the full detector on a copy of that level's size."""
        height, width = image.shape[:2]
        scale = 2.0**upsample * _LEVEL_RATIO**TOP_LEVELS
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        level = np.ascontiguousarray(np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)))
        fx, fy = width / size[0], height / size[1]
        found = self._run(self._pool, level, 0)
        return [Detection(Box(int(np.floor(d.box.left * fx)), int(np.floor(d.box.top * fy)),
                              int(np.floor((d.box.right + 1) * fx)) - 1, int(np.floor((d.box.bottom + 1) * fy)) - 1),
                          d.score) for d in found]
