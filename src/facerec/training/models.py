"""Training architectures by name, as timm does it: :func:`register_model`, :func:`create_model`,
:func:`list_models`.

==================  ====================================================================================  =====
name                what                                                                                  chips
==================  ====================================================================================  =====
``convnet``         the course's Sequential network: Conv2D 32/64/64 (+128 at 128 px and up) with        128
                    MaxPooling2D, Flatten, Dense 64 relu (L2), Dropout, softmax (sigmoid for 2 people)
``mobilenet``       ``keras.applications.MobileNet(alpha=0.5)`` base (ImageNet weights: Keras' standard   128
                    download into its cache, or a local file, or none) + pooled Dense head
``resnet-face``     dlib's face ResNet in Keras with dlib's pretrained weights as the base + a new head    150
``embedding-svm``   a linear SVM on dlib's 128-d embeddings (scikit-learn)                                150
``embedding-knn``   a k-nearest-neighbour vote on the embeddings (scikit-learn)                            150
==================  ====================================================================================  =====

Keras models take RGB ``0..255`` images (any float dtype) and normalise inside the model (``Rescaling`` or the
base's own preprocessing), so a saved model needs nothing but the chips. With exactly two people a Keras model
ends in ONE sigmoid unit (binary cross-entropy), else in a softmax over the people (categorical cross-entropy).

The transfer-learning helpers follow the keras-io guide: the base is called with ``training=False`` (its batch
norms stay in inference mode even when un-frozen), :func:`unfreeze_top_layers` un-freezes the top layers of the
base but keeps batch norms frozen.

Keras is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from facerec.errors import ConfigurationError, ModelNotFoundError
from facerec.registry import Registry

__all__ = [
    "MODELS",
    "ModelInfo",
    "TrainingDefaults",
    "augmentation_layers",
    "build_convnet",
    "build_transfer_model",
    "create_model",
    "find_base",
    "list_models",
    "mobilenet_weights_filename",
    "model_info",
    "register_model",
    "resolve_mobilenet_weights",
    "unfreeze_top_layers",
]

ModelKind = Literal["keras", "embedding"]


@dataclass(frozen=True)
class TrainingDefaults:
    """A model's training settings where :class:`~facerec.training.TrainConfig` leaves them ``None``.

    Chosen on small LFW folders (``benchmarks/small_folder_training.py``, figures in ``docs/BENCHMARKS.md``): a
    new head on a frozen pretrained base needs a learning rate of about 1e-3 and many cheap epochs; a network
    from scratch needs augmentation, enough epochs and a validation part large enough to stop on.

    Attributes:
        learning_rate: Adam's learning rate (stage 1).
        epochs: maximum epochs (stage 1).
        patience: early stopping: stop after this many epochs without a lower validation loss and keep the best
            weights (0: off).
        patience_start: epochs before early stopping may fire (a network from scratch stalls at first).
        validation_size: fraction of the training part held out for validation.
        augment: random flip, rotation, zoom and brightness in training.
    """

    learning_rate: float = 1e-3
    epochs: int = 50
    patience: int = 10
    patience_start: int = 0
    validation_size: float = 0.2
    augment: bool = False


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model needs.

    Attributes:
        name: the registry name.
        kind: ``"keras"`` (a :class:`keras.Model` trained with ``fit``) or ``"embedding"`` (a scikit-learn
            classifier on 128-d embeddings).
        image_size: default chip side in pixels.
        padding: default chip padding.
        fixed_size: the chips must have exactly ``image_size`` / ``padding`` (the embedding models).
        has_base: a transfer model with a pretrained base (``--freeze-base`` / ``--fine-tune-top`` apply).
        description: one line for help texts.
        defaults: its training defaults (learning rate, epochs, early stopping, validation part, augmentation).
    """

    name: str
    kind: ModelKind
    image_size: int
    padding: float = 0.25
    fixed_size: bool = False
    has_base: bool = False
    description: str = ""
    defaults: TrainingDefaults = TrainingDefaults()


#: The registry of training architectures (factories return a Keras model or a scikit-learn estimator).
MODELS: Registry[Any] = Registry("training model")
_INFO: dict[str, ModelInfo] = {}


