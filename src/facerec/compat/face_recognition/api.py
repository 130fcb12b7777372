"""face_recognition 1.3's ``api`` module, on facerec's models.

Every public function keeps face_recognition's name, signature, defaults and return type:

* boxes are ``(top, right, bottom, left)`` tuples of ``int``, clipped to the image;
* encodings are ``(128,)`` ``float64`` numpy arrays (facerec's own embeddings are ``float32``);
* ``face_landmarks`` gives one dict of named features (``chin``, ``left_eye``, ...) per face, each a list of
  ``(x, y)`` tuples;
* the private helpers that face_recognition's tests and some user code reach into (``_raw_face_locations``,
  ``_raw_face_locations_batched``, ``_raw_face_landmarks``, ``_css_to_rect``, ...) return dlib's own types
  (``dlib.rectangle``, ``dlib.full_object_detection``) or a stand-in with the same attributes
  (:class:`MMODRectangle` for dlib's ``mmod_rectangle``, which Python cannot construct).

What runs underneath: ``model="hog"`` is dlib's HOG detector, the 5- and 68-point landmark predictors are dlib's,
``model="cnn"`` is dlib's MMOD network on ONNX Runtime (the same rectangles as ``dlib.cnn_face_detection_model_v1``)
and encodings are dlib's face ResNet on ONNX Runtime (within 1e-5 of ``compute_face_descriptor``; with
``num_jitters > 1`` the jittered copies are drawn by facerec's own seeded jitter, so they differ from dlib's random
ones as two dlib runs differ from each other). The models load on first use; importing this module loads none.

Differences on purpose: none in results. ``load_image_file`` does not set PIL's process-wide
``ImageFile.LOAD_TRUNCATED_IMAGES`` as face_recognition does at import (a truncated file raises instead of
giving a partly grey picture), a missing model raises :class:`facerec.errors.ModelNotFoundError` instead of
printing and quitting, and ``batch_face_locations`` clips each image's boxes to that image (face_recognition clips
them all to the first image's size: the same for the same-size batches its CNN batching requires).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import PIL.Image

from facerec.alignment import face_chips
from facerec.analyzer import FaceAnalyzer
from facerec.embedding import embed_chips
from facerec.types import Box

__all__ = [
    "MMODRectangle",
    "batch_face_locations",
    "compare_faces",
    "face_distance",
    "face_encodings",
    "face_landmarks",
    "face_locations",
    "load_image_file",
]

Css = tuple[int, int, int, int]  # (top, right, bottom, left)


class MMODRectangle:
    """What dlib's CNN detector returns per face: ``rect`` (a ``dlib.rectangle``) and ``confidence``."""

    __slots__ = ("confidence", "rect")

    def __init__(self, rect: Any, confidence: float) -> None:
        self.rect = rect
        self.confidence = confidence

    def __repr__(self) -> str:
        return f"MMODRectangle(rect={self.rect}, confidence={self.confidence:.4f})"


# -- the models: one analyzer per detector, parts loaded on first use ------------------------------------------------
_lock = threading.Lock()
_analyzers: dict[str, FaceAnalyzer] = {}
_threads: int | None = None


def _analyzer(detector: str = "hog") -> FaceAnalyzer:
    engine = _analyzers.get(detector)
    if engine is None:
        with _lock:
            engine = _analyzers.get(detector)
            if engine is None:
                engine = FaceAnalyzer(detector=detector, fallback_detector=None, flip=False, max_side=None,
                                      threads=_threads)
                _analyzers[detector] = engine
    return engine


def _use_threads(threads: int | None) -> None:
    """Run ONNX Runtime on ``threads`` threads from now on (the commands' worker processes use 1)."""
    global _threads
    with _lock:
        _threads = threads
        _analyzers.clear()


def _rect(left: int, top: int, right: int, bottom: int) -> Any:
    import dlib

    return dlib.rectangle(int(left), int(top), int(right), int(bottom))


def _box_rect(box: Box) -> Any:
    return _rect(box.left, box.top, box.right, box.bottom)


def _rect_to_css(rect: Any) -> Css:
    """A dlib rectangle as a ``(top, right, bottom, left)`` tuple."""
    return int(rect.top()), int(rect.right()), int(rect.bottom()), int(rect.left())


def _css_to_rect(css: Sequence[int]) -> Any:
    """A ``(top, right, bottom, left)`` tuple as a dlib rectangle."""
    return _rect(css[3], css[0], css[1], css[2])


def _trim_css_to_bounds(css: Css, image_shape: tuple[int, ...]) -> Css:
    """``css`` clipped to an image of ``image_shape`` (the top and left at 0 or more, the right and bottom at
    most the width and height)."""
    return max(css[0], 0), min(css[1], image_shape[1]), min(css[2], image_shape[0]), max(css[3], 0)


