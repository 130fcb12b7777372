"""LFW 10-fold verification of facerec's pipeline, with the variants that move the score.

Every photo named in ``pairs.txt`` (7,701 of them) is processed once per detection setting and embedder:

1. **Detection** (cached in ``.cache/lfw/detect-*.npz``, shared by every embedder): dlib HOG at upsample 1 on each
   photo; on the photos where HOG finds nothing, the fallback CNN detector (``cnn`` if registered, else
   ``cnn-dlib``) at the same upsample -- exactly what ``FaceAnalyzer(fallback_detector=...)`` does.
2. **Embedding** (cached in ``.cache/lfw/embed-*.npz``): the largest and the central face of each photo (LFW
   labels the face at the centre; usually both are the same face) are aligned on 5 landmarks and embedded as
   ``plain``, ``flip`` (``embed_chips(..., flip=True)``) and ``jitterN`` (``embed_chips(..., num_jitters=N)``);
   ``flip+jitterN`` is ``(N * jitterN + mirrored) / (N + 1)`` with ``mirrored = 2 * flip - plain``: what
   ``embed_chips(..., flip=True, num_jitters=N)`` computes (the same jitter copies, seed 0), rebuilt from the three
   without embedding again (equal up to float32 rounding; the script checks this on a few photos).

The report (a Markdown table on stdout, every number in ``--json``) scores each combination of detection setting,
face pick and embedding on the official protocol: mean accuracy over the 10 folds with its standard error (sample
standard deviation / sqrt(10)), each fold tested at the threshold that maximises accuracy on the other nine; the
accuracy of all 6,000 pairs at dlib's fixed 0.6; ROC AUC, EER and TAR at FAR 0.1% over all pairs. Pairs whose photo
gave no face count as errors (the last column scores them instead as a "not the same person" answer, right for
mismatched pairs: the rule face_recognition's published LFW figures follow). The protocol and the maths are in
:mod:`facerec.evaluation`; this script only runs the pipeline and caches.

Run from the repository root::

    .venv/bin/python benchmarks/lfw_verify.py --embedder onnx --workers 2 --json out/lfw-onnx.json
    .venv/bin/python benchmarks/lfw_verify.py --embedder dlib --workers 1 --variants plain --limit 300
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import facerec
from facerec.embedding import embed_chips
from facerec.evaluation import LfwPairs, VerificationReport, evaluate_pairs, read_pairs
from facerec.types import Box, Face

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LFW = ROOT.parent / "shared" / "data" / "lfw"
DEFAULT_CACHE = ROOT / ".cache" / "lfw"
PICKS = ("largest", "central")
UPSAMPLE = 1

# ----------------------------------------------------------------------------------------------------------------
# progress


class Progress:
    """A one-line progress indicator on stderr (count, rate, time left)."""

    def __init__(self, label: str, total: int, every_s: float | None = None) -> None:
        tty = sys.stderr.isatty()
        self.label, self.total = label, total
        self.every_s = every_s if every_s is not None else (2.0 if tty else 30.0)
        self.end = "" if tty else "\n"
        self.start_char = "\r" if tty else ""
        self.start = self.last = time.perf_counter()
        self.done = 0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every_s or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            sys.stderr.write(f"{self.start_char}{self.label}: {self.done}/{self.total} "
                             f"({self.done / max(self.total, 1):.0%}) {rate:.1f}/s, {left / 60:.1f} min left   "
                             f"{self.end}")
            sys.stderr.flush()
            if self.done == self.total:
                sys.stderr.write(f"{'' if self.end else chr(10)}{self.label}: done in {now - self.start:.1f} s\n")


def run_parallel(func: Callable[[Any], Any], items: Sequence[Any], workers: int, label: str,
                 initializer: Callable[..., None], initargs: tuple[Any, ...]) -> Iterator[Any]:
    """``func`` over ``items`` in ``workers`` processes (in this one when 1), results in order, with progress."""
    progress = Progress(label, len(items))
    if not items:
        return
    if workers <= 1:
        initializer(*initargs)
        for item in items:
            yield func(item)
            progress.update()
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=initializer, initargs=initargs) as pool:
        for result in pool.map(func, items, chunksize=8):
            yield result
            progress.update()


# ----------------------------------------------------------------------------------------------------------------
# stage 1: detection (one analyzer per worker process)

_WORKER: dict[str, Any] = {}


def _init_detect(detector: str) -> None:
    _WORKER["detector"] = facerec.FaceAnalyzer(detector=detector, upsample=UPSAMPLE)


def _faces_to_rows(faces: list[Face]) -> np.ndarray:
    rows = []
    for f in faces:
        raw = f.source_box
        rows.append([*f.box.to_dict().values(), raw.left, raw.top, raw.right, raw.bottom, f.score])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 9)


def _detect_one(item: tuple[str, str]) -> tuple[str, np.ndarray]:
    key, path = item
    return key, _faces_to_rows(_WORKER["detector"].detect(facerec.load_image(path)))


def _load_rows(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        rows, off = data["rows"], data["offsets"]
        return {str(k): rows[off[i]:off[i + 1]] for i, k in enumerate(data["keys"])}


def _save_rows(path: Path, faces: dict[str, np.ndarray]) -> None:
    keys = sorted(faces)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, keys=np.array(keys), rows=np.concatenate([faces[k] for k in keys] or
                                                                      [np.zeros((0, 9))]).reshape(-1, 9),
                        offsets=np.cumsum([0] + [len(faces[k]) for k in keys]))
    os.replace(tmp, path)


class DetectionCache:
    """Per photo: HOG's faces, and the fallback detector's on the photos where HOG found none.

    Two files under the cache folder: ``detect-hog-up1.npz`` and ``detect-<fallback>-up1-on-hog-misses.npz``.
    Each face is a row ``left top right bottom raw_left raw_top raw_right raw_bottom score`` (the clipped box,
    the detector's unclipped box, the score).
    """

    def __init__(self, folder: Path, fallback: str | None) -> None:
        self.primary_path = folder / f"detect-hog-up{UPSAMPLE}.npz"
        self.fallback_path = folder / f"detect-{fallback}-up{UPSAMPLE}-on-hog-misses.npz" if fallback else None
        self.primary = _load_rows(self.primary_path)
        self.fallback = _load_rows(self.fallback_path) if self.fallback_path else {}

    def save(self) -> None:
        _save_rows(self.primary_path, self.primary)
        if self.fallback_path is not None:
            _save_rows(self.fallback_path, self.fallback)

    def faces(self, key: str, use_fallback: bool) -> tuple[np.ndarray, bool]:
        """The face rows used for ``key``, and whether they came from the fallback detector."""
        rows = self.primary[key]
        if len(rows) == 0 and use_fallback and key in self.fallback:
            return self.fallback[key], True
        return rows, False


def detect_all(photos: dict[str, Path], cache: DetectionCache, fallback: str | None, workers: int) -> None:
    """HOG on every photo not cached yet, then the fallback on HOG's misses (``FaceAnalyzer``'s fallback rule)."""
    todo = [(k, str(p)) for k, p in photos.items() if k not in cache.primary]
    results = run_parallel(_detect_one, todo, workers, "detect (hog)", _init_detect, ("hog",))
    for done, (key, rows) in enumerate(results, start=1):
        cache.primary[key] = rows
        if done % 1000 == 0:
            cache.save()
    if fallback:
        misses = [(k, str(p)) for k, p in photos.items() if len(cache.primary[k]) == 0 and k not in cache.fallback]
        for key, rows in run_parallel(_detect_one, misses, workers, f"detect ({fallback})", _init_detect,
                                      (fallback,)):
            cache.fallback[key] = rows
        todo += misses
    if todo:
        cache.save()


# ----------------------------------------------------------------------------------------------------------------
# stage 2: embedding


def _init_embed(embedder: str, embedder_options: dict[str, Any]) -> None:
    _WORKER["analyzer"] = facerec.FaceAnalyzer(embedder=embedder, embedder_options=embedder_options)


def _rows_to_faces(rows: np.ndarray, detector: str) -> list[Face]:
    faces = []
    for r in rows:
        box = Box(*(int(v) for v in r[:4]))
        raw = Box(*(int(v) for v in r[4:8]))
        faces.append(Face(box=box, score=float(r[8]), detector=detector, raw_box=raw))
    return faces


def views_for(variants: Iterable[str], jitters: int) -> list[str]:
    """The embeddings to compute for these variants: ``plain``, ``flip`` and ``jitter<N>``."""
    views = {"plain"}
    for variant in variants:
        if variant == "flip":
            views.add("flip")
        elif variant == "jitter":
            views.add(f"jitter{jitters}")
        elif variant == "flip+jitter":
            views.update({"plain", "flip", f"jitter{jitters}"})
    return sorted(views)


def _embed_one(item: tuple[str, str, np.ndarray, tuple[str, ...]]) -> tuple[str, list[int], dict[str, np.ndarray]]:
    """Embeddings of the largest and the central face: ``{view: (2, 128)}``, rows in :data:`PICKS` order."""
    key, path, rows, views = item
    analyzer: facerec.FaceAnalyzer = _WORKER["analyzer"]
    rgb = facerec.load_image(path)
    faces = _rows_to_faces(rows, "cached")
    picked = [faces.index(facerec.pick_face(faces, rgb.shape, how)) for how in PICKS]  # type: ignore[arg-type]
    unique = sorted(set(picked))
    chips = analyzer.chips(rgb, [faces[i] for i in unique])
    embedder = analyzer.embedder
    out: dict[str, np.ndarray] = {}
    for view in views:
        if view == "plain":
            out[view] = embed_chips(embedder, chips)
        elif view == "flip":
            out[view] = embed_chips(embedder, chips, flip=True)
        elif view.startswith("jitter"):
            out[view] = embed_chips(embedder, chips, num_jitters=int(view[len("jitter"):]))
    row_of = {face_index: n for n, face_index in enumerate(unique)}
    return key, picked, {name: vec[[row_of[i] for i in picked]] for name, vec in out.items()}


class EmbeddingCache:
    """Per photo: the picked face indices and ``{view: (2, 128)}`` embeddings of the largest and central face.

    Views not computed for a photo are stored as ``NaN`` and read back as absent.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.picked: dict[str, np.ndarray] = {}
        self.vectors: dict[str, dict[str, np.ndarray]] = {}
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                keys = [str(k) for k in data["keys"]]
                names = [n[len("emb_"):] for n in data.files if n.startswith("emb_")]
                arrays = {n: data["emb_" + n] for n in names}
                picked = data["picked"]
                for i, key in enumerate(keys):
                    self.picked[key] = picked[i]
                    self.vectors[key] = {n: arrays[n][i] for n in names if not np.isnan(arrays[n][i]).any()}

    def has(self, key: str, views: Iterable[str]) -> bool:
        return key in self.vectors and all(v in self.vectors[key] for v in views)

    def save(self) -> None:
        keys = sorted(self.picked)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        names = sorted({n for k in keys for n in self.vectors[k]})
        missing = np.full((2, 128), np.nan, np.float32)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp, keys=np.array(keys), picked=np.array([self.picked[k] for k in keys]).reshape(-1, 2),
            **{"emb_" + n: np.array([self.vectors[k].get(n, missing) for k in keys],
                                    dtype=np.float32).reshape(-1, 2, 128) for n in names})
        os.replace(tmp, self.path)


