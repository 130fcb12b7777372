"""dlib's face ResNet rebuilt in Keras 3: equal to the ONNX network, saved and reloaded, exported back to ONNX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="the train extra is not installed: pip install -e '.[train]'")

import facerec
from facerec.models import keras_build
from facerec.models.keras_build import (
    FACE_RESNET_PARAMS,
    build_face_resnet,
    export_face_resnet_onnx,
    keras_to_dlib_net,
)

# Keras's TensorFlow backend saves variables with np.array(variable), which numpy 2 flags (a third-party warning)
NUMPY_COPY_WARNING = "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
TOLERANCE = 1e-4  # max abs difference between backends (float32 summation order)
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg", "32bit.png")


def _limit_threads() -> None:
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(2)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised by an earlier test module
            pass


_limit_threads()


@pytest.fixture(scope="module")
def model() -> Any:
    return build_face_resnet()


@pytest.fixture(scope="module")
def onnx_embedder() -> facerec.embedding.Embedder:
    return facerec.embedding.create_embedder("onnx", threads=2)


@pytest.fixture(scope="module")
def chips(test_images: Path) -> np.ndarray:
    found = [facerec.align_faces(test_images / name) for name in PHOTOS]
    result = np.concatenate([c for c in found if len(c)])
    assert len(result) >= 5
    return result


@pytest.fixture(scope="module")
def lfw_chips(shared_data: Path) -> np.ndarray:
    people = sorted((shared_data / "lfw" / "images").iterdir())[:40:2]
    found = []
    for person in people:
        photo = min(person.glob("*.jpg"))
        faces = facerec.align_faces(photo)
        if len(faces):
            found.append(faces[:1])
    result = np.concatenate(found)
    assert len(result) >= 15
    return result


def _keras_embed(model: Any, chips: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_on_batch(chips.astype(np.float32)))


def test_zero_pad_add_pads_bottom_right_and_channels() -> None:
    rng = np.random.default_rng(1)
    block = rng.random((2, 3, 3, 256), dtype=np.float32)    # dlib's odd mismatch: 256x3x3 + 128x4x4
    shortcut = rng.random((2, 4, 4, 128), dtype=np.float32)
    expected = np.zeros((2, 4, 4, 256), dtype=np.float32)
    expected[:, :3, :3, :] += block
    expected[:, :, :, :128] += shortcut
    np.testing.assert_array_equal(np.asarray(keras_build.ZeroPadAdd()([block, shortcut])), expected)


def test_keras_resnet_equals_onnx_on_reference_photos(model: Any, onnx_embedder: facerec.embedding.Embedder,
                                                      chips: np.ndarray) -> None:
    expected = onnx_embedder.embed(chips)
    got = _keras_embed(model, chips)
    assert got.shape == (len(chips), 128) and got.dtype == np.float32
    assert np.abs(got - expected).max() < TOLERANCE


@pytest.mark.shared_data
def test_keras_resnet_equals_onnx_on_lfw(model: Any, onnx_embedder: facerec.embedding.Embedder,
                                         lfw_chips: np.ndarray) -> None:
    expected = onnx_embedder.embed(lfw_chips)
    assert np.abs(_keras_embed(model, lfw_chips) - expected).max() < TOLERANCE


def test_keras_resnet_structure(model: Any) -> None:
    assert model.count_params() == FACE_RESNET_PARAMS
    names = [layer.name for layer in model.layers]
    assert names[:6] == ["image_rgb", "normalize", "stem_conv", "stem_affine", "stem_relu", "stem_pool"]
    assert names[-2:] == ["global_pool", "embedding"]
    blocks = {name.rsplit("_", 1)[0] for name in names if name.endswith("_add")}
    assert len(blocks) == 14
    assert {name.split("_")[0] for name in blocks} == {f"stage{i}" for i in range(1, 6)}
    assert [name for name in names if name.endswith("_shortcut_pool")] == [
        f"stage{i}_block1_shortcut_pool" for i in range(2, 6)]
    # frozen by default, affines stay frozen when the rest is trainable
    assert model.trainable_weights == []
    trainable = build_face_resnet(trainable=True)
    assert len(trainable.trainable_weights) == 29 * 2 + 1
    assert not any(isinstance(layer, keras_build.ChannelAffine) and layer.trainable for layer in trainable.layers)


def test_keras_resnet_without_top_gives_pooled_features(chips: np.ndarray) -> None:
    features_model = build_face_resnet(include_top=False)
    features = _keras_embed(features_model, chips[:3])
    assert features.shape == (3, 256)
    assert features_model.layers[-1].name == "global_pool"
    assert (features >= 0).all()  # the mean of ReLU outputs


@pytest.mark.filterwarnings(NUMPY_COPY_WARNING)
def test_keras_resnet_save_and_reload_identical(model: Any, chips: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "face_resnet.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("stem_affine"), keras_build.ChannelAffine)
    np.testing.assert_array_equal(_keras_embed(reloaded, chips[:4]), _keras_embed(model, chips[:4]))
    rebuilt = build_face_resnet(path)  # a saved model's weights as the weights argument
    np.testing.assert_array_equal(_keras_embed(rebuilt, chips[:4]), _keras_embed(model, chips[:4]))


@pytest.mark.filterwarnings(NUMPY_COPY_WARNING)
def test_keras_resnet_weights_file_round_trip(model: Any, chips: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "face_resnet.weights.h5"
    model.save_weights(path)
    rebuilt = build_face_resnet(path)
    np.testing.assert_array_equal(_keras_embed(rebuilt, chips[:2]), _keras_embed(model, chips[:2]))


def test_export_onnx_round_trip_after_perturbing_a_weight(chips: np.ndarray, tmp_path: Path) -> None:
    import onnxruntime as ort

    tuned = build_face_resnet()
    conv = tuned.get_layer("stage4_block2_conv1")
    kernel, bias = conv.get_weights()
    rng = np.random.default_rng(0)
    conv.set_weights([kernel + rng.normal(0, 0.01, kernel.shape).astype(np.float32), bias + 0.05])
    affine = tuned.get_layer("stage2_block1_affine2")
    gamma, beta = affine.get_weights()
    affine.set_weights([gamma * 1.1, beta])

    path = export_face_resnet_onnx(tuned, tmp_path / "tuned" / "face_resnet.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (exported,) = session.run(["embedding"], {"image": chips.astype(np.float32)})
    expected = _keras_embed(tuned, chips)
    assert np.abs(exported - expected).max() < TOLERANCE
    # the perturbation is visible, so the round trip really carried the new weights
    original = _keras_embed(build_face_resnet(), chips)
    assert np.abs(expected - original).max() > 10 * TOLERANCE


def test_keras_to_dlib_net_keeps_dlib_weights(model: Any) -> None:
    from facerec.models.dlibfile import read_dlib_dnn
    from facerec.models.locate import locate_model

    reference = read_dlib_dnn(locate_model("resnet"))
    net = keras_to_dlib_net(model, reference)
    assert len(net.layers) == len(reference.layers)
    for mine, theirs in zip(net.layers, reference.layers):
        assert mine.kind == theirs.kind and mine.attrs == theirs.attrs
        assert mine.params.keys() == theirs.params.keys()
        for key in mine.params:
            np.testing.assert_array_equal(mine.params[key], theirs.params[key])


def test_export_refuses_a_model_without_top(tmp_path: Path) -> None:
    with pytest.raises(facerec.ConfigurationError, match="embedding"):
        export_face_resnet_onnx(build_face_resnet(None, include_top=False), tmp_path / "x.onnx")


def test_import_facerec_does_not_import_tensorflow() -> None:
    code = "import facerec, sys; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
