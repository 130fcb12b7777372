"""dlib's MMOD CNN face detector, rebuilt from its model file and run on ONNX Runtime.

It reproduces ``dlib.cnn_face_detection_model_v1(image, upsample)`` step by step, in vectorised numpy around one
ONNX Runtime call:

1. ``upsample`` times ``pyramid_up`` with ``pyramid_down<2>`` (dlib's Python binding): the image grows to
   ``(2*rows + 1) x (2*cols + 2)`` by dlib's SIMD bilinear resize (float32 weights, truncation to uint8).
2. The tiled pyramid of ``input_rgb_image_pyramid<pyramid_down<6>>``: levels of ``floor(5/6)`` size stacked on a
   zero canvas (padding 10, outer padding 11), level 0 the normalised image ``(pixel - mean) / 256``, each further
   level an align-corners bilinear resize of the previous one.
3. The network's score map; every score > 0 is a detection.
4. Score position -> canvas point (``8 * p + 14`` for this network) -> 80x80 window -> the pyramid level whose tile
   holds its centre (or the nearest tile) -> image coordinates by ``point_up`` (``p * 6/5 + 0.3`` per level) ->
   rounded to an integer rectangle.
5. Sorted by score, then dlib's greedy NMS (``intersection / bounding-box-of-both > 0.338`` drops a box).
6. Rectangles mapped back through ``pyramid_down<2>::rect_down`` for each upsampling.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, ImageError
from facerec.models.dlibfile import read_dlib_dnn
from facerec.models.locate import locate_model
from facerec.models.onnx_build import create_session
from facerec.types import Box, Detection

__all__ = ["OnnxCnnDetector", "pyramid_up", "tiled_pyramid", "tiled_pyramid_rects"]

Rect = tuple[int, int, int, int]  # dlib rectangle: left, top, right, bottom (inclusive)


# ---------------------------------------------------------------------------------------------------------------
# dlib's bilinear resize (interpolation.h, the SIMD overloads for float and rgb images)


def _axis_rows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of dlib's resize: ``top``, ``bottom`` and ``tb_frac`` (double), with ``y`` accumulated in double."""
    scale = (n_in - 1) / float(max(n_out - 1, 1))
    steps = np.full(n_out + 1, scale, dtype=np.float64)
    steps[0] = -scale
    y = np.cumsum(steps)[1:]
    top = np.floor(y).astype(np.intp)
    bottom = np.minimum(top + 1, n_in - 1)
    return top, bottom, y - top


