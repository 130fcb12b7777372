"""The verification protocol: pairs of photos -> "same person?" -> accuracy, ROC, DET, EER and TAR at FAR.

Two kinds of pair lists:

* LFW's ``pairs.txt`` (read by :func:`facerec.evaluation.lfw.read_pairs`): 10 folds given by the file; each fold is
  tested at the threshold chosen on the other nine; the score is the mean accuracy with its standard error.
* Any CSV of ``path1,path2,same`` (a header line is optional; relative paths are relative to the CSV's folder;
  ``same`` is 1/0, true/false or yes/no): the pairs are split into ``k`` stratified folds with a fixed seed and
  scored the same way.

Several pipeline **variants** (detector, embedder, landmarks, flip, jitter, fallback detector, which face to
pick) are scored in one run. Every photo is loaded once and detected once per distinct detector setting, and the
embeddings of each variant are cached on disk (one ``.npz`` per variant and data set), so a second run, or a run
that adds a variant, only computes what is new.

The maths lives in :mod:`facerec.evaluation.metrics` (k-fold threshold choice, ROC, AUC, EER, TAR at FAR, and the
rule that a pair whose photo gave no face is an error at every threshold).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, FacerecError

__all__ = [
    "DEFAULT_FAR_TARGETS",
    "EmbeddingStore",
    "PairList",
    "Variant",
    "VerificationRun",
    "data_id_for",
    "data_id_for_root",
    "embed_photos",
    "first_pairs_per_fold",
    "pair_distance_array",
    "parse_variant",
    "read_pair_csv",
    "read_pair_list",
    "stratified_folds",
    "verification_errors",
    "verification_metrics",
    "verify_pairs",
]

#: False-accept rates at which the true-accept rate is reported.
DEFAULT_FAR_TARGETS: tuple[float, ...] = (1e-1, 1e-2, 1e-3)

Progress = Callable[[int], None]


# -- variants ----------------------------------------------------------------------------------------------------
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


_BOOL_TRUE = {"1", "true", "yes", "y", "on"}
_BOOL_FALSE = {"0", "false", "no", "n", "off"}


def _parse_bool(text: str, what: str) -> bool:
    low = text.strip().lower()
    if low in _BOOL_TRUE:
        return True
    if low in _BOOL_FALSE:
        return False
    raise ConfigurationError(f"{what} must be true or false, got {text!r}")


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
            values[key] = _parse_bool(value, "flip")
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


# -- pair lists --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairList:
    """Pairs of photos with labels and folds, in a protocol-neutral form.

    Attributes:
        photo_a, photo_b: the two photos' keys (paths relative to ``root``).
        same: ``True`` for a matched pair.
        folds: the fold index of each pair.
        root: the folder the keys are relative to.
        source: the pairs file.
        protocol: ``lfw`` (folds from the file) or ``csv`` (seeded stratified folds).
    """

    photo_a: tuple[str, ...]
    photo_b: tuple[str, ...]
    same: npt.NDArray[np.bool_]
    folds: npt.NDArray[np.int64]
    root: Path
    source: Path
    protocol: str

    def __len__(self) -> int:
        return len(self.photo_a)

    def photos(self) -> list[str]:
        """Every photo key, once, sorted."""
        return sorted(set(self.photo_a) | set(self.photo_b))

    def path(self, key: str) -> Path:
        """The file of a photo key."""
        return self.root / key


def stratified_folds(same: Sequence[bool] | npt.NDArray[np.bool_], k: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """Fold indices 0..k-1 with matched and mismatched pairs spread evenly over the folds (seeded shuffle).

    Examples:
        >>> np.bincount(stratified_folds([True] * 6 + [False] * 6, 3)).tolist()
        [4, 4, 4]
    """
    labels = np.asarray(same, dtype=bool)
    if k < 2:
        raise ConfigurationError(f"k-fold evaluation needs at least 2 folds, got {k}")
    if labels.size < k:
        raise ConfigurationError(f"{labels.size} pairs cannot fill {k} folds")
    rng = np.random.default_rng(seed)
    folds = np.empty(labels.size, dtype=np.int64)
    offset = 0
    for value in (True, False):
        index = np.flatnonzero(labels == value)
        rng.shuffle(index)
        folds[index] = (np.arange(index.size) + offset) % k
        offset += index.size
    return folds


def read_pair_csv(path: str | os.PathLike[str], *, k: int = 10, seed: int = 0,
                  root: str | os.PathLike[str] | None = None) -> PairList:
    """Read a CSV of ``path1,path2,same`` and assign seeded stratified folds.

    Args:
        path: the CSV file (a first line whose last field is not a label is taken as a header).
        k: number of folds.
        seed: seed of the fold assignment.
        root: folder the photo paths are relative to (default: the CSV's folder).

    Raises:
        ConfigurationError: a row without three fields or with a label that is not a boolean.
    """
    source = Path(path)
    base = Path(root) if root is not None else source.parent
    a: list[str] = []
    b: list[str] = []
    labels: list[bool] = []
    with open(source, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) < 3:
                raise ConfigurationError(f"{source}, line {line_no}: expected path1,path2,same, got {row!r}")
            label = row[2].strip().lower()
            if line_no == 1 and label not in _BOOL_TRUE | _BOOL_FALSE:
                continue  # header
            a.append(row[0].strip())
            b.append(row[1].strip())
            labels.append(_parse_bool(label, f"{source}, line {line_no}: same"))
    if not labels:
        raise ConfigurationError(f"{source}: no pairs found")
    same = np.array(labels, dtype=bool)
    if same.all() or not same.any():
        raise ConfigurationError(f"{source}: needs both matched and mismatched pairs")
    return PairList(tuple(a), tuple(b), same, stratified_folds(same, k, seed), base, source, "csv")


def read_pair_list(path: str | os.PathLike[str], *, k: int = 10, seed: int = 0,
                   root: str | os.PathLike[str] | None = None) -> PairList:
    """A :class:`PairList` from an LFW pairs file (``.txt``) or a CSV (anything else).

    For LFW the photos are under ``<root>/images`` with ``root`` defaulting to the pairs file's folder.
    """
    source = Path(path)
    if source.suffix.lower() != ".txt":
        return read_pair_csv(source, k=k, seed=seed, root=root)
    from facerec.evaluation.lfw import read_pairs

    pairs = read_pairs(source)
    base = Path(root) if root is not None else source.parent
    return PairList(tuple(p.photo_a for p in pairs), tuple(p.photo_b for p in pairs), pairs.same, pairs.folds,
                    base / "images", source, "lfw")


# -- embedding with a per-photo cache ----------------------------------------------------------------------------
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


_WORKER_ANALYZERS: dict[Variant, Any] = {}


def _analyzer_for(variant: Variant) -> Any:
    analyzer = _WORKER_ANALYZERS.get(variant)
    if analyzer is None:
        from facerec.analyzer import FaceAnalyzer

        analyzer = FaceAnalyzer(detector=variant.detector, embedder=variant.embedder, upsample=variant.upsample,
                                fallback_detector=variant.fallback_detector, landmarks=variant.landmarks,
                                num_jitters=variant.jitters, flip=variant.flip)
        _WORKER_ANALYZERS[variant] = analyzer
    return analyzer


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


# -- scoring -----------------------------------------------------------------------------------------------------
def pair_distance_array(pairs: PairList, vectors: Mapping[str, npt.NDArray[np.float32] | None]
                        ) -> npt.NDArray[np.float64]:
    """Euclidean distance of each pair (``NaN`` where a photo has no embedding)."""
    out = np.full(len(pairs), np.nan, dtype=np.float64)
    for i, (a, b) in enumerate(zip(pairs.photo_a, pairs.photo_b)):
        va, vb = vectors.get(a), vectors.get(b)
        if va is None or vb is None:
            continue
        out[i] = float(np.linalg.norm(va.astype(np.float64) - vb.astype(np.float64)))
    return out


def verification_errors(pairs: PairList, distances: npt.NDArray[np.float64], thresholds: Mapping[int, float],
                        limit: int = 10) -> list[dict[str, Any]]:
    """The worst mistakes at each pair's fold threshold: false rejects with the largest distances (photos without
    a face first), then false accepts with the smallest.

    Returns:
        Rows ``{"kind", "photo_a", "photo_b", "distance", "threshold", "fold"}`` (``distance`` ``None`` when a
        photo had no face).
    """
    rows: list[tuple[int, float, dict[str, Any]]] = []
    for i in range(len(pairs)):
        fold = int(pairs.folds[i])
        t = thresholds[fold]
        d = distances[i]
        same = bool(pairs.same[i])
        if np.isnan(d):
            kind = "false reject (no face)" if same else "no face"
            rows.append((0 if same else 2, -np.inf, {"kind": kind, "photo_a": pairs.photo_a[i],
                                                     "photo_b": pairs.photo_b[i], "distance": None,
                                                     "threshold": t, "fold": fold}))
        elif same and d > t:
            rows.append((0, -d, {"kind": "false reject", "photo_a": pairs.photo_a[i], "photo_b": pairs.photo_b[i],
                                 "distance": float(d), "threshold": t, "fold": fold}))
        elif not same and d <= t:
            rows.append((1, d, {"kind": "false accept", "photo_a": pairs.photo_a[i], "photo_b": pairs.photo_b[i],
                                "distance": float(d), "threshold": t, "fold": fold}))
    rejects = sorted((r for r in rows if r[0] == 0), key=lambda r: r[1])[:limit]
    accepts = sorted((r for r in rows if r[0] == 1), key=lambda r: r[1])[:limit]
    return [r[2] for r in rejects + accepts]


@dataclass
class VerificationRun:
    """The results of one variant.

    Attributes:
        variant: the setting.
        report: the :class:`~facerec.evaluation.metrics.VerificationReport`.
        distances: one distance per pair (``NaN``: no face).
        far, tar: the pooled ROC curve.
        errors: the worst mistakes (see :func:`verification_errors`).
        n_photos: photos scored.
    """

    variant: Variant
    report: Any
    distances: npt.NDArray[np.float64]
    far: npt.NDArray[np.float64]
    tar: npt.NDArray[np.float64]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_photos: int = 0

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a flat JSON-ready dictionary."""
        rep = self.report
        out: dict[str, Any] = {
            "variant": self.variant.name,
            "accuracy": rep.kfold.mean,
            "accuracy_se": rep.kfold.standard_error,
            "auc": rep.auc,
            "eer": rep.eer,
            "thresholds": rep.kfold.thresholds,
            "mean_threshold": float(np.mean(rep.kfold.thresholds)),
            "fixed_threshold": rep.fixed_threshold,
            "fixed_accuracy": rep.fixed_accuracy,
            "n_pairs": rep.n_pairs,
            "n_pairs_missing": rep.n_pairs_missing,
            "n_photos": self.n_photos,
            "n_photos_missing": rep.n_photos_missing,
        }
        for far, (tar, threshold) in sorted(rep.tar_at_far.items(), reverse=True):
            out[f"tar_at_far_{far:g}"] = tar
            out[f"threshold_at_far_{far:g}"] = threshold
        return out


