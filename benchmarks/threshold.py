"""The default distance threshold: face_recognition's false-accept rate at 0.6, kept with flip averaging.

face_recognition compares plain dlib embeddings at 0.6. facerec's default pipeline averages each face's embedding
with its mirror image's ("flip"), which pulls embeddings of different people closer too, so the same 0.6 accepts
more strangers. This script measures, on LFW, with the embeddings ``benchmarks/lfw_verify.py`` caches (HOG at
upsample 1, 5-point alignment, the largest face of each photo; the photos where HOG finds a face; views ``plain`` =
face_recognition's pipeline and ``flip`` = facerec's default):

1. **Pairs.** The false-accept rate (FAR: share of different-person pairs at or under the threshold) of ``plain``
   at 0.6, over the 3,000 mismatched pairs of ``pairs.txt`` and over *every* different-person pair of the 7,701
   photos (about 29 million: the precise figure), and the threshold at which ``flip`` has the same FAR (from
   every pair). Also the true-accept rate (TAR) of same-person pairs at both, and a FAR table per threshold
   (``--table``: the one :func:`facerec.compare.false_accept_rate` reads).
2. **Open set.** A seeded quarter of the people are strangers (never enrolled); every other person enrolls up
   to ``--enroll`` photos and their remaining photos are probes. A probe is named after the nearest enrolled
   person (nearest sample, as ``facerec identify`` does) when that distance is at or under the threshold. For
   galleries of several sizes (people drawn at random, ``--repeats`` draws each): strangers rejected (share of
   stranger photos called unknown), closed-set top-1 (nearest person right, whatever the distance), and
   detection-and-identification rate (DIR: named, and rightly), at ``plain`` 0.6, ``flip`` 0.6 and ``flip`` at
   the new default; and the ``flip`` threshold that rejects 95% of strangers at each gallery size.

Run from the repository root after ``benchmarks/lfw_verify.py --cache-dir DIR`` has filled the cache::

    .venv/bin/python benchmarks/threshold.py --cache-dir /work/cache/lfw --json build/threshold.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from lfw_verify import DEFAULT_CACHE, DEFAULT_LFW, UPSAMPLE, DetectionCache, EmbeddingCache  # noqa: E402

from facerec.evaluation import read_pairs  # noqa: E402

REFERENCE_THRESHOLD = 0.6
VIEWS = ("plain", "flip")
PICKS = {"largest": 0, "central": 1}
GALLERY_SIZES = (1, 3, 10, 30, 100, 300, 1000)
#: Thresholds at which the open set's stranger accept rate is tabulated (for facerec's estimate).
STRANGER_GRID = [round(0.35 + 0.01 * i, 2) for i in range(41)]


def load_embeddings(cache_dir: Path, embedder: str, fallback: str, pick: int,
                    keys: list[str]) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """``(photo keys, person index per photo, {view: (n, 128)})`` of the photos where HOG found a face."""
    detections = DetectionCache(cache_dir, fallback)
    cache = EmbeddingCache(cache_dir / f"embed-hog-up{UPSAMPLE}-fb-{fallback}-{embedder}.npz")
    kept = [k for k in keys if len(detections.primary.get(k, ())) and all(v in cache.vectors.get(k, {})
                                                                          for v in VIEWS)]
    names = sorted({k.split("/")[0] for k in kept})
    index = {n: i for i, n in enumerate(names)}
    people = np.array([index[k.split("/")[0]] for k in kept])
    vectors = {v: np.stack([cache.vectors[k][v][pick] for k in kept]).astype(np.float32) for v in VIEWS}
    return kept, people, vectors


def all_pair_distances(x: np.ndarray, people: np.ndarray, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Distances of every different-person pair and every same-person pair (``i < j``), float32."""
    sq = (x.astype(np.float64) ** 2).sum(axis=1)
    different, same = [], []
    for start in range(0, len(x), block):
        stop = min(start + block, len(x))
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (x[start:stop].astype(np.float64) @ x.T.astype(np.float64))
        d = np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)
        rows = np.arange(start, stop)[:, None]
        upper = np.arange(len(x))[None, :] > rows
        match = people[start:stop, None] == people[None, :]
        different.append(d[upper & ~match])
        same.append(d[upper & match])
    return np.concatenate(different), np.concatenate(same)