def _axis_cols(n_in: int, n_out: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Columns of dlib's SIMD resize: the first tail column, and ``left``, ``right``, ``lr_frac`` (float32) of the
    vectorised columns before it (``x`` accumulated in float32, four lanes at a time, truncated to int)."""
    scale = (n_in - 1) / float(max(n_out - 1, 1))
    x0 = -4 * scale
    lanes = np.array([x0, x0 + scale, x0 + 2 * scale, x0 + 3 * scale], dtype=np.float32)
    groups = n_out // 4 + 2
    steps = np.empty((groups + 1, 4), dtype=np.float32)
    steps[0] = lanes
    steps[1:] = np.float32(4 * scale)
    xs = np.cumsum(steps, axis=0, dtype=np.float32)[1:]  # (groups, 4), sequential float32 sums
    left = xs.astype(np.int32)  # _mm_cvttps_epi32: truncation
    ok = (left[:, 3] + 1) < n_in
    bad = np.flatnonzero(~ok)
    first_bad = int(bad[0]) if bad.size else groups
    tail = min(4 * first_bad, n_out)
    x = xs.reshape(-1)[:tail]
    left_c = left.reshape(-1)[:tail].astype(np.intp)
    lr = (x - left_c.astype(np.float32)).astype(np.float32)
    return tail, left_c, left_c + 1, lr


def _tail_x(n_in: int, n_out: int, tail: int) -> np.ndarray:
    scale = (n_in - 1) / float(max(n_out - 1, 1))
    count = n_out - tail
    if count <= 0:
        return np.zeros(0, dtype=np.float64)
    steps = np.full(count + 1, scale, dtype=np.float64)
    steps[0] = -scale + tail * scale
    return np.cumsum(steps)[1:]


def _resize_dlib(src: np.ndarray, n_out_rows: int, n_out_cols: int, *, to_uint8: bool) -> np.ndarray:
    """dlib's ``resize_image(in, out, interpolate_bilinear)`` on a ``(C, H, W)`` float32 array.

    ``to_uint8`` follows the rgb_pixel overload (results truncated to 0..255); otherwise the float overload.
    """
    channels, n_in_rows, n_in_cols = src.shape
    out = np.empty((channels, n_out_rows, n_out_cols), dtype=np.float32)
    if n_out_rows == 0 or n_out_cols == 0 or n_in_rows == 0 or n_in_cols == 0:
        out[...] = 0
        return out
    top, bottom, tb = _axis_rows(n_in_rows, n_out_rows)
    tail, left, right, lr = _axis_cols(n_in_cols, n_out_cols)
    tb_f = tb.astype(np.float32)[:, None]
    inv_tb_f = (1.0 - tb).astype(np.float32)[:, None]
    if tail:
        lr_f = lr[None, :]
        inv_lr_f = (np.float32(1) - lr).astype(np.float32)[None, :]
        # gather columns on the (smaller or similar) source rows first, then whole rows; accumulate in place in
        # dlib's order ((tl*wtl + tr*wtr) + bl*wbl) + br*wbr, each step rounded to float32 like the SSE code
        cols_left = np.take(src, left, axis=2)
        cols_right = np.take(src, right, axis=2)
        block = max(1, (1 << 15) // (channels * tail))  # output rows per block: keep the work in cache
        for r0 in range(0, n_out_rows, block):
            rows = slice(r0, r0 + block)
            wt, wb = inv_tb_f[rows], tb_f[rows]
            acc = np.take(cols_left, top[rows], axis=1)
            acc *= wt * inv_lr_f
            part = np.take(cols_right, top[rows], axis=1)
            part *= wt * lr_f
            acc += part
            np.take(cols_left, bottom[rows], axis=1, out=part)
            part *= wb * inv_lr_f
            acc += part
            np.take(cols_right, bottom[rows], axis=1, out=part)
            part *= wb * lr_f
            acc += part
            if to_uint8:
                np.trunc(acc, out=acc)
            out[:, rows, :tail] = acc
    if tail < n_out_cols:
        x = _tail_x(n_in_cols, n_out_cols, tail)
        t_left = np.floor(x).astype(np.intp)
        t_right = np.minimum(t_left + 1, n_in_cols - 1)
        tb64 = tb[:, None]
        tail_left = np.take(src, t_left, axis=2)
        tail_right = np.take(src, t_right, axis=2)
        tl = np.take(tail_left, top, axis=1).astype(np.float64)
        tr = np.take(tail_right, top, axis=1).astype(np.float64)
        bl = np.take(tail_left, bottom, axis=1).astype(np.float64)
        br = np.take(tail_right, bottom, axis=1).astype(np.float64)
        if to_uint8:
            lr64 = (x - t_left)[None, :]
            value = (1 - tb64) * ((1 - lr64) * tl + lr64 * tr) + tb64 * ((1 - lr64) * bl + lr64 * br)
            value = np.trunc(value)
        else:
            lr32 = (x - t_left).astype(np.float32)[None, :]
            upper = ((np.float32(1) - lr32) * tl.astype(np.float32) + lr32 * tr.astype(np.float32))
            lower = ((np.float32(1) - lr32) * bl.astype(np.float32) + lr32 * br.astype(np.float32))
            value = (1 - tb64) * upper.astype(np.float64) + tb64 * lower.astype(np.float64)
        out[:, :, tail:] = value.astype(np.float32)
    return out


def pyramid_up(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """dlib's ``pyramid_up(img, pyramid_down<2>())`` of an RGB image: ``(H, W, 3)`` -> ``(2H + 1, 2W + 2, 3)``.

    The size comes from ``pyramid_down<2>::rect_up`` (``(p + (1.25, 0.75)) * 2``, rounded); pixels from dlib's
    SIMD bilinear resize with align-corners coordinates and truncation to uint8.
    """
    rows, cols = image.shape[:2]
    if rows == 0 or cols == 0:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    right = math.floor((cols - 1 + 1.25) * 2 + 0.5)
    bottom = math.floor((rows - 1 + 0.75) * 2 + 0.5)
    planes = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    resized = _resize_dlib(planes, bottom + 1, right + 1, to_uint8=True)
    return np.ascontiguousarray(resized.transpose(1, 2, 0)).astype(np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# the tiled pyramid (image_pyramid.h: compute_tiled_image_pyramid_details, pyramid_down<N>)


def tiled_pyramid_rects(rows: int, cols: int, *, down: int = 6, padding: int = 10,
                        outer_padding: int = 11) -> tuple[list[Rect], int, int]:
    """Where dlib puts each pyramid level on the canvas.

    Returns:
        ``(rects, canvas_rows, canvas_cols)``; each rect is ``(left, top, right, bottom)``, inclusive, level 0
        first. Empty for an empty image.
    """
    if rows * cols == 0:
        return [], 0, 0
    rate = (down - 1.0) / down
    sizes = [(cols, rows)]  # (width, height)
    nr, nc = rows, cols
    while True:
        nr, nc = math.floor(rate * nr), math.floor(rate * nc)
        if nr * nc == 0 or nr < 5:
            break
        sizes.append((nc, nr))
    total_height = sum(h + padding for _, h in sizes) - 2 * padding
    width0, height0 = sizes[0]
    height = 0
    prev_width = 0
    for w, h in sizes:
        if w <= width0 - prev_width - padding and (height - height0) * 2 >= (total_height - height0):
            break
        height += h + padding
        prev_width = w
    height -= padding
    canvas_rows, canvas_cols = height + 2 * outer_padding, width0 + 2 * outer_padding
    rects: list[Rect] = []
    y = outer_padding
    i = 0
    while y < height + outer_padding and i < len(sizes):
        w, h = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        w, h = sizes[i]
        right, bottom = outer_padding + width0 - 1, y - 1
        rect = (right - (w - 1), bottom - (h - 1), right, bottom)
        if max(rect[0], first[0]) <= min(rect[2], first[2]) and max(rect[1], first[1]) <= min(rect[3], first[3]):
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return rects, canvas_rows, canvas_cols


def tiled_pyramid(image: npt.NDArray[np.uint8], mean_rgb: tuple[float, float, float], *, down: int = 6,
                  padding: int = 10, outer_padding: int = 11) -> tuple[npt.NDArray[np.float32], list[Rect]]:
    """dlib's ``input_rgb_image_pyramid::to_tensor``: the normalised ``(1, 3, H, W)`` canvas and the level rects."""
    rows, cols = image.shape[:2]
    rects, canvas_rows, canvas_cols = tiled_pyramid_rects(rows, cols, down=down, padding=padding,
                                                          outer_padding=outer_padding)
    canvas = np.zeros((1, 3, canvas_rows, canvas_cols), dtype=np.float32)
    if not rects:
        return canvas, rects
    mean = np.asarray(mean_rgb, dtype=np.float32).reshape(3, 1, 1)
    level = (image.transpose(2, 0, 1).astype(np.float32) - mean) / np.float32(256.0)
    left, top, right, bottom = rects[0]
    canvas[0, :, top:bottom + 1, left:right + 1] = level
    for rect in rects[1:]:
        left, top, right, bottom = rect
        level = _resize_dlib(level, bottom - top + 1, right - left + 1, to_uint8=False)
        canvas[0, :, top:bottom + 1, left:right + 1] = level
    return canvas, rects


# ---------------------------------------------------------------------------------------------------------------
# the detector


def _round_rect(values: np.ndarray) -> np.ndarray:
    """drectangle -> rectangle: ``floor(v + 0.5)``."""
    return np.floor(values + 0.5).astype(np.int64)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float, covered_thresh: float) -> list[int]:
    """dlib's greedy NMS with ``test_box_overlap``: boxes sorted best first; returns the kept indices."""
    kept: list[int] = []
    kept_boxes: list[tuple[int, int, int, int, int]] = []
    for index, (le, t, r, b) in enumerate(boxes.tolist()):
        area = (r - le + 1) * (b - t + 1)
        drop = False
        for kl, kt, kr, kb, karea in kept_boxes:
            iw = min(r, kr) - max(le, kl) + 1
            ih = min(b, kb) - max(t, kt) + 1
            if iw <= 0 or ih <= 0:
                continue
            inner = iw * ih
            outer = (max(r, kr) - min(le, kl) + 1) * (max(b, kb) - min(t, kt) + 1)
            if inner / outer > iou_thresh or inner / karea > covered_thresh or inner / area > covered_thresh:
                drop = True
                break
        if not drop:
            kept.append(index)
            kept_boxes.append((le, t, r, b, area))
    return kept


