""":class:`FaceAnalyzer`: one photo -> a list of :class:`~facerec.types.Face`, with the models loaded once.

The analyzer owns one detector (and an optional fallback detector used when the first finds nothing), the shape
predictors and the embedder; each is created on first use, so building an analyzer is cheap. :func:`get_analyzer`
hands out one shared analyzer per set of options: the flat functions in :mod:`facerec.api`, the gallery, the batch
runner and the recognition data use it, so all paths give identical results and load the models once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.alignment import CHIP_PADDING, CHIP_SIZE, Landmarker, face_chips
from facerec.detection import DEFAULT_MAX_SIDE, DETECTORS, Detector, create_detector, detect
from facerec.embedding import EMBEDDERS, Embedder, create_embedder, embed_chips
from facerec.errors import ConfigurationError
from facerec.images import DEFAULT_MAX_PIXELS, ImageInput, load_image
from facerec.presets import resolve_preset
from facerec.registry import Registry
from facerec.types import Box, Detection, Face

__all__ = ["DEFAULT_DETECTOR", "DEFAULT_EMBEDDER", "DEFAULT_FALLBACK_DETECTOR", "DEFAULT_FLIP", "FaceAnalyzer",
           "FacePick", "get_analyzer", "pick_face"]

DEFAULT_DETECTOR = "hog"
#: Tried only when the first detector finds no face: on LFW it finds a face in all 40 photos where HOG finds none
#: (+0.95 points of verification accuracy, docs/BENCHMARKS.md) and costs nothing on photos where HOG finds one.
DEFAULT_FALLBACK_DETECTOR = "cnn"
#: Average each chip's embedding with its mirror image's (+0.1 points on LFW for one more network pass per face).
DEFAULT_FLIP = True
DEFAULT_EMBEDDER = "onnx"

FacePick = Literal["largest", "central", "best"]

#: Embedders that run the same network (dlib's face ResNet) from the same file, and so share a model id.
_RESNET_EMBEDDERS = {"dlib": "dlib-resnet-v1", "onnx": "dlib-resnet-v1"}


def pick_face(faces: Sequence[Face], image_shape: tuple[int, ...], how: FacePick = "largest") -> Face | None:
    """One face of several: the ``largest`` box, the one nearest the image ``central`` point, or the ``best`` score.

    Returns ``None`` when ``faces`` is empty.
    """
    if not faces:
        return None
    if how == "largest":
        return max(faces, key=lambda f: f.box.area)
    if how == "best":
        return max(faces, key=lambda f: f.score)
    if how == "central":
        cy, cx = (image_shape[0] - 1) / 2.0, (image_shape[1] - 1) / 2.0
        return min(faces, key=lambda f: (f.box.center[0] - cx) ** 2 + (f.box.center[1] - cy) ** 2)
    raise ConfigurationError(f"face pick must be 'largest', 'central' or 'best', got {how!r}")


#: The defaults of the options a preset may set (a preset's value applies where the option is left at these).
_DEFAULTS: dict[str, Any] = {"detector": DEFAULT_DETECTOR, "embedder": DEFAULT_EMBEDDER, "upsample": 1,
                             "max_side": DEFAULT_MAX_SIDE, "min_face_size_px": 0,
                             "fallback_detector": DEFAULT_FALLBACK_DETECTOR, "landmarks": 5, "num_jitters": 1,
                             "flip": DEFAULT_FLIP}


class FaceAnalyzer:
    """Detect, align and encode faces with one set of models.

    Args:
        detector: detector name (``"hog"`` fast, ``"cnn"`` accurate; see :data:`facerec.detection.DETECTORS`).
        embedder: embedder name (``"onnx"`` default, ``"dlib"`` reference).
        upsample: times to double the image before detecting (0-4). 1 (the default) finds faces down to about
            40 px with HOG; 0 is 4x faster and finds faces of 80 px and up.
        min_face_size_px: ignore faces narrower than this many pixels (0 keeps all).
        max_side: detect on a copy downscaled so its longer side is at most this many pixels (default 640; ``None``:
            full size, as face_recognition does). Boxes are mapped back, and landmarks and chips are taken from the
            full-size image. A 1080p photo then costs what a 640 x 360 one costs; the copy shows faces down to about
            1/16 of the photo's longer side (see ``refine`` for the rest).
        refine: when the downscaled copy shows no face, or only faces near the smallest it can show, detect again
            on the full-size photo (on by default: the full scan is paid only where it can find more; see
            :mod:`facerec.detection`).
        fallback_detector: a second detector tried only when the first finds no face (default ``"cnn"`` behind
            ``"hog"``: HOG's speed, with the CNN for the photos HOG misses; ``None`` for none; ignored when it
            is the same as ``detector``).
        landmarks: the landmark model used for alignment, 5 or 68 points. The face ResNet was trained on 5-point
            alignment; embeddings made with different alignments are about 0.16 apart, so keep one per gallery.
        num_jitters: embed this many jittered copies of each chip and average (1 = none; higher is slightly
            more accurate and proportionally slower).
        flip: also embed each mirrored chip and average (cheap test-time augmentation; on by default).
        keep_chips: keep the aligned chip on each :class:`Face` (``face.chip``).
        detector_options: extra keyword options for the detector's constructor.
        embedder_options: extra keyword options for the embedder's constructor (e.g. ``threads`` for ``onnx``).
        threads: ONNX Runtime threads for every part that runs on it (detector, fallback detector, embedder);
            ``None``: one per core. Options given for a part win. Worker processes use 1.
        max_pixels: refuse photos with more pixels than this before decoding them (default 64 million, about
            8,000 x 8,000; ``None``: no limit). Whatever the photo, detection itself runs within a fixed memory
            budget (:mod:`facerec.detection.budget`), so raising this costs only the decoded photo's memory
            (3 bytes a pixel).
        preset: start from a named set of options (:data:`facerec.presets.PRESETS`): ``"fast"`` (the defaults)
            or ``"accurate"`` (flip + 10 jitters; its face pick, ``central``, applies to :func:`facerec.verify`
            and the CLI, not to the analyzer). Options given with a non-default value win over the preset's.

    One analyzer may be shared by many threads: every call gives exactly the answer it gives alone (the parts
    that are not re-entrant are pooled or locked, see :mod:`facerec.concurrency`).
    """

    def __init__(self, *, detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER, upsample: int = 1,
                 min_face_size_px: int = 0, max_side: int | None = DEFAULT_MAX_SIDE, refine: bool = True,
                 fallback_detector: str | None = DEFAULT_FALLBACK_DETECTOR, landmarks: int = 5, num_jitters: int = 1,
                 flip: bool = DEFAULT_FLIP, keep_chips: bool = False,
                 detector_options: dict[str, Any] | None = None,
                 embedder_options: dict[str, Any] | None = None, threads: int | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS, preset: str | None = None) -> None:
        if preset is not None:  # the preset's values, unless an option was given with a non-default value
            given = {"detector": detector, "embedder": embedder, "upsample": upsample, "max_side": max_side,
                     "min_face_size_px": min_face_size_px, "fallback_detector": fallback_detector,
                     "landmarks": landmarks, "num_jitters": num_jitters, "flip": flip}
            changed = {k: v for k, v in given.items() if v != _DEFAULTS[k]}
            chosen = {**given, **{k: v for k, v in resolve_preset(preset, changed).items() if k in given}}
            detector, embedder, upsample, max_side = (chosen["detector"], chosen["embedder"], chosen["upsample"],
                                                      chosen["max_side"])
            min_face_size_px, fallback_detector = chosen["min_face_size_px"], chosen["fallback_detector"]
            landmarks, num_jitters, flip = chosen["landmarks"], chosen["num_jitters"], chosen["flip"]
        self.preset = preset
        if landmarks not in (5, 68):
            raise ConfigurationError(f"landmarks must be 5 or 68, got {landmarks}")
        if num_jitters < 1:
            raise ConfigurationError(f"num_jitters must be >= 1, got {num_jitters}")
        if not 0 <= upsample <= 4:
            raise ConfigurationError(f"upsample must be between 0 and 4, got {upsample}")
        if max_pixels is not None and max_pixels < 1:
            raise ConfigurationError(f"max_pixels must be >= 1 (or None for no limit), got {max_pixels}")
        self.detector_name = detector
        self.embedder_name = embedder
        self.upsample = upsample
        self.min_face_size_px = min_face_size_px
        if max_side is not None and max_side < 16:
            raise ConfigurationError(f"max_side must be at least 16 pixels (or None for full size), got {max_side}")
        self.max_side = max_side
        self.refine = refine
        self.fallback_detector_name = fallback_detector if fallback_detector != detector else None
        self.landmark_points = landmarks
        self.num_jitters = num_jitters
        self.flip = flip
        self.keep_chips = keep_chips
        self.detector_options = dict(detector_options or {})
        self.embedder_options = dict(embedder_options or {})
        self.threads = threads
        self.max_pixels = max_pixels
        self._lock = threading.Lock()
        self._parts: dict[str, Any] = {}
        # validate names now (cheap: registries only), load models later
        DETECTORS._entry(detector)
        EMBEDDERS._entry(embedder)
        if fallback_detector is not None:
            DETECTORS._entry(fallback_detector)

    def __repr__(self) -> str:
        return (f"FaceAnalyzer(detector={self.detector_name!r}, embedder={self.embedder_name!r}, "
                f"upsample={self.upsample}, max_side={self.max_side}, landmarks={self.landmark_points}, "
                f"num_jitters={self.num_jitters}, "
                f"flip={self.flip}, fallback_detector={self.fallback_detector_name!r})")

    @property
    def model_id(self) -> str:
        """The id of the embedding model, as galleries record it (computed once).

        It names the network, the SHA-256 prefix of its weights file and the alignment, e.g.
        ``"dlib-resnet-v1:3b4b1e5d9a2c/5pt"``. The ``dlib`` and ``onnx`` embedders run the same network from the
        same file and so share an id. Another embedder may name itself with a ``model_id`` attribute.
        """
        return self._part("model_id", self._make_model_id)  # type: ignore[no-any-return]

    def _make_model_id(self) -> str:
        alignment = f"{self.landmark_points}pt"
        family = _RESNET_EMBEDDERS.get(self.embedder_name)
        if family is not None:
            from facerec.models import file_sha256, locate_model

            sha = file_sha256(locate_model("resnet", self.embedder_options.get("model_path")))
            return f"{family}:{sha[:12]}/{alignment}"
        explicit = getattr(self.embedder, "model_id", None)
        name = str(explicit) if explicit else self.embedder_name
        return f"{name}/{alignment}"

    # -- the models, created on first use ------------------------------------------------------------------
    def _part(self, key: str, make: Any) -> Any:
        part = self._parts.get(key)
        if part is None:
            with self._lock:
                part = self._parts.get(key)
                if part is None:
                    part = make()
                    self._parts[key] = part
        return part

    @property
    def detector(self) -> Detector:
        """The detector backend (loaded on first use)."""
        options = self._with_threads(DETECTORS, self.detector_name, self.detector_options)
        return self._part("detector", lambda: create_detector(self.detector_name, **options))  # type: ignore[no-any-return]

    @property
    def embedder(self) -> Embedder:
        """The embedder backend (loaded on first use)."""
        options = self._with_threads(EMBEDDERS, self.embedder_name, self.embedder_options)
        return self._part("embedder", lambda: create_embedder(self.embedder_name, **options))  # type: ignore[no-any-return]

    def landmarker(self, points: int) -> Landmarker:
        """The 5- or 68-point shape predictor (loaded on first use)."""
        return self._part(f"landmarks{points}", lambda: Landmarker(points))  # type: ignore[no-any-return]

    def _fallback(self) -> Detector:
        name = self.fallback_detector_name or self.detector_name
        options = self._with_threads(DETECTORS, name, {})
        return self._part("fallback", lambda: create_detector(name, **options))  # type: ignore[no-any-return]

    def _with_threads(self, registry: Registry[Any], name: str, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` for part ``name``, with the analyzer's ``threads`` when the part takes it, and with the
        part's :meth:`~facerec.registry.Registry.copy_options` when detection runs on a downscaled copy
        (``max_side`` set: HOG then splits its pyramid, see :class:`facerec.detection.hog.HogDetector`; at full
        size it is dlib's scan, box for box, as face_recognition does)."""
        made = registry.copy_options(name) if self.max_side is not None else {}
        if self.threads is not None and registry.takes_threads(name):
            made["threads"] = self.threads
        return {**made, **options}

    # -- the pipeline ------------------------------------------------------------------------------------
    def load(self, image: ImageInput) -> npt.NDArray[np.uint8]:
        """``image`` as RGB ``uint8``, within this analyzer's ``max_pixels`` (:func:`facerec.load_image`)."""
        return load_image(image, max_pixels=self.max_pixels)

    def detect(self, image: ImageInput) -> list[Face]:
        """Every face in ``image``: boxes and scores, best score first."""
        rgb = self.load(image)
        return self._detect(rgb)

    def _detect(self, rgb: npt.NDArray[np.uint8]) -> list[Face]:
        found = self._run_detector(self.detector, rgb)
        name = self.detector_name
        if not found and self.fallback_detector_name is not None:
            found = self._run_detector(self._fallback(), rgb)
            name = self.fallback_detector_name
        return [Face(box=det.box, score=det.score, detector=name, raw_box=raw) for det, raw in found]

    def _run_detector(self, detector: Detector, rgb: npt.NDArray[np.uint8]) -> list[tuple[Detection, Box]]:
        return detect(detector, rgb, upsample=self.upsample, min_face_size_px=self.min_face_size_px,
                      max_side=self.max_side, refine=self.refine)

    def landmarks(self, image: ImageInput, faces: Sequence[Face | Box] | None = None, *,
                  points: int = 68) -> list[Face]:
        """Faces with ``points`` (5 or 68) landmarks; detects first unless ``faces`` (or boxes) are given."""
        rgb = self.load(image)
        return self._landmarks(rgb, self._as_faces(rgb, faces), points)

    def _landmarks(self, rgb: npt.NDArray[np.uint8], faces: Sequence[Face], points: int) -> list[Face]:
        if points not in (5, 68):
            raise ConfigurationError(f"landmark points must be 5 or 68, got {points}")
        predictor = self.landmarker(points)
        return [f.with_(landmarks=predictor.predict(rgb, f.source_box)) for f in faces]

    def chips(self, image: ImageInput, faces: Sequence[Face | Box] | None = None, *, size: int = CHIP_SIZE,
              padding: float = CHIP_PADDING) -> npt.NDArray[np.uint8]:
        """Aligned ``(n, size, size, 3)`` chips of the faces (detected first unless given)."""
        rgb = self.load(image)
        faces = self._aligned(rgb, self._as_faces(rgb, faces))
        return face_chips(rgb, [f.landmarks for f in faces if f.landmarks is not None], size=size, padding=padding)

    def analyze(self, image: ImageInput, faces: Sequence[Face | Box] | None = None) -> list[Face]:
        """Every face with box, score, alignment landmarks and embedding (detected first unless given)."""
        rgb = self.load(image)
        faces = self._aligned(rgb, self._as_faces(rgb, faces))
        if not faces:
            return []
        chips = face_chips(rgb, [f.landmarks for f in faces if f.landmarks is not None])
        vectors = self.embed_chips(chips)
        return [f.with_(embedding=v, chip=c if self.keep_chips else None) for f, v, c in zip(faces, vectors, chips)]

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Embeddings of ready-cut 150x150 chips, with this analyzer's jitter and flip settings."""
        return embed_chips(self.embedder, chips, num_jitters=self.num_jitters, flip=self.flip)

    def _aligned(self, rgb: npt.NDArray[np.uint8], faces: Sequence[Face]) -> list[Face]:
        needed = [f for f in faces if f.landmarks is None or len(f.landmarks) != self.landmark_points]
        if not needed:
            return list(faces)
        return self._landmarks(rgb, faces, self.landmark_points)

    def _as_faces(self, rgb: npt.NDArray[np.uint8], faces: Sequence[Face | Box] | None) -> list[Face]:
        if faces is None:
            return self._detect(rgb)
        height, width = rgb.shape[:2]
        out = []
        for item in faces:
            if isinstance(item, Box):
                out.append(Face(box=item.clip(width, height), score=float("nan"), detector="given", raw_box=item))
            elif isinstance(item, Face):
                out.append(item)
            else:
                raise ConfigurationError(f"faces must be Face or Box values, got {type(item).__name__}")
        return out


