"""Load on ``facerec serve``: 1, 8 and 50 concurrent clients against ``POST /api/v1/identify`` on a gallery of LFW
people, beside the CLI's ``facerec identify --gallery`` throughput on the same photos and cores.

What it does:

1. Enrolls the first photo of ``--people`` LFW people (with at least two photos) into a fresh SQLite gallery.
2. Times ``facerec identify --gallery G --json -q`` on the people's second photos (the queries), once with one
   photo and once with all of them, so that photos/s excludes the start-up: ``(n - 1) / (t_n - t_1)``.
3. Starts ``facerec serve`` (``--workers`` inference threads, ``--queue`` waiting places) and, for each client
   count, runs that many clients for ``--duration`` seconds; each client posts one query photo after another
   (``httpx``). It reports photos/s, p50/p95/p99 latency, the 5xx count (503 Overloaded counted apart) and the
   server's peak RSS (sampled every 0.2 s with psutil).

Run from the repository root::

    nice -n 5 .venv/bin/python benchmarks/serve_load.py --people 100 --duration 60 --json out/serve_load.json

Prints a Markdown table (the one in docs/BENCHMARKS.md) and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _facerec(*args: str) -> list[str]:
    return [sys.executable, "-c", "from facerec.cli import main; main()", *args]


def pick_people(count: int) -> list[tuple[str, Path, Path]]:
    """``(name, enrolled photo, query photo)`` of the first ``count`` LFW people with at least two photos."""
    out = []
    for folder in sorted(LFW.iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) >= 2:
            out.append((folder.name, photos[0], photos[1]))
            if len(out) == count:
                break
    return out


def build_gallery(people: list[tuple[str, Path, Path]], gallery: Path, work: Path) -> float:
    """Enroll each person's first photo with ``facerec enroll``; returns the seconds it took."""
    folder = work / "people"
    for name, photo, _ in people:
        (folder / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, folder / name / photo.name)
    start = time.perf_counter()
    subprocess.run(_facerec("enroll", str(folder), "--gallery", str(gallery), "--store-crops", "-q", "--json"),
                   check=False, capture_output=True, env=_env())
    return time.perf_counter() - start


def time_cli(gallery: Path, queries: list[Path], workers: int) -> dict[str, float]:
    """The CLI's photos/s on ``queries`` without its start-up: ``(n - 1) / (t_n - t_1)``."""
    def run(files: list[Path]) -> float:
        start = time.perf_counter()
        done = subprocess.run(_facerec("identify", "--gallery", str(gallery), "--workers", str(workers), "-q",
                                       "--json", *map(str, files)), capture_output=True, env=_env(), check=False)
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr.decode()[-2000:])
        return time.perf_counter() - start

    one = run(queries[:1])
    everything = run(queries)
    per_photo = (everything - one) / (len(queries) - 1)
    return {"startup_and_one_s": one, "all_s": everything, "per_photo_ms": 1000 * per_photo,
            "photos_per_s": 1 / per_photo}


def start_server(gallery: Path, key_file: Path, threads: int, queue: int, log: Path) -> tuple[Any, str, str]:
    import httpx

    key = subprocess.run(_facerec("keys", "create", "--role", "read", "--name", f"load-{time.time_ns()}",
                                  "--gallery", str(gallery)), capture_output=True, env=_env(), check=True,
                         text=True).stdout.strip()
    key_file.write_text(key)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with log.open("wb") as handle:
        process = subprocess.Popen(_facerec("serve", "--gallery", str(gallery), "--port", str(port), "--workers",
                                            str(threads), "--queue", str(queue), "--log-level", "warning"),
                                   stdout=handle, stderr=subprocess.STDOUT, env=_env())
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return process, url, key
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text()[-2000:])