def _as_uint8(img: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    array = np.asarray(img)
    if array.dtype != np.uint8:
        array = array.astype(np.uint8)
    return np.ascontiguousarray(array)


def _rgb(img: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``img`` with three channels (a grayscale ``(H, W)`` picture repeated into R, G and B)."""
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))
    return img


# -- the public functions --------------------------------------------------------------------------------------------
def face_distance(face_encodings: Any, face_to_compare: Any) -> npt.NDArray[np.float64]:
    """The Euclidean distance between each of ``face_encodings`` and ``face_to_compare``.

    Args:
        face_encodings: a list (or ``(n, 128)`` array) of face encodings.
        face_to_compare: one face encoding.

    Returns:
        A numpy array with one distance per encoding, in the same order (empty for an empty list). Lower is more
        alike; 0.6 is the usual cut between the same person and another.
    """
    if len(face_encodings) == 0:
        return np.empty(0)
    difference = np.asarray(face_encodings, dtype=np.float64) - np.asarray(face_to_compare, dtype=np.float64)
    distances: npt.NDArray[np.float64] = np.linalg.norm(difference, axis=1)
    return distances


def load_image_file(file: str | os.PathLike[str] | IO[bytes], mode: str = "RGB") -> npt.NDArray[np.uint8]:
    """An image file (.jpg, .png, ...) as a numpy array.

    Args:
        file: a file name or a binary file object.
        mode: the PIL mode to convert to: ``"RGB"`` (8-bit, 3 channels) or ``"L"`` (8-bit gray); a false value
            keeps the file's own mode.

    Returns:
        The picture as a numpy array (``(H, W, 3)`` for RGB, ``(H, W)`` for L). No EXIF rotation is applied
        (as in face_recognition; :func:`facerec.load_image` applies it).
    """
    with PIL.Image.open(file) as image:
        converted = image.convert(mode) if mode else image
        return np.array(converted)


def _raw_face_locations(img: npt.ArrayLike, number_of_times_to_upsample: int = 1, model: str = "hog") -> list[Any]:
    """Faces as the detector gives them: ``dlib.rectangle`` values (HOG), or :class:`MMODRectangle` values
    (``model="cnn"``), not clipped to the image."""
    image = _as_uint8(img)
    if model == "cnn":
        found = _analyzer("cnn").detector.detect_raw(_rgb(image), number_of_times_to_upsample)
        return [MMODRectangle(_box_rect(d.box), d.score) for d in found]
    found = _analyzer("hog").detector.detect_raw(image, number_of_times_to_upsample)
    return [_box_rect(d.box) for d in found]


def face_locations(img: npt.ArrayLike, number_of_times_to_upsample: int = 1, model: str = "hog") -> list[Css]:
    """The bounding boxes of the faces in an image.

    Args:
        img: an image as a numpy array (RGB or gray ``uint8``).
        number_of_times_to_upsample: how many times to double the image before looking. Higher finds smaller
            faces (1 finds faces down to about 40 px; 0 is about 4x faster and finds them from about 80 px).
        model: ``"hog"`` (default; fast, misses small and turned faces) or ``"cnn"`` (more accurate; dlib's MMOD
            network, here on ONNX Runtime, tens of times faster than dlib's on a CPU).

    Returns:
        A list of ``(top, right, bottom, left)`` tuples, clipped to the image.
    """
    image = _as_uint8(img)
    rects = _raw_face_locations(image, number_of_times_to_upsample, model)
    if model == "cnn":
        rects = [r.rect for r in rects]
    return [_trim_css_to_bounds(_rect_to_css(r), image.shape) for r in rects]


def _raw_face_locations_batched(images: Sequence[npt.ArrayLike], number_of_times_to_upsample: int = 1,
                                batch_size: int = 128) -> list[list[MMODRectangle]]:
    """The CNN detector's :class:`MMODRectangle` values for each image (``batch_size`` is accepted for
    compatibility: ONNX Runtime runs one image at a time at the same speed on a CPU)."""
    return [_raw_face_locations(image, number_of_times_to_upsample, "cnn") for image in images]


def batch_face_locations(images: Sequence[npt.ArrayLike], number_of_times_to_upsample: int = 1,
                         batch_size: int = 128) -> list[list[Css]]:
    """The CNN detector's boxes for each of several images.

    Args:
        images: a list of images (numpy arrays).
        number_of_times_to_upsample: how many times to double each image first (higher finds smaller faces).
        batch_size: images per network call in face_recognition (accepted and unused here).

    Returns:
        One list of ``(top, right, bottom, left)`` tuples per image.
    """
    batched = _raw_face_locations_batched(images, number_of_times_to_upsample, batch_size)
    return [[_trim_css_to_bounds(_rect_to_css(d.rect), np.shape(image)) for d in found]
            for image, found in zip(images, batched)]


def _raw_face_landmarks(face_image: npt.ArrayLike, face_locations: Iterable[Sequence[int]] | None = None,
                        model: str = "large") -> list[Any]:
    """``dlib.full_object_detection`` values: 68 points (``model="large"``) or 5 (``"small"``) per face."""
    import dlib

    image = _as_uint8(face_image)
    rects = _raw_face_locations(image) if face_locations is None else [_css_to_rect(css) for css in face_locations]
    points = 5 if model == "small" else 68
    predictor = _analyzer("hog").landmarker(points)
    out = []
    for rect in rects:
        box = Box(rect.left(), rect.top(), rect.right(), rect.bottom())
        landmarks = predictor.predict(image, box)
        out.append(dlib.full_object_detection(rect, [dlib.point(int(x), int(y)) for x, y in landmarks]))
    return out


def face_landmarks(face_image: npt.ArrayLike, face_locations: Iterable[Sequence[int]] | None = None,
                   model: str = "large") -> list[dict[str, list[tuple[int, int]]]]:
    """The named features (eyes, nose, lips, ...) of each face in an image.

    Args:
        face_image: the image (numpy array).
        face_locations: the ``(top, right, bottom, left)`` boxes to look at (default: HOG detection).
        model: ``"large"`` (default, 68 points: chin, eyebrows, nose bridge and tip, eyes, lips) or ``"small"``
            (5 points: the eyes' corners and the nose tip; faster).

    Returns:
        One dict per face mapping each feature name to its list of ``(x, y)`` points.

    Raises:
        ValueError: ``model`` is neither ``"large"`` nor ``"small"``.
    """
    if model not in ("large", "small"):
        raise ValueError("Invalid landmarks model type. Supported models are ['small', 'large'].")
    shapes = _raw_face_landmarks(face_image, face_locations, model)
    faces = [[(int(p.x), int(p.y)) for p in shape.parts()] for shape in shapes]
    if model == "small":
        return [{"nose_tip": [p[4]], "left_eye": p[2:4], "right_eye": p[0:2]} for p in faces]
    return [{
        "chin": p[0:17],
        "left_eyebrow": p[17:22],
        "right_eyebrow": p[22:27],
        "nose_bridge": p[27:31],
        "nose_tip": p[31:36],
        "left_eye": p[36:42],
        "right_eye": p[42:48],
        "top_lip": [*p[48:55], p[64], p[63], p[62], p[61], p[60]],
        "bottom_lip": [*p[54:60], p[48], p[60], p[67], p[66], p[65], p[64]],
    } for p in faces]


def face_encodings(face_image: npt.ArrayLike, known_face_locations: Iterable[Sequence[int]] | None = None,
                   num_jitters: int = 1, model: str = "small") -> list[npt.NDArray[np.float64]]:
    """The 128-d encoding of each face in an image.

    Args:
        face_image: the image (numpy array) holding one or more faces.
        known_face_locations: the ``(top, right, bottom, left)`` boxes of the faces, if already known (default:
            HOG detection at upsample 1).
        num_jitters: how many randomly jittered copies of each face to encode and average. Higher is slightly
            more accurate and proportionally slower (100 is 100x slower); 1 is typical.
        model: the landmarks used to align each face: ``"small"`` (default, 5 points, what the network was
            trained with) or ``"large"`` (68 points).

    Returns:
        One ``(128,)`` ``float64`` array per face, in the order of the boxes.
    """
    image = _as_uint8(face_image)
    shapes = _raw_face_landmarks(image, known_face_locations, model)
    if not shapes:
        return []
    landmarks = [np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int64) for shape in shapes]
    chips = face_chips(_rgb(image), landmarks)
    vectors = embed_chips(_analyzer("hog").embedder, chips, num_jitters=max(int(num_jitters), 1), flip=False)
    return [np.asarray(v, dtype=np.float64) for v in vectors]


def compare_faces(known_face_encodings: Any, face_encoding_to_check: Any, tolerance: float = 0.6) -> list[bool]:
    """Which of ``known_face_encodings`` match ``face_encoding_to_check``.

    Args:
        known_face_encodings: a list of face encodings.
        face_encoding_to_check: one face encoding.
        tolerance: the largest distance still called a match. Lower is stricter; 0.6 is typical best
            performance.

    Returns:
        One ``bool`` per known encoding.
    """
    return [bool(match) for match in face_distance(known_face_encodings, face_encoding_to_check) <= tolerance]
