"""The identification protocol: a gallery of known people, probes to name, closed-set and open-set scores.

Data is a folder with one sub-folder per person. With a fixed seed:

1. a fraction of the people (``unknown_fraction``, default 0.2) is **held out** entirely: their photos are probes
   that should be rejected (open set);
2. each remaining person's photos are split **stratified** into gallery (``1 - probe_fraction``, default 70%) and
   probes (30%).

Each identifier is fitted on the gallery embeddings and scored on the probes:

* **closed set** (known people's probes only): top-1 and top-5 rates and the **CMC** curve (rank-k rate), per-person
  precision and recall, and the confusion matrix of the top-1 answers;
* **open set** (known people's probes plus every held-out photo): the **detection-and-identification rate** (DIR,
  the fraction of known probes named correctly *and* accepted) at fixed **false-alarm rates** (FAR, the fraction of
  unknown probes accepted as somebody).

Conventions: class *scores* are "higher is better" (a distance enters as its negative); the rank of the true
person is 1 plus the number of people scored strictly higher (ties resolved in the probe's favour, then by the
secondary key when an identifier has one). A photo in which no face was found cannot be named: as a known probe
it counts as a miss at every rank, as an unknown probe it is a correct rejection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.evaluation.metrics import cmc_curve, dir_at_far, dir_far_curve, true_class_ranks
from facerec.files import people_folders
from facerec.training.data import held_out_count

__all__ = [
    "DEFAULT_FAR_TARGETS",
    "IDENTIFIER_NAMES",
    "IdentificationData",
    "IdentifierResult",
    "OpenSetSplit",
    "Split",
    "cmc_curve",
    "dir_at_far",
    "dir_far_curve",
    "embedding_map",
    "evaluate_identifier",
    "evaluate_keras_run",
    "list_people",
    "make_split",
    "true_class_ranks",
    "write_identification_run",
]

#: False-alarm rates at which the open-set detection-and-identification rate is reported.
DEFAULT_FAR_TARGETS: tuple[float, ...] = (1e-1, 1e-2)

#: The identifiers this protocol knows (``keras:<run folder>`` adds a trained model).
IDENTIFIER_NAMES: tuple[str, ...] = ("centroid", "knn", "svm")


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]




# -- data --------------------------------------------------------------------------------------------------------
def list_people(data_dir: str | os.PathLike[str], *, min_images: int = 1) -> dict[str, list[Path]]:
    """``{person: sorted photos}`` for each sub-folder of ``data_dir`` holding at least ``min_images`` images.

    Raises:
        ConfigurationError: ``data_dir`` is not a folder, or no person has enough photos.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigurationError(f"{root} is not a folder of people (one sub-folder per person)")
    people = {name: photos for name, photos in people_folders(root).items() if len(photos) >= min_images}
    if not people:
        raise ConfigurationError(f"no person in {root} has {min_images} or more photos")
    return people


@dataclass(frozen=True)
class OpenSetSplit:
    """Who is known, and which photos are gallery and which are probes (the open-set identification split; the
    train/validation/test split of a training run is :class:`facerec.training.data.Split`).

    Attributes:
        known: the people enrolled in the gallery.
        unknown: the held-out people (all their photos are probes that should be rejected).
        gallery: photo keys (``person/file``) enrolled.
        probes: photo keys of known people to name.
        unknown_probes: photo keys of held-out people.
        seed: the seed.
    """

    known: tuple[str, ...]
    unknown: tuple[str, ...]
    gallery: tuple[str, ...]
    probes: tuple[str, ...]
    unknown_probes: tuple[str, ...]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"n_known": len(self.known), "n_unknown": len(self.unknown), "n_gallery": len(self.gallery),
                "n_probes": len(self.probes), "n_unknown_probes": len(self.unknown_probes), "seed": self.seed,
                "unknown_people": list(self.unknown)}


#: The old name of :class:`OpenSetSplit`.
Split = OpenSetSplit