@lru_cache(maxsize=16)
def _shared(detector: str, embedder: str, upsample: int, min_face_size_px: int, max_side: int | None,
            fallback_detector: str | None, landmarks: int, num_jitters: int, flip: bool,
            max_pixels: int | None) -> FaceAnalyzer:
    return FaceAnalyzer(detector=detector, embedder=embedder, upsample=upsample, min_face_size_px=min_face_size_px,
                        max_side=max_side, fallback_detector=fallback_detector, landmarks=landmarks,
                        num_jitters=num_jitters, flip=flip, max_pixels=max_pixels)


def get_analyzer(*, detector: str = DEFAULT_DETECTOR, embedder: str = DEFAULT_EMBEDDER, upsample: int = 1,
                 min_face_size_px: int = 0, max_side: int | None = DEFAULT_MAX_SIDE,
                 fallback_detector: str | None = DEFAULT_FALLBACK_DETECTOR, landmarks: int = 5, num_jitters: int = 1,
                 flip: bool = DEFAULT_FLIP, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> FaceAnalyzer:
    """The shared analyzer for these options (created once per distinct set, models loaded on first use; safe to
    share between threads).

    Examples:
        >>> get_analyzer() is get_analyzer()
        True
        >>> get_analyzer(upsample=0) is get_analyzer()
        False
    """
    return _shared(detector, embedder, upsample, min_face_size_px, max_side, fallback_detector, landmarks,
                   num_jitters, flip, max_pixels)
