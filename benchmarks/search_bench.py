"""Gallery search: latency (p50/p99 per query) and recall@1 of exact and HNSW search at several gallery sizes.

The data (:mod:`facerec.gallery.synthetic`) holds identities with several samples each (5 by default); the queries
are new samples of enrolled identities. Two kinds:

* ``--data lfw`` (default): a two-covariance Gaussian model fitted to dlib's embeddings of the LFW people with two
  or more photos (9,164 photos of 1,680 people, embedded once by ``benchmarks/identification.py`` and cached in
  ``.cache/``; needs ``../shared/data/lfw`` the first time). Same-person distances ~0.4 as with real photos.
* ``--data isotropic``: the older stress set, every person's samples spread over all 128 directions (two samples
  of one person at cosine ~0.69, centres spread 0.8): much harder for any approximate index than real embeddings.

Recall@1 is the share of queries whose nearest *person* by HNSW equals the nearest person by exact search. Latency
is one query at a time (``top_k=3``), as ``identify`` runs it, on one thread. The HNSW rows also give the time to
build the index (``--threads``), and to save it to disk and load it back (what a new process pays instead).

Run::

    python benchmarks/search_bench.py --sizes 10000 100000            # a few minutes
    python benchmarks/search_bench.py --sizes 1000000 --queries 500   # building the 1M index takes minutes
    python benchmarks/search_bench.py --sizes 10000 100000 --postgres "$(bash tools/setup_postgres.sh)"

It prints a Markdown table (and ``--json FILE`` writes the raw numbers).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from facerec.gallery.search import DEFAULT_EF, DEFAULT_EF_CONSTRUCTION, DEFAULT_M, ExactSearch, HnswSearch
from facerec.gallery.synthetic import GaussianFaceModel, face_like_embeddings, face_like_queries


def make_data(kind: str, size: int, per_identity: int, queries: int, seed: int,
              spread: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(vectors, labels, query_vectors, query_labels)`` of ``kind`` ``"lfw"`` or ``"isotropic"``."""
    identities = size // per_identity
    if kind == "isotropic":
        vectors, labels, centres = face_like_embeddings(identities, per_identity, seed=seed, spread=spread)
        query_vectors, truth = face_like_queries(centres, queries, seed=seed + 1)
        return vectors, labels, query_vectors, truth
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from identification import lfw_embeddings

    data, _ = lfw_embeddings(min_images=2)
    model = GaussianFaceModel.fit(data.embeddings, data.labels)
    vectors, labels, centres = model.sample(identities, per_identity, seed=seed)
    query_vectors, truth = model.queries(centres, queries, seed=seed + 1)
    return vectors, labels, query_vectors, truth


def _latencies(run: Any, queries: np.ndarray) -> tuple[list[Any], np.ndarray]:
    answers, times = [], []
    for q in queries:
        start = time.perf_counter()
        answers.append(run(q[None, :]))
        times.append(time.perf_counter() - start)
    return answers, np.asarray(times) * 1000.0


def _row(size: int, method: str, times: np.ndarray, recall: float | None, build_s: float | None,
         accuracy: float) -> dict[str, Any]:
    return {"size": size, "method": method, "p50_ms": float(np.percentile(times, 50)),
            "p99_ms": float(np.percentile(times, 99)), "recall_at_1": recall, "build_s": build_s,
            "accuracy": accuracy}


