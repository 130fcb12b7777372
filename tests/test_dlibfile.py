"""dlib's DNN file format: primitives on hand-made bytes, the two real model files, and corrupted copies."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facerec.errors import ModelFormatError
from facerec.models import file_sha256, locate_model
from facerec.models.dlibfile import (
    _Reader,
    count_params,
    parse_dlib_dnn,
    read_dlib_dnn,
    resnet_graph,
    sequential_graph,
)


def reader(hex_bytes: str) -> _Reader:
    return _Reader(bytes.fromhex(hex_bytes), "<test>")


# -- primitives ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "value"), [("01 02", 2), ("02 80 12", 4736), ("81 04", -4), ("01 00", 0),
                                             ("08 ff ff ff ff ff ff ff 7f", 2**63 - 1)])
def test_integer_examples_from_spec(data: str, value: int) -> None:
    r = reader(data)
    assert r.int_() == value
    assert r.pos == len(r.data)


@pytest.mark.parametrize("data", ["00", "09 01 02 03 04 05 06 07 08 09", "11 01", "01"])
def test_integer_bad_control_or_truncated(data: str) -> None:
    with pytest.raises(ModelFormatError) as info:
        reader(data).int_()
    assert info.value.offset in (0, 1)  # the control byte, or where the missing bytes start


def test_unsigned_rejects_negative() -> None:
    with pytest.raises(ModelFormatError, match="negative"):
        reader("81 04").uint()


@pytest.mark.parametrize(("data", "value"), [("01 10 81 04", 1.0), ("03 62 90 f5 81 11", 122.78199768066406),
                                             ("01 00 01 00", 0.0), ("81 03 01 00", -3.0)])
def test_float_details_mantissa_then_exponent(data: str, value: float) -> None:
    r = reader(data)
    assert r.float_() == pytest.approx(value, abs=1e-12)
    assert r.pos == len(r.data)


@pytest.mark.parametrize(("exponent", "check"), [("02 00 7d", math.isinf), ("02 02 7d", math.isnan)])
def test_float_special_exponents(exponent: str, check: object) -> None:
    value = reader("01 00 " + exponent).float_()
    assert check(value)  # type: ignore[operator]


def test_bools_are_ascii() -> None:
    r = reader("31 30")
    assert r.bool_() is True and r.bool_() is False
    with pytest.raises(ModelFormatError, match="bool"):
        reader("01").bool_()


def test_string_and_truncated_string() -> None:
    assert reader("01 05" + b"con_4".hex()).string() == "con_4"
    with pytest.raises(ModelFormatError, match="truncated") as info:
        reader("01 05" + b"con".hex()).string()
    assert info.value.offset == 2


def test_tensor_v2_raw_float32_nchw() -> None:
    r = reader("01 02 01 01 01 01 01 01 01 02" + np.array([1.5, -2.0], dtype="<f4").tobytes().hex())
    values = r.tensor()
    assert values.shape == (1, 1, 1, 2) and values.dtype == np.float32
    assert values.ravel().tolist() == [1.5, -2.0]
    with pytest.raises(ModelFormatError, match="version 3"):
        reader("01 03 01 00 01 00 01 00 01 00").tensor()


def test_alias_tensor_v1() -> None:
    assert reader("01 01 01 01 01 20 01 03 01 03").alias_tensor() == (1, 32, 3, 3)
    with pytest.raises(ModelFormatError):
        reader("01 02 01 01 01 20 01 03 01 03").alias_tensor()


# -- the real files -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resnet_net():  # type: ignore[no-untyped-def]
    return read_dlib_dnn(locate_model("resnet"))


@pytest.fixture(scope="module")
def mmod_path() -> Path:
    return locate_model("mmod")


def test_resnet_file_layers_and_params(resnet_net) -> None:  # type: ignore[no-untyped-def]
    net = resnet_net
    assert count_params(net) == 5_614_592
    kinds = Counter(layer.kind for layer in net.layers)
    assert kinds == {"con": 29, "affine": 29, "relu": 29, "add_prev": 14, "avg_pool": 5, "max_pool": 1, "fc": 1,
                     "tag": 18, "skip": 4}
    assert net.loss == {"tag": "loss_metric_2", "margin": pytest.approx(0.04),
                        "distance_threshold": pytest.approx(0.6)}
    assert net.input["tag"] == "input_rgb_image_sized" and net.input["size"] == (150, 150)
    assert net.input["mean_rgb"] == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    first = net.layers[0]
    assert first.kind == "con" and first.params["weight"].shape == (32, 3, 7, 7)
    assert (first.attrs["stride_y"], first.attrs["padding_y"]) == (2, 0)
    assert net.layers[-1].params["weight"].shape == (256, 128) and "bias" not in net.layers[-1].params
    assert len(net.sha256) == 64


def test_resnet_graph_wiring(resnet_net) -> None:  # type: ignore[no-untyped-def]
    graph = resnet_graph(resnet_net)
    ops = Counter(node.op for node in graph)
    assert ops["add"] == 14 and ops["global_avg_pool"] == 1 and ops["avg_pool"] == 4 and ops["con"] == 29
    names = [node.name for node in graph]
    for index, node in enumerate(graph):  # topological order
        assert all(names.index(i) < index for i in node.inputs)
    down_adds = [n for n in graph if n.op == "add" and graph[names.index(n.inputs[0])].op == "avg_pool"]
    assert len(down_adds) == 4


def test_mmod_file_layers_params_and_options(mmod_path: Path) -> None:
    net = read_dlib_dnn(mmod_path)
    assert count_params(net) == 181_141
    assert Counter(layer.kind for layer in net.layers) == {"con": 7, "affine": 6, "relu": 6}
    assert Counter(layer.tag for layer in net.layers)["bn_con2"] == 6
    loss = net.loss
    assert loss["tag"] == "loss_mmod_" and loss["version"] == 1
    assert loss["detector_windows"] == [{"width": 80, "height": 80, "label": ""}]
    assert loss["nms_iou_thresh"] == pytest.approx(0.3382761351109955, abs=1e-15)
    assert loss["nms_percent_covered_thresh"] == 1.0
    assert net.input["pyramid_padding"] == 10 and net.input["pyramid_outer_padding"] == 11
    assert len(sequential_graph(net)) == 20


def test_reader_caches_per_file(mmod_path: Path) -> None:
    assert read_dlib_dnn(mmod_path) is read_dlib_dnn(mmod_path)


def test_sha256_is_the_files(mmod_path: Path) -> None:
    data = mmod_path.read_bytes()
    assert read_dlib_dnn(mmod_path).sha256 == file_sha256(mmod_path) == parse_dlib_dnn(data).sha256


def test_window_attrs_of_con_and_pool_layers(resnet_net) -> None:  # type: ignore[no-untyped-def]
    fields = ["nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x"]
    first = resnet_net.layers[0]
    assert list(first.attrs) == ["num_filters", *fields, "use_relu"]
    assert [first.attrs[f] for f in fields] == [7, 7, 2, 2, 0, 0]
    pool = next(layer for layer in resnet_net.layers if layer.kind == "max_pool")
    assert list(pool.attrs) == fields and [pool.attrs[f] for f in fields] == [3, 3, 2, 2, 0, 0]


# -- corrupted copies ---------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("cut", [0, 1, 3, 14, 60, 150, 5_000, 400_000, -10, -1])
def test_truncated_file_names_offset(tmp_path: Path, mmod_path: Path, cut: int) -> None:
    data = mmod_path.read_bytes()
    size = cut if cut >= 0 else len(data) + cut
    path = write(tmp_path, f"cut{size}.dat", data[:size])
    with pytest.raises(ModelFormatError) as info:
        read_dlib_dnn(path)
    assert info.value.offset is not None and 0 <= info.value.offset <= size
    assert str(path) in str(info.value) and "offset" in str(info.value)


def test_trailing_garbage(tmp_path: Path, mmod_path: Path) -> None:
    data = mmod_path.read_bytes()
    path = write(tmp_path, "trailing.dat", data + b"\x01\x00")
    with pytest.raises(ModelFormatError, match="trailing") as info:
        read_dlib_dnn(path)
    assert info.value.offset == len(data)


def test_flipped_layer_tag_byte(tmp_path: Path, mmod_path: Path) -> None:
    data = bytearray(mmod_path.read_bytes())
    where = data.index(b"bn_con2")
    data[where + 6] = ord("9")
    with pytest.raises(ModelFormatError, match="bn_con9") as info:
        read_dlib_dnn(write(tmp_path, "flipped.dat", bytes(data)))
    assert info.value.offset == where - 2  # the string's length prefix


def test_flipped_loss_tag_byte(tmp_path: Path) -> None:
    data = bytearray(locate_model("resnet").read_bytes()[:4096])
    data[data.index(b"loss_metric_2") + 12] = ord("7")
    with pytest.raises(ModelFormatError, match="loss_metric_7") as info:
        parse_dlib_dnn(bytes(data), "resnet-flipped")
    assert info.value.offset == 2


def test_flipped_bool_and_version(mmod_path: Path) -> None:
    data = bytearray(mmod_path.read_bytes())
    end_of_relu = data.index(b"relu_") + 5
    assert data[end_of_relu:end_of_relu + 3] == b"110"
    bad_bool = bytearray(data)
    bad_bool[end_of_relu] = ord("2")
    with pytest.raises(ModelFormatError, match="bool") as info:
        parse_dlib_dnn(bytes(bad_bool))
    assert info.value.offset == end_of_relu
    bad_version = bytearray(data)
    bad_version[1] = 7  # add_loss_layer version
    with pytest.raises(ModelFormatError, match="version 7") as info:
        parse_dlib_dnn(bytes(bad_version))
    assert info.value.offset == 0


def test_every_structural_byte_flip_is_an_error_or_a_parse(mmod_path: Path) -> None:
    """Flipping any header byte never crashes the reader with anything but ModelFormatError."""
    data = mmod_path.read_bytes()
    header_end = data.index(b"input_rgb_image_pyramid") + 60
    for offset in range(header_end):
        for flip in (0x01, 0x80):
            corrupt = bytearray(data)
            corrupt[offset] ^= flip
            try:
                parse_dlib_dnn(bytes(corrupt))
            except ModelFormatError as error:
                assert error.offset is not None


def test_truncation_sweep_never_crashes(mmod_path: Path) -> None:
    data = mmod_path.read_bytes()
    for size in range(0, len(data), 7919):
        with pytest.raises(ModelFormatError):
            parse_dlib_dnn(data[:size])
