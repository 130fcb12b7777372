"""Grouping the unknown tracks of a video into people (to enroll later).

:func:`cluster_tracks` clusters the tracks' mean embeddings with :func:`facerec.recognition.clustering.cluster_faces`
and then applies what the video knows for sure: two tracks seen at the same time are two people. A cluster that
holds tracks which overlap in time is split, each track joining the sub-group nearest to it (by mean embedding)
that it does not overlap, or starting a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.video.tracking import FaceTrack

__all__ = ["cluster_tracks"]


def _overlap(a: FaceTrack, b: FaceTrack) -> bool:
    return a.first_frame <= b.last_frame and b.first_frame <= a.last_frame


def cluster_tracks(tracks: Sequence[FaceTrack], *, unknown_only: bool = True,
                   **options: Any) -> dict[int, int]:
    """Person labels for tracks: ``{track_id: label}``, labels ``0, 1, ...`` from the largest group down.

    Args:
        tracks: finished tracks (from :func:`facerec.video.track`); tracks without an embedding are left out.
        unknown_only: cluster only the tracks named unknown (the known ones are named already).
        **options: :func:`~facerec.recognition.clustering.cluster_faces`'s options (``method``,
            ``distance_threshold``: lower is stricter, ...).

    Raises:
        ImportError: scikit-learn (the ``recognition`` extra) is not installed.
    """
    from facerec.recognition.clustering import cluster_faces

    chosen = [t for t in tracks if t.embedding is not None and not (unknown_only and t.known)]
    if not chosen:
        return {}
    vectors = np.stack([t.embedding for t in chosen if t.embedding is not None]).astype(np.float32)
    labels = cluster_faces(vectors, **options)
    groups: list[list[int]] = []  # indices into chosen
    for label in sorted(set(labels.tolist())):
        members = sorted((i for i, x in enumerate(labels.tolist()) if x == label),
                         key=lambda i: -chosen[i].frames_seen)
        if label < 0:  # noise: each on its own
            groups.extend([i] for i in members)
            continue
        groups.extend(_split_overlapping(chosen, vectors, members))
    groups.sort(key=lambda g: (-len(g), min(chosen[i].first_frame for i in g)))
    return {chosen[i].track_id: label for label, group in enumerate(groups) for i in group}


def _split_overlapping(tracks: Sequence[FaceTrack], vectors: npt.NDArray[np.float32],
                       members: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for i in members:
        fits = [g for g in groups if not any(_overlap(tracks[i], tracks[j]) for j in g)]
        if not fits:
            groups.append([i])
            continue
        nearest = min(fits, key=lambda g: float(np.linalg.norm(vectors[g].mean(axis=0) - vectors[i])))
        nearest.append(i)
    return groups