def verify_pairs(pairs: PairList, stores: Mapping[str, EmbeddingStore], *,
                 far_targets: Sequence[float] = DEFAULT_FAR_TARGETS, fixed_threshold: float = 0.6,
                 error_limit: int = 10) -> list[VerificationRun]:
    """Score every variant's embeddings on the pairs.

    Args:
        pairs: from :func:`read_pair_list`.
        stores: from :func:`embed_photos`.
        far_targets: false-accept rates at which the true-accept rate is reported.
        fixed_threshold: the distance threshold of the fixed-threshold accuracy (lower is stricter; 0.6 typical).
        error_limit: how many of the worst false rejects and false accepts to keep.
    """
    from facerec.evaluation.metrics import roc_curve, verification_report

    runs = []
    photos = pairs.photos()
    for store in stores.values():
        distances = pair_distance_array(pairs, store.vectors)
        n_missing = sum(1 for key in photos if store.vectors.get(key) is None)
        report = verification_report(distances, pairs.same, pairs.folds, fixed_threshold=fixed_threshold,
                                     far_targets=tuple(far_targets), n_photos_missing=n_missing)
        roc = roc_curve(distances, pairs.same)
        thresholds = {f.fold: f.threshold for f in report.kfold.folds}
        runs.append(VerificationRun(variant=store.variant, report=report, distances=distances, far=roc.far,
                                    tar=roc.tar, errors=verification_errors(pairs, distances, thresholds,
                                                                            error_limit),
                                    n_photos=len(photos)))
    return runs


