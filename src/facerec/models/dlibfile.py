"""Read dlib's DNN model files (``.dat``) in pure numpy.

The format is described in ``specs/dlib-dnn-format.md`` (shared with the team): dlib writes ``serialize(net)`` of
the top-level ``add_loss_layer`` with no header. This module decodes every primitive dlib uses (integers, ASCII
bools, ``float_details`` floats, strings, ``tensor`` v2 and ``alias_tensor`` v1) and the layer payloads found in the
face ResNet (``dlib_face_recognition_resnet_model_v1.dat``) and the MMOD face detector
(``mmod_human_face_detector.dat``), and returns a :class:`DlibNet`: the loss, the input layer and the layers in
input -> output order.

The reader is strict: every byte must be consumed, and an unknown tag or version, a truncated file or trailing bytes
raise :class:`~facerec.errors.ModelFormatError` naming the byte offset where reading failed.

Batch-norm layers stored as ``bn_con2``/``bn_fc2`` are folded into ``affine`` layers exactly as dlib does when it
loads them into an ``affine`` slot (``g = gamma / sqrt(var + eps)``, ``b = beta - g * mean``, all in float32).

dlib's files do not store the wiring of tag/skip layers or which tag an ``add_prev`` reads. The reader labels a run
of bare wrapper layers the way dlib's ResNet templates use them (a run of one is a ``tag``; in a run of two or more
the last is a ``skip``), and :func:`resnet_graph` wires the face ResNet by the rule of the spec (section 4.1).

Example:
    >>> from facerec.models import locate_model
    >>> net = read_dlib_dnn(locate_model("mmod"))       # doctest: +SKIP
    >>> [layer.kind for layer in net.layers][:3]        # doctest: +SKIP
    ['con', 'affine', 'relu']
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.errors import ModelFormatError
from facerec.files import bytes_sha256

__all__ = [
    "DlibNet",
    "Layer",
    "Node",
    "count_params",
    "parse_dlib_dnn",
    "read_dlib_dnn",
    "resnet_graph",
    "sequential_graph",
]

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Layer:
    """One layer of a dlib network, in the file's input -> output order.

    Attributes:
        kind: ``'con'``, ``'affine'``, ``'relu'``, ``'max_pool'``, ``'avg_pool'``, ``'add_prev'``, ``'fc'``,
            ``'tag'`` or ``'skip'`` (batch norm is folded into ``'affine'``).
        tag: the layer's string tag in the file (e.g. ``'con_4'``, ``'bn_con2'``); ``''`` for tag/skip.
        params: ``con``: ``'weight'`` ``(O, I, kh, kw)`` float32 OIHW and ``'bias'`` ``(O,)``; ``affine``: ``'gamma'``
            and ``'beta'`` ``(C,)``; ``fc``: ``'weight'`` ``(num_inputs, num_outputs)`` and optional ``'bias'``.
        attrs: ``con``: ``num_filters``, ``nr``, ``nc``, ``stride_y``, ``stride_x``, ``padding_y``, ``padding_x``
            (and ``use_relu``); pools: ``nr``, ``nc`` (0 means the whole input), strides and paddings; ``affine``:
            ``mode`` ``'conv'`` or ``'fc'``; ``fc``: ``num_outputs``, ``num_inputs``.
    """

    kind: str
    tag: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DlibNet:
    """A parsed dlib network file.

    Attributes:
        path: the file read.
        sha256: its SHA-256, hex.
        loss: ``{'tag': ..., <fields>}``; ``loss_metric``: ``margin``, ``distance_threshold`` (lower is stricter;
            0.6 in the face ResNet); ``loss_mmod``: ``version``, ``detector_windows`` (list of ``{'width',
            'height', 'label'}``), ``loss_per_false_alarm``, ``loss_per_missed_target``,
            ``truth_match_iou_threshold``, ``nms_iou_thresh``, ``nms_percent_covered_thresh``,
            ``ignore_iou_thresh``, ``ignore_percent_covered_thresh``, ``assume_image_pyramid``,
            ``use_bounding_box_regression``, ``bbr_lambda``.
        input: ``{'tag', 'mean_rgb': (r, g, b), 'size': (nr, nc) or None, 'pyramid_padding',
            'pyramid_outer_padding'}`` (the paddings are ``None`` for non-pyramid inputs).
        layers: the layers, input -> output, tag/skip entries included.
    """

    path: str
    sha256: str
    loss: dict[str, Any]
    input: dict[str, Any]
    layers: list[Layer]


@dataclass(frozen=True)
class Node:
    """One node of a network graph built from a :class:`DlibNet`.

    Attributes:
        name: unique node name (``'input'`` for the input).
        op: ``'input'``, ``'con'``, ``'affine'``, ``'relu'``, ``'max_pool'``, ``'avg_pool'``, ``'global_avg_pool'``,
            ``'add'`` (dlib's ``add_prev``: the smaller input zero-padded at the end of channels, bottom rows and
            right columns to the element-wise max shape) or ``'fc'``.
        inputs: names of the nodes feeding this one.
        layer: the file's layer, ``None`` for the input.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    layer: Layer | None