def make_split(people: Mapping[str, Sequence[str]], *, probe_fraction: float = 0.3, unknown_fraction: float = 0.2,
               seed: int = 0) -> OpenSetSplit:
    """A seeded split: held-out people, then a stratified gallery/probe split of every known person's photos.

    Each known person keeps at least one gallery photo and, when they have two or more, at least one probe.

    Args:
        people: ``{person: photo keys}``.
        probe_fraction: the share of each known person's photos used as probes (0.3 is the usual 70/30 split).
        unknown_fraction: the share of people held out for the open-set test (0 disables it).
        seed: the random seed.
    """
    if not 0.0 < probe_fraction < 1.0:
        raise ConfigurationError(f"probe_fraction must be between 0 and 1, got {probe_fraction}")
    if not 0.0 <= unknown_fraction < 1.0:
        raise ConfigurationError(f"unknown_fraction must be in [0, 1), got {unknown_fraction}")
    rng = np.random.default_rng(seed)
    names = sorted(people)
    n_unknown = round(unknown_fraction * len(names))
    if unknown_fraction > 0 and n_unknown == 0 and len(names) >= 3:
        n_unknown = 1
    if len(names) - n_unknown < 2:
        raise ConfigurationError(f"need at least 2 known people, have {len(names)} with {n_unknown} held out")
    order = rng.permutation(len(names))
    unknown = tuple(sorted(names[i] for i in order[:n_unknown]))
    known = tuple(sorted(names[i] for i in order[n_unknown:]))
    gallery: list[str] = []
    probes: list[str] = []
    for person in known:
        photos = sorted(people[person])
        idx = rng.permutation(len(photos))
        n_probe = held_out_count(len(photos), probe_fraction)
        probes.extend(photos[i] for i in idx[:n_probe])
        gallery.extend(photos[i] for i in idx[n_probe:])
    unknown_probes = [p for person in unknown for p in sorted(people[person])]
    return OpenSetSplit(known, unknown, tuple(sorted(gallery)), tuple(sorted(probes)), tuple(unknown_probes), seed)


@dataclass
class IdentificationData:
    """Embeddings of a split, ready for the identifiers.

    Attributes:
        split: the split.
        vectors: ``{photo key: embedding or None}``.
        person_of: ``{photo key: person}``.
    """

    split: OpenSetSplit
    vectors: Mapping[str, npt.NDArray[np.float32] | None]
    person_of: Mapping[str, str]

    def matrix(self, keys: Sequence[str]) -> tuple[npt.NDArray[np.float32], list[str], list[str]]:
        """``(X, labels, keys)`` of the photos among ``keys`` that have an embedding."""
        kept = [k for k in keys if self.vectors.get(k) is not None]
        if not kept:
            return np.zeros((0, 128), dtype=np.float32), [], []
        X = np.stack([self.vectors[k] for k in kept]).astype(np.float32)  # type: ignore[misc]
        return X, [self.person_of[k] for k in kept], kept


# -- identifiers -------------------------------------------------------------------------------------------------
@dataclass
class _Scored:
    classes: list[str]
    primary: FloatArray  # (n, n_classes), higher better
    secondary: FloatArray | None
    confidence: FloatArray  # (n,), higher is surer, used for open-set acceptance
    top1: list[str]


class _Adapter:
    """Wraps an identifier into "class scores, a tie-break key and one confidence per probe"."""

    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.options = dict(options)
        self.model: Any = None

    def fit(self, X: npt.NDArray[np.float32], y: Sequence[str]) -> _Adapter:
        """Fit the registry's identifier ``name`` with rejection off (the protocol sweeps its own thresholds)."""
        if self.name not in IDENTIFIER_NAMES:
            raise ConfigurationError(f"unknown identifier {self.name!r}; choose one of {', '.join(IDENTIFIER_NAMES)} "
                                     "or keras:<training run folder>")
        from facerec.recognition.identifiers import create_identifier

        model = create_identifier(self.name)
        params = model.get_params()
        settings: dict[str, Any] = {k: None for k in ("distance_threshold", "probability_threshold") if k in params}
        if "random_state" in params:
            settings["random_state"] = 0
        settings.update({k: v for k, v in self.options.items() if k in params})
        self.model = model.set_params(**settings).fit(X, list(y))
        return self

    def score(self, X: npt.NDArray[np.float32]) -> _Scored:
        """Class scores (higher better), the tie-break and open-set confidence from the person distances when the
        identifier measures them (else from the scores), and the top-1 name of each probe."""
        model = self.model
        classes = [str(c) for c in model.classes_]
        n = len(classes)
        primary = model.scores(X) if len(X) else np.zeros((0, n))
        distances = model.person_distances(X) if len(X) else None
        secondary = None if distances is None else -np.asarray(distances, dtype=np.float64)
        confidence = (secondary if secondary is not None else primary).max(axis=1) if len(X) else np.zeros(0)
        order = np.argmax(primary, axis=1) if len(X) else np.zeros(0, dtype=int)
        if secondary is not None and len(X):
            best = primary.max(axis=1, keepdims=True)
            masked = np.where(primary == best, secondary, -np.inf)
            order = np.argmax(masked, axis=1)
        return _Scored(classes, np.asarray(primary, dtype=np.float64), secondary,
                       np.asarray(confidence, dtype=np.float64), [classes[i] for i in order])


