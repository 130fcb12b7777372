"""One shared FaceAnalyzer used from several threads gives exactly the answers it gives serially."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pytest

from facerec import FaceAnalyzer
from facerec.concurrency import InstancePool
from facerec.images import load_image
from facerec.types import Box

THREADS = 6


def _photos(shared_data: Path | None, test_images: Path | None, count: int) -> list[npt.NDArray[np.uint8]]:
    """``count`` real photos (LFW spread over the alphabet, else the reference test images), plus rotated copies
    of a few (HOG finds no face on them, so the CNN fallback runs from several threads too)."""
    if shared_data is not None:
        files = sorted((shared_data / "lfw" / "images").glob("*/*.jpg"))
        files = files[:: max(1, len(files) // count)][:count]
    else:
        assert test_images is not None
        files = sorted(p for p in test_images.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    images = [load_image(f) for f in files]
    while len(images) < count:  # the reference images are fewer than 24: add mirrored copies
        images.append(np.ascontiguousarray(images[len(images) % len(files)][:, ::-1]))
    return images + [np.ascontiguousarray(np.rot90(im)) for im in images[:4]]


@pytest.fixture(scope="module")
def photos(request: pytest.FixtureRequest) -> list[npt.NDArray[np.uint8]]:
    try:
        shared = request.getfixturevalue("shared_data")
        return _photos(shared, None, 24)
    except pytest.skip.Exception:
        return _photos(None, request.getfixturevalue("test_images"), 24)


def _boxes(analyzer: FaceAnalyzer, image: npt.NDArray[np.uint8]) -> list[tuple[Box, str]]:
    return [(f.box, f.detector) for f in analyzer.detect(image)]


def _embedded(analyzer: FaceAnalyzer, image: npt.NDArray[np.uint8]) -> list[tuple[Box, npt.NDArray[np.float32]]]:
    return [(f.box, f.embedding) for f in analyzer.analyze(image) if f.embedding is not None]


T = TypeVar("T")


def _threaded(function: Callable[[npt.NDArray[np.uint8]], T], items: list[npt.NDArray[np.uint8]]) -> list[T]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(function, items))


@pytest.mark.slow
def test_shared_analyzer_threads_detect_like_serial(photos: list[npt.NDArray[np.uint8]]) -> None:
    analyzer = FaceAnalyzer()
    serial = [_boxes(analyzer, im) for im in photos]
    assert sum(len(s) for s in serial) >= len(photos) - 4  # real faces were found, so the comparison means something
    threaded = _threaded(lambda im: _boxes(analyzer, im), photos * 2)
    wrong = [i for i, found in enumerate(threaded) if found != serial[i % len(photos)]]
    assert wrong == []


@pytest.mark.slow
def test_shared_analyzer_threads_embed_like_serial(photos: list[npt.NDArray[np.uint8]]) -> None:
    analyzer = FaceAnalyzer()
    serial = [_embedded(analyzer, im) for im in photos]
    assert sum(len(s) for s in serial) >= len(photos) - 4
    threaded = _threaded(lambda im: _embedded(analyzer, im), photos * 2)
    for i, found in enumerate(threaded):
        expected = serial[i % len(photos)]
        assert [box for box, _ in found] == [box for box, _ in expected], f"photo {i % len(photos)}"
        for (_, got), (_, want) in zip(found, expected):
            assert float(np.abs(got - want).max()) <= 1e-6, f"photo {i % len(photos)}"


@pytest.mark.slow
def test_shared_analyzer_threads_dlib_backends_like_serial(photos: list[npt.NDArray[np.uint8]]) -> None:
    """dlib's own networks (the reference backends) are shared through a lock: same answers too."""
    analyzer = FaceAnalyzer(detector="cnn-dlib", embedder="dlib", upsample=0, fallback_detector=None)
    few = photos[:6]
    serial = [_embedded(analyzer, im) for im in few]
    assert sum(len(s) for s in serial) >= 4
    threaded = _threaded(lambda im: _embedded(analyzer, im), few * 2)
    for i, found in enumerate(threaded):
        expected = serial[i % len(few)]
        assert [box for box, _ in found] == [box for box, _ in expected]
        for (_, got), (_, want) in zip(found, expected):
            assert float(np.abs(got - want).max()) <= 1e-6


def test_instance_pool_makes_one_per_concurrent_caller() -> None:
    import threading

    made: list[int] = []

    def make() -> list[int]:
        made.append(1)
        return []

    pool: InstancePool[list[int]] = InstancePool(make)
    barrier = threading.Barrier(3)

    def hold(_: int) -> int:
        with pool.borrow() as item:
            barrier.wait(timeout=10)  # all three hold an instance at once
            return id(item)

    with ThreadPoolExecutor(3) as executor:
        ids = list(executor.map(hold, range(3)))
    assert len(set(ids)) == 3 and pool.size == 3
    with pool.borrow():  # later callers reuse the idle ones
        pass
    assert pool.size == 3 and len(made) == 3