# ---------------------------------------------------------------------------------------------------------------
# primitives


class _Reader:
    """A cursor over the file's bytes that decodes dlib's primitives."""

    def __init__(self, data: bytes, path: str) -> None:
        self.data = data
        self.path = path
        self.pos = 0

    def fail(self, reason: str, offset: int | None = None) -> ModelFormatError:
        return ModelFormatError(self.path, reason, self.pos if offset is None else offset)

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"file truncated while reading {what} ({n} bytes needed, "
                            f"{len(self.data) - self.pos} left)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int_(self, what: str = "integer", *, signed: bool = True, max_bytes: int = 8) -> int:
        start = self.pos
        control = self.take(1, what)[0]
        if control & 0x70:
            raise self.fail(f"bad control byte 0x{control:02x} for {what}", start)
        n = control & 0x0F
        if n == 0 or n > max_bytes:
            raise self.fail(f"bad length {n} in control byte 0x{control:02x} for {what}", start)
        value = int.from_bytes(self.take(n, what), "little")
        if control & 0x80:
            if not signed:
                raise self.fail(f"negative value for unsigned {what}", start)
            value = -value
        return value

    def uint(self, what: str = "unsigned integer") -> int:
        return self.int_(what, signed=False)

    def bool_(self, what: str = "bool") -> bool:
        start = self.pos
        byte = self.take(1, what)[0]
        if byte == 0x31:
            return True
        if byte == 0x30:
            return False
        raise self.fail(f"bad bool byte 0x{byte:02x} for {what} (expected '0' or '1')", start)

    def byte(self, what: str = "byte") -> int:
        return self.take(1, what)[0]

    def float_(self, what: str = "float") -> float:
        """A ``float``/``double`` as dlib's ``float_details``: mantissa (int64) then exponent (int16)."""
        start = self.pos
        if start < len(self.data) and self.data[start] & 0x70:
            raise self.fail(f"old text float format for {what} is not supported", start)
        mantissa = self.int_(what + " mantissa", max_bytes=8)
        exponent = self.int_(what + " exponent", max_bytes=2)
        if exponent == 32000:
            return math.inf
        if exponent == 32001:
            return -math.inf
        if exponent == 32002:
            return math.nan
        try:
            return math.ldexp(float(mantissa), exponent)
        except OverflowError:
            raise self.fail(f"{what} out of range", start) from None

    def float32(self, what: str = "float") -> float:
        start = self.pos
        value = self.float_(what)
        if math.isfinite(value) and abs(value) > float(np.finfo(np.float32).max):
            raise self.fail(f"{what} {value!r} is out of float32 range", start)
        return float(np.float32(value))

    def string(self, what: str = "string") -> str:
        start = self.pos
        n = self.uint(what + " length")
        raw = self.take(n, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not ASCII", start) from None

    def peek_string_startswith(self, prefix: bytes) -> bool:
        """Whether a string starting with ``prefix`` is next (without moving)."""
        saved = self.pos
        try:
            n = self.uint()
            return n >= len(prefix) and self.data[self.pos:self.pos + len(prefix)] == prefix
        except ModelFormatError:
            return False
        finally:
            self.pos = saved

    def tensor(self, what: str = "tensor") -> Array:
        start = self.pos
        version = self.int_(what + " version")
        if version != 2:
            raise self.fail(f"unknown {what} version {version} (expected 2)", start)
        shape = tuple(self.uint(what + " dimension") for _ in range(4))
        count = shape[0] * shape[1] * shape[2] * shape[3]
        raw = self.take(4 * count, what + " data")
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        if not np.isfinite(values).all():
            raise self.fail(f"{what} holds non-finite values", start)
        return values

    def alias_tensor(self, what: str = "alias_tensor") -> tuple[int, int, int, int]:
        start = self.pos
        version = self.int_(what + " version")
        if version != 1:
            raise self.fail(f"unknown {what} version {version} (expected 1)", start)
        n, k, nr, nc = (self.uint(what + " dimension") for _ in range(4))
        return (n, k, nr, nc)


# ---------------------------------------------------------------------------------------------------------------
# layers


def _size(shape: tuple[int, ...]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


#: The window fields of ``con`` and pooling layers, in file order (also the keys of their ``attrs``).
_WINDOW_FIELDS = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")


def _read_window(r: _Reader, what: str) -> tuple[int, ...]:
    """The six window fields of a ``con`` or pooling layer, in :data:`_WINDOW_FIELDS` order."""
    return tuple(r.int_(f"{what} {name}") for name in _WINDOW_FIELDS)


def _read_multipliers(r: _Reader) -> None:
    for name in ("learning_rate_multiplier", "weight_decay_multiplier", "bias_learning_rate_multiplier",
                 "bias_weight_decay_multiplier"):
        r.float_(name)


def _read_con(r: _Reader, tag: str, start: int) -> Layer:
    params = r.tensor("con params").reshape(-1)
    num_filters = r.int_("con num_filters")
    window = _read_window(r, "con")
    nr, nc, stride_y, stride_x, padding_y, padding_x = window
    filters = r.alias_tensor("con filters")
    biases = r.alias_tensor("con biases")
    _read_multipliers(r)
    use_bias = True
    use_relu = False
    if tag in ("con_5", "con_6"):
        use_bias = r.bool_("con use_bias")
    if tag == "con_6":
        use_relu = r.bool_("con use_relu")
    if filters[0] != num_filters or filters[2:] != (nr, nc) or min(nr, nc, stride_y, stride_x) < 1 \
            or padding_y < 0 or padding_x < 0:
        raise r.fail(f"inconsistent con layer: filters {filters}, num_filters {num_filters}, "
                     f"window {nr}x{nc}, stride {stride_y}x{stride_x}", start)
    n_w = _size(filters)
    n_b = _size(biases) if use_bias else 0
    if use_bias and n_b != num_filters:
        raise r.fail(f"con biases {biases} do not match {num_filters} filters", start)
    if params.size != n_w + n_b:
        raise r.fail(f"con params hold {params.size} values, expected {n_w + n_b}", start)
    weight = params[:n_w].reshape(filters).copy()
    bias = params[n_w:n_w + n_b].copy() if use_bias else np.zeros(num_filters, dtype=np.float32)
    return Layer("con", tag, {"weight": weight, "bias": bias},
                 {"num_filters": num_filters, **dict(zip(_WINDOW_FIELDS, window)), "use_relu": use_relu})


def _read_fc(r: _Reader, tag: str, start: int) -> Layer:
    num_outputs = r.uint("fc num_outputs")
    num_inputs = r.uint("fc num_inputs")
    params = r.tensor("fc params").reshape(-1)
    weights = r.alias_tensor("fc weights")
    biases = r.alias_tensor("fc biases")
    bias_mode = r.int_("fc bias_mode")
    _read_multipliers(r)
    use_bias = True
    if tag == "fc_3":
        use_bias = r.bool_("fc use_bias")
    if bias_mode not in (0, 1):
        raise r.fail(f"unknown fc bias_mode {bias_mode}", start)
    has_bias = bias_mode == 0 and use_bias
    n_w = num_inputs * num_outputs
    if _size(weights) != n_w:
        raise r.fail(f"fc weights {weights} do not hold {num_inputs}x{num_outputs} values", start)
    n_b = num_outputs if has_bias else 0
    if has_bias and _size(biases) != num_outputs:
        raise r.fail(f"fc biases {biases} do not match {num_outputs} outputs", start)
    if params.size != n_w + n_b:
        raise r.fail(f"fc params hold {params.size} values, expected {n_w + n_b}", start)
    out: dict[str, np.ndarray] = {"weight": params[:n_w].reshape(num_inputs, num_outputs).copy()}
    if has_bias:
        out["bias"] = params[n_w:n_w + n_b].copy()
    return Layer("fc", tag, out, {"num_outputs": num_outputs, "num_inputs": num_inputs})


def _gamma_beta(r: _Reader, params: Array, gamma: tuple[int, int, int, int], beta: tuple[int, int, int, int],
                what: str, start: int) -> tuple[Array, Array]:
    n_g, n_b = _size(gamma), _size(beta)
    if n_g != n_b or params.size != n_g + n_b:
        raise r.fail(f"{what} params hold {params.size} values for gamma {gamma} and beta {beta}", start)
    return params[:n_g].copy(), params[n_g:].copy()


def _read_affine(r: _Reader, tag: str, start: int) -> Layer:
    params = r.tensor("affine params").reshape(-1)
    gamma_shape = r.alias_tensor("affine gamma")
    beta_shape = r.alias_tensor("affine beta")
    mode = r.int_("affine mode")
    if tag == "affine_2":
        disabled = r.bool_("affine disabled")
        if disabled:
            raise r.fail("disabled affine layers are not supported", start)
    if mode not in (0, 1):
        raise r.fail(f"unknown affine mode {mode}", start)
    gamma, beta = _gamma_beta(r, params, gamma_shape, beta_shape, "affine", start)
    return Layer("affine", tag, {"gamma": gamma, "beta": beta}, {"mode": "conv" if mode == 0 else "fc"})


def _read_bn(r: _Reader, tag: str, start: int) -> Layer:
    params = r.tensor("bn params").reshape(-1)
    gamma_shape = r.alias_tensor("bn gamma")
    beta_shape = r.alias_tensor("bn beta")
    r.tensor("bn means")
    r.tensor("bn invstds")
    running_means = r.tensor("bn running_means").reshape(-1)
    running_variances = r.tensor("bn running_variances").reshape(-1)
    r.uint("bn num_updates")
    r.uint("bn running_stats_window_size")
    _read_multipliers(r)
    eps = r.float_("bn eps")
    gamma, beta = _gamma_beta(r, params, gamma_shape, beta_shape, "bn", start)
    if running_means.size != gamma.size or running_variances.size != gamma.size:
        raise r.fail("bn running statistics do not match gamma", start)
    # dlib's affine_(const bn_&): float32 arithmetic, eps converted to float.
    with np.errstate(all="ignore"):
        denominator = np.sqrt(running_variances + np.float32(eps))
        g = (gamma / denominator).astype(np.float32)
        b = (beta - g * running_means).astype(np.float32)
    if not (eps >= 0 and np.isfinite(g).all() and np.isfinite(b).all()):
        raise r.fail("bn statistics give non-finite affine parameters (negative variance or bad eps)", start)
    return Layer("affine", tag, {"gamma": g, "beta": b}, {"mode": "conv" if tag == "bn_con2" else "fc"})


def _read_pool(r: _Reader, tag: str, start: int) -> Layer:
    window = _read_window(r, "pool")
    nr, nc, stride_y, stride_x, padding_y, padding_x = window
    if min(nr, nc, padding_y, padding_x) < 0 or min(stride_y, stride_x) < 1:
        raise r.fail(f"bad pooling window {nr}x{nc} stride {stride_y}x{stride_x}", start)
    kind = "max_pool" if tag.startswith("max") else "avg_pool"
    return Layer(kind, tag, {}, dict(zip(_WINDOW_FIELDS, window)))


def _read_relu(r: _Reader, tag: str, start: int) -> Layer:
    if tag == "relu_2" and r.bool_("relu disabled"):
        raise r.fail("disabled relu layers are not supported", start)
    return Layer("relu", tag)


def _read_add_prev(r: _Reader, tag: str, start: int) -> Layer:
    return Layer("add_prev", tag)


_LAYER_READERS = {
    "con_4": _read_con, "con_5": _read_con, "con_6": _read_con,
    "fc_2": _read_fc, "fc_3": _read_fc,
    "affine_": _read_affine, "affine_2": _read_affine,
    "bn_con2": _read_bn, "bn_fc2": _read_bn,
    "relu_": _read_relu, "relu_2": _read_relu,
    "max_pool_2": _read_pool, "avg_pool_2": _read_pool,
    "add_prev_": _read_add_prev,
}


def _read_layer_details(r: _Reader) -> Layer:
    start = r.pos
    tag = r.string("layer tag")
    reader = _LAYER_READERS.get(tag)
    if reader is None:
        raise r.fail(f"unknown layer tag {tag!r}", start)
    return reader(r, tag, start)


def _read_add_layer_tail(r: _Reader, version: int, input_adjacent: bool) -> None:
    """The fields ``add_layer`` writes after its details: 3 bools, 3 tensors (and v3's expansion factor)."""
    r.bool_("this_layer_setup_called")
    r.bool_("gradient_input_is_stale")
    r.bool_("get_output_and_gradient_input_disabled")
    r.tensor("x_grad")
    r.tensor("cached_output")
    if input_adjacent:
        r.tensor("grad_final")
        if version == 3:
            r.uint("sample_expansion_factor")
    else:
        r.tensor("params_grad")


# ---------------------------------------------------------------------------------------------------------------
# loss and input


def _read_mmod_options(r: _Reader) -> dict[str, Any]:
    start = r.pos
    version = r.int_("mmod_options version")
    if version not in (1, 2, 3, 4):
        raise r.fail(f"unknown mmod_options version {version}", start)
    windows: list[dict[str, Any]] = []
    if version == 1:
        width = r.uint("detector width")
        height = r.uint("detector height")
        windows.append({"width": width, "height": height, "label": ""})
    else:
        count = r.uint("detector_windows length")
        for _ in range(count):
            wstart = r.pos
            wversion = r.int_("detector_window_details version")
            if wversion not in (1, 2):
                raise r.fail(f"unknown detector_window_details version {wversion}", wstart)
            width = r.uint("detector width")
            height = r.uint("detector height")
            label = r.string("detector label") if wversion == 2 else ""
            windows.append({"width": width, "height": height, "label": label})
    out: dict[str, Any] = {"version": version, "detector_windows": windows}
    out["loss_per_false_alarm"] = r.float_("loss_per_false_alarm")
    out["loss_per_missed_target"] = r.float_("loss_per_missed_target")
    out["truth_match_iou_threshold"] = r.float_("truth_match_iou_threshold")
    out["nms_iou_thresh"] = r.float_("overlaps_nms iou_thresh")
    out["nms_percent_covered_thresh"] = r.float_("overlaps_nms percent_covered_thresh")
    out["ignore_iou_thresh"] = r.float_("overlaps_ignore iou_thresh")
    out["ignore_percent_covered_thresh"] = r.float_("overlaps_ignore percent_covered_thresh")
    out["assume_image_pyramid"] = True
    out["use_bounding_box_regression"] = False
    out["bbr_lambda"] = 100.0
    if version >= 3:
        out["assume_image_pyramid"] = bool(r.byte("assume_image_pyramid"))
    if version >= 4:
        out["use_bounding_box_regression"] = r.bool_("use_bounding_box_regression")
        out["bbr_lambda"] = r.float_("bbr_lambda")
    if not windows:
        raise r.fail("mmod_options has no detector windows", start)
    return out


def _read_loss(r: _Reader) -> dict[str, Any]:
    start = r.pos
    tag = r.string("loss tag")
    if tag == "loss_metric_2":
        return {"tag": tag, "margin": r.float32("margin"), "distance_threshold": r.float32("distance_threshold")}
    if tag == "loss_metric_":
        return {"tag": tag, "margin": 0.1, "distance_threshold": 0.75}
    if tag == "loss_mmod_":
        return {"tag": tag, **_read_mmod_options(r)}
    raise r.fail(f"unknown loss layer tag {tag!r}", start)


def _read_input(r: _Reader) -> dict[str, Any]:
    start = r.pos
    tag = r.string("input layer tag")
    if tag not in ("input_rgb_image", "input_rgb_image_sized", "input_rgb_image_pyramid",
                   "input_rgb_image_pyramid2"):
        raise r.fail(f"unknown input layer tag {tag!r}", start)
    mean = (r.float32("avg_red"), r.float32("avg_green"), r.float32("avg_blue"))
    out: dict[str, Any] = {"tag": tag, "mean_rgb": mean, "size": None, "pyramid_padding": None,
                           "pyramid_outer_padding": None}
    if tag == "input_rgb_image_sized":
        out["size"] = (r.uint("NR"), r.uint("NC"))
    elif tag == "input_rgb_image_pyramid":
        out["pyramid_padding"], out["pyramid_outer_padding"] = 10, 11
    elif tag == "input_rgb_image_pyramid2":
        out["pyramid_padding"] = r.uint("pyramid_padding")
        out["pyramid_outer_padding"] = r.uint("pyramid_outer_padding")
    return out


# ---------------------------------------------------------------------------------------------------------------
# the network


def _parse(data: bytes, path: str) -> DlibNet:
    r = _Reader(data, path)
    start = r.pos
    version = r.int_("add_loss_layer version")
    if version != 1:
        raise r.fail(f"unknown add_loss_layer version {version} (expected 1)", start)
    loss = _read_loss(r)
    versions: list[tuple[int, int]] = []  # (version, offset), outermost first
    while not r.peek_string_startswith(b"input"):
        offset = r.pos
        v = r.int_("layer wrapper version")
        if v not in (1, 2, 3):
            raise r.fail(f"unknown layer wrapper version {v}", offset)
        versions.append((v, offset))
    if not versions:
        raise r.fail("network has no layers")
    input_layer = _read_input(r)
    layers: list[Layer] = []
    innermost = True
    for v, offset in reversed(versions):
        if innermost:
            if v not in (2, 3):
                raise r.fail(f"unsupported input-adjacent layer version {v} (expected 2 or 3)", offset)
            layers.append(_read_layer_details(r))
            _read_add_layer_tail(r, v, input_adjacent=True)
            innermost = False
        elif v == 2:
            layers.append(_read_layer_details(r))
            _read_add_layer_tail(r, v, input_adjacent=False)
        elif v == 1:
            layers.append(Layer("tag", ""))
        else:
            raise r.fail(f"unexpected layer wrapper version {v} above the input layer", offset)
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} trailing bytes after the network")
    return DlibNet(path=path, sha256=bytes_sha256(data), loss=loss, input=input_layer,
                   layers=_label_tags(layers))


def _label_tags(layers: list[Layer]) -> list[Layer]:
    """Name bare wrappers as dlib's ResNet templates use them: in a run of 2+, the last one is a ``skip``."""
    out = list(layers)
    i = 0
    while i < len(out):
        if out[i].kind != "tag":
            i += 1
            continue
        j = i
        while j < len(out) and out[j].kind == "tag":
            j += 1
        if j - i >= 2:
            out[j - 1] = Layer("skip", "")
        i = j
    return out


@lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int) -> DlibNet:
    with open(path, "rb") as handle:
        data = handle.read()
    return _parse(data, path)


