"""Photo-library indexing and clustering: photos/s on LFW with local workers and with Ray, database insert rates,
and the people found (pairwise precision/recall against LFW's names).

Run (a few minutes; add ``--pg-dsn`` to time PostgreSQL inserts too)::

    nice -n 5 .venv/bin/python benchmarks/index.py --photos 1000 --json out/index.json

What it does:

1. **Indexing.** A seeded subset of LFW (``--photos``; whole people with 2-30 photos each, drawn at random, so the
   subset holds people of many photo counts like a personal library) is indexed into a fresh SQLite library with
   ``facerec.library.index_photos``, once per configuration: 1 and 2 local worker processes, and 1 and 2 Ray actors
   on a local Ray instance (``ray.init(num_cpus=2)``, started once; its start is timed on its own). The photos are
   split into ``--rounds`` chunks and the configurations take turns on each chunk (their order rotating), so that
   the load of a shared machine touches them alike; each chunk is one run (workers started, models loaded).
   Wall time includes starting the workers and loading their models; "steady photos/s" is the rate between the
   first and the last batch of each run. Every configuration must store the same number of faces.
2. **Insert rate.** ``PhotoStore.write_batch`` of synthetic photos (one face each, 128-d embedding, 4 kB
   thumbnail) in batches of 64, into SQLite and (``--pg-dsn``) PostgreSQL (COPY).
3. **People.** On the faces of the first library: Immich's core-point scheme as facerec runs it after each index
   (``facerec.library.people.cluster_library``, every face of every photo clustered, background faces included)
   at several distances and ``min_faces``, also run incrementally in 4 chunks (4 successive index runs), against
   today's agglomerative clustering (``facerec.recognition.cluster_faces``, average linkage, 0.55) on the same
   faces. Scored on the central face of each photo (the one LFW names) with ``pairwise_scores``; faces left
   unclustered count as singletons.
4. **Clustering time at scale.** ``core_point_clusters`` on embeddings drawn from the LFW-fitted Gaussian model
   (``GaussianFaceModel``, 5 faces a person) at growing sizes, exact and HNSW neighbours.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
# Ray's worker processes must import this checkout's facerec too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))

LFW = ROOT.parent / "shared" / "data" / "lfw" / "images"


def lfw_subset(count: int, seed: int) -> list[Path]:
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    rng = random.Random(seed)
    rng.shuffle(people)
    chosen: list[Path] = []
    for person in people:
        photos = sorted(person.glob("*.jpg"))
        if len(photos) < 2:
            continue
        chosen.extend(photos[:30])
        if len(chosen) >= count:
            break
    return chosen[:count]


def link_folder(photos: list[Path], folder: Path) -> Path:
    for photo in photos:
        target = folder / photo.parent.name / photo.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(photo)
    return folder


def run_index(photos: Path, library: Path, pool: Any, batch_size: int) -> dict[str, Any]:
    from facerec.library import index_photos, open_store

    marks: list[tuple[float, int]] = []
    cpu = time.process_time()
    start = time.perf_counter()
    with open_store(library) as store:
        report = index_photos(store, [photos], pool=pool, batch_size=batch_size,
                              on_progress=lambda p: marks.append((time.perf_counter(), p.done)))
        faces = store.counts()["faces"]
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    (t0, d0), (t1, d1) = marks[0], marks[-1]
    return {"photos": report.progress.total, "stored": report.progress.stored, "faces": faces,
            "failed": report.progress.failed, "wall_s": round(wall, 2),
            "photos_per_s": round(report.progress.total / wall, 2),
            # this process's CPU time per photo: the analysis itself only with one local worker (in-process)
            "driver_cpu_ms_per_photo": round(1000 * cpu / max(report.progress.total, 1), 1),
            "steady_s": t1 - t0, "steady_photos": d1 - d0}


def _pool(kind: str, workers: int) -> Any:
    from facerec.library import LocalPool

    if kind == "ray":
        from facerec.library.ray_pool import RayPool

        return RayPool(workers=workers)
    return LocalPool(workers=workers)


def indexing(photos: list[Path], work: Path, batch_size: int, configs: list[str], rounds: int) -> list[dict[str, Any]]:
    """Each configuration indexes the photos into its own library, in ``rounds`` chunks taken in turns (the order
    of the configurations rotating each round), so that changes in the machine's load touch every configuration
    alike. Each chunk is one run: workers (or Ray actors) started, models loaded, photos indexed, workers stopped."""
    ray_init_s = None
    if any(c.startswith("ray:") for c in configs):
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_init_s = round(time.perf_counter() - start, 2)
    totals: dict[str, dict[str, Any]] = {c: {"photos": 0, "stored": 0, "faces": 0, "failed": 0, "wall_s": 0.0,
                                             "steady_s": 0.0, "steady_photos": 0, "cpu_ms": 0.0} for c in configs}
    try:
        chunks = np.array_split(np.arange(len(photos)), rounds)
        for turn, chunk in enumerate(chunks):
            folder = link_folder([photos[i] for i in chunk], work / f"photos{turn}")
            order = configs[turn % len(configs):] + configs[:turn % len(configs)]
            for config in order:
                kind, count = config.split(":")
                pool = _pool(kind, int(count))
                try:
                    row = run_index(folder, work / f"{kind}{count}.sqlite", pool, batch_size)
                finally:
                    pool.close()
                total = totals[config]
                for key in ("photos", "stored", "faces", "failed"):
                    total[key] += row[key]
                total["wall_s"] += row["wall_s"]
                total["steady_s"] += row["steady_s"]
                total["steady_photos"] += row["steady_photos"]
                total["cpu_ms"] += row["driver_cpu_ms_per_photo"] * row["photos"]
                print(json.dumps({"round": turn, "config": config, **row}), file=sys.stderr, flush=True)
    finally:
        if ray_init_s is not None:
            import ray

            ray.shutdown()
    out = []
    for config, total in totals.items():
        kind, count = config.split(":")
        out.append({"config": f"{'Ray actors' if kind == 'ray' else 'local workers'}: {count}",
                    "photos": total["photos"], "stored": total["stored"], "faces": total["faces"],
                    "failed": total["failed"], "wall_s": round(total["wall_s"], 1),
                    "photos_per_s": round(total["photos"] / total["wall_s"], 2),
                    "steady_photos_per_s": round(total["steady_photos"] / total["steady_s"], 2)
                    if total["steady_s"] else None,
                    "driver_cpu_ms_per_photo": round(total["cpu_ms"] / max(total["photos"], 1), 1),
                    "ray_init_s": ray_init_s if kind == "ray" else None})
    return out


def insert_rate(location: str, faces: int, **options: Any) -> dict[str, Any]:
    from facerec.library import IndexedFace, PhotoResult, open_store
    from facerec.types import Box

    rng = np.random.default_rng(0)
    thumb = bytes(rng.integers(0, 256, 4096, dtype=np.uint8))
    results = [PhotoResult(f"/synthetic/{i:08d}.jpg", f"{i:064x}", 1000, i, 250, 250,
                           (IndexedFace(Box(10, 10, 100, 100), 1.0, rng.normal(size=128).astype(np.float32),
                                        thumb),)) for i in range(faces)]
    with open_store(location, **options) as store:
        start = time.perf_counter()
        for i in range(0, faces, 64):
            store.write_batch(results[i:i + 64], model_id="synthetic")
        seconds = time.perf_counter() - start
        if hasattr(store, "drop"):
            store.drop()
    return {"faces": faces, "seconds": round(seconds, 2), "faces_per_s": round(faces / seconds)}


def central_faces(library: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every face's id and embedding; and for each photo its central face's row and the photo's person."""
    from facerec.library import open_store

    with open_store(library) as store:
        table = store.face_table()
        row_of = {int(f): i for i, f in enumerate(table.ids)}
        rows, names = [], []
        for photo_id, path, _sha, _count in store.photos():
            faces = store.faces_of_photo(photo_id)
            if not faces:
                continue
            central = min(faces, key=lambda f: (f.box.center[0] - 125) ** 2 + (f.box.center[1] - 125) ** 2)
            rows.append(row_of[central.id])
            names.append(Path(path).parent.name)
    return table.ids, table.vectors, np.asarray(rows), np.asarray(names)