def embed_all(photos: dict[str, Path], detections: DetectionCache, cache: EmbeddingCache, use_fallback: bool,
              embedder: str, embedder_options: dict[str, Any], views: Sequence[str], workers: int) -> None:
    todo = []
    for key, path in photos.items():
        rows, _ = detections.faces(key, use_fallback)
        if len(rows) and not cache.has(key, views):
            have = cache.vectors.get(key, {})
            todo.append((key, str(path), rows, tuple(v for v in views if v not in have)))
    results = run_parallel(_embed_one, todo, workers, f"embed ({embedder})", _init_embed,
                           (embedder, embedder_options))
    for done, (key, picked, vectors) in enumerate(results, start=1):
        cache.picked[key] = np.asarray(picked)
        cache.vectors.setdefault(key, {}).update(vectors)
        if done % 1000 == 0:
            cache.save()
    if todo:
        cache.save()


# ----------------------------------------------------------------------------------------------------------------
# scoring


def variant_vector(vectors: dict[str, np.ndarray], variant: str, pick: int, jitters: int) -> np.ndarray | None:
    """The embedding of ``variant`` for face ``pick`` (0 largest, 1 central), ``None`` if not computed."""
    jitter = f"jitter{jitters}"
    if variant == "flip+jitter":
        if not {jitter, "flip", "plain"} <= set(vectors):
            return None
        # flip = (plain + mirrored) / 2 and jitterN = (plain + N-1 jittered) / N, so the N+1 views of
        # embed_chips(flip=True, num_jitters=N) average to (N * jitterN + mirrored) / (N + 1)
        mirrored = 2.0 * vectors["flip"][pick] - vectors["plain"][pick]
        return (jitters * vectors[jitter][pick] + mirrored) / (jitters + 1)
    vec = vectors.get(jitter if variant == "jitter" else variant)
    return None if vec is None else vec[pick]