def data_id_for(pairs: PairList) -> str:
    """A short id of the folder a pair list's photos live in, part of the cache file names.

    Photo keys are paths relative to that folder, so runs on any subset of it share one cache.
    """
    return data_id_for_root(pairs.root)


def data_id_for_root(root: str | os.PathLike[str]) -> str:
    """A short id of a photo folder (a hash of its absolute path)."""
    return hashlib.sha1(os.fspath(Path(root).resolve()).encode()).hexdigest()[:12]


def first_pairs_per_fold(pairs: PairList, count: int) -> PairList:
    """The first ``count`` matched and ``count`` mismatched pairs of each fold (for quick runs)."""
    keep: list[int] = []
    seen: dict[tuple[int, bool], int] = {}
    for i, (fold, same) in enumerate(zip(pairs.folds, pairs.same)):
        slot = (int(fold), bool(same))
        if seen.get(slot, 0) < count:
            seen[slot] = seen.get(slot, 0) + 1
            keep.append(i)
    idx = np.array(keep, dtype=np.int64)
    return PairList(tuple(pairs.photo_a[i] for i in keep), tuple(pairs.photo_b[i] for i in keep), pairs.same[idx],
                    pairs.folds[idx], pairs.root, pairs.source, pairs.protocol)


def verification_metrics(pairs: PairList, runs: Sequence[VerificationRun],
                         far_targets: Sequence[float]) -> dict[str, Any]:
    """The ``metrics.json`` document of a verification run."""
    return {
        "kind": "verify",
        "protocol": pairs.protocol,
        "pairs_file": os.fspath(pairs.source),
        "n_pairs": len(pairs),
        "n_same": int(pairs.same.sum()),
        "n_different": int((~pairs.same).sum()),
        "n_folds": int(np.unique(pairs.folds).size),
        "n_photos": len(pairs.photos()),
        "far_targets": list(far_targets),
        "variants": [{**run.summary(), "settings": run.variant.settings(), "report": run.report.to_dict(),
                      "errors": run.errors} for run in runs],
        "roc": {run.variant.name: {"far": _thin(run.far), "tar": _thin(run.tar, like=run.far)} for run in runs},
    }


def _thin(values: npt.NDArray[np.float64], like: npt.NDArray[np.float64] | None = None,
          max_points: int = 400) -> list[float]:
    """At most ``max_points`` points of a curve (kept evenly on a log FAR scale), for the JSON."""
    ref = values if like is None else like
    if ref.size <= max_points:
        return [float(v) for v in values]
    grid = np.unique(np.concatenate([np.geomspace(1e-5, 1.0, max_points), [0.0]]))
    index = np.unique(np.clip(np.searchsorted(ref, grid, side="right") - 1, 0, ref.size - 1))
    return [float(values[i]) for i in index]
