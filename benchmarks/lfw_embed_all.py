"""Embed every LFW photo (13,233) with lfw_verify.py's pipeline and cache format, for fitting learned comparisons.

The same stages and cache files as ``benchmarks/lfw_verify.py`` (HOG at upsample 1, the CNN fallback on HOG's
misses, the largest and central face, ``plain`` / ``flip`` / ``jitterN`` views), only over every photo of
``lfw/images`` instead of the 7,701 of ``pairs.txt``. Point ``--cache-dir`` at a copy of a lfw_verify cache to
reuse its work: photos already cached are skipped.

Run::

    nice -n 10 .venv/bin/python benchmarks/lfw_embed_all.py --cache-dir .cache/lfw-all --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lfw_verify as lv

from facerec.evaluation import read_pairs


def all_photos(lfw: Path) -> dict[str, Path]:
    """``{photo key: file}`` for every photo, those of ``pairs.txt`` first (so they are cached first)."""
    base = lfw / "images"
    every = {str(p.relative_to(base)): p for p in sorted(base.glob("*/*.jpg"))}
    first = read_pairs(lfw / "pairs.txt").photos()
    return {**{k: every[k] for k in first if k in every}, **every}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lfw", type=Path, default=lv.DEFAULT_LFW)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--views", default="plain,flip", help="comma-separated: plain, flip, jitterN")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--embedder", default="onnx")
    parser.add_argument("--only-pairs", action="store_true", help="only the photos of pairs.txt")
    args = parser.parse_args()
    photos = all_photos(args.lfw)
    if args.only_pairs:
        keep = set(read_pairs(args.lfw / "pairs.txt").photos())
        photos = {k: v for k, v in photos.items() if k in keep}
    views = [v.strip() for v in args.views.split(",") if v.strip()]
    fallback = "cnn"
    det = lv.DetectionCache(args.cache_dir, fallback)
    lv.detect_all(photos, det, fallback, args.workers)
    emb = lv.EmbeddingCache(args.cache_dir / f"embed-hog-up{lv.UPSAMPLE}-fb-{fallback}-{args.embedder}.npz")
    lv.embed_all(photos, det, emb, True, args.embedder, {"threads": 1}, views, args.workers)
    print(f"{len(photos)} photos, {sum(1 for k in photos if k in emb.vectors)} embedded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