def score_variants(pairs: LfwPairs, photos: Iterable[str], detections: DetectionCache, cache: EmbeddingCache,
                   variants: Sequence[str], jitters: int, fallback: str | None) -> list[dict[str, Any]]:
    rows = []
    settings = [("hog", False)] + ([(f"hog + {fallback} fallback", True)] if fallback else [])
    for setting, use_fallback in settings:
        for p, pick in enumerate(PICKS):
            for variant in variants:
                embeddings: dict[str, np.ndarray | None] = {}
                for key in photos:
                    face_rows, _ = detections.faces(key, use_fallback)
                    if len(face_rows) == 0 or key not in cache.vectors:
                        embeddings[key] = None
                        continue
                    embeddings[key] = variant_vector(cache.vectors[key], variant, p, jitters)
                if any(v is None for k, v in embeddings.items() if len(detections.faces(k, use_fallback)[0])):
                    continue  # this variant was not computed
                report = evaluate_pairs(pairs, embeddings)
                lenient = evaluate_pairs(pairs, embeddings, missing_as="different")
                label = variant.replace("jitter", f"jitter{jitters}")
                rows.append({"detection": setting, "pick": pick, "embedding": label, "report": report,
                             "report_missing_as_different": lenient})
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    header = ("| detection | face pick | embedding | accuracy (10-fold) ± SE | accuracy @ 0.6 | ROC AUC | EER | "
              "TAR @ FAR 0.1% | mean threshold | photos without face | accuracy ± SE, no face = \"different\" |")
    lines = [header,
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        r: VerificationReport = row["report"]
        lenient: VerificationReport = row["report_missing_as_different"]
        tar = r.tar_at_far.get(1e-3, (float("nan"), 0.0))[0]
        lines.append(
            f"| {row['detection']} | {row['pick']} | {row['embedding']} | "
            f"{r.kfold.mean:.2%} ± {r.kfold.standard_error:.2%} | {r.fixed_accuracy:.2%} | {r.auc:.5f} | "
            f"{r.eer:.2%} | {tar:.2%} | {np.mean(r.kfold.thresholds):.3f} | {r.n_photos_missing} | "
            f"{lenient.kfold.mean:.2%} ± {lenient.kfold.standard_error:.2%} |")
    return "\n".join(lines)


def limit_pairs(pairs: LfwPairs, limit: int | None) -> LfwPairs:
    """The first ``limit / (2 * folds)`` matched and mismatched pairs of every fold (all pairs when ``None``)."""
    if not limit or limit >= len(pairs):
        return pairs
    per = max(1, limit // (2 * pairs.n_folds))
    kept = [p for i, p in enumerate(pairs) if (i % (2 * pairs.pairs_per_fold)) % pairs.pairs_per_fold < per]
    return LfwPairs(pairs=tuple(kept), n_folds=pairs.n_folds, pairs_per_fold=per)


def parity_check(photos: dict[str, Path], cache: EmbeddingCache, embedder: str, embedder_options: dict[str, Any],
                 fallback: str | None, variants: Sequence[str], jitters: int, count: int) -> dict[str, float]:
    """Largest difference, per variant, between the cached central-face embedding and what ``FaceAnalyzer``
    (with that variant's ``flip``/``num_jitters``) and ``pick_face(..., "central")`` give, on ``count`` photos.

    Only photos whose largest and central face are the same are checked (the jitter's random copies are drawn
    per call, so a second face in the same call would get other copies).
    """
    options = {"plain": {}, "flip": {"flip": True}, "jitter": {"num_jitters": jitters},
               "flip+jitter": {"flip": True, "num_jitters": jitters}}
    keys = [k for k in sorted(photos) if k in cache.vectors and cache.picked[k][0] == cache.picked[k][1]]
    keys = keys[:: max(1, len(keys) // max(count, 1))][:count]
    worst: dict[str, float] = {}
    for variant in variants:
        analyzer = facerec.FaceAnalyzer(embedder=embedder, fallback_detector=fallback,
                                        embedder_options=embedder_options, **options[variant])
        for key in keys:
            cached = variant_vector(cache.vectors[key], variant, 1, jitters)
            rgb = facerec.load_image(photos[key])
            face = facerec.pick_face(analyzer.detect(rgb), rgb.shape, "central")
            if face is None or cached is None:
                continue
            vec = analyzer.analyze(rgb, [face])[0].embedding
            worst[variant] = max(worst.get(variant, 0.0), float(np.abs(vec - cached).max()))  # type: ignore[operator]
    return worst


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW, help="LFW folder with pairs.txt and images/ "
                        f"(default: {DEFAULT_LFW})")
    parser.add_argument("--embedder", default="onnx" if "onnx" in facerec.list_embedders() else "dlib",
                        choices=facerec.list_embedders(), help="embedder backend (default: onnx when available)")
    parser.add_argument("--embedder-threads", type=int, default=None,
                        help="threads per worker for embedders that take a 'threads' option (onnx)")
    parser.add_argument("--fallback", default="auto",
                        help="detector tried where HOG finds no face: a detector name, 'auto' (cnn if registered, "
                             "else cnn-dlib) or 'none'")
    parser.add_argument("--variants", default="plain,flip,jitter,flip+jitter",
                        help="comma-separated embeddings to score: plain, flip, jitter, flip+jitter")
    parser.add_argument("--jitters", type=int, default=10, help="num_jitters of the jitter variants (default 10)")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="worker processes, each with its own FaceAnalyzer (default: all cores)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only about this many pairs, spread evenly over the folds (for a quick run)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"cache folder (default: "
                        f"{DEFAULT_CACHE.relative_to(ROOT)})")
    parser.add_argument("--parity-photos", type=int, default=20,
                        help="photos re-run through FaceAnalyzer + pick_face to check the cached pipeline")
    parser.add_argument("--json", type=Path, default=None, help="write every number here as JSON")
    args = parser.parse_args(argv)

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - {"plain", "flip", "jitter", "flip+jitter"}
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}")
    fallback: str | None = args.fallback
    if fallback == "auto":
        fallback = "cnn" if "cnn" in facerec.list_detectors() else "cnn-dlib"
    elif fallback == "none":
        fallback = None
    views = views_for(variants, args.jitters)
    embedder_options: dict[str, Any] = {}
    if args.embedder_threads is not None:
        embedder_options["threads"] = args.embedder_threads

    pairs = limit_pairs(read_pairs(args.lfw / "pairs.txt"), args.limit)
    photos = pairs.paths(args.lfw)
    sys.stderr.write(f"{len(pairs)} pairs, {len(photos)} photos, embedder {args.embedder}, fallback {fallback}, "
                     f"{args.workers} workers\n")

    t0 = time.perf_counter()
    det_cache = DetectionCache(args.cache_dir, fallback)
    detect_all(photos, det_cache, fallback, args.workers)
    t_detect = time.perf_counter() - t0

    t0 = time.perf_counter()
    emb_cache = EmbeddingCache(args.cache_dir / f"embed-hog-up{UPSAMPLE}-fb-{fallback or 'none'}-{args.embedder}"
                                                ".npz")
    embed_all(photos, det_cache, emb_cache, fallback is not None, args.embedder, embedder_options, views,
              args.workers)
    t_embed = time.perf_counter() - t0

    rows = score_variants(pairs, photos, det_cache, emb_cache, variants, args.jitters, fallback)
    parity = parity_check(photos, emb_cache, args.embedder, embedder_options, fallback, variants, args.jitters,
                          args.parity_photos) if args.parity_photos else {}

    n_hog_missing = sum(1 for k in photos if len(det_cache.primary[k]) == 0)
    n_both_missing = sum(1 for k in photos if len(det_cache.faces(k, True)[0]) == 0) if fallback else n_hog_missing
    n_multi = sum(1 for k in photos if len(det_cache.primary[k]) > 1)
    n_pick_differs = sum(1 for k in photos
                         if k in emb_cache.picked and emb_cache.picked[k][0] != emb_cache.picked[k][1])
    print(f"LFW {args.lfw}: {len(pairs)} pairs in {pairs.n_folds} folds, {len(photos)} photos; "
          f"embedder {args.embedder}")
    print(f"photos without a HOG face: {n_hog_missing}; without a face after the {fallback} fallback: "
          f"{n_both_missing}; with more than one HOG face: {n_multi}; where largest != central: {n_pick_differs}")
    print(f"time (this run, cached work excluded): detection {t_detect:.0f} s, embedding {t_embed:.0f} s, "
          f"{args.workers} workers")
    print(f"parity: cached central-face embeddings vs FaceAnalyzer + pick_face on {args.parity_photos} photos, "
          "max abs diff: " + ", ".join(f"{k} {v:.1e}" for k, v in parity.items()))
    print()
    print(markdown_table(rows))

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "lfw": str(args.lfw), "embedder": args.embedder, "fallback": fallback, "jitters": args.jitters,
            "n_pairs": len(pairs), "n_photos": len(photos), "photos_without_hog_face": n_hog_missing,
            "photos_without_face_after_fallback": n_both_missing, "photos_with_several_faces": n_multi,
            "photos_where_pick_differs": n_pick_differs, "detect_s": t_detect, "embed_s": t_embed,
            "parity_max_abs_diff": parity,
            "rows": [{**{k: v for k, v in r.items() if not k.startswith("report")}, **r["report"].to_dict(),
                      "missing_as_different": r["report_missing_as_different"].to_dict()} for r in rows],
        }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
