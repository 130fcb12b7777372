"""A SORT-style multi-face tracker: boxes matched by overlap with each track's predicted box, and a
constant-velocity motion model that carries each track between detections.

:class:`Tracker` knows nothing of faces or names: :meth:`Tracker.update` takes the boxes detected in one frame and
says which track each box belongs to (an existing one, or a new one), and :meth:`Tracker.predict` gives where the
tracks are expected in any frame. Matching is one optimal assignment (scipy's ``linear_sum_assignment``) on
intersection-over-union with the predicted boxes; boxes left over are then matched to tracks left over when their
centres are close and their sizes alike, which catches faces that moved further than one box width between two
detections before their velocity was known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.types import Box

__all__ = ["MotionTrack", "Tracker"]

FloatArray = npt.NDArray[np.float64]


def _state(box: Box) -> FloatArray:
    cx, cy = box.center
    return np.array([cx, cy, float(box.width), float(box.height)], dtype=np.float64)


def _box(state: FloatArray) -> Box:
    cx, cy, w, h = state
    w, h = max(w, 1.0), max(h, 1.0)
    return Box(round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2))


@dataclass(eq=False)
class MotionTrack:
    """One tracked object: where it was last seen and how fast it moves.

    Attributes:
        track_id: this tracker's id for it (1, 2, ... in order of creation; never reused).
        box: the box of its last matched detection.
        first_frame, last_frame: frame numbers of its first and last matched detections.
        hits: how many detections were matched to it.
        misses: detection rounds since it was last matched (0: matched in the latest update).
    """

    track_id: int
    box: Box
    first_frame: int
    last_frame: int
    hits: int = 1
    misses: int = 0
    _state: FloatArray = field(default_factory=lambda: np.zeros(4), repr=False)
    _velocity: FloatArray = field(default_factory=lambda: np.zeros(4), repr=False)

    def predict(self, frame: int) -> Box:
        """Where the box is expected in ``frame`` (constant velocity from the last match; sizes stay >= 1 px)."""
        return _box(self._predicted(frame))

    def _predicted(self, frame: int) -> FloatArray:
        state: FloatArray = self._state + self._velocity * float(frame - self.last_frame)
        return state

    def _correct(self, box: Box, frame: int, *, position_gain: float, velocity_gain: float) -> None:
        measured = _state(box)
        dt = float(frame - self.last_frame)
        if dt <= 0:  # a second box in the same frame: take it as it is
            self._state = measured
        elif self.hits == 1:  # the first motion seen: the velocity is the displacement
            self._velocity = (measured - self._state) / dt
            self._state = measured
        else:  # an alpha-beta filter: move most of the way to the measurement, adjust the velocity a bit
            predicted = self._predicted(frame)
            residual = measured - predicted
            self._state = predicted + position_gain * residual
            self._velocity = self._velocity + velocity_gain * residual / dt
        self._velocity[2:] *= 0.5  # sizes change slowly; damp their rate so boxes do not balloon while coasting
        self.box = box
        self.last_frame = frame
        self.hits += 1
        self.misses = 0


def _iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> FloatArray:
    out = np.zeros((len(a), len(b)), dtype=np.float64)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i, j] = x.iou(y)
    return out


class Tracker:
    """Follows boxes from detection to detection (SORT: overlap matching plus a constant-velocity model).

    Args:
        iou_threshold: the least intersection-over-union between a track's predicted box and a detected box to
            match them. Higher is stricter (more new tracks when faces move fast); 0.3 is typical.
        max_missed: detection rounds a track may go unmatched before it ends (0: it ends at its first miss).
        centre_gate: the second matching pass pairs leftover boxes and tracks whose centres are closer than this
            many box widths (and whose widths differ by less than a factor of 1.5); 0 turns the pass off.
        position_gain: how far a matched track moves towards its detection (1: all the way; 0.85 typical).
        velocity_gain: how much of the surprise goes into the velocity (higher follows changes of speed faster,
            lower is steadier; 0.5 typical).

    Examples:
        >>> tracker = Tracker()
        >>> [t.track_id for t in tracker.update([Box(0, 0, 10, 10)], frame=0)]
        [1]
        >>> [t.track_id for t in tracker.update([Box(50, 50, 60, 60), Box(2, 0, 12, 10)], frame=1)]
        [2, 1]
    """

    def __init__(self, *, iou_threshold: float = 0.3, max_missed: int = 3, centre_gate: float = 0.75,
                 position_gain: float = 0.85, velocity_gain: float = 0.5) -> None:
        if not 0 < iou_threshold <= 1:
            raise ConfigurationError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
        if max_missed < 0:
            raise ConfigurationError(f"max_missed must be >= 0, got {max_missed}")
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.centre_gate = centre_gate
        self.position_gain = position_gain
        self.velocity_gain = velocity_gain
        self.tracks: list[MotionTrack] = []
        #: the tracks that ended in the latest :meth:`update` or :meth:`clear`.
        self.ended: list[MotionTrack] = []
        self._next_id = 1

    def predict(self, frame: int) -> dict[int, Box]:
        """Every live track's expected box in ``frame``, by track id."""
        return {t.track_id: t.predict(frame) for t in self.tracks}

    def clear(self) -> list[MotionTrack]:
        """End every track (e.g. at a cut between shots); returns them (also in :attr:`ended`)."""
        self.ended = self.tracks
        self.tracks = []
        return self.ended

    def update(self, boxes: Sequence[Box], frame: int) -> list[MotionTrack]:
        """Match the boxes detected in ``frame`` to the tracks.

        Tracks not matched count a miss, and end (moving to :attr:`ended`) after more than ``max_missed``.

        Args:
            boxes: the boxes detected in this frame.
            frame: the frame number (increasing from call to call; gaps are fine).

        Returns:
            The track of each box, in the order of ``boxes``: a matched track, or a new one.
        """
        predicted = [t.predict(frame) for t in self.tracks]
        assigned: dict[int, int] = {}  # box index -> track index
        if self.tracks and boxes:
            from scipy.optimize import linear_sum_assignment

            iou = _iou_matrix(boxes, predicted)
            rows, cols = linear_sum_assignment(-iou)
            assigned = {int(r): int(c) for r, c in zip(rows, cols) if iou[r, c] >= self.iou_threshold}
            if self.centre_gate > 0:
                self._match_by_centre(boxes, predicted, assigned)
        out: list[MotionTrack] = []
        matched_tracks = set(assigned.values())
        for i, box in enumerate(boxes):
            if i in assigned:
                track = self.tracks[assigned[i]]
                track._correct(box, frame, position_gain=self.position_gain, velocity_gain=self.velocity_gain)
            else:
                track = MotionTrack(self._next_id, box, frame, frame, _state=_state(box))
                self._next_id += 1
            out.append(track)
        kept: list[MotionTrack] = []
        self.ended = []
        for j, track in enumerate(self.tracks):
            if j not in matched_tracks:
                track.misses += 1
                if track.misses > self.max_missed:
                    self.ended.append(track)
                    continue
            kept.append(track)
        self.tracks = kept + [t for i, t in enumerate(out) if i not in assigned]
        return out

    def _match_by_centre(self, boxes: Sequence[Box], predicted: Sequence[Box], assigned: dict[int, int]) -> None:
        free_tracks = set(range(len(predicted))) - set(assigned.values())
        pairs: list[tuple[float, int, int]] = []
        for i, box in enumerate(boxes):
            if i in assigned:
                continue
            for j in free_tracks:
                other = predicted[j]
                size = (box.width + other.width) / 2.0
                if size <= 0 or not 1 / 1.5 < box.width / max(other.width, 1) < 1.5:
                    continue
                gap = float(np.hypot(box.center[0] - other.center[0], box.center[1] - other.center[1])) / size
                if gap < self.centre_gate:
                    pairs.append((gap, i, j))
        for _, i, j in sorted(pairs):
            if i not in assigned and j in free_tracks:
                assigned[i] = j
                free_tracks.discard(j)