def bench_size(size: int, *, data: str, per_identity: int, queries: int, efs: list[int], postgres: str | None,
               seed: int, spread: float, m: int, ef_construction: int, threads: int,
               methods: list[str]) -> list[dict[str, Any]]:
    vectors, labels, query_vectors, truth = make_data(data, size, per_identity, queries, seed, spread)
    ids = np.arange(len(labels), dtype=np.int64) + 1
    rows = []

    exact = ExactSearch(ids, labels, vectors)
    exact_answers, times = _latencies(lambda q: exact.search(q, 3)[0], query_vectors)
    exact_top = np.asarray([a[0][1] for a in exact_answers])
    rows.append(_row(size, "exact (numpy)", times, None, None, float(np.mean(exact_top == truth))))
    print(f"  exact: p50 {rows[-1]['p50_ms']:.2f} ms", flush=True)

    if "hnswlib" in methods:
        start = time.perf_counter()
        index = HnswSearch(ef=DEFAULT_EF, m=m, ef_construction=ef_construction, threads=threads)
        index.add(ids, labels, vectors)
        build = time.perf_counter() - start
        print(f"  hnsw built in {build:.1f} s", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "index.hnsw"
            start = time.perf_counter()
            index.save(path, {"gallery": "bench"})
            save_s = time.perf_counter() - start
            start = time.perf_counter()
            loaded = HnswSearch.load(path, {"gallery": "bench"})
            load_s = time.perf_counter() - start
            assert loaded is not None and len(loaded) == len(index)
            index = loaded
        print(f"  hnsw saved in {save_s:.1f} s, loaded in {load_s:.1f} s", flush=True)
        for ef in efs:
            index.ef = ef
            answers, times = _latencies(lambda q: index.search(q, 3)[0], query_vectors)
            top = np.asarray([a[0][1] if a else -1 for a in answers])
            rows.append(_row(size, f"hnsw M={m} ef={ef}", times, float(np.mean(top == exact_top)), build,
                             float(np.mean(top == truth))))
            rows[-1].update(save_s=save_s, load_s=load_s, data=data)
            print(f"  hnsw ef={ef}: recall@1 {rows[-1]['recall_at_1']:.4f} p99 {rows[-1]['p99_ms']:.2f} ms", flush=True)

    if "faiss-ivf" in methods:
        rows.extend(bench_faiss_ivf(size, vectors, labels, query_vectors, exact_top, truth, threads))
    if "usearch" in methods:
        rows.extend(bench_usearch(size, vectors, labels, query_vectors, exact_top, truth, m, threads, efs))

    if postgres:
        rows.extend(bench_postgres(postgres, size, vectors, labels, query_vectors, exact_top, truth))
    return rows


def _other_index_rows(name: str, size: int, labels: np.ndarray, queries: np.ndarray, exact_top: np.ndarray,
                      truth: np.ndarray, search: Any, build: float) -> dict[str, Any]:
    """Time ``search(query) -> (row indices, distances)`` per query and score its nearest person."""
    from facerec.gallery.search import nearest_people

    def run(q: np.ndarray) -> list[tuple[int, int, float]]:
        rows, dist = search(q)
        keep = rows >= 0
        return nearest_people(rows[keep], labels[rows[keep]], dist[keep], 3)

    answers, times = _latencies(run, queries)
    top = np.asarray([a[0][1] if a else -1 for a in answers])
    row = _row(size, name, times, float(np.mean(top == exact_top)), build, float(np.mean(top == truth)))
    print(f"  {name}: recall@1 {row['recall_at_1']:.4f} p99 {row['p99_ms']:.2f} ms", flush=True)
    return row


def bench_faiss_ivf(size: int, vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, exact_top: np.ndarray,
                    truth: np.ndarray, threads: int) -> list[dict[str, Any]]:
    """faiss's IVF-Flat index (``pip install faiss-cpu``): ~4 sqrt(n) lists, k-means on 64 samples a list."""
    import faiss

    nlist = 1 << int(np.round(np.log2(4 * np.sqrt(size))))
    faiss.omp_set_num_threads(threads if threads > 0 else 2)
    start = time.perf_counter()
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(vectors.shape[1]), vectors.shape[1], nlist)
    rng = np.random.default_rng(0)
    index.train(vectors[rng.choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)])
    index.add(vectors)
    build = time.perf_counter() - start
    faiss.omp_set_num_threads(1)
    rows = []
    for nprobe in (16, 32, 64, 128, 256):
        index.nprobe = nprobe

        def search(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            squared, found = index.search(q, 40)
            return found[0].astype(np.int64), np.sqrt(np.maximum(squared[0], 0.0))

        rows.append(_other_index_rows(f"faiss IVF{nlist} nprobe={nprobe}", size, labels, queries, exact_top, truth,
                                      search, build))
    return rows


def bench_usearch(size: int, vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, exact_top: np.ndarray,
                  truth: np.ndarray, m: int, threads: int, efs: list[int]) -> list[dict[str, Any]]:
    """usearch's HNSW (``pip install usearch``), float32, the same graph degree as hnswlib's."""
    from usearch.index import Index

    start = time.perf_counter()
    index = Index(ndim=vectors.shape[1], metric="l2sq", dtype="f32", connectivity=m, expansion_add=200)
    index.add(np.arange(len(vectors)), vectors, threads=max(0, threads))
    build = time.perf_counter() - start
    rows = []
    for ef in efs:
        index.expansion_search = ef

        def search(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            found = index.search(q[0], 40, threads=1)
            return np.asarray(found.keys, dtype=np.int64), np.sqrt(np.maximum(found.distances, 0.0))

        rows.append(_other_index_rows(f"usearch M={m} ef={ef}", size, labels, queries, exact_top, truth, search,
                                      build))
    return rows


def bench_postgres(dsn: str, size: int, vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray,
                   exact_top: np.ndarray, truth: np.ndarray) -> list[dict[str, Any]]:
    """The same queries through :class:`PostgresGallery` (pgvector), exact and HNSW."""
    from facerec.gallery.postgres import PostgresGallery

    schema = f"bench_{size}"
    gallery = PostgresGallery(dsn, schema=schema)
    rows = []
    try:
        start = time.perf_counter()
        conn = gallery.conn
        with conn.transaction():
            conn.execute(f"DROP INDEX IF EXISTS {schema}.samples_hnsw")
            conn.execute(f"INSERT INTO {schema}.meta(key, value) VALUES ('model_id', 'bench') ON CONFLICT DO NOTHING")
            people = np.unique(labels)
            with conn.cursor().copy(f"COPY {schema}.people(name) FROM STDIN") as copy:
                for p in people:
                    copy.write_row((f"p{p}",))
            first = int(conn.execute(f"SELECT min(id) FROM {schema}.people").fetchone()[0])
            with conn.cursor().copy(f"COPY {schema}.samples(person_id, embedding, model) FROM STDIN") as copy:
                for vec, label in zip(vectors, labels):
                    copy.write_row((first + int(label), "[" + ",".join(f"{x:.7g}" for x in vec) + "]", "bench"))
        load = time.perf_counter() - start
        gallery._model_id = "bench"
        ids_to_label = {first + int(p): int(p) for p in np.unique(labels)}
        gallery.search_method = "exact"
        answers, times = _latencies(lambda q: gallery.search(q, model_id="bench", top_k=3)[0], queries)
        top = np.asarray([ids_to_label[a[0].person_id] for a in answers])
        rows.append(_row(size, "postgres exact", times, float(np.mean(top == exact_top)), load,
                         float(np.mean(top == truth))))
        print(f"  postgres exact: p50 {rows[-1]['p50_ms']:.2f} ms (load {load:.1f} s)", flush=True)
        start = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(f"CREATE INDEX samples_hnsw ON {schema}.samples USING hnsw (embedding vector_l2_ops) "
                     "WITH (m = 16, ef_construction = 64)")
        build = time.perf_counter() - start
        gallery.search_method = "hnsw"
        for ef in (64, DEFAULT_EF):
            gallery.ef_search = ef
            answers, times = _latencies(lambda q: gallery.search(q, model_id="bench", top_k=3)[0], queries)
            top = np.asarray([ids_to_label[a[0].person_id] for a in answers])
            rows.append(_row(size, f"postgres hnsw ef_search={ef}", times, float(np.mean(top == exact_top)), build,
                             float(np.mean(top == truth))))
            print(f"  postgres hnsw ef={ef}: recall@1 {rows[-1]['recall_at_1']:.4f}", flush=True)
    finally:
        gallery.drop()
    return rows


def describe_lfw_model() -> list[dict[str, Any]]:
    """How close the LFW-fitted model is to the real embeddings it was fitted to (the figures of BENCHMARKS.md)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from identification import lfw_embeddings

    data, _ = lfw_embeddings(min_images=2)
    real_x, real_y = data.embeddings.astype(np.float64), np.asarray(data.labels)
    model = GaussianFaceModel.fit(real_x, real_y)
    _, codes = np.unique(real_y, return_inverse=True)
    fake_x, fake_y, _ = model.sample(len(np.unique(codes)), 5, seed=0)

    def stats(name: str, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        order = np.argsort(y, kind="stable")
        x, y = x[order], y[order]
        same = np.linalg.norm(x[1:] - x[:-1], axis=1)[y[1:] == y[:-1]]  # consecutive samples of one person
        rng = np.random.default_rng(0)
        i, j = rng.integers(0, len(x), 200_000), rng.integers(0, len(x), 200_000)
        other = np.linalg.norm(x[i] - x[j], axis=1)[y[i] != y[j]]
        return {"data": name, "same_p10_50_90": np.percentile(same, [10, 50, 90]).round(3).tolist(),
                "different_p1_10_50": np.percentile(other, [1, 10, 50]).round(3).tolist(),
                "norm_p5_50_95": np.percentile(np.linalg.norm(x, axis=1), [5, 50, 95]).round(3).tolist()}

    def participation(factor: np.ndarray) -> float:
        values = np.linalg.eigvalsh(factor @ factor.T)
        return float(values.sum() ** 2 / (values ** 2).sum())

    rows = [stats(f"LFW ({len(real_x):,} photos, {len(np.unique(codes)):,} people)", real_x, codes),
            stats("fitted model, 5 samples a person", fake_x.astype(np.float64), fake_y)]
    rows[1].update(within_effective_dims=round(participation(model.within), 1),
                   between_effective_dims=round(participation(model.between), 1))
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def gallery_cycle(size: int, *, data: str, per_identity: int, seed: int, spread: float,
                  folder: Path) -> list[dict[str, Any]]:
    """A SQLite gallery of ``size`` samples searched by three processes in turn, as ``facerec identify`` would.

    The first search builds the HNSW index and saves it beside the gallery; a new process then loads it; after 1%
    more samples are enrolled and one person is removed, a third process loads it and catches up incrementally.
    Each step runs in its own subprocess (nothing is shared in memory) and reports the time of its first search,
    opening the gallery included.
    """
    import subprocess

    from facerec.gallery import NewSample, SQLiteGallery

    vectors, labels, query_vectors, _ = make_data(data, size + size // 100, per_identity, 1, seed, spread)
    path = folder / "gallery.sqlite"
    path.unlink(missing_ok=True)
    people = np.unique(labels)
    first_batch = people[: len(people) * 100 // 101]
    start = time.perf_counter()
    with SQLiteGallery(path) as gallery:
        for person in first_batch:
            gallery.add_samples(f"p{person}", [NewSample(v) for v in vectors[labels == person]], model_id="bench",
                                create_person=True)
    enroll_s = time.perf_counter() - start
    print(f"  enrolled {len(first_batch):,} people in {enroll_s:.1f} s", flush=True)
    probe = ("import sys, time; t = time.perf_counter(); import numpy as np\n"
             "from facerec.gallery import SQLiteGallery\n"
             "g = SQLiteGallery(sys.argv[1]); q = np.load(sys.argv[2]); g.search(q, model_id='bench')\n"
             "print(time.perf_counter() - t, g._searcher.index_origin, g._searcher.engine_name); g.close()")
    np.save(folder / "query.npy", query_vectors)
    rows = []

    def step(what: str) -> None:
        out = subprocess.run([sys.executable, "-c", probe, str(path), str(folder / "query.npy")], check=True,
                             capture_output=True, text=True).stdout.split()
        rows.append({"size": size, "step": what, "seconds": float(out[0]), "index": out[1], "engine": out[2]})
        print(f"  {what}: {float(out[0]):.1f} s ({out[1]}, {out[2]})", flush=True)

    step("first search (no index file)")
    step("next process")
    with SQLiteGallery(path) as gallery:
        for person in people[len(first_batch):]:
            gallery.add_samples(f"p{person}", [NewSample(v) for v in vectors[labels == person]], model_id="bench",
                                create_person=True)
        removed = gallery.remove_person(f"p{first_batch[0]}")
    step(f"after enrolling {len(people) - len(first_batch):,} people and removing one ({removed} samples)")
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| samples | method | p50 ms | p99 ms | recall@1 vs exact | build s | save / load s | accuracy |",
             "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        recall = "-" if r["recall_at_1"] is None else f"{r['recall_at_1']:.4f}"
        build = "-" if r["build_s"] is None else f"{r['build_s']:.1f}"
        disk = f"{r['save_s']:.1f} / {r['load_s']:.1f}" if "save_s" in r else "-"
        lines.append(f"| {r['size']:,} | {r['method']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {recall} | "
                     f"{build} | {disk} | {r['accuracy']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-identity", type=int, default=5, help="samples per identity")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 128, DEFAULT_EF, 512])
    parser.add_argument("--postgres", default=None, help="a DSN: also measure PostgreSQL + pgvector")
    parser.add_argument("--data", choices=["lfw", "isotropic"], default="lfw",
                        help="LFW-fitted Gaussian embeddings (default) or the isotropic stress set")
    parser.add_argument("--m", type=int, default=DEFAULT_M, help="HNSW graph degree")
    parser.add_argument("--ef-construction", type=int, default=DEFAULT_EF_CONSTRUCTION, help="HNSW build depth")
    parser.add_argument("--threads", type=int, default=-1, help="threads for building the index (-1: all cores)")
    parser.add_argument("--methods", nargs="*", default=["hnswlib"], choices=["hnswlib", "faiss-ivf", "usearch"],
                        help="approximate indexes to measure besides exact search (faiss-ivf needs faiss-cpu, "
                             "usearch needs usearch installed)")
    parser.add_argument("--spread", type=float, default=0.8,
                        help="isotropic data: spread of identity centres (smaller is more crowded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the raw rows here")
    parser.add_argument("--describe-data", action="store_true",
                        help="instead: compare distances of the LFW-fitted model with LFW's own embeddings")
    parser.add_argument("--gallery-cycle", action="store_true",
                        help="instead: time a SQLite gallery of each size through build, reload and catch-up")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    if args.describe_data:
        rows = describe_lfw_model()
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0
    if args.gallery_cycle:
        with tempfile.TemporaryDirectory() as folder:
            for size in args.sizes:
                print(f"{size:,} samples in a SQLite gallery", flush=True)
                rows.extend(gallery_cycle(size, data=args.data, per_identity=args.per_identity, seed=args.seed,
                                          spread=args.spread, folder=Path(folder)))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return 0
    for size in args.sizes:
        print(f"{size:,} samples", flush=True)
        rows.extend(bench_size(size, data=args.data, per_identity=args.per_identity, queries=args.queries,
                               efs=args.ef, postgres=args.postgres, seed=args.seed, spread=args.spread, m=args.m,
                               ef_construction=args.ef_construction, threads=args.threads,
                               methods=args.methods))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
