"""Crash test of the SQLite gallery: enroll in a subprocess, kill -9 it at random moments, then check the gallery.

Each round starts a writer process that enrolls samples one transaction at a time and prints a line for every
committed sample (``committed <sample_id> <sha256>``), then kills it with SIGKILL after a random delay. Rounds
continue the same gallery (enrollment is idempotent, so each round picks up where the last one died). After the
rounds, a final writer runs to completion, and the checker verifies that:

* the gallery opens and ``integrity_check()`` reports nothing, and no person was left without samples;
* every sample a writer reported as committed is present, with the embedding it was given;
* no sample is stored twice (the final count equals the number of distinct inputs).

Two sources of samples:

* ``synthetic`` (default): deterministic random embeddings through :meth:`Gallery.add_samples`, one transaction per
  sample, as fast as the disk commits them (so most kills land during a commit);
* ``lfw``: real photos of the shared LFW data (``../shared/data/lfw``) through :func:`facerec.gallery.enroll`.

Run::

    python benchmarks/gallery_crash.py --kills 20 --samples 3000
    python benchmarks/gallery_crash.py --source lfw --people 40 --kills 10

It prints one JSON summary on stdout and exits 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LFW = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lfw" / "images"
MODEL_ID = "synthetic-crash-test/5pt"


def synthetic_sample(i: int) -> tuple[str, np.ndarray]:
    """The i-th synthetic input: its SHA-256 (its identity) and its embedding (derived from ``i``)."""
    sha = hashlib.sha256(f"synthetic-{i}".encode()).hexdigest()
    vector = np.random.default_rng(i).normal(size=128).astype(np.float32)
    return sha, vector / np.linalg.norm(vector)


def write_synthetic(gallery_path: Path, samples: int, people: int) -> None:
    """The writer: one committed transaction per sample, a line on stdout after each commit."""
    from facerec.gallery import NewSample, SQLiteGallery
    from facerec.types import Box

    with SQLiteGallery(gallery_path) as gallery:
        for i in range(samples):
            sha, vector = synthetic_sample(i)
            name = f"person_{i % people:04d}"
            person = gallery.find_person(name)
            if person is not None and gallery.has_source(person, sha):
                continue
            (sample_id,) = gallery.add_samples(person or name,
                                               [NewSample(vector, f"synthetic/{i}", sha, Box(0, 0, 10, 10))],
                                               model_id=MODEL_ID, create_person=True)
            print(f"committed {sample_id} {sha}", flush=True)


def lfw_people(target: Path, people: int) -> Path:
    """A people folder of symlinks to the first ``people`` LFW people with at least two photos."""
    folder = target / "people"
    if folder.is_dir():
        return folder
    chosen = 0
    for person in sorted(LFW.iterdir()):
        photos = sorted(person.glob("*.jpg"))
        if len(photos) < 2:
            continue
        (folder / person.name).mkdir(parents=True)
        for photo in photos[:6]:
            (folder / person.name / photo.name).symlink_to(photo)
        chosen += 1
        if chosen == people:
            break
    return folder


def write_lfw(gallery_path: Path, people_dir: Path) -> None:
    """The writer for real photos: :func:`facerec.gallery.enroll`, a line per committed photo."""
    from facerec.gallery import SQLiteGallery, enroll

    def report(done: int, total: int, outcome: Any) -> None:
        if outcome.status == "enrolled":
            sha = hashlib.sha256(outcome.path.read_bytes()).hexdigest()
            print(f"committed {outcome.sample_id} {sha}", flush=True)

    with SQLiteGallery(gallery_path) as gallery:
        enroll(gallery, people_dir, on_progress=report)


def run_writer(args: argparse.Namespace, kill_after: float | None) -> tuple[list[tuple[int, str]], bool]:
    """Start a writer, kill it after ``kill_after`` seconds (``None``: let it finish); the lines it printed."""
    command = [sys.executable, __file__, "--writer", "--gallery", str(args.gallery), "--source", args.source,
               "--samples", str(args.samples), "--people", str(args.people), "--workdir", str(args.workdir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[tuple[int, str]] = []

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "committed":
                lines.append((int(parts[1]), parts[2]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            killed = True
    child.wait()
    reader.join()
    stderr = child.stderr.read() if child.stderr else ""
    if not killed and child.returncode != 0:
        raise RuntimeError(f"writer failed with exit code {child.returncode}: {stderr[-2000:]}")
    return lines, killed


def verify(args: argparse.Namespace, reported: dict[int, str]) -> dict[str, Any]:
    """Open the gallery and check it against what the writers reported."""
    from facerec.gallery import SQLiteGallery

    with SQLiteGallery(args.gallery, create=False) as gallery:
        problems = gallery.integrity_check()
        stored: dict[int, tuple[str | None, np.ndarray]] = {}
        people = gallery.list_people()
        # a person is created in the same transaction as their first sample, so none may be left without one
        problems += [f"person {p.name!r} has no samples" for p in people if p.sample_count == 0]
        for person in people:
            for sample in gallery.samples_of(person):
                stored[sample.id] = (sample.source_sha256, sample.embedding)
        count = gallery.count()
    missing = sorted(sid for sid in reported if sid not in stored)
    wrong = sorted(sid for sid, sha in reported.items() if sid in stored and stored[sid][0] != sha)
    if args.source == "synthetic":
        index = {synthetic_sample(i)[0]: i for i in range(args.samples)}
        wrong += sorted(sid for sid, (sha, vec) in stored.items()
                        if sha not in index or not np.array_equal(vec, synthetic_sample(index[sha])[1]))
    shas = [sha for sha, _ in stored.values()]
    duplicates = len(shas) - len(set(shas))
    return {"integrity_problems": problems, "reported_committed": len(reported), "stored": count,
            "missing_reported": missing[:20], "missing_count": len(missing), "wrong_content": wrong[:20],
            "duplicates": duplicates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gallery", type=Path, default=None, help="gallery file (default: a new temporary one)")
    parser.add_argument("--source", choices=["synthetic", "lfw"], default="synthetic")
    parser.add_argument("--samples", type=int, default=3000, help="synthetic samples to enroll")
    parser.add_argument("--people", type=int, default=100, help="people (synthetic: samples spread over them)")
    parser.add_argument("--kills", type=int, default=20, help="how many times to kill -9 the writer")
    parser.add_argument("--min-delay", type=float, default=0.5, help="shortest time before a kill, seconds")
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest time before a kill, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.writer:
        if args.source == "synthetic":
            write_synthetic(args.gallery, args.samples, args.people)
        else:
            write_lfw(args.gallery, lfw_people(args.workdir, args.people))
        return 0

    temp = tempfile.TemporaryDirectory(prefix="facerec-crash-")
    args.workdir = args.workdir or Path(temp.name)
    args.gallery = args.gallery or args.workdir / "gallery.sqlite"
    if args.source == "lfw":
        if not LFW.is_dir():
            print(json.dumps({"ok": False, "error": f"LFW not found at {LFW}"}))
            return 1
        lfw_people(args.workdir, args.people)
    rng = random.Random(args.seed)
    reported: dict[int, str] = {}
    rounds = []
    started = time.perf_counter()
    for _ in range(args.kills):
        delay = rng.uniform(args.min_delay, args.max_delay)
        lines, killed = run_writer(args, delay)
        reported.update(lines)
        rounds.append({"delay_s": round(delay, 2), "committed": len(lines), "killed": killed})
        check = verify(args, reported)  # the gallery must be sound after every crash, not only at the end
        if check["integrity_problems"] or check["missing_count"] or check["wrong_content"]:
            print(json.dumps({"ok": False, "after_round": len(rounds), "rounds": rounds, **check}, indent=2))
            return 1
    lines, _ = run_writer(args, None)
    reported.update(lines)
    result = verify(args, reported)
    expected = args.samples if args.source == "synthetic" else None
    ok = (not result["integrity_problems"] and not result["missing_count"] and not result["wrong_content"]
          and not result["duplicates"] and (expected is None or result["stored"] == expected))
    summary = {"ok": ok, "source": args.source, "kills": sum(r["killed"] for r in rounds),
               "rounds": len(rounds) + 1, "expected_samples": expected,
               "seconds": round(time.perf_counter() - started, 1),
               **result, "per_round": rounds}
    print(json.dumps(summary, indent=2))
    temp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
