"""The command line against face_recognition's, cold processes on both sides, on LFW photos, in one run.

Each command is run as a fresh process (interpreter start, imports, model loading and the photos all counted) with
the machine's defaults of each tool, interleaved over ``--repeats`` rounds (the median is reported):

* ``face_recognition KNOWN UNKNOWN`` -- face_recognition 1.3.0's own command: it loads, detects (HOG upsample 1)
  and encodes every known and unknown photo and prints the nearest known name of each unknown face; with
  ``--cpus N`` as given (default 1, its own default).
* ``facerec identify --known KNOWN UNKNOWN --csv`` -- the same job.
* ``facerec embed UNKNOWN --json`` -- the embedding half alone (face_recognition has no command for it; its
  ``face_recognition`` command above does that work and more, so the ratio understates facerec's).

KNOWN is the first photo of each of the first ``--known`` LFW people with at least two photos, named after the
person (face_recognition names people by file name); UNKNOWN holds ``--photos`` other photos (those people's other
photos, then the next people's, in name order). Both are copies in a temporary folder (facerec does not follow
links that leave a folder).

Run from the repository root (face_recognition installed beside dlib-bin, see speed_vs_face_recognition.py)::

    .venv/bin/python benchmarks/cli_vs_face_recognition.py --photos 200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"


def _folders(lfw: Path, known: int, photos: int, into: Path) -> tuple[Path, Path]:
    people = sorted(p for p in (lfw / "images").iterdir() if p.is_dir())
    known_dir, unknown_dir = into / "known", into / "unknown"
    known_dir.mkdir()
    unknown_dir.mkdir()
    chosen = 0
    rest: list[Path] = []
    for person in people:  # the known people's other photos first, then everybody else's
        files = sorted(person.glob("*.jpg"))
        if len(files) >= 2 and chosen < known:
            shutil.copyfile(files[0], known_dir / f"{person.name}.jpg")
            chosen += 1
            rest += files[1:]
        elif chosen >= known:
            rest += files
        if chosen >= known and len(rest) >= photos:
            break
    for file in rest[:photos]:
        shutil.copyfile(file, unknown_dir / file.name)
    return known_dir, unknown_dir


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # facerec exits 1 when some photo had no face; that is a result
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"shared data folder (default {DEFAULT_DATA})")
    parser.add_argument("--photos", type=int, default=200, help="unknown photos (default 200)")
    parser.add_argument("--known", type=int, default=20, help="known people (default 20)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported (default 3)")
    parser.add_argument("--cpus", type=int, default=1, help="face_recognition's --cpus (default 1, its default)")
    parser.add_argument("--json", type=Path, default=None, help="write every number here as JSON")
    args = parser.parse_args(argv)

    bin_dir = Path(sys.executable).parent
    reference, facerec = shutil.which("face_recognition", path=str(bin_dir)), shutil.which("facerec",
                                                                                             path=str(bin_dir))
    if reference is None or facerec is None:
        raise SystemExit("needs face_recognition's and facerec's commands beside this Python (see the docstring)")
    with tempfile.TemporaryDirectory() as tmp:
        known, unknown = _folders(args.data / "lfw", args.known, args.photos, Path(tmp))
        commands = {
            f"face_recognition KNOWN UNKNOWN --cpus {args.cpus}": [reference, "--cpus", str(args.cpus), str(known),
                                                                   str(unknown)],
            "facerec identify --known KNOWN UNKNOWN": [facerec, "identify", "--known", str(known), "--csv", "-q",
                                                       str(unknown)],
            "facerec embed UNKNOWN": [facerec, "embed", "--json", "-q", str(unknown)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        load = [os.getloadavg()]
        for r in range(args.repeats):
            names = list(commands)
            for i in range(len(names)):
                name = names[(i + r) % len(names)]
                times[name].append(_time(commands[name]))
            sys.stderr.write(f"round {r + 1}/{args.repeats} done\n")
        load.append(os.getloadavg())
    ref = statistics.median(next(iter(times.values())))
    print(f"{args.photos} LFW photos, {args.known} known people, cold processes, median of {args.repeats} rounds, "
          f"{os.cpu_count()} cores\n")
    print("| command | seconds (median) | photos/s | x face_recognition |")
    print("|---|---:|---:|---:|")
    rows = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        rows[name] = {"seconds": samples, "median_s": median, "ratio": ref / median}
        print(f"| `{name}` | {median:.2f} | {args.photos / median:.1f} | {ref / median:.2f}x |")
    print(f"\nload average at start {load[0]}, at end {load[1]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"photos": args.photos, "known": args.known, "rows": rows,
                                         "load": load}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