@dataclass
class IdentifierResult:
    """One identifier's scores on a split.

    Attributes:
        name: the identifier.
        top1, top5: closed-set rank-1 and rank-5 rates over the known people's probes.
        cmc: rank-k rates, k = 1..len(cmc).
        dir_at_far: ``{far: {"dir", "threshold", "far"}}`` (open set; empty without held-out people).
        dir_curve: ``(far, dir)`` arrays for the plot.
        per_person: ``{person: {"precision", "recall", "support"}}``.
        confusion: the confusion matrix of top-1 answers (rows true, columns predicted, in ``classes`` order).
        classes: the known people.
        errors: misidentified probes ``{"photo", "true", "predicted", "score"}``.
        n_probes_no_face: known probes without a face (counted as misses).
    """

    name: str
    top1: float
    top5: float
    cmc: FloatArray
    dir_at_far: dict[float, dict[str, float]]
    dir_curve: tuple[FloatArray, FloatArray] | None
    per_person: dict[str, dict[str, float]]
    confusion: npt.NDArray[np.int64]
    classes: list[str]
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_probes_no_face: int = 0
    macro_precision: float = 0.0
    macro_recall: float = 0.0

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"identifier": self.name, "top1": self.top1, "top5": self.top5,
                               "macro_precision": self.macro_precision, "macro_recall": self.macro_recall,
                               "n_probes_no_face": self.n_probes_no_face}
        for far, entry in sorted(self.dir_at_far.items(), reverse=True):
            out[f"dir_at_far_{far:g}"] = entry["dir"]
        return out


def evaluate_identifier(name: str, data: IdentificationData, *, options: Mapping[str, Any] | None = None,
                        max_rank: int = 20, far_targets: Sequence[float] = DEFAULT_FAR_TARGETS,
                        error_limit: int = 15) -> IdentifierResult:
    """Fit identifier ``name`` (``centroid``, ``knn``, ``svm``) on the gallery and score it on the probes."""
    X_g, y_g, _ = data.matrix(data.split.gallery)
    if len(set(y_g)) < 2:
        raise ConfigurationError("the gallery needs faces of at least 2 people")
    adapter = _Adapter(name, options or {}).fit(X_g, y_g)
    X_p, y_p, keys_p = data.matrix(data.split.probes)
    n_no_face = len(data.split.probes) - len(keys_p)
    scored = adapter.score(X_p)
    classes = scored.classes
    index = {c: i for i, c in enumerate(classes)}
    true_idx = np.array([index.get(y, -1) for y in y_p], dtype=np.int64)
    ranks = true_class_ranks(scored.primary, true_idx, scored.secondary)
    unknown_conf = None
    if data.split.unknown_probes:
        X_u, _, _ = data.matrix(data.split.unknown_probes)
        unknown_conf = np.concatenate([adapter.score(X_u).confidence if len(X_u) else np.zeros(0),
                                       np.full(len(data.split.unknown_probes) - len(X_u), np.nan)])
    return _result(name, n_classes=len(classes), labels=classes, keys=keys_p, truth=y_p, predicted=scored.top1,
                   ranks=ranks, confidence=scored.confidence, n_no_face=n_no_face, unknown_confidence=unknown_conf,
                   max_rank=max_rank, far_targets=far_targets, error_limit=error_limit)