def register_model(name: str, *, kind: ModelKind = "keras", image_size: int = 128, padding: float = 0.25,
                   fixed_size: bool = False, has_base: bool = False, description: str = "",
                   defaults: TrainingDefaults | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a model factory under ``name`` (``defaults``: its :class:`TrainingDefaults`).

    A Keras factory is called as ``factory(input_shape=..., num_classes=..., **options)`` and returns an
    uncompiled :class:`keras.Model`; an embedding factory as ``factory(num_classes=..., **options)`` and returns
    a scikit-learn classifier.
    """
    register = MODELS.register(name, description)

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        register(factory)
        _INFO[name] = ModelInfo(name, kind, image_size, padding, fixed_size, has_base, description,
                                defaults or TrainingDefaults())
        return factory

    return decorator


def create_model(name: str, **options: Any) -> Any:
    """A new model by name (see :func:`list_models`); ``options`` go to its factory.

    Raises:
        UnknownNameError: ``name`` is not registered (close matches are suggested).
    """
    return MODELS.create(name, **options)


def list_models() -> list[str]:
    """The registered model names, sorted."""
    return MODELS.names()


def model_info(name: str) -> ModelInfo:
    """What the model called ``name`` needs (kind, chip size, transfer or not)."""
    MODELS._entry(name)  # raises UnknownNameError with suggestions
    return _INFO[name]


# ----------------------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------------------

def augmentation_layers(*, flip: bool = True, rotation: float = 0.05, zoom: float = 0.1,
                        brightness: float = 0.1, seed: int | None = None) -> list[Any]:
    """Random augmentation layers, active only in training: horizontal flip, rotation (fraction of a full
    turn, 0.05 = 18 degrees), zoom (fraction) and brightness (fraction of the 0..255 range)."""
    import keras

    layers: list[Any] = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed, name="augment_flip"))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="reflect", seed=seed, name="augment_rotation"))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="reflect", seed=seed, name="augment_zoom"))
    if brightness:
        layers.append(keras.layers.RandomBrightness(brightness, value_range=(0.0, 255.0), seed=seed,
                                                    name="augment_brightness"))
    return layers


def _classifier(num_classes: int, regularizer: Any = None, name: str = "classifier") -> Any:
    """One sigmoid unit for two classes (binary cross-entropy), else a softmax over the classes."""
    import keras

    if num_classes < 2:
        raise ConfigurationError(f"a classifier needs at least two classes, got {num_classes}")
    if num_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer, name=name)
    return keras.layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer, name=name)


def build_convnet(input_shape: tuple[int, int, int], num_classes: int, *, l2: float = 0.0,
                  dropout_rate: float = 0.0, augment: bool = False, dense_units: int = 64,
                  seed: int | None = None) -> Any:
    """The course's convolutional network, as a :class:`keras.Sequential`.

    ``Rescaling(1/255)``, Conv2D 32 / 64 / 64 (3x3, relu) each followed by 2x2 max pooling, a fourth block of
    128 filters for inputs of 128 px and up, ``Flatten``, ``Dense(dense_units, relu)`` with an L2 penalty,
    ``Dropout`` and the classifier (softmax over the people, or one sigmoid unit for two people).

    Args:
        input_shape: ``(height, width, 3)``.
        num_classes: number of people.
        l2: L2 penalty factor on the dense layer's weights (0 for none; 1e-3 to 1e-2 is typical).
        dropout_rate: fraction of the dense units dropped in training (0 for none; 0.3-0.5 is typical).
        augment: put :func:`augmentation_layers` first.
        dense_units: units of the hidden dense layer.
        seed: seed of the augmentation layers.
    """
    import keras

    layers = keras.layers
    stack: list[Any] = [keras.Input(shape=tuple(input_shape), name="image_rgb")]
    if augment:
        stack.extend(augmentation_layers(seed=seed))
    stack.append(layers.Rescaling(1.0 / 255, name="rescale"))
    filters = [32, 64, 64] + ([128] if min(input_shape[:2]) >= 128 else [])
    for i, count in enumerate(filters, start=1):
        stack.append(layers.Conv2D(count, (3, 3), activation="relu", name=f"conv{i}"))
        stack.append(layers.MaxPooling2D((2, 2), name=f"pool{i}"))
    stack.append(layers.Flatten(name="flatten"))
    regularizer = keras.regularizers.L2(l2) if l2 else None
    stack.append(layers.Dense(dense_units, activation="relu", kernel_regularizer=regularizer, name="dense"))
    if dropout_rate:
        stack.append(layers.Dropout(dropout_rate, seed=seed, name="dropout"))
    stack.append(_classifier(num_classes))
    return keras.Sequential(stack, name="convnet")


def build_transfer_model(base: Any, input_shape: tuple[int, int, int], num_classes: int, *,
                         preprocessing: Any | None = None, freeze_base: bool = True, l2: float = 0.0,
                         dropout_rate: float = 0.2, augment: bool = False, dense_units: int = 0,
                         seed: int | None = None, name: str = "transfer") -> Any:
    """A pretrained ``base`` with a new classification head (keras-io transfer-learning style).

    ``inputs -> [augmentation] -> [preprocessing] -> base -> [global average pool] -> Dropout ->
    [Dense(dense_units, relu)] -> classifier``.

    Args:
        base: a :class:`keras.Model` (its output is pooled when it is a feature map).
        input_shape: ``(height, width, 3)``, RGB 0..255.
        num_classes: number of people.
        preprocessing: a layer mapping 0..255 to what the base expects (``None``: the base does it itself).
        freeze_base: make the base untrainable and call it with ``training=False``, so that its batch norms stay
            in inference mode also when its top layers are un-frozen later (:func:`unfreeze_top_layers`).
            ``False`` trains the whole base from the start (e.g. from random weights).
        l2: L2 penalty on the head's weights.
        dropout_rate: dropout before the classifier.
        augment: put :func:`augmentation_layers` first.
        dense_units: an extra hidden dense layer in the head (0 for none).
        seed: seed of augmentation and dropout.
        name: the model's name.
    """
    import keras

    layers = keras.layers
    base.trainable = not freeze_base
    inputs = keras.Input(shape=tuple(input_shape), name="image_rgb")
    x = inputs
    if augment:
        for layer in augmentation_layers(seed=seed):
            x = layer(x)
    if preprocessing is not None:
        x = preprocessing(x)
    x = base(x, training=False) if freeze_base else base(x)
    if len(x.shape) == 4:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    if dropout_rate:
        x = layers.Dropout(dropout_rate, seed=seed, name="dropout")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", kernel_regularizer=regularizer, name="dense")(x)
    outputs = _classifier(num_classes, regularizer)(x)
    return keras.Model(inputs, outputs, name=name)


def find_base(model: Any) -> Any:
    """The nested base model of a :func:`build_transfer_model` model.

    Raises:
        ConfigurationError: ``model`` has no nested model (it is not a transfer model).
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ConfigurationError(f"model {model.name!r} has no pretrained base to freeze or fine-tune")


def _is_normalization(layer: Any) -> bool:
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        return True
    return type(layer).__name__ in ("ChannelAffine", "LayerNormalization", "GroupNormalization")


def unfreeze_top_layers(base: Any, count: int) -> int:
    """Make the top ``count`` layers of ``base`` trainable, keeping normalisation layers (BatchNorm, dlib's
    folded ``ChannelAffine``) and everything below frozen.

    Recompile the model afterwards (at a low learning rate, e.g. 1e-5) for the change to take effect.

    Args:
        base: the pretrained base (see :func:`find_base`).
        count: number of layers from the top (layers without weights count too); 0 leaves it frozen.

    Returns:
        The number of layers with weights that are now trainable.
    """
    if count < 0:
        raise ConfigurationError(f"the number of layers to un-freeze must be >= 0, got {count}")
    base.trainable = True
    layers = list(base.layers)
    top = {id(layer) for layer in layers[len(layers) - count:]} if count else set()
    opened = 0
    for layer in layers:
        trainable = id(layer) in top and not _is_normalization(layer)
        layer.trainable = trainable
        if trainable and layer.weights:
            opened += 1
    return opened


# ----------------------------------------------------------------------------------------------------------------
# The registered models
# ----------------------------------------------------------------------------------------------------------------

@register_model("convnet", image_size=128,
                description="the course's Sequential ConvNet (Conv2D 32/64/64[/128], Dense 64, Dropout)",
                defaults=TrainingDefaults(learning_rate=1e-3, epochs=60, patience=10, patience_start=15,
                                          validation_size=0.25, augment=True))
def _convnet(*, input_shape: tuple[int, int, int], num_classes: int, l2: float = 0.0, dropout_rate: float = 0.0,
             augment: bool = False, seed: int | None = None, **_: Any) -> Any:
    return build_convnet(input_shape, num_classes, l2=l2, dropout_rate=dropout_rate, augment=augment, seed=seed)


_MOBILENET_FIX = ("pass --base-weights PATH to a local copy of Keras' ImageNet file (e.g. "
                  "mobilenet_5_0_128_tf_no_top.h5), set FACEREC_MOBILENET_WEIGHTS, or train from scratch with "
                  "--base-weights none")

#: Where ``keras.applications.MobileNet(weights="imagenet")`` downloads its files from (Keras' own address).
MOBILENET_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"

#: The input sizes Keras publishes MobileNet ImageNet weights for (other sizes use the 224 px file, as Keras does).
_MOBILENET_SIZES = (128, 160, 192, 224)


def mobilenet_weights_filename(alpha: float = 0.5, size: int = 128) -> str:
    """Keras' file name for MobileNet's ImageNet weights without the top (the name in Keras' download cache).

    Examples:
        >>> mobilenet_weights_filename(0.5, 128)
        'mobilenet_5_0_128_tf_no_top.h5'
        >>> mobilenet_weights_filename(1.0, 64)  # no 64 px file: Keras uses the 224 px one
        'mobilenet_1_0_224_tf_no_top.h5'
    """
    alpha_text = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}.get(alpha, str(alpha))
    rows = size if size in _MOBILENET_SIZES else 224
    return f"mobilenet_{alpha_text}_{rows}_tf_no_top.h5"


