"""dlib's two face networks as ONNX graphs, built with the ``onnx`` package from a parsed :class:`DlibNet`.

* :func:`build_resnet_onnx` -- the face ResNet. Input ``"image"``: float32 **NHWC** ``(N, 150, 150, 3)``, RGB values
  0..255 (uint8-valued; the chips as facerec cuts them, cast to float32); the batch dimension is dynamic. The graph
  transposes to NCHW and normalises ``(pixel - mean) / 256`` itself. Output ``"embedding"``: ``(N, 128)`` float32,
  not L2-normalised (compare with Euclidean distance, 0.6 is the usual threshold).
* :func:`build_mmod_onnx` -- the MMOD detector's network. Input ``"canvas"``: float32 **NCHW** ``(N, 3, H, W)``,
  already normalised ``(pixel - mean) / 256`` and laid out as dlib's tiled pyramid (the pyramid, window mapping
  and NMS stay in numpy: see :mod:`facerec.detection.cnn`); H and W are dynamic. Output ``"scores"``:
  ``(N, 1, h, w)`` float32, one score per 8-pixel step of the canvas (three 5x5 stride-2 convolutions without
  padding: ``h = ((((H - 5)//2 + 1) - 5)//2 + 1 - 5)//2 + 1``); score position ``p`` is centred on canvas pixel
  ``8p + 14``.

:func:`onnx_model_path` builds a model once and caches it under :func:`facerec.models.cache_dir` keyed by the
weight file's SHA-256 (written atomically).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facerec.errors import ModelFormatError
from facerec.models.dlibfile import DlibNet, Node, read_dlib_dnn, resnet_graph, sequential_graph
from facerec.models.locate import cache_dir, locate_model, write_cache_file

if TYPE_CHECKING:
    import onnx
    import onnxruntime as ort

__all__ = ["OPSET", "build_mmod_onnx", "build_resnet_onnx", "create_session", "onnx_model_path", "resolve_providers"]

#: The ONNX opset the graphs use.
OPSET = 17
#: Bumped whenever the graphs change, so cached files are rebuilt.
_BUILD_VERSION = 1


class _GraphBuilder:
    """Accumulates ONNX nodes and initializers, tracking (C, H, W) shapes where they are static."""

    def __init__(self, net: DlibNet) -> None:
        self.net = net
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.shapes: dict[str, tuple[int, int, int] | None] = {}
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def unique(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def add(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def fail(self, reason: str) -> ModelFormatError:
        return ModelFormatError(self.net.path, f"cannot build the ONNX graph: {reason}")

    def layer_nodes(self, graph: list[Node], input_name: str, input_shape: tuple[int, int, int] | None,
                    output_name: str) -> None:
        """Emit the ONNX nodes of ``graph`` (a :func:`resnet_graph` or :func:`sequential_graph`); the last node's
        output is renamed ``output_name``."""
        names: dict[str, str] = {}
        for node in graph:
            if node.op == "input":
                names[node.name] = input_name
                self.shapes[input_name] = input_shape
                continue
            layer = node.layer
            if layer is None:
                raise self.fail(f"node {node.name} has no layer")
            src = [names[i] for i in node.inputs]
            shape = self.shapes[src[0]]
            if node.op == "con":
                a = layer.attrs
                w = self.const(node.name + ".weight", layer.params["weight"])
                b = self.const(node.name + ".bias", layer.params["bias"])
                out = self.add("Conv", [src[0], w, b], node.name, **_window_attrs(a))
                if shape is not None:
                    shape = _window_shape(a, a["num_filters"], shape)
                if a.get("use_relu"):
                    self.shapes[out] = shape
                    out = self.add("Relu", [out], node.name + ".relu")
            elif node.op == "affine":
                gamma, beta = layer.params["gamma"], layer.params["beta"]
                if layer.attrs["mode"] == "conv":
                    gamma, beta = gamma.reshape(1, -1, 1, 1), beta.reshape(1, -1, 1, 1)
                elif shape is not None:
                    gamma, beta = gamma.reshape(1, *shape), beta.reshape(1, *shape)
                else:
                    raise self.fail("an fc-mode affine needs a static input shape")
                g = self.const(node.name + ".gamma", gamma)
                bt = self.const(node.name + ".beta", beta)
                mul = self.add("Mul", [src[0], g], node.name + ".mul")
                out = self.add("Add", [mul, bt], node.name)
            elif node.op == "relu":
                out = self.add("Relu", [src[0]], node.name)
            elif node.op in ("max_pool", "avg_pool"):
                a = layer.attrs
                kwargs = _window_attrs(a)
                if node.op == "avg_pool":
                    kwargs["count_include_pad"] = 0  # dlib clips windows to the image
                out = self.add("MaxPool" if node.op == "max_pool" else "AveragePool", [src[0]], node.name, **kwargs)
                if shape is not None:
                    shape = _window_shape(a, shape[0], shape)
            elif node.op == "global_avg_pool":
                out = self.add("GlobalAveragePool", [src[0]], node.name)
                if shape is not None:
                    shape = (shape[0], 1, 1)
            elif node.op == "add":
                other = self.shapes[src[1]]
                if shape is None or other is None:
                    raise self.fail("add_prev needs static shapes")
                target = tuple(max(x, y) for x, y in zip(shape, other))
                padded = [self._pad_to(s, sh, target) for s, sh in ((src[0], shape), (src[1], other))]
                out = self.add("Add", padded, node.name)
                shape = target  # type: ignore[assignment]
            elif node.op == "fc":
                fc_weight = layer.params["weight"]
                flat = self.add("Flatten", [src[0]], node.name + ".flatten", axis=1)
                if shape is not None and shape[0] * shape[1] * shape[2] != fc_weight.shape[0]:
                    raise self.fail(f"fc expects {fc_weight.shape[0]} inputs, gets {shape}")
                weight_name = self.const(node.name + ".weight", fc_weight)
                out = self.add("MatMul", [flat, weight_name], node.name + ".matmul")
                if "bias" in layer.params:
                    out = self.add("Add", [out, self.const(node.name + ".bias", layer.params["bias"])], node.name)
                shape = None
            else:
                raise self.fail(f"unsupported op {node.op!r}")
            names[node.name] = out
            self.shapes[out] = shape
        self.nodes[-1].output[0] = output_name  # the node emitted last; no other node reads its output

    def _pad_to(self, name: str, shape: tuple[int, int, int], target: tuple[int, ...]) -> str:
        """Zero-pad ``name`` at the end of channels, bottom rows and right columns up to ``target``."""
        if tuple(shape) == tuple(target):
            return name
        pads = np.array([0, 0, 0, 0, 0, target[0] - shape[0], target[1] - shape[1], target[2] - shape[2]],
                        dtype=np.int64)
        pad_name = self.const(self.unique(name + ".pads"), pads)
        return self.add("Pad", [name, pad_name], self.unique(name + ".padded"), mode="constant")


def _window_attrs(a: dict[str, Any]) -> dict[str, Any]:
    """ONNX ``kernel_shape``, ``strides`` and ``pads`` of a ``con`` or pooling layer's window attributes."""
    return {"kernel_shape": [a["nr"], a["nc"]], "strides": [a["stride_y"], a["stride_x"]],
            "pads": [a["padding_y"], a["padding_x"], a["padding_y"], a["padding_x"]]}