def _result(name: str, *, n_classes: int, labels: list[str], keys: Sequence[str], truth: Sequence[str],
            predicted: Sequence[str], ranks: IntArray, confidence: FloatArray, n_no_face: int,
            unknown_confidence: FloatArray | None, max_rank: int, far_targets: Sequence[float],
            error_limit: int) -> IdentifierResult:
    """Score the rank-1 answers of the probes that have a face; ``n_no_face`` more probes count as misses.

    Args:
        n_classes: the people the identifier can answer (a miss has rank ``n_classes + 1``).
        labels: the people of the per-person table and the confusion matrix.
        keys, truth, predicted, ranks, confidence: per probe with a face.
        unknown_confidence: one per held-out person's photo (``NaN``: no face), or ``None`` without the open set.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    # probes without a face: misses at every rank, never accepted
    all_ranks = np.concatenate([ranks, np.full(n_no_face, n_classes + 1, dtype=np.int64)])
    correct = np.array([p == t for p, t in zip(predicted, truth)], dtype=bool)
    known_ok = np.concatenate([correct, np.zeros(n_no_face, dtype=bool)])
    precision, recall, _, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    dir_results: dict[float, dict[str, float]] = {}
    curve = None
    if unknown_confidence is not None:
        known_conf = np.concatenate([confidence, np.full(n_no_face, np.nan)])
        for far in far_targets:
            d, t, achieved = dir_at_far(known_conf, known_ok, unknown_confidence, far)
            dir_results[float(far)] = {"dir": d, "threshold": t, "far": achieved}
        curve = dir_far_curve(known_conf, known_ok, unknown_confidence)
    # errors: the most confident wrong answers
    wrong = np.flatnonzero(~correct)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:error_limit]
    return IdentifierResult(
        name=name, top1=float(known_ok.mean()), top5=float((all_ranks <= min(5, n_classes)).mean()),
        cmc=cmc_curve(all_ranks, min(max_rank, n_classes)), dir_at_far=dir_results, dir_curve=curve,
        per_person={c: {"precision": float(p), "recall": float(r), "support": int(s)}
                    for c, p, r, s in zip(labels, precision, recall, support)},
        confusion=confusion_matrix(truth, predicted, labels=labels), classes=labels,
        errors=[{"photo": keys[i], "true": truth[i], "predicted": predicted[i], "confidence": float(confidence[i]),
                 "true_rank": int(ranks[i])} for i in wrong.tolist()],
        n_probes_no_face=n_no_face, macro_precision=float(np.mean(precision)), macro_recall=float(np.mean(recall)))


def embedding_map(vectors: npt.NDArray[np.float32], *, seed: int = 0) -> FloatArray:
    """A 2-D t-SNE map of embeddings (scikit-learn; perplexity adapted to small sets)."""
    from sklearn.manifold import TSNE

    n = len(vectors)
    if n < 3:
        return np.zeros((n, 2))
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    method = "exact" if n <= 200 else "barnes_hut"  # exact is faster (and exact) on a few points
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, method=method)
    return np.asarray(tsne.fit_transform(np.asarray(vectors, dtype=np.float64)), dtype=np.float64)


def evaluate_keras_run(run_dir: str | os.PathLike[str], data: IdentificationData, photos: Mapping[str, Path], *,
                       max_rank: int = 20, far_targets: Sequence[float] = DEFAULT_FAR_TARGETS,
                       error_limit: int = 15) -> IdentifierResult:
    """Score a trained model (a :mod:`facerec.training` run folder) on the split's probes.

    The model is not refitted: it names the people it was trained on, so only probes of people it knows are ranked
    (others are misses) and its best class probability is the open-set confidence. Its training photos may
    overlap this split's probes unless it was trained on the same split (``split.json``); read its numbers with
    that in mind.
    """
    from facerec.training.data import photo_chips
    from facerec.training.predict import load_run

    model = load_run(run_dir)
    classes = [str(c) for c in model.class_names]
    label = f"keras:{Path(run_dir).name}"

    def probabilities(keys: Sequence[str]) -> tuple[FloatArray, list[str]]:
        rows: list[FloatArray] = []
        kept: list[str] = []
        for key in keys:
            chips, _boxes = photo_chips(photos[key], model.settings)
            if len(chips) == 0:
                continue
            rows.append(np.asarray(model.predict_proba(chips[:1])[0], dtype=np.float64))
            kept.append(key)
        return (np.stack(rows) if rows else np.zeros((0, len(classes)))), kept

    probs, keys_p = probabilities(data.split.probes)
    y_p = [data.person_of[k] for k in keys_p]
    index = {c: i for i, c in enumerate(classes)}
    true_idx = np.array([index.get(y, -1) for y in y_p], dtype=np.int64)
    ranks = true_class_ranks(probs, true_idx) if len(keys_p) else np.zeros(0, dtype=np.int64)
    top1_names = [classes[int(i)] for i in np.argmax(probs, axis=1)] if len(keys_p) else []
    unknown_conf = None
    if data.split.unknown_probes:
        probs_u, keys_u = probabilities(data.split.unknown_probes)
        unknown_conf = np.concatenate([probs_u.max(axis=1) if len(keys_u) else np.zeros(0),
                                       np.full(len(data.split.unknown_probes) - len(keys_u), np.nan)])
    return _result(label, n_classes=len(classes), labels=sorted(set(data.split.known)), keys=keys_p, truth=y_p,
                   predicted=top1_names, ranks=ranks, confidence=probs.max(axis=1) if len(keys_p) else np.zeros(0),
                   n_no_face=len(data.split.probes) - len(keys_p), unknown_confidence=unknown_conf,
                   max_rank=max_rank, far_targets=far_targets, error_limit=error_limit)


def write_identification_run(run: Any, data: IdentificationData, results: Sequence[IdentifierResult], *,
                             variant: Any, data_dir: str | os.PathLike[str], min_images: int,
                             far_targets: Sequence[float], tsne_people: int = 15, probe_fraction: float = 0.3,
                             unknown_fraction: float = 0.2) -> None:
    """Write an identification run's ``metrics.json``, plots (CMC, DIR-FAR, confusion matrix, t-SNE map) and
    tables (``errors.csv``, ``per_person.csv``) into ``run`` (a :class:`~facerec.evaluation.runs.RunFolder`)."""
    from facerec.evaluation.plots import cmc_figure, confusion_figure, dir_far_figure, embedding_map_figure

    split = data.split
    n_photos = len(split.gallery) + len(split.probes) + len(split.unknown_probes)
    no_face = sum(1 for k in (*split.gallery, *split.probes, *split.unknown_probes) if data.vectors.get(k) is None)
    best = max(results, key=lambda r: r.top1)
    metrics: dict[str, Any] = {
        "kind": "identify", "data_dir": os.fspath(data_dir), "min_images": min_images, "n_photos": n_photos,
        "n_photos_no_face": no_face, "probe_fraction": probe_fraction, "unknown_fraction": unknown_fraction,
        "split": split.to_dict(), "pipeline": variant.settings(), "far_targets": list(far_targets),
        "identifiers": [{**r.summary(), "cmc": r.cmc, "dir_at_far": {f"{k:g}": v for k, v in r.dir_at_far.items()},
                         "errors": r.errors} for r in results],
        "best_identifier": best.name,
        "per_person": {r.name: r.per_person for r in results},
    }
    run.save_figure(cmc_figure({r.name: r.cmc for r in results},
                               title=f"CMC ({len(split.known)} people, {len(split.probes)} probes)"), "cmc")
    curves = {r.name: r.dir_curve for r in results if r.dir_curve is not None}
    if curves:
        run.save_figure(dir_far_figure(curves, title=f"Open set ({len(split.unknown)} unknown people)"), "dir_far")
    run.save_figure(confusion_figure(best.confusion, best.classes,
                                     title=f"Confusion matrix ({best.name}, top-1 {best.top1:.3f})"), "confusion")
    if tsne_people > 0:
        counts: dict[str, int] = {}
        for key, person in data.person_of.items():
            if data.vectors.get(key) is not None:
                counts[person] = counts.get(person, 0) + 1
        chosen = sorted(counts, key=lambda p: (-counts[p], p))[:tsne_people]
        keys = sorted(k for k, p in data.person_of.items() if p in chosen and data.vectors.get(k) is not None)
        if len(keys) >= 3:
            X = np.stack([data.vectors[k] for k in keys]).astype(np.float32)  # type: ignore[misc]
            xy = embedding_map(X)
            labels = [data.person_of[k] for k in keys]
            run.write_json("tsne.json", {"people": chosen, "points": [
                {"photo": k, "person": p, "x": float(x), "y": float(y)} for k, p, (x, y) in zip(keys, labels, xy)]})
            run.save_figure(embedding_map_figure(xy, labels, title=f"t-SNE map of {len(chosen)} people"), "tsne")
            metrics["tsne_people"] = chosen
    run.write_metrics(metrics)
    run.write_csv("errors.csv", ["identifier", "photo", "true", "predicted", "confidence", "true_rank"],
                  [[r.name, e["photo"], e["true"], e["predicted"], e["confidence"], e["true_rank"]]
                   for r in results for e in r.errors])
    run.write_csv("per_person.csv", ["identifier", "person", "precision", "recall", "support"],
                  [[r.name, p, v["precision"], v["recall"], v["support"]] for r in results
                   for p, v in sorted(r.per_person.items())])
