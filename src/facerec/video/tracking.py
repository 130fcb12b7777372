""":func:`track`: follow the faces through a video or a live camera and name each track.

How it works, per frame of the source:

1. **Detect every Nth frame** (``detect_every``; by default from the frame rate and the cores, see
   :func:`default_detect_every`), on a copy downscaled to ``detect_side`` pixels when frames are larger (when the
   analyzer's detector finds nothing, its fallback detector tries at upsample 0 -- the CNN finds turned faces --
   on every such round while it follows a face, else on every other one), and
   also on the first frame of every new shot: a cut between shots (a jump in a 48-pixel thumbnail of the frame) ends
   every track, so no name is carried from one shot into the next.
2. **Track**: each detection round matches the boxes to the tracks (:class:`~facerec.video.tracker.Tracker`:
   overlap with each track's constant-velocity prediction, one optimal assignment). A track that goes unmatched
   for more than ``max_missed_s`` seconds of detection rounds ends.
3. **Embed** a track on its first detections and later on detections of better quality than its worst sample
   (quality: detector score times size, lower at the frame's edge), keeping up to ``samples_per_track``.
4. **Name** the track from the mean of its samples, with hysteresis (:class:`~facerec.video.naming.TrackName`):
   a name changes only when two new samples in a row say so.
5. **Report** every frame: the frames between two detection rounds are reported once the second round is done,
   with boxes interpolated between the two detections (a face seen in only one of the two rounds is shown in the
   half of the gap nearer to it, moved by its velocity after its detection); after the last round, faces move on
   by their velocity. So results lag the source by one detection interval (``detect_every``
   frames), and the boxes in between follow the face instead of lagging behind it.

A track is reported once it has been detected ``min_detections`` times (a lone false detection never shows). Its
public id (1, 2, ...) is given at that moment, in order, and never reused.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError, VideoError
from facerec.types import Box, Detection, Face
from facerec.video.naming import (
    DEFAULT_NAME_CONFIRM,
    DEFAULT_NAME_MARGIN,
    UNKNOWN,
    Candidates,
    GalleryCandidates,
    KnownCandidates,
    TrackName,
)
from facerec.video.source import VideoFrame, VideoSource, open_video
from facerec.video.tracker import MotionTrack, Tracker

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.gallery import Gallery
    from facerec.known import KnownPeople

__all__ = ["DEFAULT_DETECT_SIDE", "DETECTIONS_PER_SECOND_PER_CORE", "FALLBACK_UPSAMPLE", "UNKNOWN", "FaceTrack",
           "FrameResult", "TrackedFace", "default_detect_every", "make_analyzer", "track"]

#: Frames whose longer side is larger are detected on a copy downscaled to this many pixels (HOG at upsample 1
#: then finds faces from about 40 px of the copy, e.g. 60 px of a 960-pixel-wide frame).
DEFAULT_DETECT_SIDE = 640

#: The default detection rate: this many detection rounds per second of video for each CPU core (HOG at
#: upsample 1 on a 640x360 frame takes about 80 ms of one core; decoding and embedding use the rest).
DETECTIONS_PER_SECOND_PER_CORE = 3.0

#: The fallback detector (the analyzer's, the CNN by default) runs at this upsample, on rounds where the first
#: detector finds nothing (see ``_Run._fallback``): at 0 it costs about as much as HOG at upsample 1 and finds the
#: large turned faces HOG misses.
FALLBACK_UPSAMPLE = 0

#: A frame is the first of a new shot when its thumbnail differs from the previous one by more than this mean
#: absolute difference (0-255), and by more than 3 times the median difference of the last frames.
CUT_THRESHOLD = 18.0
_THUMB_SIDE = 48
_CUT_HISTORY = 15


def _cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_detect_every(fps: float | None, cores: int | None = None) -> int:
    """The default ``detect_every``: about :data:`DETECTIONS_PER_SECOND_PER_CORE` detection rounds per second of
    video per core, ``max(1, round(fps / (3 * cores)))``: every 5th frame of a 30 fps video on 2 cores, every
    10th on one core, every frame from 10 cores on.

    Args:
        fps: the video's frame rate (30 when unknown).
        cores: CPU cores to count on (default: those this process may run on).
    """
    if cores is None:
        cores = _cores()
    rate = fps if fps and fps > 0 else 30.0
    return max(1, round(rate / (DETECTIONS_PER_SECOND_PER_CORE * max(cores, 1))))


def make_analyzer(**options: Any) -> FaceAnalyzer:
    """The analyzer :func:`track` uses by default: facerec's defaults (HOG, with the CNN as the fallback
    detector), options as :class:`~facerec.analyzer.FaceAnalyzer`'s. :func:`track` runs the fallback at
    :data:`FALLBACK_UPSAMPLE` 0, only on detection rounds where the first detector finds no face."""
    from facerec.analyzer import FaceAnalyzer

    return FaceAnalyzer(**options)


# -- detectors for the detection threads ---------------------------------------------------------------------------
_SPARES: weakref.WeakKeyDictionary[FaceAnalyzer, dict[str, list[Any]]] = weakref.WeakKeyDictionary()
_SPARES_LOCK = threading.Lock()


def _spare_detectors(analyzer: FaceAnalyzer, name: str) -> list[Any]:
    """The idle detectors named ``name`` made for ``analyzer``'s detection threads (kept for its later runs).

    ``list.pop`` and ``list.append`` are atomic, so threads check detectors out and back without a lock.
    """
    with _SPARES_LOCK:
        return _SPARES.setdefault(analyzer, {}).setdefault(name, [])


def _new_detector(analyzer: FaceAnalyzer, name: str) -> Any:
    """A detector of its own for one detection thread: the analyzer's options, ONNX Runtime on one thread."""
    from facerec.detection import DETECTORS, create_detector

    options = dict(analyzer.detector_options) if name == analyzer.detector_name else {}
    if DETECTORS.takes_threads(name):
        options.setdefault("threads", 1)
    return create_detector(name, **options)


