"""dlib's face ResNet as a Keras 3 model, with dlib's pretrained weights, and back to ONNX.

The model is rebuilt mechanically from the layer graph that :func:`facerec.models.dlibfile.resnet_graph` reads out
of ``dlib_face_recognition_resnet_model_v1.dat`` (see ``specs/dlib-dnn-format.md`` section 4.1 and pitfall 6):

* input: RGB 0..255 float, ``(batch, 150, 150, 3)`` channels_last; dlib's normalisation
  ``(x - mean_rgb) / 256`` is the first layer (a frozen :class:`keras.layers.Normalization`);
* ``con``: :class:`keras.layers.Conv2D` with ``padding="valid"`` and an explicit :class:`~keras.layers.ZeroPadding2D`
  in front of the padded (3x3 stride 1) convolutions -- never ``"same"``, which pads stride-2 convolutions
  asymmetrically where dlib pads nothing; filters OIHW -> HWIO;
* ``affine``: :class:`ChannelAffine`, a per-channel ``gamma * x + beta`` layer, frozen by default. It is a small
  custom layer rather than a :class:`~keras.layers.BatchNormalization` with mean 0, variance 1 and epsilon 0 because
  it is exactly dlib's layer: it has no moving statistics, so un-freezing it trains two plain parameter vectors
  instead of switching to batch statistics (the train/eval shift that frozen-BN transfer learning guards against);
* ``add_prev``: :class:`ZeroPadAdd`, dlib's residual sum that zero-pads the smaller input at the end of the
  channels and at the bottom/right to the element-wise larger shape (``keras.ops.pad``);
* pools as dlib does them (``valid`` windows; this net has no padded pools), global average pooling and a
  bias-free :class:`~keras.layers.Dense` to 128.

Layers are named by stage so that "unfreeze the top N layers" reads naturally::

    normalize, stem_conv, stem_affine, stem_relu, stem_pool,
    stage1_block1_conv1_pad, stage1_block1_conv1, stage1_block1_affine1, stage1_block1_relu1,
    stage1_block1_conv2_pad, stage1_block1_conv2, stage1_block1_affine2, stage1_block1_add, stage1_block1_out,
    ...
    stage2_block1_shortcut_pool, ...            (the first block of stages 2-5 halves the resolution)
    global_pool, embedding

The stages are dlib's residual levels: stage 1 (32 filters, 3 blocks), stage 2 (64, 4), stage 3 (128, 3),
stage 4 (256, 3), stage 5 (256, 1). This module imports Keras (and its backend, TensorFlow by default); nothing
else in facerec imports it, so ``import facerec`` stays light. Install them with ``pip install 'facerec[train]'``.
Import this module before ``keras.saving.load_model`` on a saved face ResNet: that registers its custom layers.

Examples:
    >>> from facerec.models.keras_build import build_face_resnet, export_face_resnet_onnx  # doctest: +SKIP
    >>> model = build_face_resnet()                               # dlib's weights, frozen  # doctest: +SKIP
    >>> model.predict(chips.astype("float32")).shape              # doctest: +SKIP
    (n, 128)
    >>> export_face_resnet_onnx(model, "face_resnet.onnx")       # serve it on ONNX Runtime # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facerec.errors import ConfigurationError, ModelFormatError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from facerec.models.dlibfile import DlibNet, Node

__all__ = ["FACE_RESNET_PARAMS", "ChannelAffine", "ZeroPadAdd", "build_face_resnet", "export_face_resnet_onnx",
           "face_resnet_layer_names", "keras_to_dlib_net"]

#: Number of parameters (trainable and frozen) of dlib's face ResNet.
FACE_RESNET_PARAMS = 5_614_592

try:
    import keras
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError("facerec.models.keras_build needs Keras 3: pip install 'facerec[train]'  "
                      "(keras>=3 with tensorflow-cpu)") from _error


# ---------------------------------------------------------------------------------------------------------------
# Custom layers (registered, so that saved .keras files reload once this module is imported)
# ---------------------------------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="facerec")
class ChannelAffine(keras.layers.Layer):  # type: ignore[misc]
    """dlib's ``affine`` layer in CONV_MODE: ``gamma * x + beta`` per channel (the last axis).

    A batch normalisation folded to its inference form, with no moving statistics. :func:`build_face_resnet` makes
    it frozen (``trainable=False``).
    """

    def build(self, input_shape: Sequence[int | None]) -> None:
        channels = int(input_shape[-1])  # type: ignore[arg-type]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, inputs: Any) -> Any:
        return inputs * self.gamma + self.beta

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


@keras.saving.register_keras_serializable(package="facerec")
class ZeroPadAdd(keras.layers.Layer):  # type: ignore[misc]
    """dlib's ``add_prev``: the sum of NHWC tensors of possibly different shapes.

    The output has the element-wise larger height, width and channels; each input is zero-padded at the bottom,
    at the right and at the end of the channels first (missing elements count as 0). Those sizes must be static.
    """

    @staticmethod
    def _target(shapes: Sequence[Sequence[int | None]]) -> tuple[int, int, int]:
        dims = []
        for axis in (1, 2, 3):
            sizes = [shape[axis] for shape in shapes]
            if any(size is None for size in sizes):
                raise ValueError(f"ZeroPadAdd needs static height, width and channels, got {list(shapes)}")
            dims.append(max(int(size) for size in sizes))  # type: ignore[arg-type]
        return dims[0], dims[1], dims[2]

    def call(self, inputs: Sequence[Any]) -> Any:
        target = self._target([tuple(tensor.shape) for tensor in inputs])
        total = None
        for tensor in inputs:
            pads = [[0, 0]] + [[0, want - int(have)] for want, have in zip(target, tensor.shape[1:])]
            if any(after for _, after in pads):
                tensor = keras.ops.pad(tensor, pads)
            total = tensor if total is None else total + tensor
        return total

    def compute_output_shape(self, input_shape: Sequence[Sequence[int | None]]) -> tuple[int | None, ...]:
        return (input_shape[0][0], *self._target(input_shape))


# ---------------------------------------------------------------------------------------------------------------
# Names: dlib graph nodes -> stage/block layer names
# ---------------------------------------------------------------------------------------------------------------

def face_resnet_layer_names(nodes: Sequence[Node]) -> dict[str, str]:
    """Keras layer names for the nodes of :func:`~facerec.models.dlibfile.resnet_graph`, keyed by node name.

    The stem is everything up to the first max pool; after it, each residual block ends with the ReLU that
    follows an ``add``; a block that holds an average pool (the shortcut of a downsampling block) starts a new stage.
    The input node maps to ``"normalize"``.
    """
    names: dict[str, str] = {}
    position = 0
    # stem: up to and including the max pool
    stem_counts: dict[str, int] = {}
    while position < len(nodes):
        node = nodes[position]
        position += 1
        if node.op == "input":
            names[node.name] = "normalize"
            continue
        kind = {"con": "conv", "max_pool": "pool"}.get(node.op, node.op)
        stem_counts[kind] = stem_counts.get(kind, 0) + 1
        suffix = "" if stem_counts[kind] == 1 else str(stem_counts[kind])
        names[node.name] = f"stem_{kind}{suffix}"
        if node.op == "max_pool":
            break
    # residual blocks
    blocks: list[list[Node]] = []
    current: list[Node] = []
    tail: list[Node] = []
    seen_add = False
    for node in nodes[position:]:
        if node.op in ("global_avg_pool", "fc"):
            tail.append(node)
            continue
        current.append(node)
        if node.op == "add":
            seen_add = True
        elif node.op == "relu" and seen_add:
            blocks.append(current)
            current, seen_add = [], False
    if current:
        raise ModelFormatError("<face resnet graph>", f"unexpected layers after the last residual block: "
                               f"{[n.name for n in current]}")
    stage, block_number = 0, 0
    for index, block in enumerate(blocks):
        if index == 0 or any(node.op == "avg_pool" for node in block):
            stage, block_number = stage + 1, 1
        else:
            block_number += 1
        prefix = f"stage{stage}_block{block_number}"
        counts = {"conv": 0, "affine": 0, "relu": 0}
        for node in block:
            if node.op == "con":
                counts["conv"] += 1
                names[node.name] = f"{prefix}_conv{counts['conv']}"
            elif node.op == "affine":
                counts["affine"] += 1
                names[node.name] = f"{prefix}_affine{counts['affine']}"
            elif node.op == "relu":
                is_out = node is block[-1]
                counts["relu"] += 0 if is_out else 1
                names[node.name] = f"{prefix}_out" if is_out else f"{prefix}_relu{counts['relu']}"
            elif node.op == "avg_pool":
                names[node.name] = f"{prefix}_shortcut_pool"
            elif node.op == "add":
                names[node.name] = f"{prefix}_add"
            else:
                raise ModelFormatError("<face resnet graph>",
                                       f"unexpected {node.op!r} layer {node.name!r} inside a residual block")
    for node in tail:
        names[node.name] = "global_pool" if node.op == "global_avg_pool" else "embedding"
    return names


# ---------------------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------------------

def _resolve_weights(weights: str | os.PathLike[str] | None) -> tuple[Path, bool, Path | None]:
    """(dlib file for the architecture, whether to load its weights, Keras weights file to load afterwards)."""
    from facerec.models.locate import locate_model

    if weights is None:
        return locate_model("resnet"), False, None
    if isinstance(weights, str) and weights == "dlib":
        return locate_model("resnet"), True, None
    path = Path(weights)
    if not path.is_file():
        raise ConfigurationError(f"weights must be 'dlib', None, a dlib .dat file or a Keras .weights.h5 file; "
                                 f"{path} does not exist")
    if path.name.endswith((".weights.h5", ".h5", ".keras")):
        return locate_model("resnet"), False, path
    return locate_model("resnet", path), True, None


def build_face_resnet(weights: str | os.PathLike[str] | None = "dlib", *, include_top: bool = True,
                      trainable: bool = False, input_shape: tuple[int, int, int] = (150, 150, 3)) -> keras.Model:
    """dlib's face ResNet as a Keras functional model.

    Args:
        weights: ``"dlib"`` (dlib's pretrained weights from the installed model file), the path of another dlib
            ``.dat`` file of the same architecture, the path of a Keras ``.weights.h5`` file saved from this model,
            or ``None`` (random initialisation; the architecture still comes from dlib's file).
        include_top: end with the bias-free 128-d ``embedding`` layer (dlib's descriptor). ``False`` ends at the
            256-d ``global_pool`` features, for a new head (transfer learning).
        trainable: make the convolutions and the embedding trainable. The ``ChannelAffine`` layers (dlib's folded
            batch norm) and the input normalisation stay frozen either way; set ``layer.trainable = True`` on an
            affine layer to train its scale and shift.
        input_shape: ``(height, width, 3)``; dlib's network is defined on ``(150, 150, 3)`` chips.

    Returns:
        A :class:`keras.Model` named ``"face_resnet"`` mapping float RGB 0..255 ``(n, h, w, 3)`` to
        ``(n, 128)`` float32 (or ``(n, 256)`` without the top). It has 5,614,592 parameters with the top.
        Embeddings are not unit length; compare them with Euclidean distance (0.6 is dlib's threshold).

    Raises:
        ConfigurationError: Keras is missing, or ``weights`` / ``input_shape`` is invalid.
        ModelNotFoundError: dlib's model file cannot be found.
        ModelFormatError: the file does not hold dlib's face ResNet.
    """
    from facerec.models.dlibfile import read_dlib_dnn, resnet_graph

    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ConfigurationError(f"input_shape must be (height, width, 3), got {input_shape}")
    dlib_path, load_dlib_weights, keras_weights = _resolve_weights(weights)
    net = read_dlib_dnn(dlib_path)
    nodes = resnet_graph(net)
    names = face_resnet_layer_names(nodes)
    layers = keras.layers

    mean_rgb = np.asarray(net.input["mean_rgb"], dtype=np.float32)
    tensors: dict[str, Any] = {}
    inputs = keras.Input(shape=tuple(input_shape), name="image_rgb")
    weighted: list[tuple[Any, list[np.ndarray]]] = []
    features = None
    for node in nodes:
        name = names[node.name]
        args = [tensors[source] for source in node.inputs]
        layer = node.layer
        if node.op == "input":
            normalize = layers.Normalization(mean=mean_rgb.tolist(), variance=[256.0 ** 2] * 3, name=name)
            tensors[node.name] = normalize(inputs)
            continue
        if node.op == "con":
            assert layer is not None
            attrs = layer.attrs
            x = args[0]
            if attrs.get("use_relu"):
                raise ModelFormatError(net.path, f"{node.name}: fused conv+relu (con_6) is not supported")
            pad = (int(attrs["padding_y"]), int(attrs["padding_x"]))
            if any(pad):
                x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
            conv = layers.Conv2D(int(attrs["num_filters"]), (int(attrs["nr"]), int(attrs["nc"])),
                                 strides=(int(attrs["stride_y"]), int(attrs["stride_x"])), padding="valid",
                                 use_bias=True, trainable=trainable, name=name)
            tensors[node.name] = conv(x)
            weighted.append((conv, [layer.params["weight"].transpose(2, 3, 1, 0), layer.params["bias"]]))
        elif node.op == "affine":
            assert layer is not None
            if layer.attrs.get("mode", "conv") != "conv":
                raise ModelFormatError(net.path, f"{node.name}: per-element (fc mode) affine is not supported")
            affine = ChannelAffine(trainable=False, name=name)
            tensors[node.name] = affine(args[0])
            weighted.append((affine, [layer.params["gamma"], layer.params["beta"]]))
        elif node.op == "relu":
            tensors[node.name] = layers.ReLU(name=name)(args[0])
        elif node.op in ("max_pool", "avg_pool"):
            assert layer is not None
            attrs = layer.attrs
            if int(attrs.get("padding_y", 0)) or int(attrs.get("padding_x", 0)):
                raise ModelFormatError(net.path, f"padded pooling ({node.name}) is not supported by the Keras port")
            pool_class = layers.MaxPooling2D if node.op == "max_pool" else layers.AveragePooling2D
            pool = pool_class(pool_size=(int(attrs["nr"]), int(attrs["nc"])),
                              strides=(int(attrs["stride_y"]), int(attrs["stride_x"])), padding="valid", name=name)
            tensors[node.name] = pool(args[0])
        elif node.op == "add":
            tensors[node.name] = ZeroPadAdd(name=name)(args)
        elif node.op == "global_avg_pool":
            tensors[node.name] = layers.GlobalAveragePooling2D(name=name)(args[0])
            features = tensors[node.name]
        elif node.op == "fc":
            assert layer is not None
            if not include_top:
                continue
            weight = layer.params["weight"]
            dense = layers.Dense(int(weight.shape[1]), use_bias=False, trainable=trainable, name=name)
            tensors[node.name] = dense(args[0])
            weighted.append((dense, [weight]))
        else:
            raise ModelFormatError(net.path, f"layer kind {node.op!r} is not supported by the Keras port")
    if features is None:
        raise ModelFormatError(net.path, "no global average pool: not dlib's face ResNet")
    outputs = tensors[nodes[-1].name] if include_top else features
    model = keras.Model(inputs, outputs, name="face_resnet")

    if load_dlib_weights:
        for keras_layer, values in weighted:
            expected = [tuple(w.shape) for w in keras_layer.weights]
            got = [tuple(v.shape) for v in values]
            if expected != got:
                raise ModelFormatError(net.path, f"{keras_layer.name}: weights of shape {got} do not fit {expected}")
            keras_layer.set_weights([np.asarray(v, dtype=np.float32) for v in values])
    if keras_weights is not None:
        if keras_weights.name.endswith(".keras"):
            saved = keras.saving.load_model(keras_weights, compile=False)
            for keras_layer in model.layers:
                if keras_layer.weights:
                    keras_layer.set_weights(saved.get_layer(keras_layer.name).get_weights())
        else:
            model.load_weights(keras_weights, skip_mismatch=not include_top)
    return model


# ---------------------------------------------------------------------------------------------------------------
# Back to dlib's layer list, and to ONNX
# ---------------------------------------------------------------------------------------------------------------

def keras_to_dlib_net(model: keras.Model, reference: str | os.PathLike[str] | DlibNet | None = None) -> DlibNet:
    """dlib's network description with the weights of a (possibly fine-tuned) :func:`build_face_resnet` model.

    Args:
        model: a model from :func:`build_face_resnet` (with its top), or one reloaded from a ``.keras`` file.
        reference: the dlib file (or its :class:`~facerec.models.dlibfile.DlibNet`) whose architecture the model
            was built from; default dlib's installed face ResNet.

    Returns:
        A copy of the reference :class:`~facerec.models.dlibfile.DlibNet` whose ``con``, ``affine`` and ``fc``
        parameters are the model's (filters HWIO -> OIHW). Its ``sha256`` is that of the reference file.

    Raises:
        ConfigurationError: the model lacks a layer of the reference network or a weight has another shape.
    """
    from facerec.models.dlibfile import DlibNet, read_dlib_dnn, resnet_graph
    from facerec.models.locate import locate_model

    net = reference if isinstance(reference, DlibNet) else read_dlib_dnn(locate_model("resnet", reference))
    nodes = resnet_graph(net)
    names = face_resnet_layer_names(nodes)
    replaced: dict[int, Any] = {}
    for node in nodes:
        if node.op not in ("con", "affine", "fc") or node.layer is None:
            continue
        name = names[node.name]
        try:
            keras_layer = model.get_layer(name)
        except ValueError as error:
            raise ConfigurationError(f"model {model.name!r} has no layer {name!r}: build it with "
                                     f"build_face_resnet(include_top=True)") from error
        values = [np.asarray(v, dtype=np.float32) for v in keras_layer.get_weights()]
        if node.op == "con":
            params = {"weight": np.ascontiguousarray(values[0].transpose(3, 2, 0, 1)), "bias": values[1]}
        elif node.op == "affine":
            params = {"gamma": values[0], "beta": values[1]}
        else:
            params = {"weight": values[0]}
        for key, value in params.items():
            if value.shape != node.layer.params[key].shape:
                raise ConfigurationError(f"{name}.{key} has shape {value.shape}; dlib's network needs "
                                         f"{node.layer.params[key].shape}")
        replaced[id(node.layer)] = dataclasses.replace(node.layer, params={**node.layer.params, **params})
    layers = [replaced.get(id(layer), layer) for layer in net.layers]
    return dataclasses.replace(net, layers=layers)


def export_face_resnet_onnx(model: keras.Model, path: str | os.PathLike[str],
                            reference: str | os.PathLike[str] | DlibNet | None = None) -> Path:
    """Write a (possibly fine-tuned) Keras face ResNet as an ONNX graph served by facerec's ONNX path.

    The weights go back into dlib's layer list (:func:`keras_to_dlib_net`) and through the same ONNX builder that
    serves dlib's own weights, so the exported graph has the ONNX embedder's input ``"image"`` (float32 NHWC
    ``(n, 150, 150, 3)``, RGB 0..255, the same as the Keras model's), its output ``"embedding"`` (``(n, 128)``) and
    its speed.

    Args:
        model: a model from :func:`build_face_resnet` with its top.
        path: the ``.onnx`` file to write (parent folders are created).
        reference: the dlib file the model's architecture came from (default dlib's face ResNet).

    Returns:
        The path written.
    """
    from facerec.models.onnx_build import build_resnet_onnx

    input_shape = tuple(model.input_shape[1:])
    if input_shape != (150, 150, 3):
        raise ConfigurationError(f"the ONNX face ResNet takes 150x150x3 chips; the model takes {input_shape}")
    net = keras_to_dlib_net(model, reference)
    onnx_model = build_resnet_onnx(net)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    import onnx

    onnx.save(onnx_model, os.fspath(target))
    return target