class PeakRss:
    """The peak resident memory of a process (and its children), sampled in a thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:
                pass
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self._rss()
            self.samples.append(rss)
            self.peak = max(self.peak, rss)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def load(url: str, key: str, photos: list[tuple[str, bytes]], clients: int, duration_s: float
               ) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.perf_counter() + duration_s

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            name, data = photos[i % len(photos)]
            i += clients
            start = time.perf_counter()
            try:
                response = await http.post(url + "/api/v1/identify", headers={"X-API-Key": key},
                                           files=[("file", (name, data, "image/jpeg"))])
            except httpx.HTTPError:
                errors += 1
                continue
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    return {"clients": clients, "seconds": elapsed, "ok": len(latencies), "photos_per_s": len(latencies) / elapsed,
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": 1000 * statistics.fmean(ordered) if ordered else float("nan"),
            "status_counts": statuses, "http_5xx": sum(n for s, n in statuses.items() if s >= 500),
            "overloaded_503": statuses.get(503, 0), "transport_errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100, help="LFW people in the gallery (and query photos)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per client count")
    parser.add_argument("--clients", default="1,8,50", help="client counts, comma-separated")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="facerec serve --workers")
    parser.add_argument("--queue", type=int, default=64, help="facerec serve --queue")
    parser.add_argument("--cli-workers", type=int, default=os.cpu_count() or 1, help="facerec identify --workers")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    people = pick_people(args.people)
    queries = [q for _, _, q in people]
    with tempfile.TemporaryDirectory(prefix="serve_load_") as tmp:
        work = Path(tmp)
        gallery = work / "gallery.sqlite"
        enroll_s = build_gallery(people, gallery, work)
        print(f"gallery: {len(people)} LFW people enrolled in {enroll_s:.1f} s", file=sys.stderr)
        cli = {w: time_cli(gallery, queries, w) for w in sorted({1, args.cli_workers})}
        for w, figures in cli.items():
            print(f"CLI --workers {w}: {figures['photos_per_s']:.2f} photos/s ({figures['per_photo_ms']:.0f} ms "
                  "per photo)", file=sys.stderr)
        process, url, key = start_server(gallery, work / "key", args.threads, args.queue, work / "server.log")
        photos = [(q.name, q.read_bytes()) for q in queries]
        asyncio.run(load(url, key, photos[:2], 1, 0.1))  # one warm-up request (first search, connection set-up)
        runs = []
        try:
            with PeakRss(process.pid) as memory:
                idle = memory._rss()
                for clients in [int(c) for c in args.clients.split(",")]:
                    before = len(memory.samples)
                    result = asyncio.run(load(url, key, photos, clients, args.duration))
                    result["peak_rss_mb"] = max(memory.samples[before:] or [memory.peak]) / 2**20
                    runs.append(result)
                    print(f"{clients} clients: {result['photos_per_s']:.2f} photos/s, p50 {result['p50_ms']:.0f} "
                          f"ms, p99 {result['p99_ms']:.0f} ms, 5xx {result['http_5xx']}, peak RSS "
                          f"{result['peak_rss_mb']:.0f} MB", file=sys.stderr)
        finally:
            process.terminate()
            process.wait(timeout=30)
    load_avg = os.getloadavg()
    report = {"people": len(people), "threads": args.threads, "queue": args.queue, "duration_s": args.duration,
              "cli": {str(k): v for k, v in cli.items()}, "server_idle_rss_mb": idle / 2**20, "runs": runs,
              "load_average": load_avg, "cpus": os.cpu_count()}
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    best_cli = max(cli.values(), key=lambda f: f["photos_per_s"])
    print("\n| clients | photos/s | vs CLI batch | p50 ms | p95 ms | p99 ms | 5xx | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['clients']} | {r['photos_per_s']:.2f} | {r['photos_per_s'] / best_cli['photos_per_s']:.0%} | "
              f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['http_5xx']} | "
              f"{r['peak_rss_mb']:.0f} |")
    for w, f in cli.items():
        print(f"\nCLI `facerec identify --gallery --workers {w}`: {f['photos_per_s']:.2f} photos/s, "
              f"{f['per_photo_ms']:.0f} ms per photo (start-up excluded)")
    print(f"\nserver idle RSS {idle / 2**20:.0f} MB; load average {load_avg[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