def _prepare_detectors(analyzer: FaceAnalyzer, count: int) -> None:
    """Make sure ``count`` detectors of the analyzer's first kind are ready (loading one takes a moment)."""
    spares = _spare_detectors(analyzer, analyzer.detector_name)
    while len(spares) < count:
        spares.append(_new_detector(analyzer, analyzer.detector_name))


# -- the answers ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrackedFace:
    """One face in one frame.

    Attributes:
        track_id: the track's id (1, 2, ...; the same face keeps it from frame to frame).
        box: where the face is in this frame (detected, or interpolated between two detections).
        name: the track's name at the time (a known person, or :data:`UNKNOWN`).
        distance: the track's distance to that person (to the nearest person when unknown; ``None`` when nobody
            is known or the track has no embedding yet). Lower is more alike.
        detected: whether ``box`` comes from a detection in this very frame.
    """

    track_id: int
    box: Box
    name: str
    distance: float | None
    detected: bool

    def to_dict(self) -> dict[str, Any]:
        return {"track_id": self.track_id, "box": self.box.to_dict(), "name": self.name,
                "distance": self.distance, "detected": self.detected}


@dataclass(frozen=True, eq=False)
class FrameResult:
    """The faces in one frame.

    Attributes:
        index: the frame's number (0 first).
        time: seconds since the first frame.
        image: the frame, RGB ``uint8`` (not a copy: do not modify it).
        faces: the tracked faces in it.
        detected: whether detection ran on this frame.
        cut: whether this frame starts a new shot (every track ended before it).
    """

    index: int
    time: float
    image: npt.NDArray[np.uint8] = field(repr=False)
    faces: tuple[TrackedFace, ...]
    detected: bool = False
    cut: bool = False