def _keras_home() -> Path:
    """Keras' folder (``$KERAS_HOME``, else ``~/.keras``), read now rather than when Keras was imported."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def _download_mobilenet_weights(filename: str) -> Path:
    """Keras' standard download (``keras.utils.get_file`` into ``<Keras home>/models``), the one
    ``keras.applications.MobileNet(weights="imagenet")`` makes; Keras' progress lines go to stderr.

    Raises:
        OSError: the download failed (wrapping Keras' ``URL fetch failure`` message).
    """
    import contextlib
    import sys

    import keras

    home = _keras_home()
    (home / "models").mkdir(parents=True, exist_ok=True)  # Keras falls back to /tmp/.keras for a missing folder
    try:
        with contextlib.redirect_stdout(sys.stderr):  # "Downloading data from ..." must not mix with --json
            path = keras.utils.get_file(filename, origin=MOBILENET_WEIGHTS_URL + filename, cache_subdir="models",
                                        cache_dir=str(home))
    except Exception as error:  # Keras raises a bare Exception("URL fetch failure on ...")
        raise OSError(" ".join(str(error).split()) or type(error).__name__) from None
    return Path(path)


def resolve_mobilenet_weights(base_weights: str | os.PathLike[str] | None, *, alpha: float = 0.5,
                              size: int = 128, download: bool = True) -> Path | None:
    """The ImageNet weights file for the MobileNet base: a local file, else Keras' standard download.

    Args:
        base_weights: ``None`` or ``"none"`` (random initialisation: returns ``None``), a file path, or
            ``"imagenet"``: looked up in ``FACEREC_MOBILENET_WEIGHTS``, then in Keras' download cache
            (``$KERAS_HOME/models`` or ``~/.keras/models``) and facerec's cache folder under Keras' file name
            (:func:`mobilenet_weights_filename`); when none is there, downloaded by Keras into its cache (what
            ``keras.applications.MobileNet(weights="imagenet")`` does), which needs a network.
        alpha: MobileNet's width multiplier.
        size: the input size (Keras publishes files for 128, 160, 192 and 224 px; other sizes use the 224 one).
        download: let Keras download the file when it is not found locally.

    Raises:
        ModelNotFoundError: no file was found and the download failed (offline) or was not allowed; the message
            gives Keras' reason, lists what was tried and the fixes.
    """
    if base_weights is None or str(base_weights).lower() == "none":
        return None
    if str(base_weights).lower() != "imagenet":
        path = Path(base_weights)
        if path.is_file():
            return path
        raise ModelNotFoundError(f"MobileNet base weights file {path} does not exist; {_MOBILENET_FIX}")
    from facerec.models.locate import cache_dir

    filename = mobilenet_weights_filename(alpha, size)
    candidates: list[Path] = []
    env = os.environ.get("FACEREC_MOBILENET_WEIGHTS")
    if env:
        candidates.append(Path(env))
    candidates += [_keras_home() / "models" / filename, cache_dir() / filename]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = "; ".join(str(c) for c in candidates)
    if not download:
        raise ModelNotFoundError(f"no ImageNet weights for the MobileNet base (download not allowed); tried {tried}. "
                                 f"Fix: {_MOBILENET_FIX}")
    try:
        return _download_mobilenet_weights(filename)
    except OSError as error:
        raise ModelNotFoundError(
            f"no ImageNet weights for the MobileNet base: Keras cannot download them ({error}; offline?); tried "
            f"{tried}. Fix: {_MOBILENET_FIX}") from None


@register_model("mobilenet", image_size=128, has_base=True,
                defaults=TrainingDefaults(learning_rate=1e-3, epochs=50, patience=8, validation_size=0.2),
                description="keras.applications.MobileNet(alpha=0.5) base (ImageNet weights: Keras' download or a "
                            "local file; or none) + new head")
def _mobilenet(*, input_shape: tuple[int, int, int], num_classes: int, base_weights: str | None = "imagenet",
               freeze_base: bool | None = None, l2: float = 0.0, dropout_rate: float = 0.2, augment: bool = False,
               alpha: float = 0.5, seed: int | None = None, **_: Any) -> Any:
    import keras

    weights = resolve_mobilenet_weights(base_weights, alpha=alpha, size=input_shape[0])
    base = keras.applications.MobileNet(input_shape=tuple(input_shape), alpha=alpha, include_top=False,
                                        weights=str(weights) if weights is not None else None)
    if freeze_base is None:
        freeze_base = weights is not None  # nothing to keep frozen in a randomly initialised base
    preprocessing = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")  # MobileNet's [-1, 1]
    return build_transfer_model(base, input_shape, num_classes, preprocessing=preprocessing,
                                freeze_base=freeze_base, l2=l2, dropout_rate=dropout_rate, augment=augment,
                                seed=seed, name="mobilenet_transfer")


@register_model("resnet-face", image_size=150, has_base=True,
                defaults=TrainingDefaults(learning_rate=1e-2, epochs=40, patience=5, validation_size=0.2),
                description="dlib's face ResNet in Keras with its pretrained weights as the (frozen) base + new head")
def _resnet_face(*, input_shape: tuple[int, int, int], num_classes: int, base_weights: str | None = "dlib",
                 freeze_base: bool | None = None, l2: float = 0.0, dropout_rate: float = 0.2,
                 augment: bool = False, seed: int | None = None, **_: Any) -> Any:
    try:
        from facerec.models.keras_build import build_face_resnet
    except ImportError as error:  # the Keras port is missing or incomplete in this install
        raise ModelNotFoundError(f"the Keras face ResNet (facerec.models.keras_build) is not available: {error}. "
                                 "Fix: pip install 'facerec[train]'") from None
    weights = None if base_weights is None or str(base_weights).lower() == "none" else base_weights
    if weights is not None and str(weights).lower() == "imagenet":
        weights = "dlib"
    if freeze_base is None:
        freeze_base = weights is not None
    base = build_face_resnet(weights, include_top=False, trainable=not freeze_base, input_shape=input_shape)
    # dlib's normalisation is the base's first layer: it takes RGB 0..255 as it is
    return build_transfer_model(base, input_shape, num_classes, preprocessing=None, freeze_base=freeze_base,
                                l2=l2, dropout_rate=dropout_rate, augment=augment, seed=seed,
                                name="resnet_face_transfer")


def _identifier(kind: Literal["svm", "knn"], options: dict[str, Any]) -> Any:
    """facerec's identifier estimator when :mod:`facerec.recognition` provides it, else plain scikit-learn."""
    try:
        from facerec import recognition
    except ImportError:
        recognition = None  # type: ignore[assignment]
    name = "SVMIdentifier" if kind == "svm" else "KNNIdentifier"
    estimator = getattr(recognition, name, None) if recognition is not None else None
    if estimator is not None:
        import inspect

        accepted = inspect.signature(estimator).parameters
        return estimator(**{k: v for k, v in options.items() if k in accepted})
    if kind == "svm":
        from sklearn.svm import SVC

        return SVC(kernel="linear", C=options.get("C", 1.0), probability=True,
                   random_state=options.get("random_state", 0))
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=options.get("n_neighbors", 5), weights="distance")


@register_model("embedding-svm", kind="embedding", image_size=150, padding=0.25, fixed_size=True,
                defaults=TrainingDefaults(patience=0, validation_size=0.15),
                description="linear SVM on dlib's 128-d face embeddings (scikit-learn)")
def _embedding_svm(*, num_classes: int = 0, seed: int | None = None, C: float = 1.0, **_: Any) -> Any:
    # no rejection inside the estimator: runs score its probabilities, and `predict` applies its own threshold
    return _identifier("svm", {"C": C, "random_state": 0 if seed is None else seed, "unknown_label": -1,
                               "probability_threshold": None})


@register_model("embedding-knn", kind="embedding", image_size=150, padding=0.25, fixed_size=True,
                defaults=TrainingDefaults(patience=0, validation_size=0.15),
                description="k-nearest-neighbour vote on dlib's 128-d face embeddings (scikit-learn)")
def _embedding_knn(*, num_classes: int = 0, n_neighbors: int = 5, **_: Any) -> Any:
    return _identifier("knn", {"n_neighbors": n_neighbors, "unknown_label": -1, "distance_threshold": None})