def clustering(library: Path) -> list[dict[str, Any]]:
    from facerec.library.people import core_point_clusters
    from facerec.recognition import cluster_faces, pairwise_scores

    _ids, vectors, rows, names = central_faces(library)
    out = []

    def score(method: str, labels: np.ndarray, seconds: float, on_central_only: bool = False) -> None:
        picked = labels if on_central_only else labels[rows]
        s = pairwise_scores(names, picked)
        out.append({"method": method, "precision": round(s.precision, 4), "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4), "clusters": s.n_clusters, "unclustered": round(s.noise, 4),
                    "seconds": round(seconds, 2)})
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)

    for threshold in (0.4, 0.45, 0.5, 0.55):
        for min_faces in (1, 2, 3):
            start = time.perf_counter()
            labels = core_point_clusters(vectors, np.full(len(vectors), -1), distance_threshold=threshold,
                                         min_faces=min_faces, method="exact")
            score(f"core-point, all faces, d={threshold} min_faces={min_faces}", labels,
                  time.perf_counter() - start)
    for threshold in (0.45, 0.5):
        labels = np.full(len(vectors), -1)
        start = time.perf_counter()
        for chunk in np.array_split(np.arange(len(vectors)), 4):   # faces arrive in 4 index runs
            seen = chunk[-1] + 1
            labels[:seen] = core_point_clusters(vectors[:seen], labels[:seen], distance_threshold=threshold,
                                                min_faces=3, method="exact")
        score(f"core-point, all faces, 4 incremental runs, d={threshold} min_faces=3", labels,
              time.perf_counter() - start)
    for threshold in (0.5, 0.55, 0.6):
        start = time.perf_counter()
        labels = cluster_faces(vectors, method="agglomerative", distance_threshold=threshold)
        score(f"agglomerative (average), all faces, d={threshold}", labels, time.perf_counter() - start)
    start = time.perf_counter()
    labels = cluster_faces(vectors[rows], method="agglomerative", distance_threshold=0.55)
    score("agglomerative (average), central faces only, d=0.55", labels, time.perf_counter() - start, True)
    start = time.perf_counter()
    labels = core_point_clusters(vectors[rows], np.full(len(rows), -1), distance_threshold=0.5, min_faces=3,
                                 method="exact")
    score("core-point, central faces only, d=0.5 min_faces=3", labels, time.perf_counter() - start, True)
    return out