@dataclass(frozen=True, eq=False)
class FaceTrack:
    """A finished track: one face followed from its first to its last frame.

    Attributes:
        track_id: the id its faces carried in the frame results.
        name: the final name (a known person or :data:`UNKNOWN`), decided from all its samples.
        distance: the distance from its mean embedding to that person (to the nearest when unknown); ``None``
            when nobody is known or it was never embedded.
        nearest: the nearest known person whatever the distance (``None`` when nobody is known).
        first_frame, last_frame: the first and last frame it was reported in.
        first_time, last_time: their times in seconds.
        frames_seen: how many frames it was reported in.
        detections: how many detections were matched to it.
        samples: how many of its frames were embedded.
        name_changes: how often its name changed after the first decision.
        embedding: the mean of its samples' embeddings, ``(128,)`` float32 (``None`` if never embedded).
        best_frame, best_time, best_box: the frame of its best sample, its time and the face's box there.
        best_crop: that face with a margin, RGB ``uint8`` (``None`` when crops are not kept).
    """

    track_id: int
    name: str
    distance: float | None
    nearest: str | None
    first_frame: int
    last_frame: int
    first_time: float
    last_time: float
    frames_seen: int
    detections: int
    samples: int
    name_changes: int
    embedding: npt.NDArray[np.float32] | None = field(default=None, repr=False)
    best_frame: int | None = None
    best_time: float | None = None
    best_box: Box | None = None
    best_crop: npt.NDArray[np.uint8] | None = field(default=None, repr=False)

    @property
    def known(self) -> bool:
        """Whether the track was named as a known person."""
        return self.name != UNKNOWN

    @property
    def duration(self) -> float:
        """Seconds from its first to its last frame."""
        return self.last_time - self.first_time

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (without the embedding and the crop)."""
        return {"track_id": self.track_id, "name": self.name, "distance": self.distance, "nearest": self.nearest,
                "first_frame": self.first_frame, "last_frame": self.last_frame,
                "first_time": round(self.first_time, 3), "last_time": round(self.last_time, 3),
                "frames_seen": self.frames_seen, "detections": self.detections, "samples": self.samples,
                "name_changes": self.name_changes, "best_frame": self.best_frame,
                "best_time": None if self.best_time is None else round(self.best_time, 3),
                "best_box": None if self.best_box is None else self.best_box.to_dict()}


# -- the state of one track while it lives -----------------------------------------------------------------------
@dataclass(eq=False)
class _TrackState:
    motion: MotionTrack
    namer: TrackName
    public_id: int | None = None
    samples: list[tuple[float, int, npt.NDArray[np.float32]]] = field(default_factory=list)  # quality, frame, v
    last_sample_frame: int = -1
    best: tuple[float, int, float, Box] | None = None  # quality, frame, time, box
    best_crop: npt.NDArray[np.uint8] | None = None
    mean: npt.NDArray[np.float32] | None = None
    frames_seen: int = 0
    last_detector: str = ""
    first: tuple[int, float] | None = None
    last: tuple[int, float] | None = None

    def wants_sample(self, quality: float, frame: int, limit: int) -> bool:
        if frame == self.last_sample_frame:
            return False
        if len(self.samples) < limit:
            return True
        return quality > 1.15 * min(s[0] for s in self.samples)

    def add_sample(self, quality: float, frame: int, vector: npt.NDArray[np.float32], limit: int) -> None:
        if len(self.samples) >= limit:
            self.samples.remove(min(self.samples, key=lambda s: s[0]))
        self.samples.append((quality, frame, vector))
        self.last_sample_frame = frame
        self.mean = np.mean([s[2] for s in self.samples], axis=0).astype(np.float32)

    def finished(self, public_id: int, first: tuple[int, float], last: tuple[int, float]) -> FaceTrack:
        best = self.best
        return FaceTrack(
            track_id=public_id, name=self.namer.name or UNKNOWN, distance=self.namer.distance,
            nearest=self.namer.nearest, first_frame=first[0], last_frame=last[0],
            first_time=first[1], last_time=last[1], frames_seen=self.frames_seen,
            detections=self.motion.hits, samples=len(self.samples), name_changes=self.namer.changes,
            embedding=self.mean, best_frame=best[1] if best else None, best_time=best[2] if best else None,
            best_box=best[3] if best else None, best_crop=self.best_crop)


@dataclass(eq=False)
class _Round:
    """One detection round: its frame, and the box of every track matched in it (by internal id)."""

    frame: VideoFrame
    boxes: dict[int, Box]
    cut: bool


def _quality(face: Face, width: int, height: int) -> float:
    """How good a detection is for embedding: detector score times size (up to 100 px), halved at the edge."""
    box = face.box
    q = max(float(face.score), 0.01) * min(1.0, box.width / 100.0)
    if box.left <= 0 or box.top <= 0 or box.right >= width or box.bottom >= height:
        q *= 0.5
    return q


def _crop(image: npt.NDArray[np.uint8], box: Box, margin: float = 0.3) -> npt.NDArray[np.uint8]:
    height, width = image.shape[:2]
    dx, dy = round(box.width * margin), round(box.height * margin)
    crop = Box(box.left - dx, box.top - dy, box.right + dx, box.bottom + dy).clip(width, height)
    out: npt.NDArray[np.uint8] = np.array(image[crop.top:crop.bottom, crop.left:crop.right], copy=True)
    return out


def _thumbnail(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    step = max(1, max(image.shape[:2]) // _THUMB_SIDE)
    thumb: npt.NDArray[np.float32] = image[::step, ::step].astype(np.float32).mean(axis=2)
    return thumb


def _lerp(a: Box, b: Box, t: float) -> Box:
    return Box(round(a.left + (b.left - a.left) * t), round(a.top + (b.top - a.top) * t),
               round(a.right + (b.right - a.right) * t), round(a.bottom + (b.bottom - a.bottom) * t))


# -- the generator ----------------------------------------------------------------------------------------------------
def track(source: str | os.PathLike[str] | int | VideoSource | Iterable[VideoFrame], *,
          gallery: Gallery | None = None, known: KnownPeople | None = None, analyzer: FaceAnalyzer | None = None,
          distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD, detect_every: int | None = None,
          detect_side: int | None = DEFAULT_DETECT_SIDE, fps: float | None = None, samples_per_track: int = 5,
          min_detections: int = 2, max_missed_s: float = 1.0, iou_threshold: float = 0.3,
          name_margin: float = DEFAULT_NAME_MARGIN, name_confirm: int = DEFAULT_NAME_CONFIRM,
          detect_cuts: bool = True, keep_crops: bool = True, detect_threads: int | None = None,
          stop: Callable[[], bool] | None = None) -> Iterator[FrameResult | FaceTrack]:
    """Follow the faces through a video and name each track (the steps: see :mod:`facerec.video.tracking`).

    Yields a :class:`FrameResult` for every frame, in order, and a :class:`FaceTrack` for each track as soon as
    it has ended (after the last frame it appears in); at the end of the source, the tracks still open.

    Args:
        source: a video file, an ``int`` camera index, a stream URL (see :func:`~facerec.video.open_video`), an
            open :class:`~facerec.video.VideoSource` (not closed here), or any iterable of
            :class:`~facerec.video.VideoFrame`.
        gallery: name the tracks from the people of this open gallery ...
        known: ... or from these known people (:func:`facerec.batch.load_known_people`); with neither, every
            track is :data:`UNKNOWN` (tracking only).
        analyzer: detects and embeds (default: :func:`make_analyzer`, facerec's defaults). Its detector,
            ``upsample`` and ``min_face_size_px`` apply, its fallback detector at upsample 0 on rounds where the
            detector finds nothing (``fallback_detector=None`` for none); its ``max_side`` is replaced by
            ``detect_side``.
        distance_threshold: the largest distance still called a person. Lower is stricter; 0.6 is typical.
        detect_every: detect on every Nth frame (1: every frame; higher is faster and follows faces by motion
            in between). Default: :func:`default_detect_every` of the frame rate and the cores.
        detect_side: detect on a copy downscaled to this longer side when frames are larger (``None``: full
            size). Lower is faster and loses small faces; 640 typical.
        fps: the frame rate when the source does not say (for ``detect_every`` and ``max_missed_s``).
        samples_per_track: how many frames of each track are embedded and kept for its name (more is steadier;
            5 typical).
        min_detections: detections a track needs before it is reported (1 reports every detection; 2, the
            default, hides lone false detections).
        max_missed_s: a track that goes unmatched by detections for longer than this many seconds ends (a face
            hidden briefly keeps its track; a longer absence starts a new one).
        iou_threshold: the least overlap between a track's predicted box and a detection to match them. Higher
            is stricter; 0.3 typical.
        name_margin: the hysteresis band around ``distance_threshold`` (0 turns it off).
        name_confirm: decisions in a row (each on a new sample) needed to change a track's name.
        detect_cuts: end every track at a cut between shots (a new track starts in the new shot).
        keep_crops: keep the best face of each track (:attr:`FaceTrack.best_crop`).
        detect_threads: threads that detect ahead of the tracking, each with its own detector (default: one per
            core; 1 detects in the calling thread). Results are the same for any number.
        stop: called after each frame; when it returns ``True`` the run ends as if the source had ended (the
            open tracks are finished and yielded). For a camera, e.g. a flag set by a signal handler.

    Raises:
        VideoError: the source cannot be opened, or it broke off (raised after the frames decoded before the
            break were yielded and the open tracks finished, so the caller keeps what was processed).
        ConfigurationError: an option is out of range, or both ``gallery`` and ``known`` were given.
        ModelMismatchError: the gallery holds another model's embeddings.

    Examples:
        >>> from facerec.batch import load_known_people                       # doctest: +SKIP
        >>> known, _ = load_known_people("known/")                             # doctest: +SKIP
        >>> for item in track("meeting.mp4", known=known):                     # doctest: +SKIP
        ...     if isinstance(item, FaceTrack):
        ...         print(item.track_id, item.name, f"{item.first_time:.1f}-{item.last_time:.1f} s")
        1 alice 0.0-12.4 s
        2 unknown 3.2-5.0 s
    """
    if gallery is not None and known is not None:
        raise ConfigurationError("name the tracks from a gallery or from known people, not both")
    for name, value, least in (("samples_per_track", samples_per_track, 1), ("min_detections", min_detections, 1),
                               ("detect_every", detect_every or 1, 1), ("detect_threads", detect_threads or 1, 1)):
        if value < least:
            raise ConfigurationError(f"{name} must be >= {least}, got {value}")
    if max_missed_s < 0:
        raise ConfigurationError(f"max_missed_s must be >= 0, got {max_missed_s}")
    if detect_side is not None and detect_side < 16:
        raise ConfigurationError(f"detect_side must be at least 16 pixels, got {detect_side}")
    TrackName(distance_threshold, name_margin, name_confirm)  # validates the naming options
    engine = analyzer if analyzer is not None else make_analyzer()
    candidates: Candidates | None = None
    if gallery is not None:
        from facerec.gallery import model_id_for

        candidates = GalleryCandidates(gallery, model_id_for(engine))
    elif known is not None:
        candidates = KnownCandidates(known)

    owned: VideoSource | None = None
    frames: Iterable[VideoFrame]
    if isinstance(source, VideoSource):
        frames, rate = source.frames(), source.fps
    elif isinstance(source, (str, os.PathLike, int)):
        owned = open_video(source)
        frames, rate = owned.frames(), owned.fps
    else:
        frames, rate = source, None
    rate = rate or fps or 30.0
    every = detect_every or default_detect_every(rate)
    run = _Run(engine, candidates, every=every, detect_side=detect_side, rate=rate, samples=samples_per_track,
               min_detections=min_detections, max_missed=math.floor(max_missed_s * rate / every + 1e-9),
               iou_threshold=iou_threshold, threshold=distance_threshold, margin=name_margin,
               confirm=name_confirm, detect_cuts=detect_cuts, keep_crops=keep_crops,
               detect_threads=detect_threads or _cores())
    broke: VideoError | None = None
    try:
        try:
            for frame in frames:
                yield from run.feed(frame)
                if stop is not None and stop():
                    break
        except VideoError as exc:  # the source broke off: report what was processed, then raise
            broke = exc
        yield from run.finish()
    finally:
        run.close()
        if owned is not None:
            owned.close()
    if broke is not None:
        raise broke


class _Run:
    """The state of one :func:`track` run (kept out of the generator so each step reads on its own)."""

    def __init__(self, analyzer: FaceAnalyzer, candidates: Candidates | None, *, every: int,
                 detect_side: int | None, rate: float, samples: int, min_detections: int, max_missed: int,
                 iou_threshold: float, threshold: float, margin: float, confirm: int, detect_cuts: bool,
                 keep_crops: bool, detect_threads: int) -> None:
        self.analyzer = analyzer
        self.candidates = candidates
        self.every = every
        self.detect_side = detect_side
        self.rate = rate
        self.samples = samples
        self.min_detections = min_detections
        self.threshold = threshold
        self.margin = margin
        self.confirm = confirm
        self.detect_cuts = detect_cuts
        self.keep_crops = keep_crops
        self.tracker = Tracker(iou_threshold=iou_threshold, max_missed=max_missed)
        self.states: dict[int, _TrackState] = {}
        self.next_public = 1
        self.previous: _Round | None = None
        self.pending: list[VideoFrame] = []
        # detection runs ahead of tracking in a pool of threads (dlib releases the GIL while it detects)
        self.queue: deque[tuple[VideoFrame, Future[list[Face]] | list[Face] | None, bool]] = deque()
        self.scheduled: int | None = None
        self.in_flight = 0
        self.lookahead = detect_threads
        self.pool = ThreadPoolExecutor(detect_threads, thread_name_prefix="facerec-detect") \
            if detect_threads > 1 else None
        _prepare_detectors(analyzer, detect_threads)
        self.skipped_fallback = False
        self.ending: list[_TrackState] = []
        self.thumb: npt.NDArray[np.float32] | None = None
        self.diffs: list[float] = []
        self.finished = False

    # -- per frame -----------------------------------------------------------------------------------------
    def feed(self, frame: VideoFrame) -> Iterator[FrameResult | FaceTrack]:
        """Schedule ``frame`` (detect on it or not) and process the frames whose detections are due."""
        cut = self._is_cut(frame.image)
        due = self.scheduled is None or frame.index - self.scheduled >= self.every or cut
        detection: Future[list[Face]] | list[Face] | None = None
        if due:
            self.scheduled = frame.index
            detection = self.pool.submit(self._detect, frame.image) if self.pool is not None \
                else self._detect(frame.image)
            self.in_flight += 1
        self.queue.append((frame, detection, cut))
        while self.in_flight > self.lookahead:
            yield from self._process(self.queue.popleft())

    def finish(self) -> Iterator[FrameResult | FaceTrack]:
        """Process what is still queued, report the last frames and end every track."""
        if self.finished:
            return
        self.finished = True
        try:
            while self.queue:
                yield from self._process(self.queue.popleft())
            if self.previous is not None:
                yield from self._report(self.previous, self.pending, None)
            self._end(self.tracker.clear())
            yield from self._flush_ended()
        finally:
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _process(self, item: tuple[VideoFrame, Future[list[Face]] | list[Face] | None, bool],
                 ) -> Iterator[FrameResult | FaceTrack]:
        frame, detection, cut = item
        if detection is None:
            self.pending.append(frame)
            return
        self.in_flight -= 1
        faces = detection.result() if isinstance(detection, Future) else detection
        if not faces:
            faces = self._fallback(frame.image, cut)
        if cut:
            self._end(self.tracker.clear())
        current = self._detect_round(frame, faces, cut)
        if self.previous is not None:
            yield from self._report(self.previous, self.pending, current)
        yield from self._flush_ended()
        self.previous, self.pending = current, []

    def _detect(self, image: npt.NDArray[np.uint8]) -> list[Face]:
        """The faces the analyzer's detector finds in ``image``.

        Runs in the detection threads, each call on a detector of its own (dlib's are not safe to share between
        threads), checked out of the analyzer's spares (:func:`_spare_detectors`) and given back.
        """
        return self._detect_with(self.analyzer.detector_name, image, self.analyzer.upsample)

    def _detect_with(self, name: str, image: npt.NDArray[np.uint8], upsample: int) -> list[Face]:
        from facerec.detection import detect

        engine = self.analyzer
        found = self._with_spare(name, lambda d: detect(
            d, image, upsample=upsample, min_face_size_px=engine.min_face_size_px, max_side=self.detect_side))
        return [Face(box=det.box, score=det.score, detector=name, raw_box=raw) for det, raw in found]

    def _fallback(self, image: npt.NDArray[np.uint8], cut: bool) -> list[Face]:
        """The fallback detector's faces in a round where the first detector found none, at upsample 0: on
        every such round while a track is followed by it, at a cut, and else on every other such round (an
        empty scene costs half as much). Decided in processing order, so threads do not change answers."""
        name = self.analyzer.fallback_detector_name
        if name is None:
            return []
        following = any(s.last_detector == name and s.motion.misses == 0 for s in self.states.values())
        if not (following or cut or self.skipped_fallback):
            self.skipped_fallback = True
            return []
        self.skipped_fallback = False
        return self._detect_with(name, image, FALLBACK_UPSAMPLE)

    def _with_spare(self, name: str, work: Callable[[Any], list[tuple[Detection, Box]]],
                    ) -> list[tuple[Detection, Box]]:
        spares = _spare_detectors(self.analyzer, name)
        try:
            detector = spares.pop()
        except IndexError:
            detector = _new_detector(self.analyzer, name)
        try:
            return work(detector)
        finally:
            spares.append(detector)

    def _is_cut(self, image: npt.NDArray[np.uint8]) -> bool:
        if not self.detect_cuts:
            return False
        thumb = _thumbnail(image)
        previous, self.thumb = self.thumb, thumb
        if previous is None or previous.shape != thumb.shape:
            return previous is not None
        diff = float(np.abs(thumb - previous).mean())
        recent = float(np.median(self.diffs)) if self.diffs else 0.0
        self.diffs = [*self.diffs[-(_CUT_HISTORY - 1):], diff]
        return diff > CUT_THRESHOLD and diff > 3.0 * recent

    # -- detection rounds ------------------------------------------------------------------------------------
    def _detect_round(self, frame: VideoFrame, faces: list[Face], cut: bool) -> _Round:
        image = frame.image
        height, width = image.shape[:2]
        engine = self.analyzer
        motions = self.tracker.update([f.box for f in faces], frame.index)
        self._end(self.tracker.ended)
        boxes: dict[int, Box] = {}
        to_embed: list[tuple[_TrackState, Face, float]] = []
        for face, motion in zip(faces, motions):
            state = self.states.get(motion.track_id)
            if state is None:
                state = _TrackState(motion, TrackName(self.threshold, self.margin, self.confirm))
                self.states[motion.track_id] = state
            boxes[motion.track_id] = face.box
            state.last_detector = face.detector
            if state.public_id is None and motion.hits >= self.min_detections:
                state.public_id = self.next_public
                self.next_public += 1
            quality = _quality(face, width, height)
            if state.wants_sample(quality, frame.index, self.samples):
                to_embed.append((state, face, quality))
        if to_embed:
            embedded = engine.analyze(image, [face for _, face, _ in to_embed])
            for (state, face, quality), done in zip(to_embed, embedded):
                if done.embedding is None:
                    continue
                state.add_sample(quality, frame.index, done.embedding, self.samples)
                if state.best is None or quality > state.best[0]:
                    state.best = (quality, frame.index, frame.time, face.box)
                    if self.keep_crops:
                        state.best_crop = _crop(image, face.box)
                if self.candidates is not None and state.mean is not None:
                    state.namer.decide(self.candidates.nearest(state.mean))
                elif state.namer.name is None:
                    state.namer.decide([])
        return _Round(frame, boxes, cut)

    def _end(self, motions: list[MotionTrack]) -> None:
        for motion in motions:
            state = self.states.pop(motion.track_id, None)
            if state is not None:
                self.ending.append(state)

    def _flush_ended(self) -> Iterator[FaceTrack]:
        ending, self.ending = self.ending, []
        for state in ending:
            if state.public_id is not None and state.first is not None and state.last is not None:
                yield state.finished(state.public_id, state.first, state.last)

    # -- reporting the frames of one interval ------------------------------------------------------------------
    def _report(self, start: _Round, between: list[VideoFrame], end: _Round | None) -> Iterator[FrameResult]:
        """The frames from ``start`` up to (not including) ``end``'s frame, with their faces."""
        bridge = end is not None and not end.cut
        span = (end.frame.index - start.frame.index) if end is not None else 0
        lookup = {**{s.motion.track_id: s for s in self.ending}, **self.states}
        for frame in [start.frame, *between]:
            offset = frame.index - start.frame.index
            t = offset / span if span else 0.0
            faces: list[TrackedFace] = []
            for track_id, box in start.boxes.items():
                state = lookup.get(track_id)
                if state is None or state.public_id is None:
                    continue
                if bridge and end is not None and track_id in end.boxes:
                    faces.append(self._face(state, state.public_id, frame, _lerp(box, end.boxes[track_id], t),
                                            offset == 0))
                elif offset == 0 or not bridge or t < 0.5:  # carried on by its motion since the detection
                    moved = state.motion.predict(frame.index) if offset and state.motion.last_frame == \
                        start.frame.index else box
                    height, width = frame.image.shape[:2]
                    faces.append(self._face(state, state.public_id, frame, moved.clip(width, height), offset == 0))
            if bridge and end is not None and offset > 0 and t >= 0.5:
                for track_id, box in end.boxes.items():
                    state = lookup.get(track_id)
                    if track_id not in start.boxes and state is not None and state.public_id is not None:
                        faces.append(self._face(state, state.public_id, frame, box, False))
            faces.sort(key=lambda f: f.track_id)
            yield FrameResult(index=frame.index, time=frame.time, image=frame.image, faces=tuple(faces),
                              detected=offset == 0, cut=start.cut and offset == 0)

    def _face(self, state: _TrackState, public_id: int, frame: VideoFrame, box: Box, detected: bool) -> TrackedFace:
        state.frames_seen += 1
        if state.first is None:
            state.first = (frame.index, frame.time)
        state.last = (frame.index, frame.time)
        return TrackedFace(track_id=public_id, box=box, name=state.namer.name or UNKNOWN,
                           distance=state.namer.distance, detected=detected)