def rate_at(distances: np.ndarray, threshold: float) -> float:
    return float(np.count_nonzero(distances <= threshold) / max(len(distances), 1))


def threshold_for_rate(distances: np.ndarray, rate: float) -> float:
    """The largest threshold whose accept rate on ``distances`` is at most ``rate`` (just under the
    ``floor(rate * m) + 1``-th smallest distance)."""
    k = int(np.floor(rate * len(distances) + 1e-9))
    ordered = np.partition(distances, k)[: k + 1]
    ordered.sort()
    return float(np.nextafter(ordered[k], np.float32(0))) if k < len(distances) else float(distances.max())


def official_pairs(lfw: Path, kept: list[str], vectors: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Distances of the pairs.txt pairs whose two photos are kept: ``{view: {"same", "different"}}``."""
    row = {k: i for i, k in enumerate(kept)}
    pairs = [p for p in read_pairs(lfw / "pairs.txt") if p.photo_a in row and p.photo_b in row]
    a = np.array([row[p.photo_a] for p in pairs])
    b = np.array([row[p.photo_b] for p in pairs])
    same = np.array([p.same for p in pairs])
    out = {}
    for view, x in vectors.items():
        d = np.linalg.norm(x[a] - x[b], axis=1)
        out[view] = {"same": d[same], "different": d[~same]}
    return out


# ---------------------------------------------------------------------------------------------------------------
# open set


def open_set(people: np.ndarray, vectors: dict[str, np.ndarray], thresholds: dict[str, list[tuple[str, float]]],
             enroll: int, repeats: int, seed: int, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Strangers rejected, top-1 and DIR per gallery size (see the module docstring)."""
    rng = np.random.default_rng(seed)
    identities = np.unique(people)
    strangers = set(rng.choice(identities, size=len(identities) // 4, replace=False).tolist())
    order = rng.permutation(len(people))
    gallery_rows: list[int] = []
    probe_rows: list[int] = []
    taken: dict[int, int] = {}
    for i in order:
        person = int(people[i])
        if person in strangers:
            continue
        if taken.get(person, 0) < enroll:
            gallery_rows.append(int(i))
            taken[person] = taken.get(person, 0) + 1
        else:
            probe_rows.append(int(i))
    stranger_rows = [i for i in range(len(people)) if int(people[i]) in strangers]
    enrolled = np.array(sorted(taken))
    column = {p: c for c, p in enumerate(enrolled)}
    gallery_person = np.array([column[int(people[i])] for i in gallery_rows])
    # distance of every probe / stranger photo to its nearest sample of every enrolled person
    # gallery columns grouped by person: the per-person minimum is one reduceat
    by_person = np.argsort(gallery_person, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(gallery_person[by_person]) != 0])
    nearest: dict[str, dict[str, np.ndarray]] = {}
    for view, x in vectors.items():
        g = x[gallery_rows][by_person].astype(np.float64)
        per = {}
        for part, rows in (("probe", probe_rows), ("stranger", stranger_rows)):
            out = np.empty((len(rows), len(enrolled)), dtype=np.float32)
            for start in range(0, len(rows), 256):
                chunk = x[rows[start:start + 256]].astype(np.float64)
                d = np.sqrt(np.maximum((chunk ** 2).sum(1)[:, None] + (g ** 2).sum(1)[None, :]
                                       - 2.0 * chunk @ g.T, 0.0))
                out[start:start + len(chunk)] = np.minimum.reduceat(d, starts, axis=1)
            per[part] = out
        nearest[view] = per
    probe_truth = np.array([column[int(people[i])] for i in probe_rows])
    samples_of = np.bincount(gallery_person, minlength=len(enrolled))
    all_sizes = [s for s in sizes if s < len(enrolled)] + [len(enrolled)]
    results: dict[str, Any] = {"enrolled_people": len(enrolled), "gallery_photos": len(gallery_rows),
                               "probe_photos": len(probe_rows), "stranger_people": len(strangers),
                               "stranger_photos": len(stranger_rows), "enroll": enroll, "grid": STRANGER_GRID,
                               "sizes": []}
    for size in all_sizes:
        draws = repeats if size < len(enrolled) else 1
        acc: dict[str, list[float]] = {}
        for _ in range(draws):
            chosen = np.sort(rng.choice(len(enrolled), size=size, replace=False)) if size < len(enrolled) \
                else np.arange(len(enrolled))
            acc.setdefault("samples", []).append(float(samples_of[chosen].sum()))
            mask = np.isin(probe_truth, chosen)
            for view in VIEWS:
                s_best = nearest[view]["stranger"][:, chosen].min(axis=1)
                t95 = threshold_for_rate(s_best, 0.05)
                acc.setdefault(f"{view}:t95", []).append(t95)
                acc.setdefault(f"{view}:accepted_grid", []).append([rate_at(s_best, t) for t in STRANGER_GRID])
                for label, t in thresholds[view]:
                    acc.setdefault(f"{view}@{label}:rejected", []).append(1.0 - rate_at(s_best, t))
                if not mask.any():  # no probe photo among these people: known-person figures undefined
                    continue
                p = nearest[view]["probe"][mask][:, chosen]
                best = p.argmin(axis=1)
                best_d = p[np.arange(len(p)), best]
                right = chosen[best] == probe_truth[mask]
                acc.setdefault(f"{view}:probes", []).append(float(mask.sum()))
                acc.setdefault(f"{view}:top1", []).append(float(right.mean()))
                for label, t in thresholds[view]:
                    acc.setdefault(f"{view}@{label}:dir", []).append(float((right & (best_d <= t)).mean()))
                acc.setdefault(f"{view}@t95:dir", []).append(float((right & (best_d <= t95)).mean()))
        row: dict[str, Any] = {"people": size, "draws": draws}
        for key, values in acc.items():
            if key.endswith((":dir", ":top1")):  # weighted by the draw's probe photos
                weights = np.asarray(acc[f"{key.split('@')[0].split(':')[0]}:probes"])
                row[key] = float(np.average(values, weights=weights))
            elif key.endswith("accepted_grid"):
                row[key] = [float(v) for v in np.mean(values, axis=0)]
            else:
                row[key] = float(np.mean(values))
        results["sizes"].append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="lfw_verify.py's cache folder")
    parser.add_argument("--embedder", default="onnx")
    parser.add_argument("--fallback", default="cnn", help="the fallback named in the cache's file names")
    parser.add_argument("--pick", choices=sorted(PICKS), default="largest")
    parser.add_argument("--enroll", type=int, default=1, help="photos enrolled per known person (open set)")
    parser.add_argument("--repeats", type=int, default=50, help="draws per gallery size below all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--default", type=float, default=None,
                        help="the flip threshold to score as the default (default: the derived one, 2 decimals)")
    parser.add_argument("--table", action="store_true", help="print the FAR table per threshold (Python)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    keys = read_pairs(args.lfw / "pairs.txt").photos()
    kept, people, vectors = load_embeddings(args.cache_dir, args.embedder, args.fallback, PICKS[args.pick], keys)
    print(f"LFW pairs.txt photos with a HOG face and both views cached: {len(kept)} of {len(keys)}, "
          f"{len(np.unique(people))} people; face pick {args.pick}; embedder {args.embedder}; "
          f"load average {os.getloadavg()[0]:.1f}")
    official = official_pairs(args.lfw, kept, vectors)
    every = {view: all_pair_distances(x, people) for view, x in vectors.items()}
    ref_far = rate_at(every["plain"][0], REFERENCE_THRESHOLD)
    derived = threshold_for_rate(every["flip"][0], ref_far)
    default = args.default if args.default is not None else float(np.floor(derived * 100) / 100)
    report: dict[str, Any] = {"photos": len(kept), "people": len(np.unique(people)), "pick": args.pick,
                              "reference_far": ref_far, "derived_flip_threshold": derived, "default": default}
    print(f"\ndifferent-person pairs: {len(every['plain'][0]):,} (every pair), "
          f"{len(official['plain']['different']):,} (pairs.txt); same-person: {len(every['plain'][1]):,} / "
          f"{len(official['plain']['same']):,}")
    print(f"plain FAR at {REFERENCE_THRESHOLD}: {ref_far:.5f} (every pair); flip reaches it at {derived:.4f}; "
          f"default (rounded down): {default:.2f}\n")
    print("| pipeline | threshold | FAR, every pair | FAR, pairs.txt | TAR, every pair | TAR, pairs.txt |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for view, t in (("plain", REFERENCE_THRESHOLD), ("flip", REFERENCE_THRESHOLD), ("flip", derived),
                    ("flip", default)):
        row = {"view": view, "threshold": t, "far_every": rate_at(every[view][0], t),
               "far_pairs": rate_at(official[view]["different"], t), "tar_every": rate_at(every[view][1], t),
               "tar_pairs": rate_at(official[view]["same"], t)}
        rows.append(row)
        print(f"| {view} | {t:.4f} | {row['far_every']:.5f} | {row['far_pairs']:.5f} | {row['tar_every']:.4f} | "
              f"{row['tar_pairs']:.4f} |")
    report["pairs"] = rows
    grid = [round(0.30 + 0.01 * i, 2) for i in range(51)]
    report["far_table"] = {view: [rate_at(every[view][0], t) for t in grid] for view in VIEWS}
    report["far_grid"] = grid
    if args.table:
        print("\nFAR per threshold (every different-person pair):")
        print(f"_FAR_THRESHOLDS = {tuple(grid)}")
        for view in VIEWS:
            print(f"{view}: (" + ", ".join(f"{v:.3g}" for v in report["far_table"][view]) + ")")

    thresholds = {"plain": [("0.6", REFERENCE_THRESHOLD)],
                  "flip": [("0.6", REFERENCE_THRESHOLD), (f"{default:.2f}", default)]}
    opened = open_set(people, vectors, thresholds, args.enroll, args.repeats, args.seed, GALLERY_SIZES)
    report["open_set"] = opened
    print(f"\nopen set: {opened['enrolled_people']} enrolled people ({opened['gallery_photos']} photos, up to "
          f"{args.enroll} each), {opened['probe_photos']} probe photos of them; {opened['stranger_people']} "
          f"strangers ({opened['stranger_photos']} photos)\n")
    d = f"{default:.2f}"
    print(f"| people (photos) in gallery | top-1 plain / flip | strangers rejected: plain 0.6 / flip 0.6 / flip {d} | "
          f"DIR: plain 0.6 / flip 0.6 / flip {d} | flip threshold for 95% rejected (DIR there) |")
    print("|---:|---:|---:|---:|---:|")
    for s in opened["sizes"]:
        print(f"| {s['people']} ({s['samples']:.0f}) | {s['plain:top1']:.3f} / {s['flip:top1']:.3f} | "
              f"{s['plain@0.6:rejected']:.3f} / {s['flip@0.6:rejected']:.3f} / {s[f'flip@{d}:rejected']:.3f} | "
              f"{s['plain@0.6:dir']:.3f} / {s['flip@0.6:dir']:.3f} / {s[f'flip@{d}:dir']:.3f} | "
              f"{s['flip:t95']:.3f} ({s['flip@t95:dir']:.3f}) |")
    if args.table:
        print("\nstrangers accepted per gallery size (rows: enrolled photos; columns: thresholds "
              f"{STRANGER_GRID[0]}..{STRANGER_GRID[-1]} by 0.01), flip:")
        for s in opened["sizes"]:
            print(f"    ({s['samples']:.0f}, (" + ", ".join(f"{v:.3g}" for v in s["flip:accepted_grid"]) + ")),")
        print("plain:")
        for s in opened["sizes"]:
            print(f"    ({s['samples']:.0f}, (" + ", ".join(f"{v:.3g}" for v in s["plain:accepted_grid"]) + ")),")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