def clustering_cached(cache: Path) -> list[dict[str, Any]]:
    """The same comparison on the lead's cached LFW embeddings (``benchmarks/lfw_verify.py --cache-dir``): the
    central face of every photo of LFW's pairs.txt (7,701 photos, 4,281 people: mostly people with one photo, so
    the clusters of a few must not swallow the singletons), in a seeded random order."""
    from facerec.library.people import core_point_clusters
    from facerec.recognition import cluster_faces, pairwise_scores

    data = np.load(cache / "embed-hog-up1-fb-cnn-onnx.npz", allow_pickle=True)
    vectors = data["emb_plain"][:, 1].astype(np.float32)
    keep = np.isfinite(vectors).all(axis=1) & (np.abs(vectors).sum(axis=1) > 0)
    names = np.asarray([str(k).split("/")[0] for k in data["keys"]])[keep]
    vectors = vectors[keep]
    order = np.random.default_rng(0).permutation(len(vectors))
    vectors, names = vectors[order], names[order]
    out = []
    runs: list[tuple[str, Any]] = [
        (f"core-point d={d} min_faces=3", lambda d=d: core_point_clusters(
            vectors, np.full(len(vectors), -1), distance_threshold=d, min_faces=3, method="exact"))
        for d in (0.4, 0.45, 0.5)]
    runs += [(f"agglomerative (average) d={d}", lambda d=d: cluster_faces(vectors, method="agglomerative",
                                                                          distance_threshold=d))
             for d in (0.45, 0.5, 0.55)]
    for name, run in runs:
        start = time.perf_counter()
        labels = run()
        s = pairwise_scores(names, labels)
        out.append({"method": name, "faces": len(vectors), "people": len(set(names)),
                    "precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4),
                    "clusters": s.n_clusters, "unclustered": round(s.noise, 4),
                    "seconds": round(time.perf_counter() - start, 2)})
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    return out


