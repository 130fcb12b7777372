"""The fast detection paths against dlib's own scan: the pyramid split over two threads, and the downscaled copy
with its full-size refinement. Real photos, real dlib; nothing here asserts a time (benchmarks do)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facerec
from facerec.detection import DEFAULT_MAX_SIDE, REFINE_MARGIN, detect, smallest_face_px
from facerec.detection.hog import HogDetector, _merge
from facerec.images import load_image
from facerec.types import Box, Detection

REFERENCE_PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png", "obama_partial_face.jpg",
                    "obama_partial_face2.jpg"]


@pytest.fixture(scope="module")
def one_thread() -> HogDetector:
    return HogDetector(threads=1)


@pytest.fixture(scope="module")
def two_threads() -> HogDetector:
    return HogDetector(split_pyramid=True, threads=2)


def _matched(a: list[Detection], b: list[Detection], tolerance: int) -> int:
    """How many boxes of ``a`` have a box of ``b`` with every side within ``tolerance`` px."""
    return sum(any(max(abs(x.box.left - y.box.left), abs(x.box.top - y.box.top), abs(x.box.right - y.box.right),
                       abs(x.box.bottom - y.box.bottom)) <= tolerance for y in b) for x in a)


@pytest.mark.parametrize("name", REFERENCE_PHOTOS)
def test_split_scan_finds_dlibs_faces_within_two_pixels(test_images: Path, name: str, one_thread: HogDetector,
                                                        two_threads: HogDetector) -> None:
    image = load_image(test_images / name)
    exact = one_thread.detect_raw(image, 1)
    split = two_threads.detect_raw(image, 1)
    assert len(exact) >= 1
    assert len(split) == len(exact)
    assert _matched(exact, split, tolerance=2) == len(exact)


def test_split_scan_keeps_the_detection_set_on_face_detection_gt(shared_data: Path, one_thread: HogDetector,
                                                                  two_threads: HogDetector) -> None:
    """47 hand-labelled faces in 13 photos, most of them 37-53 px: the two scans find the same faces (a box may come
    from the next pyramid level, up to 10 px off), but for detections at the threshold (scores near 0)."""
    import json

    gt = shared_data / "face_detection_gt"
    photos = [gt / entry["file"] for entry in json.loads((gt / "annotations.json").read_text())]
    assert len(photos) == 13
    exact_total = split_total = matched = 0
    for path in photos:
        image = load_image(path)
        exact = one_thread.detect_raw(image, 1)
        split = two_threads.detect_raw(image, 1)
        exact_total += len(exact)
        split_total += len(split)
        matched += _matched(exact, split, tolerance=10)
    assert exact_total > 40
    assert matched >= exact_total - 2 and abs(split_total - exact_total) <= 2


def test_split_scan_on_many_threads_gives_the_serial_answers(test_images: Path, two_threads: HogDetector) -> None:
    from concurrent.futures import ThreadPoolExecutor

    images = [load_image(test_images / name) for name in REFERENCE_PHOTOS]
    serial = [two_threads.detect_raw(image, 1) for image in images]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda image: two_threads.detect_raw(image, 1), images * 3))
    assert threaded == serial * 3


@pytest.mark.parametrize("name", REFERENCE_PHOTOS[:4])
def test_split_scan_is_the_same_on_one_thread(test_images: Path, name: str, two_threads: HogDetector) -> None:
    image = load_image(test_images / name)
    assert HogDetector(split_pyramid=True, threads=1).detect_raw(image, 1) == two_threads.detect_raw(image, 1)


def test_small_scans_are_not_split(two_threads: HogDetector, one_thread: HogDetector, test_images: Path) -> None:
    image = load_image(test_images / "obama.jpg")[120:240, 380:540]  # 120 x 160: 77k pixels at upsample 1
    assert two_threads.detect_raw(image, 1) == one_thread.detect_raw(image, 1)


def test_merge_keeps_the_best_of_overlapping_boxes() -> None:
    face = Detection(Box(100, 100, 180, 180), 1.0)
    same_face = Detection(Box(102, 101, 183, 182), 2.0)
    inside = Detection(Box(110, 110, 160, 160), 0.5)
    other = Detection(Box(300, 100, 380, 180), 0.2)
    assert _merge([face, same_face, inside, other]) == [same_face, other]


def test_full_size_analyzer_is_dlibs_scan_box_for_box(test_images: Path, one_thread: HogDetector) -> None:
    analyzer = facerec.FaceAnalyzer(max_side=None, fallback_detector=None)
    assert analyzer.detector.split_pyramid is False  # type: ignore[attr-defined]
    image = load_image(test_images / "obama.jpg")
    assert [f.box for f in analyzer.detect(image)] == [d.box for d in one_thread.detect_raw(image, 1)]
    default = facerec.FaceAnalyzer(threads=2).detector
    assert default.split_pyramid is True and default.threads == 2  # type: ignore[attr-defined]


def test_copy_refines_at_full_size_only_where_it_can_find_more(test_images: Path, one_thread: HogDetector) -> None:
    big = load_image(test_images / "obama.jpg")  # 1137 x 910, one face about 270 px wide
    full = detect(one_thread, big, upsample=1)
    copy = detect(one_thread, big, upsample=1, max_side=DEFAULT_MAX_SIDE, refine=True)
    assert len(copy) == 1 and copy[0][0].box != full[0][0].box  # found on the copy: no second scan
    assert copy[0][0].box.iou(full[0][0].box) > 0.7
    # the same face shrunk into a 2,400 px canvas: 1/4 of its size on the 640 px copy, near the copy's limit
    canvas = np.full((1800, 2400, 3), 127, dtype=np.uint8)
    small = np.asarray(facerec.images.resize_to_size(big, (455, 364)))
    canvas[700:1064, 900:1355] = small
    limit = smallest_face_px(1, 2400 / DEFAULT_MAX_SIDE)
    refined = detect(one_thread, canvas, upsample=1, max_side=DEFAULT_MAX_SIDE, refine=True)
    coarse = detect(one_thread, canvas, upsample=1, max_side=DEFAULT_MAX_SIDE, refine=False)
    at_full = detect(one_thread, canvas, upsample=1)
    assert len(refined) == 1 and len(at_full) == 1
    assert refined[0][0].box == at_full[0][0].box  # rescanned at full size
    assert not coarse or coarse[0][1].width < REFINE_MARGIN * limit  # because the copy saw it near its limit
