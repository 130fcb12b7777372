"""Faces in videos and live cameras: decode with PyAV, track faces from frame to frame, name each track.

The one call most users need is :func:`track`: a generator over a video file, a camera index or a stream URL that
yields a :class:`FrameResult` per frame (the tracked faces, their ids and names) and a :class:`FaceTrack` for each
track when it ends (who, when, for how long, its best face). :func:`timeline` runs it to the end and keeps only
the tracks. The parts are usable on their own: :func:`open_video` and :class:`VideoSource` (frames),
:class:`Tracker` (SORT-style box tracking with ``update(boxes, frame)``), :class:`TrackName` (names with
hysteresis), :class:`VideoWriter` with :func:`annotate_frame` (an annotated H.264 copy), and
:func:`cluster_tracks` (unknown tracks grouped into people; tracks seen at the same time are never one person).

Needs the ``video`` extra (``pip install 'facerec[video]'``: PyAV, whose wheels bundle FFmpeg, and scipy).

Examples:
    On the Hamilton clip of face_recognition's examples, with its two photos as the known people:

    >>> from facerec.batch import load_known_people                              # doctest: +SKIP
    >>> from facerec.video import FaceTrack, track                               # doctest: +SKIP
    >>> known, _ = load_known_people("examples/known/")                          # doctest: +SKIP
    >>> tracks = [t for t in track("short_hamilton_clip.mp4", known=known)       # doctest: +SKIP
    ...           if isinstance(t, FaceTrack)]
    >>> [(t.track_id, t.name, round(t.first_time, 1), round(t.last_time, 1)) for t in tracks]  # doctest: +SKIP
    [(1, 'lin-manuel-miranda', 0.0, 0.6), (2, 'lin-manuel-miranda', 2.7, 7.0), (3, 'unknown', 7.3, 8.3)]
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from facerec.video.clustering import cluster_tracks
from facerec.video.naming import UNKNOWN, TrackName
from facerec.video.source import VideoFrame, VideoSource, open_video
from facerec.video.tracker import MotionTrack, Tracker
from facerec.video.tracking import (
    DEFAULT_DETECT_SIDE,
    FALLBACK_UPSAMPLE,
    FaceTrack,
    FrameResult,
    TrackedFace,
    default_detect_every,
    make_analyzer,
    track,
)
from facerec.video.writer import VideoWriter, annotate_frame

__all__ = [
    "DEFAULT_DETECT_SIDE",
    "FALLBACK_UPSAMPLE",
    "UNKNOWN",
    "FaceTrack",
    "FrameResult",
    "MotionTrack",
    "TrackName",
    "TrackedFace",
    "Tracker",
    "VideoFrame",
    "VideoSource",
    "VideoWriter",
    "annotate_frame",
    "cluster_tracks",
    "default_detect_every",
    "make_analyzer",
    "open_video",
    "timeline",
    "track",
]


def timeline(source: str | os.PathLike[str] | int | VideoSource | Iterable[VideoFrame],
             **options: Any) -> list[FaceTrack]:
    """Every track of a video, in the order they started: :func:`track` run to the end, frames dropped.

    Args:
        source: as for :func:`track`.
        **options: :func:`track`'s options (``known=``, ``gallery=``, ``detect_every=``, ...).

    Raises:
        VideoError: as :func:`track` (a source that broke off raises after all its frames were processed; use
            :func:`track` to keep the tracks of such a source).
    """
    tracks = [item for item in track(source, **options) if isinstance(item, FaceTrack)]
    return sorted(tracks, key=lambda t: (t.first_frame, t.track_id))