def clustering_time(library: Path, sizes: list[int]) -> list[dict[str, Any]]:
    from facerec.gallery.synthetic import GaussianFaceModel
    from facerec.library.people import core_point_clusters

    _ids, vectors, rows, names = central_faces(library)
    model = GaussianFaceModel.fit(vectors[rows], names)
    out = []
    for size in sizes:
        data, _labels, _ = model.sample(size // 5, 5, seed=1)
        for method in ("exact", "hnsw"):
            if method == "exact" and size > 30_000:   # (new faces) x (all faces): 141 s at 30,000 here
                continue
            start = time.perf_counter()
            core_point_clusters(data, np.full(len(data), -1), method=method)
            row = {"faces": size, "neighbours": method, "seconds": round(time.perf_counter() - start, 2)}
            print(json.dumps(row), file=sys.stderr, flush=True)
            out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--configs", nargs="+", default=["local:1", "local:2", "ray:1", "ray:2"])
    parser.add_argument("--rounds", type=int, default=4, help="chunks the photos are indexed in, configurations "
                        "taking turns")
    parser.add_argument("--insert-faces", type=int, default=20000)
    parser.add_argument("--pg-dsn", default=os.environ.get("FACEREC_TEST_PG_DSN"))
    parser.add_argument("--cluster-sizes", type=int, nargs="+", default=[10000, 30000, 100000])
    parser.add_argument("--lfw-cache", type=Path, default=Path("/work/cache/lfw"),
                        help="cached LFW embeddings (benchmarks/lfw_verify.py --cache-dir) for the 7,701-photo "
                             "clustering comparison; skipped when absent")
    parser.add_argument("--only-cached", action="store_true", help="run only that comparison")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    if args.only_cached:
        print(json.dumps({"clustering_lfw_pairs": clustering_cached(args.lfw_cache)}, indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="facerec-index-bench-") as tmp:
        work = Path(tmp)
        photos = lfw_subset(args.photos, args.seed)
        result: dict[str, Any] = {"load_before": os.getloadavg(), "photos": args.photos, "batch_size": args.batch_size,
                                  "rounds": args.rounds}
        result["indexing"] = indexing(photos, work, args.batch_size, args.configs, args.rounds)
        result["insert"] = {"sqlite": insert_rate(str(work / "insert.sqlite"), args.insert_faces)}
        if args.pg_dsn:
            result["insert"]["postgres"] = insert_rate(args.pg_dsn, args.insert_faces, schema="bench_insert")
        print(json.dumps(result["insert"]), file=sys.stderr, flush=True)
        first = work / f"{args.configs[0].replace(':', '')}.sqlite"
        result["clustering"] = clustering(first)
        result["clustering_time"] = clustering_time(first, args.cluster_sizes)
        if (args.lfw_cache / "embed-hog-up1-fb-cnn-onnx.npz").is_file():
            result["clustering_lfw_pairs"] = clustering_cached(args.lfw_cache)
        result["load_after"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