class OnnxCnnDetector:
    """dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``) on ONNX Runtime.

    Gives the same rectangles as ``dlib.cnn_face_detection_model_v1`` (and confidences within float rounding) many
    times faster. Scores are the network's raw outputs: > 0 is a face, typical faces score 0.5-1.2.

    Args:
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.
        threads: ONNX Runtime intra-op threads (``None``: one per core).
        providers: ``None`` picks CUDA when available, else CPU; or e.g. ``["cpu"]``. An unavailable provider
            raises :class:`~facerec.errors.ConfigurationError`.

    Attributes:
        provider: the ONNX Runtime provider actually in use.
    """

    name = "cnn"

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int | None = None,
                 providers: list[str] | None = None) -> None:
        net = read_dlib_dnn(locate_model("mmod", model_path))
        loss = net.loss
        if loss.get("tag") != "loss_mmod_" or net.input.get("pyramid_padding") is None:
            raise ConfigurationError(f"{net.path} is not an MMOD detector with an image-pyramid input")
        self.threads = threads
        self._mean: tuple[float, float, float] = net.input["mean_rgb"]
        self._padding: int = net.input["pyramid_padding"]
        self._outer_padding: int = net.input["pyramid_outer_padding"]
        self._windows: list[dict[str, Any]] = loss["detector_windows"]
        self._nms = (float(loss["nms_iou_thresh"]), float(loss["nms_percent_covered_thresh"]))
        # spatial layers, last first, as (stride_x, pad_x, nc, stride_y, pad_y, nr); output -> input: p*s - p + k//2
        self._mapping = [(layer.attrs["stride_x"], layer.attrs["padding_x"], layer.attrs["nc"],
                          layer.attrs["stride_y"], layer.attrs["padding_y"], layer.attrs["nr"])
                         for layer in reversed(net.layers) if layer.kind in ("con", "max_pool", "avg_pool")]
        self._session, self.provider = create_session("mmod", model_path, threads, providers)

    def __repr__(self) -> str:
        return f"OnnxCnnDetector(provider={self.provider!r}, threads={self.threads})"

    def _output_size(self, rows: int, cols: int) -> tuple[int, int]:
        """The score map's size for a canvas of ``rows`` x ``cols`` (0 when the canvas is too small)."""
        for sx, px, kx, sy, py, ky in reversed(self._mapping):
            rows = 1 + (rows + 2 * py - ky) // sy if rows + 2 * py >= ky else 0
            cols = 1 + (cols + 2 * px - kx) // sx if cols + 2 * px >= kx else 0
        return rows, cols

    def scores(self, image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], list[Rect]]:
        """The raw score map ``(windows, h, w)`` of ``image`` (no upsampling) and the pyramid level rects."""
        canvas, rects = tiled_pyramid(image, self._mean, padding=self._padding, outer_padding=self._outer_padding)
        out_r, out_c = self._output_size(canvas.shape[2], canvas.shape[3])
        if not rects or out_r <= 0 or out_c <= 0:
            return np.zeros((len(self._windows), 0, 0), dtype=np.float32), rects
        return self._session.run(["scores"], {"canvas": canvas})[0][0], rects

    def detect_raw(self, image: npt.NDArray[np.uint8], upsample: int) -> list[Detection]:
        """Faces in ``image`` as ``dlib.cnn_face_detection_model_v1(image, upsample)`` finds them.

        Args:
            image: RGB ``uint8`` ``(H, W, 3)`` (or grayscale ``(H, W)``).
            upsample: times to double the image first (0 finds faces of about 80 px and up; each step halves
                that and costs about 4x).

        Returns:
            Detections, best score first, with boxes as dlib gives them (not clipped to the image).

        Raises:
            ImageError: ``image`` is not a uint8 RGB or grayscale array.
            ConfigurationError: ``upsample`` is negative.
        """
        image = np.asarray(image)
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ImageError("<array>", f"expected a uint8 (H, W, 3) RGB or (H, W) gray array, "
                                        f"got {image.dtype} {image.shape}")
        if not isinstance(upsample, (int, np.integer)) or upsample < 0:
            raise ConfigurationError(f"upsample must be an integer >= 0, got {upsample!r}")
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        for _ in range(int(upsample)):
            image = pyramid_up(image)
        score_map, rects = self.scores(image)
        if score_map.size == 0:
            return []
        k, r, c = np.nonzero(score_map > 0)
        if k.size == 0:
            return []
        scores = score_map[k, r, c].astype(np.float64)
        x = c.astype(np.float64)
        y = r.astype(np.float64)
        for sx, px, kx, sy, py, ky in self._mapping:
            x = x * sx - px + kx // 2
            y = y * sy - py + ky // 2
        half_w = np.array([(w["width"] - 1) / 2.0 for w in self._windows])[k]
        half_h = np.array([(w["height"] - 1) / 2.0 for w in self._windows])[k]
        boxes = np.stack([x - half_w, y - half_h, x + half_w, y + half_h], axis=1)
        level = self._levels(boxes, rects)
        origin = np.asarray(rects, dtype=np.float64)[level][:, [0, 1, 0, 1]]
        boxes = boxes - origin
        for step in range(1, int(level.max()) + 1):
            mask = level >= step
            boxes[mask] = boxes[mask] * (6 / 5.0) + 0.3  # pyramid_down<6>::point_up
        rounded = _round_rect(boxes)
        order = np.argsort(-scores, kind="stable")
        rounded, scores = rounded[order], scores[order]
        kept = _nms(rounded, scores, *self._nms)
        out = []
        for index in kept:
            box = rounded[index].astype(np.float64)
            for _ in range(int(upsample)):
                box = box / 2.0 - np.array([1.25, 0.75, 1.25, 0.75])  # pyramid_down<2>::point_down
            if upsample:
                box = _round_rect(box).astype(np.float64)
            left, top, right, bottom = (int(v) for v in box)
            out.append(Detection(Box(left, top, right, bottom), float(scores[index])))
        return out

    @staticmethod
    def _levels(boxes: np.ndarray, rects: list[Rect]) -> np.ndarray:
        """dlib's ``nearest_rect(rects, dcenter(r))``: the first tile holding the rounded centre, else the nearest."""
        cx = np.floor((boxes[:, 0] + boxes[:, 2]) / 2.0 + 0.5)
        cy = np.floor((boxes[:, 1] + boxes[:, 3]) / 2.0 + 0.5)
        tiles = np.asarray(rects, dtype=np.float64)
        inside = ((cx[:, None] >= tiles[None, :, 0]) & (cx[:, None] <= tiles[None, :, 2])
                  & (cy[:, None] >= tiles[None, :, 1]) & (cy[:, None] <= tiles[None, :, 3]))
        nx = np.clip(cx[:, None], tiles[None, :, 0], tiles[None, :, 2])
        ny = np.clip(cy[:, None], tiles[None, :, 1], tiles[None, :, 3])
        dist = np.sqrt((nx - cx[:, None]) ** 2 + (ny - cy[:, None]) ** 2)
        nearest = np.argmin(dist, axis=1)
        first_inside = np.argmax(inside, axis=1)
        levels: np.ndarray = np.where(inside.any(axis=1), first_inside, nearest)
        return levels
