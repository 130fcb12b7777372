"""The values that face_recognition's tests assert on dlib's models, reproduced by facerec's pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facerec
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD

CHIN = [(369, 220), (372, 254), (378, 289), (384, 322), (395, 353), (414, 382), (437, 407), (464, 424), (495, 428),
        (527, 420), (552, 399), (576, 372), (594, 344), (604, 314), (610, 282), (613, 250), (615, 219)]


@pytest.mark.parametrize(
    ("name", "css"),
    [
        ("obama.jpg", (142, 617, 409, 349)),
        ("obama_partial_face.jpg", (142, 191, 365, 0)),
        ("obama_partial_face2.jpg", (142, 551, 409, 349)),
    ],
)
def test_hog_boxes_exact(test_images: Path, name: str, css: tuple[int, int, int, int]) -> None:
    faces = facerec.detect_faces(test_images / name, max_side=None)  # full size: face_recognition's own scan
    assert [f.box.css() for f in faces] == [css]
    assert faces[0].detector == "hog" and faces[0].score > 0


@pytest.mark.parametrize("name", ["obama.jpg", "obama_partial_face2.jpg", "32bit.png"])
def test_default_detects_big_photos_on_a_copy_close_to_the_full_scan(test_images: Path, name: str) -> None:
    """The default scans a 640-px copy of these 1137 x 910 photos: another box of the same face (HOG's boxes are
    coarser on the copy), landmarks and chip from the full photo, an embedding under 0.1 away."""
    (full,) = facerec.embed_faces(test_images / name, max_side=None)  # full size: face_recognition's own scan
    (copy,) = facerec.embed_faces(test_images / name)
    assert copy.box != full.box
    assert copy.box.iou(full.box) > 0.7
    assert full.embedding is not None and copy.embedding is not None
    assert 0 < float(np.linalg.norm(copy.embedding - full.embedding)) < 0.1  # one person's photos: ~0.3-0.4 apart


def test_hog_rgba_png(test_images: Path) -> None:
    faces = facerec.detect_faces(test_images / "32bit.png", max_side=None)
    assert len(faces) == 1
    assert (faces[0].box.top, faces[0].box.bottom) == (290, 558)


def test_landmarks_68_chin_and_groups(test_images: Path) -> None:
    (face,) = facerec.face_landmarks(test_images / "obama.jpg", max_side=None)
    assert face.landmarks is not None and face.landmarks.shape == (68, 2)
    groups = face.landmark_groups()
    assert groups["chin"] == CHIN
    assert tuple(face.landmarks[10]) == (552, 399)
    assert set(groups) == {"chin", "left_eyebrow", "right_eyebrow", "nose_bridge", "nose_tip", "left_eye",
                           "right_eye", "top_lip", "bottom_lip"}


def test_landmarks_5_nose_tip(test_images: Path) -> None:
    (face,) = facerec.face_landmarks(test_images / "obama.jpg", points=5, max_side=None)
    assert face.landmark_groups()["nose_tip"] == [(496, 295)]


def test_embedding_distances(test_images: Path) -> None:
    def embedding(name: str) -> np.ndarray:
        (face,) = facerec.embed_faces(test_images / name)
        assert face.embedding is not None and face.embedding.shape == (128,) and face.embedding.dtype == np.float32
        return face.embedding

    obama = embedding("obama.jpg")
    distances = facerec.face_distance([embedding(n) for n in ("obama2.jpg", "obama3.jpg", "biden.jpg")], obama)
    assert distances[0] <= 0.6 and distances[1] <= 0.6 and distances[2] > 0.6
    assert facerec.compare_faces([embedding("biden.jpg")], obama) == [False]


def test_verify_images_and_embeddings(test_images: Path) -> None:
    same = facerec.verify(test_images / "obama.jpg", test_images / "obama2.jpg")
    other = facerec.verify(test_images / "obama.jpg", test_images / "biden.jpg")
    assert same.same and not other.same and same.threshold == DEFAULT_DISTANCE_THRESHOLD
    assert same.distance < other.distance
    strict = facerec.verify(test_images / "obama.jpg", test_images / "obama2.jpg", distance_threshold=0.1)
    assert not strict.same and strict.distance == pytest.approx(same.distance)


def test_no_face_image_gives_empty_list_and_verify_error() -> None:
    blank = np.full((200, 200, 3), 127, dtype=np.uint8)
    assert facerec.detect_faces(blank) == []
    assert facerec.embed_faces(blank) == []
    with pytest.raises(facerec.FaceNotFoundError, match="no face"):
        facerec.verify(blank, blank)


def test_many_faces_all_found(test_images: Path) -> None:
    from PIL import Image

    tiles = []
    for name in ("obama.jpg", "biden.jpg", "obama2.jpg"):
        img = Image.open(test_images / name).convert("RGB")
        img.thumbnail((400, 500))
        tile = np.zeros((500, 400, 3), dtype=np.uint8)
        tile[: img.size[1], : img.size[0]] = np.asarray(img)
        tiles.append(tile)
    faces = facerec.embed_faces(np.concatenate(tiles, axis=1))
    assert len(faces) == 3
    centers = sorted(f.box.center[0] for f in faces)
    assert centers[0] < 400 < centers[1] < 800 < centers[2]
    assert all(f.embedding is not None for f in faces)


def test_cnn_dlib_boxes_near_reference(test_images: Path) -> None:
    analyzer = facerec.FaceAnalyzer(detector="cnn-dlib", upsample=0)
    (face,) = analyzer.detect(test_images / "obama.jpg")
    assert np.abs(np.array(face.box.css()) - (154, 611, 390, 375)).max() <= 25


def test_analyzer_and_flat_functions_agree(test_images: Path) -> None:
    analyzer = facerec.FaceAnalyzer()
    a = analyzer.analyze(test_images / "obama.jpg")
    b = facerec.embed_faces(test_images / "obama.jpg")
    np.testing.assert_array_equal(a[0].embedding, b[0].embedding)


def test_detect_on_downscaled_copy_maps_boxes_back(test_images: Path) -> None:
    full = facerec.detect_faces(test_images / "obama3.jpg")
    small = facerec.detect_faces(test_images / "obama3.jpg", max_side=800)
    assert len(full) == len(small) == 1
    assert full[0].box.iou(small[0].box) > 0.5  # HOG boxes snap to its scale steps
    assert np.hypot(*np.subtract(full[0].box.center, small[0].box.center)) < 0.1 * full[0].box.width


def test_min_face_size_filters(test_images: Path) -> None:
    assert facerec.detect_faces(test_images / "obama.jpg", min_face_size_px=300) == []


def test_flip_and_jitter_change_embedding_slightly(test_images: Path) -> None:
    base = facerec.embed_faces(test_images / "obama.jpg", flip=False)[0].embedding
    flipped = facerec.embed_faces(test_images / "obama.jpg", flip=True)[0].embedding
    jittered = facerec.embed_faces(test_images / "obama.jpg", flip=False, num_jitters=3)[0].embedding
    assert base is not None and flipped is not None and jittered is not None
    for other in (flipped, jittered):
        d = float(np.linalg.norm(base - other))
        assert 0 < d < 0.2


@pytest.mark.shared_data
def test_cnn_fallback_only_when_hog_finds_nothing(test_images: Path, shared_data: Path) -> None:
    # LFW photos where HOG (upsample 1) finds no face; the default analyzer falls back to the CNN detector
    misses = ["Abdoulaye_Wade/Abdoulaye_Wade_0003.jpg", "Billy_Andrade/Billy_Andrade_0001.jpg"]
    for name in misses:
        path = shared_data / "lfw" / "images" / name
        assert facerec.FaceAnalyzer(fallback_detector=None, max_side=None).detect(path) == []
        faces = facerec.FaceAnalyzer(max_side=None).analyze(path)
        assert faces and faces[0].detector == "cnn" and faces[0].embedding is not None
    assert facerec.FaceAnalyzer().detect(test_images / "obama.jpg")[0].detector == "hog"


def test_unknown_detector_suggests_close_match() -> None:
    with pytest.raises(facerec.UnknownNameError, match="Did you mean 'hog'"):
        facerec.FaceAnalyzer(detector="hgo")