def read_dlib_dnn(path: str | os.PathLike[str]) -> DlibNet:
    """Parse one of dlib's DNN model files.

    Parsed nets are cached per path, size and modification time (the arrays are shared: do not modify them).

    Args:
        path: a ``.dat`` file written by dlib's ``serialize(net)``.

    Returns:
        The loss, input layer and layers of the network.

    Raises:
        ModelFormatError: the file is truncated, has trailing bytes, or holds an unknown tag or version; the error
            names the byte offset.
        OSError: the file cannot be read.
    """
    path = os.fspath(path)
    stat = os.stat(path)
    return _read_cached(path, stat.st_size, stat.st_mtime_ns)


def parse_dlib_dnn(data: bytes, name: str = "<bytes>") -> DlibNet:
    """Parse a dlib DNN file already in memory (``name`` is used in error messages; not cached)."""
    return _parse(data, name)


def count_params(net: DlibNet) -> int:
    """The number of trainable parameters (folded batch norm counts as gamma and beta)."""
    return sum(int(p.size) for layer in net.layers for p in layer.params.values())


# ---------------------------------------------------------------------------------------------------------------
# graphs


def resnet_graph(net: DlibNet) -> list[Node]:
    """The face ResNet's graph, topologically ordered, wired by the tag/skip rule of dlib's ResNet templates.

    Rule (spec section 4.1): a single bare wrapper before a ``con`` is ``tag1`` (the block input); two in a row
    before ``avg_pool`` are ``tag2`` then ``skip1`` (the next layer reads ``tag1``); ``add_prev`` right after an
    ``avg_pool`` adds ``tag2``, otherwise ``tag1``. A global average pool (window 0x0) becomes
    ``'global_avg_pool'``.

    Raises:
        ModelFormatError: the layer list does not follow the rule (for example, an ``add_prev`` with no tag).
    """
    nodes: list[Node] = [Node("input", "input", (), None)]
    current = "input"
    tags: dict[str, str] = {}
    previous_kind = ""
    pending: list[Layer] = []

    def fail(reason: str) -> ModelFormatError:
        return ModelFormatError(net.path, f"cannot wire the ResNet: {reason}")

    for index, layer in enumerate(net.layers):
        if layer.kind in ("tag", "skip"):
            pending.append(layer)
            continue
        if pending:
            if len(pending) == 1:
                tags["tag1"] = current
            elif len(pending) == 2 and layer.kind == "avg_pool":
                tags["tag2"] = current
                if "tag1" not in tags:
                    raise fail(f"skip before layer {index} with no tag1")
                current = tags["tag1"]
            else:
                raise fail(f"{len(pending)} tag/skip wrappers before a {layer.kind} layer at {index}")
            pending = []
        name = f"{layer.kind}{index}"
        if layer.kind == "add_prev":
            key = "tag2" if previous_kind == "avg_pool" else "tag1"
            if key not in tags:
                raise fail(f"add_prev at {index} with no {key}")
            nodes.append(Node(name, "add", (current, tags[key]), layer))
        elif layer.kind == "avg_pool" and layer.attrs["nr"] == 0 and layer.attrs["nc"] == 0:
            nodes.append(Node(name, "global_avg_pool", (current,), layer))
        else:
            nodes.append(Node(name, layer.kind, (current,), layer))
        current = name
        previous_kind = layer.kind
    if pending:
        raise fail("tag/skip wrappers at the end of the network")
    return nodes


def sequential_graph(net: DlibNet) -> list[Node]:
    """The graph of a network without tags (the MMOD detector): each layer feeds the next.

    Raises:
        ModelFormatError: the network has tag, skip or add_prev layers.
    """
    nodes: list[Node] = [Node("input", "input", (), None)]
    current = "input"
    for index, layer in enumerate(net.layers):
        if layer.kind in ("tag", "skip", "add_prev"):
            raise ModelFormatError(net.path, f"layer {index} is a {layer.kind}: not a sequential network")
        op = layer.kind
        if op == "avg_pool" and layer.attrs["nr"] == 0 and layer.attrs["nc"] == 0:
            op = "global_avg_pool"
        name = f"{layer.kind}{index}"
        nodes.append(Node(name, op, (current,), layer))
        current = name
    return nodes

