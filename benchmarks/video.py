"""Naming the faces of a video: facerec's tracker against face_recognition 1.3.0's two video loops, in one run.

On the shared clip ``face_recognition_test_images/examples/short_hamilton_clip.mp4`` (640x360, 29.97 fps, 275
frames, 9.2 s; four shots) with the two people of ``examples/`` as the known set (``lin-manuel-miranda.png``,
``alex-lacamoire.png``), three ways to name the faces of every frame, in the same process, on the same cores:

1. ``fr-every-frame`` -- face_recognition's ``facerec_from_video_file.py`` loop: on every frame
   ``face_locations`` (HOG, upsample 1) and ``face_encodings``, each face named by the nearest known face within
   0.6 (``face_distance`` + ``compare_faces``, as its webcam example does).
2. ``fr-quarter`` -- its ``facerec_from_webcam_faster.py`` loop: every other frame, the same on a copy shrunk to
   1/4 size (boxes scaled back by 4); the frame in between reuses the last boxes and names.
3. ``facerec`` -- ``facerec.video.track(clip, known=...)`` with its defaults (HOG upsample 1 on every Nth frame,
   ``N = round(fps / (3 * cores))``, interpolated tracks in between, names from each track's mean embedding).

Every loop decodes the clip itself with PyAV (decoding is part of the time). Reported per loop: processing frames
per second (wall clock, and per CPU second of the process), the speed against real time (29.97 fps) and against
the every-frame loop, and agreement with the reference labelling: per frame, the named faces (the multiset of
known names; unknown faces are not names) compared with the reference's -- the share of frames that agree
exactly, wrong names (a name the reference does not have in that frame) and missed names (one it has that the
loop does not give).

The reference labelling (``benchmarks/data/hamilton_reference.json``) was made once with ``--make-reference``:
facerec's CNN detector (dlib's MMOD network) at upsample 1 on every frame, every face embedded and named by the
nearest known person within 0.6, then checked by eye on annotated frames (``--draw-reference DIR`` writes them).

face_recognition is not a facerec dependency: ``.venv/bin/pip install --no-deps face_recognition==1.3.0`` (it
runs on dlib-bin). Run from the repository root::

    nice -n 5 .venv/bin/python benchmarks/video.py --json out/video.json
    .venv/bin/python benchmarks/video.py --make-reference        # once; then check it by eye
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data"))
EXAMPLES = SHARED / "face_recognition_test_images" / "examples"
CLIP = EXAMPLES / "short_hamilton_clip.mp4"
KNOWN = ("lin-manuel-miranda.png", "alex-lacamoire.png")
REFERENCE = ROOT / "benchmarks" / "data" / "hamilton_reference.json"
THRESHOLD = 0.6


def _frames(path: Path) -> Iterator[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")


def _known_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="video-known-"))
    for name in KNOWN:
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def _stem(name: str) -> str:
    return Path(name).stem


# -- the reference labelling ------------------------------------------------------------------------------------------
def make_reference(out: Path) -> None:
    from facerec.analyzer import FaceAnalyzer
    from facerec.batch import load_known_people

    analyzer = FaceAnalyzer(detector="cnn", upsample=1, fallback_detector=None)
    known, failures = load_known_people(_known_dir())
    if failures:
        raise SystemExit(f"known photos failed: {failures}")
    frames = []
    start = time.monotonic()
    for i, image in enumerate(_frames(CLIP)):
        faces = analyzer.analyze(image)
        entry = []
        for face in faces:
            assert face.embedding is not None
            match = known.match(face.embedding, THRESHOLD)
            entry.append({"box": list(face.box.to_dict().values()), "name": match.name,
                          "distance": round(float(match.distance or 0), 4), "nearest": match.nearest})
        frames.append(entry)
        if i % 25 == 0:
            print(f"frame {i}: {[(f['name'], f['distance']) for f in entry]} ({time.monotonic() - start:.0f} s)",
                  file=sys.stderr)
    document = {
        "clip": "face_recognition_test_images/examples/short_hamilton_clip.mp4",
        "known": [_stem(n) for n in KNOWN],
        "how": "facerec FaceAnalyzer(detector='cnn', upsample=1) on every frame, each face named by the nearest "
               f"known person within {THRESHOLD} (known: the two photos of examples/); checked by eye",
        "frames": frames,
    }
    apply_corrections(document)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({len(frames)} frames)", file=sys.stderr)


#: Checked by eye (``--draw-reference``): the CNN labelling's only mistakes are faces of a known person whose
#: distance in that one frame is just over 0.6 -- Lin-Manuel Miranda small on stage in frames 16-19 (0.61-0.62;
#: the same face is named in frames 0-15) and Alex Lacamoire in profile in frame 31 (0.62; named in 20-42).
#: Those faces get the name; every other face (the audience of the last shot) is rightly unknown, and frames
#: 43-81 show no face (the back of a head).
CORRECTIONS: tuple[tuple[range, str], ...] = ((range(16, 20), "lin-manuel-miranda"), (range(20, 43), "alex-lacamoire"))


def apply_corrections(document: dict[str, Any]) -> dict[str, Any]:
    changed = []
    for frames, name in CORRECTIONS:
        for i in frames:
            for face in document["frames"][i]:
                if face["name"] == "unknown" and face["nearest"] == name:
                    face["name"] = name
                    changed.append(i)
    document["corrected_by_eye"] = {"frames": changed, "why": "a known face just over 0.6 in this frame only"}
    return document


def draw_reference(folder: Path, every: int = 10) -> None:
    from facerec.drawing import draw_faces
    from facerec.types import Box

    reference = json.loads(REFERENCE.read_text())["frames"]
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(_frames(CLIP)):
        if i % every:
            continue
        faces = reference[i]
        canvas = draw_faces(image, [Box(*f["box"]) for f in faces],
                            [f"{f['name']} {f['distance']:.2f}" for f in faces],
                            [f["name"] != "unknown" for f in faces])
        canvas.save(folder / f"frame-{i:03d}.png")


# -- the three loops: each yields, per frame, the list of names it gives ---------------------------------------------
def fr_every_frame(known_dir: Path) -> Iterator[list[str]]:
    import face_recognition as fr

    names, encodings = _fr_known(known_dir)
    for image in _frames(CLIP):
        locations = fr.face_locations(image)
        yield [_fr_name(fr, encodings, names, e) for e in fr.face_encodings(image, locations)]


def fr_quarter(known_dir: Path) -> Iterator[list[str]]:
    import face_recognition as fr

    names, encodings = _fr_known(known_dir)
    last: list[str] = []
    for i, image in enumerate(_frames(CLIP)):
        if i % 2 == 0:  # process_this_frame, as in the example
            height, width = image.shape[:2]
            small = np.asarray(Image.fromarray(image).resize((width // 4, height // 4), Image.Resampling.BILINEAR))
            locations = fr.face_locations(small)
            last = [_fr_name(fr, encodings, names, e) for e in fr.face_encodings(small, locations)]
        yield last


def _fr_known(known_dir: Path) -> tuple[list[str], list[np.ndarray]]:
    import face_recognition as fr

    names, encodings = [], []
    for name in KNOWN:
        found = fr.face_encodings(fr.load_image_file(known_dir / name))
        if found:
            names.append(_stem(name))
            encodings.append(found[0])
    return names, encodings


def _fr_name(fr: Any, encodings: list[np.ndarray], names: list[str], encoding: np.ndarray) -> str:
    matches = fr.compare_faces(encodings, encoding, tolerance=THRESHOLD)
    distances = fr.face_distance(encodings, encoding)
    best = int(np.argmin(distances))
    return names[best] if matches[best] else "unknown"


_FACEREC: dict[bool, tuple[Any, Any]] = {}


def _facerec_ready(known_dir: Path, fallback: bool = True) -> tuple[Any, Any]:
    """facerec's known people and analyzer, with every model loaded (as face_recognition's load at import)."""
    if fallback not in _FACEREC:
        from facerec.batch import load_known_people
        from facerec.video import VideoFrame, make_analyzer, timeline

        known, _ = load_known_people(known_dir)
        analyzer = make_analyzer() if fallback else make_analyzer(fallback_detector=None)
        warm = next(iter(_frames(CLIP)))
        timeline([VideoFrame(i, i / 30, warm if i < 2 else warm * 0) for i in range(4)], known=known,
                 analyzer=analyzer, detect_every=1)  # the detection threads' detectors, the CNN, the embedder
        _FACEREC[fallback] = (known, analyzer)
    return _FACEREC[fallback]


def facerec_loop(known_dir: Path, fallback: bool = True, **options: Any) -> Iterator[list[str]]:
    from facerec.video import FrameResult, track

    known, analyzer = _facerec_ready(known_dir, fallback)
    for item in track(CLIP, known=known, analyzer=analyzer, **options):
        if isinstance(item, FrameResult):
            yield [f.name for f in item.faces]


def _warm_face_recognition(known_dir: Path) -> None:
    import face_recognition  # noqa: F401 - its models load at import

    _fr_known(known_dir)


LOOPS: dict[str, Callable[[Path], Iterator[list[str]]]] = {
    "fr-every-frame": fr_every_frame, "fr-quarter": fr_quarter, "facerec": facerec_loop,
    "facerec-every-3": lambda k: facerec_loop(k, detect_every=3),
    "facerec-every-8": lambda k: facerec_loop(k, detect_every=8),
    "facerec-no-fallback": lambda k: facerec_loop(k, fallback=False),
}


# -- scoring ------------------------------------------------------------------------------------------------------
def score(frames: list[list[str]], reference: list[list[dict[str, Any]]]) -> dict[str, Any]:
    agree = wrong = missed = 0
    for given, truth in zip(frames, reference):
        a = Counter(n for n in given if n != "unknown")
        b = Counter(f["name"] for f in truth if f["name"] != "unknown")
        agree += a == b
        wrong += sum((a - b).values())
        missed += sum((b - a).values())
    return {"frames": len(frames), "agree": agree, "agree_share": round(agree / len(reference), 4),
            "wrong_names": wrong, "missed_names": missed,
            "reference_names": sum(1 for t in reference for f in t if f["name"] != "unknown")}


def run(loops: list[str], repeats: int) -> dict[str, Any]:
    import av

    reference = json.loads(REFERENCE.read_text())["frames"]
    with av.open(str(CLIP)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
    seconds = len(reference) / fps
    known_dir = _known_dir()
    if any(name.startswith("fr-") for name in loops):
        _warm_face_recognition(known_dir)
    if any(name.startswith("facerec") for name in loops):
        _facerec_ready(known_dir, "facerec-no-fallback" not in loops or len(loops) > 1)
        if "facerec-no-fallback" in loops:
            _facerec_ready(known_dir, False)
    results: dict[str, Any] = {}
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in loops}
    for _ in range(repeats):  # interleaved, so that load from other processes falls on every loop alike
        for name in loops:
            wall, cpu = time.perf_counter(), time.process_time()
            frames = list(LOOPS[name](known_dir))
            timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            results[name] = score(frames, reference)
    for name in loops:
        wall = float(np.median([w for w, _ in timings[name]]))
        cpu = float(np.median([c for _, c in timings[name]]))
        n = results[name]["frames"]
        results[name].update({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "fps": round(n / wall, 1),
                              "fps_per_cpu_s": round(n / cpu, 1), "x_real_time": round(n / wall / fps, 2)})
    if "fr-every-frame" in results:
        base = results["fr-every-frame"]["fps"]
        for name in loops:
            results[name]["x_every_frame"] = round(results[name]["fps"] / base, 2)
    from facerec.video import default_detect_every

    return {"clip": str(CLIP.relative_to(SHARED)), "fps": round(fps, 3), "seconds": round(seconds, 2),
            "cores": len(os.sched_getaffinity(0)), "load_average": os.getloadavg(),
            "facerec_detect_every": default_detect_every(fps), "repeats": repeats, "loops": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--make-reference", action="store_true", help="label the clip with the CNN (slow)")
    parser.add_argument("--apply-corrections", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--draw-reference", type=Path, metavar="DIR", help="draw every 10th reference frame")
    parser.add_argument("--loops", default="fr-every-frame,fr-quarter,facerec",
                        help="comma-separated, of: " + ", ".join(LOOPS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not CLIP.is_file():
        raise SystemExit(f"{CLIP} not found (set FACEREC_SHARED_DATA)")
    if args.make_reference:
        make_reference(REFERENCE)
        return
    if args.apply_corrections:  # on a labelling made before CORRECTIONS were written down
        REFERENCE.write_text(json.dumps(apply_corrections(json.loads(REFERENCE.read_text())),
                                        separators=(",", ":")) + "\n")
        return
    if args.draw_reference:
        draw_reference(args.draw_reference)
        return
    report = run(args.loops.split(","), args.repeats)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
