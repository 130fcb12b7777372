"""Gallery search: latency (p50/p99 per query) and recall@1 of exact and HNSW search at several gallery sizes.

The data is face-like (:mod:`facerec.gallery.synthetic`): identities with several samples each (5 by default), the
queries new samples of enrolled identities, two samples of one identity at cosine ~0.69. Recall@1 is the share of
queries whose nearest *person* by HNSW equals the nearest person by exact search. Latency is one query at a time
(``top_k=3``), as ``identify`` runs it, on one thread.

Run::

    python benchmarks/search_bench.py --sizes 10000 100000            # a few minutes
    python benchmarks/search_bench.py --sizes 1000000 --queries 500   # building the 1M index takes minutes
    python benchmarks/search_bench.py --sizes 10000 100000 --postgres "$(bash tools/setup_postgres.sh)"

It prints a Markdown table (and ``--json FILE`` writes the raw numbers).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from facerec.gallery.search import DEFAULT_EF, ExactSearch, HnswSearch
from facerec.gallery.synthetic import face_like_embeddings, face_like_queries


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


def bench_size(size: int, *, per_identity: int, queries: int, efs: list[int], postgres: str | None,
               seed: int, spread: float) -> list[dict[str, Any]]:
    identities = size // per_identity
    vectors, labels, centres = face_like_embeddings(identities, per_identity, seed=seed, spread=spread)
    query_vectors, truth = face_like_queries(centres, queries, seed=seed + 1)
    ids = np.arange(len(labels), dtype=np.int64) + 1
    rows = []

    exact = ExactSearch(ids, labels, vectors)
    exact_answers, times = _latencies(lambda q: exact.search(q, 3)[0], query_vectors)
    exact_top = np.asarray([a[0][1] for a in exact_answers])
    rows.append(_row(size, "exact (numpy)", times, None, None, float(np.mean(exact_top == truth))))
    print(f"  exact: p50 {rows[-1]['p50_ms']:.2f} ms", flush=True)

    start = time.perf_counter()
    index = HnswSearch(ef=DEFAULT_EF)
    index.add(ids, labels, vectors)
    build = time.perf_counter() - start
    print(f"  hnsw built in {build:.1f} s", flush=True)
    for ef in efs:
        index.ef = ef
        answers, times = _latencies(lambda q: index.search(q, 3)[0], query_vectors)
        top = np.asarray([a[0][1] if a else -1 for a in answers])
        rows.append(_row(size, f"hnsw ef={ef}", times, float(np.mean(top == exact_top)), build,
                         float(np.mean(top == truth))))
        print(f"  hnsw ef={ef}: recall@1 {rows[-1]['recall_at_1']:.4f} p99 {rows[-1]['p99_ms']:.2f} ms", flush=True)

    if postgres:
        rows.extend(bench_postgres(postgres, size, vectors, labels, query_vectors, exact_top, truth))
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


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| samples | method | p50 ms | p99 ms | recall@1 vs exact | build s | accuracy |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        recall = "-" if r["recall_at_1"] is None else f"{r['recall_at_1']:.4f}"
        build = "-" if r["build_s"] is None else f"{r['build_s']:.1f}"
        lines.append(f"| {r['size']:,} | {r['method']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {recall} | "
                     f"{build} | {r['accuracy']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-identity", type=int, default=5, help="samples per identity")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 128, DEFAULT_EF, 512])
    parser.add_argument("--postgres", default=None, help="a DSN: also measure PostgreSQL + pgvector")
    parser.add_argument("--spread", type=float, default=0.8,
                        help="spread of identity centres (smaller is more crowded; 0.8 gives ~99%% accuracy at 10k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the raw rows here")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        print(f"{size:,} samples", flush=True)
        rows.extend(bench_size(size, per_identity=args.per_identity, queries=args.queries, efs=args.ef,
                               postgres=args.postgres, seed=args.seed, spread=args.spread))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