def _window_shape(a: dict[str, Any], channels: int, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The ``(C, H, W)`` output of a ``con`` or pooling window ``a`` on an input of ``shape``."""
    return (channels, 1 + (shape[1] + 2 * a["padding_y"] - a["nr"]) // a["stride_y"],
            1 + (shape[2] + 2 * a["padding_x"] - a["nc"]) // a["stride_x"])


def _model(builder: _GraphBuilder, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
           name: str, doc: str) -> onnx.ModelProto:
    from onnx import checker, helper

    graph = helper.make_graph(builder.nodes, name, inputs, outputs, initializer=builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="facerec",
                              doc_string=doc)
    model.ir_version = min(model.ir_version, 8)
    checker.check_model(model)
    return model


def build_resnet_onnx(net: DlibNet) -> onnx.ModelProto:
    """The face ResNet as an ONNX model.

    Input ``"image"``: float32 NHWC ``(N, 150, 150, 3)`` RGB 0..255 (dynamic N). Output ``"embedding"``:
    ``(N, 128)`` float32.

    Args:
        net: :func:`facerec.models.dlibfile.read_dlib_dnn` of ``dlib_face_recognition_resnet_model_v1.dat``.

    Raises:
        ModelFormatError: the network is not the face ResNet (no fixed input size, wiring mismatch).
    """
    from onnx import TensorProto, helper

    size = net.input.get("size")
    if size is None:
        raise ModelFormatError(net.path, "the face ResNet needs a sized input layer (input_rgb_image_sized)")
    nr, nc = size
    b = _GraphBuilder(net)
    mean = np.asarray(net.input["mean_rgb"], dtype=np.float32).reshape(1, 3, 1, 1)
    nchw = b.add("Transpose", ["image"], "to_nchw", perm=[0, 3, 1, 2])
    centred = b.add("Sub", [nchw, b.const("mean_rgb", mean)], "centred")
    normalised = b.add("Mul", [centred, b.const("inv_256", np.array(1.0 / 256.0, dtype=np.float32))], "normalised")
    b.layer_nodes(resnet_graph(net), normalised, (3, nr, nc), "embedding")
    width = net.layers[-1].params["weight"].shape[1] if net.layers[-1].kind == "fc" else None
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", nr, nc, 3])]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", width])]
    return _model(b, inputs, outputs, "dlib_face_resnet",
                  "dlib face ResNet; input NHWC float32 RGB 0..255, output (N,128) embeddings")


def build_mmod_onnx(net: DlibNet) -> onnx.ModelProto:
    """The MMOD detector network as an ONNX model.

    Input ``"canvas"``: float32 NCHW ``(N, 3, H, W)``, already normalised ``(pixel - mean) / 256`` (a tiled
    pyramid as :mod:`facerec.detection.cnn` builds it); H and W are dynamic. Output ``"scores"``:
    ``(N, windows, h, w)`` float32 detection scores (> 0 means a face).

    Args:
        net: :func:`facerec.models.dlibfile.read_dlib_dnn` of ``mmod_human_face_detector.dat``.
    """
    from onnx import TensorProto, helper

    b = _GraphBuilder(net)
    b.layer_nodes(sequential_graph(net), "canvas", None, "scores")
    inputs = [helper.make_tensor_value_info("canvas", TensorProto.FLOAT, ["N", 3, "H", "W"])]
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", None, None, None])]
    return _model(b, inputs, outputs, "dlib_mmod_detector",
                  "dlib MMOD face detector network; input normalised NCHW canvas, output score map")


_BUILDERS = {"resnet": build_resnet_onnx, "mmod": build_mmod_onnx}


def onnx_model_path(name: str, model_path: str | os.PathLike[str] | None = None) -> Path:
    """The ONNX file of dlib's ``"resnet"`` or ``"mmod"`` network, built on first use and cached.

    The file lives under :func:`facerec.models.cache_dir` and is keyed by the SHA-256 of the ``.dat`` file, so a
    different weights file gets its own ONNX file. It is written to a temporary file and renamed into place, so
    concurrent processes never see a half-written model.

    Args:
        name: ``"resnet"`` or ``"mmod"``.
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.

    Raises:
        ModelNotFoundError: the ``.dat`` file cannot be found.
        ModelFormatError: it cannot be parsed or converted.
    """
    if name not in _BUILDERS:
        from facerec.errors import UnknownNameError

        raise UnknownNameError("ONNX network", name, _BUILDERS)
    dat = locate_model(name, model_path)
    net = read_dlib_dnn(dat)
    folder = cache_dir() / "onnx"
    target = folder / f"{name}-{net.sha256[:16]}-v{_BUILD_VERSION}.onnx"
    if target.is_file():
        return target
    return write_cache_file(target, _BUILDERS[name](net).SerializeToString())


_PROVIDER_ALIASES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                     "tensorrt": "TensorrtExecutionProvider", "coreml": "CoreMLExecutionProvider",
                     "dml": "DmlExecutionProvider", "openvino": "OpenVINOExecutionProvider"}


def resolve_providers(providers: list[str] | None) -> list[str]:
    """The ONNX Runtime execution providers to ask for.

    Args:
        providers: ``None`` for automatic (CUDA when ``onnxruntime-gpu`` is installed and CUDA is available, else
            CPU), or a list of provider names (``"CUDAExecutionProvider"``, or the short ``"cuda"``/``"cpu"``),
            best first.

    Raises:
        ConfigurationError: a requested provider is not available in this ONNX Runtime (never a silent fallback).
    """
    import onnxruntime as ort

    from facerec.errors import ConfigurationError

    available = ort.get_available_providers()
    if providers is None:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"] if "CUDAExecutionProvider" in available \
            else ["CPUExecutionProvider"]
    if isinstance(providers, str) or not providers:
        raise ConfigurationError(f"providers must be a non-empty list of provider names, got {providers!r}")
    resolved = [_PROVIDER_ALIASES.get(p.lower(), p) if isinstance(p, str) else p for p in providers]
    missing = [p for p in resolved if p not in available]
    if missing:
        raise ConfigurationError(f"ONNX Runtime provider(s) {', '.join(map(str, missing))} not available; this "
                                 f"onnxruntime offers {', '.join(available)} (install onnxruntime-gpu for CUDA)")
    return resolved


def create_session(name: str, model_path: str | os.PathLike[str] | None = None, threads: int | None = None,
                   providers: list[str] | None = None) -> tuple[ort.InferenceSession, str]:
    """An ONNX Runtime session on dlib's ``"resnet"`` or ``"mmod"`` network, and the provider it really uses.

    Args:
        name: ``"resnet"`` or ``"mmod"``.
        model_path: the ``.dat`` file; default: located with :func:`facerec.models.locate_model`.
        threads: intra-op threads (``None``: ONNX Runtime's default, one per core).
        providers: see :func:`resolve_providers`.

    Returns:
        ``(session, provider)``: ``provider`` is the first provider the session actually runs on.

    Raises:
        ConfigurationError: bad ``threads``, or a requested provider is unavailable or failed to load.
    """
    import onnxruntime as ort

    from facerec.errors import ConfigurationError

    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ConfigurationError(f"threads must be a positive integer or None, got {threads!r}")
    wanted = resolve_providers(providers)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # ONNX Runtime's idle threads spin by default after each run, taking the cores HOG's threads (and the other
    # photos' threads) need next: measured 24 ms against 48 ms for HOG on a 240p photo right after an embedding
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_model_path(name, model_path)), options, providers=wanted)
    used = session.get_providers()
    if providers is not None:
        dropped = [p for p in wanted if p not in used]
        if dropped:
            raise ConfigurationError(f"ONNX Runtime could not start provider(s) {', '.join(dropped)} "
                                     f"(running on {', '.join(used)}); check the CUDA/cuDNN installation")
    return session, used[0]
