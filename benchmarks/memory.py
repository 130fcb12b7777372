"""Peak memory (RSS) of the default pipeline on every file of the bad-input corpus, each in a fresh process.

Each corpus file (``tests/corpus.py``, with the 64-megapixel blank PNG) is run through ``facerec embed FILE --json``
(detection with HOG at upsample 1 and the CNN fallback, alignment, embedding: the heaviest verb on one photo) in
a new Python process, which reports its own peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``)
when the command ends. The goal (issue 16): at most 1.5 GB for any input the default limits accept.

    nice -n 5 .venv/bin/python benchmarks/memory.py --face-photo samples/test_images/obama.jpg
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import resource, sys, time
from facerec.cli import cli
start = time.perf_counter()
try:
    cli.main(sys.argv[1:], prog_name="facerec")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("MEMORY", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, time.perf_counter() - start,
      file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--face-photo", type=Path, default=HERE.parent / "samples" / "test_images" / "obama.jpg")
    parser.add_argument("--verb", default="embed", choices=["detect", "embed"])
    parser.add_argument("--only", default="", help="comma-separated corpus keys (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent / "tests"))
    from corpus import CORPUS, make_corpus

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_corpus(Path(tmp) / "corpus", args.face_photo, big=True)
        keys = [k for k in paths if not args.only or k in args.only.split(",")]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        for key in keys:
            command = [sys.executable, "-c", CHILD, args.verb, "--json", "--quiet", str(paths[key])]
            done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=900)
            line = [ln for ln in done.stderr.splitlines() if ln.startswith("MEMORY")]
            if not line:
                print(f"{key}: no figure; stderr: {done.stderr[-500:]}")
                continue
            _, rss_kb, code, seconds = line[-1].split()
            size = paths[key].stat().st_size if paths[key].is_file() else 0
            rows.append({"file": key, "description": CORPUS[key].description, "bytes": size,
                         "exit": int(code) if code.isdigit() else code, "peak_rss_mb": int(rss_kb) // 1024,
                         "seconds": round(float(seconds), 1)})
            print(f"{key:14s} exit {code:>2s}  peak RSS {int(rss_kb) // 1024:6,d} MB  {float(seconds):6.1f} s  "
                  f"{CORPUS[key].description}", flush=True)
    if not rows:
        raise SystemExit("no figures")
    worst = max(rows, key=lambda r: r["peak_rss_mb"])
    print(f"largest peak: {worst['peak_rss_mb']:,} MB ({worst['file']}); load average {os.getloadavg()}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
