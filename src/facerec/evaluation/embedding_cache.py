"""Pipeline variants and their embeddings of a photo set, cached on disk, for the verification protocol.

A :class:`Variant` names one pipeline setting (detector, embedder, landmarks, flip, jitter, fallback detector,
which face to pick). :func:`embed_photos` loads every photo once, detects once per distinct detector setting, and
keeps each variant's embeddings in an :class:`EmbeddingStore` (one ``.npz`` per variant and data set), so a second
run, or a run that adds a variant, only computes what is new.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, FacerecError
from facerec.evaluation.pairs import parse_bool

__all__ = ["EmbeddingStore", "Progress", "Variant", "embed_photos", "parse_variant"]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Variant:
    """One pipeline setting to score.

    Attributes:
        name: the label in tables and plots.
        detector: detector name (``hog``, ``cnn``, ...).
        embedder: embedder name (``dlib``, ``onnx``, ...).
        upsample: detector upsampling (0-4; 1 is typical).
        landmarks: alignment landmarks, 5 (what the embedder was trained with) or 68.
        flip: average the embedding of the mirrored chip in.
        jitters: number of jittered copies averaged (1 = none).
        fallback_detector: a detector tried when the first finds no face (``None``: none).
        pick: which face of several: ``largest``, ``central`` or ``best``.
    """

    name: str = "default"
    detector: str = "hog"
    embedder: str = "dlib"
    upsample: int = 1
    landmarks: int = 5
    flip: bool = False
    jitters: int = 1
    fallback_detector: str | None = None
    pick: str = "largest"

    def detection_key(self) -> tuple[str, int, str | None]:
        """What detection depends on (variants sharing it share detections)."""
        return (self.detector, self.upsample, self.fallback_detector)

    def cache_key(self) -> str:
        """A stable hash of everything the embedding of a photo depends on (the name excluded)."""
        settings = asdict(self)
        settings.pop("name")
        return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]

    def settings(self) -> dict[str, Any]:
        """The variant as a JSON-ready dictionary."""
        return asdict(self)


def parse_variant(spec: str, base: Variant | None = None) -> Variant:
    """A :class:`Variant` from ``name:key=value,key=value`` (keys as the attributes; ``fallback`` and ``jitter``
    are accepted as short forms, ``fallback=none`` clears it).

    Examples:
        >>> parse_variant("flip68:landmarks=68,flip=true")
        Variant(name='flip68', detector='hog', embedder='dlib', upsample=1, landmarks=68, flip=True, jitters=1, \
fallback_detector=None, pick='largest')
    """
    base = base or Variant()
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not name:
        raise ConfigurationError(f"a variant needs a name before ':', got {spec!r}")
    values: dict[str, Any] = {"name": name}
    aliases = {"fallback": "fallback_detector", "jitter": "jitters", "num_jitters": "jitters",
               "face": "pick", "face_pick": "pick"}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        key = aliases.get(key.strip().replace("-", "_"), key.strip().replace("-", "_"))
        if not eq:
            raise ConfigurationError(f"variant setting {item!r} must look like key=value")
        value = value.strip()
        if key in ("detector", "embedder"):
            values[key] = value
        elif key == "pick":
            if value not in ("largest", "central", "best"):
                raise ConfigurationError(f"pick must be largest, central or best, got {value!r}")
            values[key] = value
        elif key in ("upsample", "landmarks", "jitters"):
            try:
                values[key] = int(value)
            except ValueError:
                raise ConfigurationError(f"{key} must be an integer, got {value!r}") from None
        elif key == "flip":
            values[key] = parse_bool(value, "flip")
        elif key == "fallback_detector":
            values[key] = None if value.lower() in ("", "none") else value
        else:
            raise ConfigurationError(
                f"unknown variant setting {key!r}; use detector, embedder, upsample, landmarks, flip, jitters, "
                "fallback or pick")
    merged = {**asdict(base), **values}
    variant = Variant(**merged)
    _check_variant(variant)
    return variant


def _check_variant(variant: Variant) -> None:
    from facerec.detection import DETECTORS
    from facerec.embedding import EMBEDDERS

    DETECTORS._entry(variant.detector)
    EMBEDDERS._entry(variant.embedder)
    if variant.fallback_detector is not None:
        DETECTORS._entry(variant.fallback_detector)
    if variant.landmarks not in (5, 68):
        raise ConfigurationError(f"landmarks must be 5 or 68, got {variant.landmarks}")
    if variant.jitters < 1:
        raise ConfigurationError(f"jitters must be >= 1, got {variant.jitters}")


class EmbeddingStore:
    """Embeddings of photos for one variant, kept in memory and in ``<cache_dir>/<variant hash>-<data hash>.npz``.

    A photo maps to a ``(128,)`` float32 embedding, or to ``None`` when no face was found.
    """

    def __init__(self, variant: Variant, data_id: str, cache_dir: str | os.PathLike[str] | None) -> None:
        self.variant = variant
        self.vectors: dict[str, npt.NDArray[np.float32] | None] = {}
        self.path = (Path(cache_dir) / f"embed-{variant.cache_key()}-{data_id}.npz") if cache_dir else None
        if self.path is not None and self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                keys = [str(k) for k in data["keys"]]
                found = data["found"]
                vectors = data["vectors"]
            for key, ok, vec in zip(keys, found, vectors):
                self.vectors[key] = vec.astype(np.float32) if ok else None

    def save(self) -> None:
        """Write the cache file (atomically)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self.vectors)
        found = np.array([self.vectors[k] is not None for k in keys], dtype=bool)
        vectors = np.zeros((len(keys), 128), dtype=np.float32)
        for i, key in enumerate(keys):
            vec = self.vectors[key]
            if vec is not None:
                vectors[i] = vec
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        np.savez(tmp, keys=np.array(keys, dtype=str), found=found, vectors=vectors)
        os.replace(tmp, self.path)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys not yet embedded."""
        return [k for k in keys if k not in self.vectors]


def _analyzer_for(variant: Variant) -> Any:
    """The shared analyzer of a variant (:func:`facerec.analyzer.get_analyzer`: one per process and variant)."""
    from facerec.analyzer import get_analyzer

    return get_analyzer(detector=variant.detector, embedder=variant.embedder, upsample=variant.upsample,
                        fallback_detector=variant.fallback_detector, landmarks=variant.landmarks,
                        num_jitters=variant.jitters, flip=variant.flip)


def _embed_one(item: tuple[str, str, tuple[Variant, ...]]) -> tuple[str, list[npt.NDArray[np.float32] | None], str]:
    """Embed one photo under several variants: load once, detect once per detection setting."""
    from facerec.analyzer import pick_face
    from facerec.images import load_image

    key, path, variants = item
    try:
        rgb = load_image(path)
    except FacerecError as error:
        return key, [None] * len(variants), str(error)
    detections: dict[tuple[str, int], Any] = {}

    def found(detector: str, variant: Variant) -> Any:
        key = (detector, variant.upsample)
        if key not in detections:
            plain = Variant(detector=detector, embedder=variant.embedder, upsample=variant.upsample)
            detections[key] = _analyzer_for(plain).detect(rgb)
        return detections[key]

    embedded: dict[tuple[Any, ...], npt.NDArray[np.float32] | None] = {}
    out: list[npt.NDArray[np.float32] | None] = []
    for variant in variants:
        analyzer = _analyzer_for(variant)
        faces = found(variant.detector, variant)
        if not faces and variant.fallback_detector is not None:
            faces = found(variant.fallback_detector, variant)
        face = pick_face(faces, rgb.shape, variant.pick)  # type: ignore[arg-type]
        if face is None:
            out.append(None)
            continue
        # variants that pick the same face with the same embedding settings share one embedding
        memo_key = (face.box, variant.embedder, variant.landmarks, variant.flip, variant.jitters)
        if memo_key not in embedded:
            analyzed = analyzer.analyze(rgb, [face])
            embedded[memo_key] = analyzed[0].embedding if analyzed else None
        out.append(embedded[memo_key])
    return key, out, ""


def embed_photos(photos: Mapping[str, Path], variants: Sequence[Variant], *, data_id: str = "",
                 cache_dir: str | os.PathLike[str] | None = None, workers: int = 1,
                 progress: Progress | None = None, save_every: int = 500) -> dict[str, EmbeddingStore]:
    """Embed every photo under every variant, reusing whatever the cache already holds.

    Args:
        photos: ``{photo key: file}``.
        variants: the pipeline settings.
        data_id: a short id of the data set, part of the cache file name (so two data sets never mix).
        cache_dir: where the ``.npz`` caches live (``None``: no disk cache).
        workers: processes to use (1: in this process).
        progress: called with the number of photos just finished.
        save_every: write the caches after this many new photos (a long run survives an interruption).

    Returns:
        ``{variant name: EmbeddingStore}``.
    """
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"variant names must differ, got {names}")
    for variant in variants:
        _check_variant(variant)
    stores = {v.name: EmbeddingStore(v, data_id, cache_dir) for v in variants}
    todo: dict[str, list[Variant]] = {}
    for variant in variants:
        for key in stores[variant.name].missing(photos):
            todo.setdefault(key, []).append(variant)
    already = len(photos) - len(todo)
    if progress is not None and already:
        progress(already)
    items = [(key, os.fspath(photos[key]), tuple(vs)) for key, vs in sorted(todo.items())]
    done = 0

    def take(result: tuple[str, list[npt.NDArray[np.float32] | None], str], used: tuple[Variant, ...]) -> None:
        nonlocal done
        key, vectors, _ = result
        for variant, vec in zip(used, vectors):
            stores[variant.name].vectors[key] = vec
        done += 1
        if progress is not None:
            progress(1)
        if save_every and done % save_every == 0:
            for store in stores.values():
                store.save()

    if workers <= 1 or len(items) < 2:
        for item in items:
            take(_embed_one(item), item[2])
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for item, result in zip(items, pool.map(_embed_one, items, chunksize=8)):
                take(result, item[2])
    if items:
        for store in stores.values():
            store.save()
    return stores
