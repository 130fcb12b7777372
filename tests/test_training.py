"""facerec.training: data set and split, every registered model (train, save, reload, predict), binary mode,
the transfer-learning helpers and the ``train`` / ``predict`` commands.

Real faces: four LFW people x 8 photos from ../shared/data (symlinked into a temporary folder), 32-64 px chips
and one epoch, TensorFlow pinned to one thread. Tests that need the photos skip without them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from facerec.errors import ConfigurationError, ModelNotFoundError, UnknownNameError
from facerec.training import (
    ChipSettings,
    Split,
    TrainConfig,
    build_convnet,
    configure_threads,
    create_model,
    find_base,
    list_models,
    load_face_dataset,
    load_or_create_split,
    load_run,
    load_sweep,
    model_info,
    predict_photos,
    stratified_split,
    train,
    unfreeze_top_layers,
)
from facerec.training.models import resolve_mobilenet_weights

configure_threads(1)

pytestmark = [
    # TensorFlow 2.21's variables trip numpy 2's __array__(copy=...) deprecation when Keras converts them
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"),
]

PEOPLE = ["Alejandro_Toledo", "Alvaro_Uribe", "Amelie_Mauresmo", "Andre_Agassi"]
PHOTOS_PER_PERSON = 8
MULTI_FACE_PHOTO = "Alvaro_Uribe/Alvaro_Uribe_0007.jpg"  # two faces: skipped

#: Settings per model for one quick epoch (the deep networks train eagerly: tracing their training graph costs
#: more than a minute on a busy 2-core machine, an eager epoch of 20 chips a few seconds).
QUICK: dict[str, dict[str, Any]] = {
    "convnet": {"image_size": 32, "dropout": 0.2, "l2": 1e-3},
    "mobilenet": {"image_size": 32, "base_weights": "none", "run_eagerly": True},
    "resnet-face": {"image_size": 112, "learning_rate": 1e-3, "fine_tune_top": 12, "fine_tune_epochs": 1,
                    "run_eagerly": True},  # 112 px: the smallest input 16 px steps allow, a third of the work
    "embedding-svm": {},
    "embedding-knn": {"n_neighbors": 3},
}


@pytest.fixture(scope="module")
def faces_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small folder-per-person data set of real LFW photos (symlinks)."""
    root = tmp_path_factory.mktemp("faces")
    for person in PEOPLE:
        source = shared_data / "lfw" / "images" / person
        (root / person).mkdir()
        for photo in sorted(source.iterdir())[:PHOTOS_PER_PERSON]:
            (root / person / photo.name).symlink_to(photo)
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chip-cache")


@pytest.fixture(scope="module")
def split_file(faces_dir: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One split shared by the model tests (made on the 32 px chips; the same photos are usable at every size)."""
    dataset = load_face_dataset(faces_dir, ChipSettings(size=32), cache_dir=cache_dir)
    path = tmp_path_factory.mktemp("split") / "split.json"
    load_or_create_split(path, dataset, seed=3)
    return path


# ------------------------------------------------------------------------------------------------------------------
# Registry and configuration
# ------------------------------------------------------------------------------------------------------------------

def test_registry_lists_the_course_models() -> None:
    assert list_models() == ["convnet", "embedding-knn", "embedding-svm", "mobilenet", "resnet-face"]
    assert model_info("resnet-face").image_size == 150 and model_info("resnet-face").has_base
    assert model_info("embedding-svm").kind == "embedding"


def test_unknown_model_name_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match="convnet"):
        create_model("convnett", input_shape=(32, 32, 3), num_classes=3)


def test_config_refuses_fine_tuning_without_base() -> None:
    with pytest.raises(ConfigurationError, match="pretrained base"):
        TrainConfig(model="convnet", fine_tune_top=3)
    with pytest.raises(ConfigurationError, match=r"unknown training setting 'epoch'.*epochs"):
        TrainConfig.from_dict({"epoch": 3})


def test_sweep_spec_from_comma_list_and_file(tmp_path: Path) -> None:
    configs = load_sweep("convnet,embedding-knn", TrainConfig(epochs=3))
    assert [(c.model, c.run_name, c.epochs) for c in configs] == [("convnet", "convnet", 3),
                                                                 ("embedding-knn", "embedding-knn", 3)]
    spec = tmp_path / "sweep.json"
    spec.write_text(json.dumps({"defaults": {"image_size": 48}, "runs": [
        {"name": "plain", "model": "convnet"}, {"name": "l2", "model": "convnet", "l2": 0.01}]}))
    configs = load_sweep(spec)
    assert [(c.run_name, c.image_size, c.l2) for c in configs] == [("plain", 48, 0.0), ("l2", 48, 0.01)]


# ------------------------------------------------------------------------------------------------------------------
# Split
# ------------------------------------------------------------------------------------------------------------------

def test_split_is_stratified_and_reproducible(tmp_path: Path) -> None:
    paths = [f"p{label}/{i}.jpg" for label, count in enumerate([20, 10, 7, 3]) for i in range(count)]
    labels = [int(p[1]) for p in paths]
    first = stratified_split(paths, labels, test_size=0.3, validation_size=0.2, seed=7)
    again = stratified_split(paths, labels, test_size=0.3, validation_size=0.2, seed=7)
    other = stratified_split(paths, labels, test_size=0.3, validation_size=0.2, seed=8)
    assert first == again
    assert first.test != other.test
    assert sorted(first.train + first.validation + first.test) == sorted(paths)
    by_person = {person: sum(p.startswith(f"{person}/") for p in first.test) for person in ("p0", "p1", "p2", "p3")}
    assert by_person == {"p0": 6, "p1": 3, "p2": 2, "p3": 1}  # 30% of each person, rounded
    assert all(any(p.startswith(f"{person}/") for p in first.train) for person in by_person)
    saved = first.save(tmp_path / "split.json")
    assert Split.load(saved) == first


def test_existing_split_file_is_reused(faces_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    dataset = load_face_dataset(faces_dir, ChipSettings(size=32), cache_dir=cache_dir)
    path = tmp_path / "split.json"
    made, reused = load_or_create_split(path, dataset, seed=1)
    assert not reused and path.is_file()
    again, reused = load_or_create_split(path, dataset, seed=99)  # the file wins over the seed
    assert reused and again == made


# ------------------------------------------------------------------------------------------------------------------
# Data set
# ------------------------------------------------------------------------------------------------------------------

def test_dataset_skips_photos_without_exactly_one_face(faces_dir: Path, cache_dir: Path) -> None:
    dataset = load_face_dataset(faces_dir, ChipSettings(size=32), cache_dir=cache_dir)
    assert dataset.class_names == PEOPLE
    assert dataset.images.shape[1:] == (32, 32, 3) and dataset.images.dtype == np.uint8
    skipped = {s.path: s for s in dataset.skipped}
    assert MULTI_FACE_PHOTO in skipped and skipped[MULTI_FACE_PHOTO].faces == 2
    assert "exactly one" in skipped[MULTI_FACE_PHOTO].reason
    assert len(dataset) + len(dataset.skipped) == len(PEOPLE) * PHOTOS_PER_PERSON
    assert list(cache_dir.rglob("*-faces.npz")), "detections are cached apart from the chip size"


def test_dataset_keeps_central_face_when_asked(faces_dir: Path, cache_dir: Path) -> None:
    dataset = load_face_dataset(faces_dir, ChipSettings(size=32, multiple_faces="central"), cache_dir=cache_dir)
    assert MULTI_FACE_PHOTO in dataset.paths


def test_dataset_without_alignment_resizes_whole_photos(faces_dir: Path, cache_dir: Path) -> None:
    dataset = load_face_dataset(faces_dir, ChipSettings(size=24, align=False), cache_dir=cache_dir)
    assert len(dataset) == len(PEOPLE) * PHOTOS_PER_PERSON and not dataset.skipped
    assert dataset.images.shape[1:] == (24, 24, 3)


# ------------------------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_model_trains_saves_reloads_and_predicts_identically(name: str, faces_dir: Path, cache_dir: Path,
                                                             split_file: Path, tmp_path: Path) -> None:
    keras.backend.clear_session()
    config = TrainConfig(model=name, epochs=1, batch_size=8, seed=0, **QUICK[name])
    result = train(faces_dir, tmp_path / name, config, split_file=split_file, cache_dir=cache_dir)
    run = result.run_dir
    for file in ("run.json", "summary.txt", "history.json", "metrics.json", "split.json", "confusion_matrix.png",
                 result.metrics and ("model.keras" if model_info(name).kind == "keras" else "model.joblib")):
        assert (run / file).is_file(), file  # type: ignore[operator]
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert set(metrics["per_class"]) == set(PEOPLE)
    assert {"precision", "recall", "f1"} <= set(metrics["per_class"][PEOPLE[0]])
    assert Split.load(run / "split.json") == Split.load(split_file)

    reloaded = load_run(run)
    size = reloaded.settings.size
    dataset = load_face_dataset(faces_dir, reloaded.settings, cache_dir=cache_dir)
    chips = dataset.subset(Split.load(split_file).test).images
    probs = reloaded.predict_proba(chips)  # one predict: each new input shape costs a graph trace
    assert probs.shape == (len(chips), len(PEOPLE)) and chips.shape[1] == size
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(probs, result.outputs["test"], rtol=1e-5, atol=1e-6)
    if model_info(name).kind == "keras":
        assert (run / "learning_curve.png").is_file()
    if name == "resnet-face":  # two stages: head, then the top of the base
        history = json.loads((run / "history.json").read_text())
        assert history["fine_tune_start"] == 1 and len(history["history"]["loss"]) == 2
        assert history["layers_unfrozen"] > 0


@pytest.mark.slow
def test_two_people_train_one_sigmoid_unit(faces_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    keras.backend.clear_session()
    config = TrainConfig(model="convnet", image_size=32, epochs=2, batch_size=8, max_people=2)
    result = train(faces_dir, tmp_path / "binary", config, cache_dir=cache_dir)
    model = result.model
    assert model.output_shape == (None, 1)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert model.loss == "binary_crossentropy"
    assert json.loads((result.run_dir / "run.json").read_text())["binary"] is True
    predictions = predict_photos(result.run_dir, [faces_dir / "Alejandro_Toledo" / "Alejandro_Toledo_0001.jpg"],
                                 threshold=0.0)
    assert len(predictions) == 1 and predictions[0].label in PEOPLE[:2]
    assert predictions[0].top[0][1] + predictions[0].top[1][1] == pytest.approx(1.0, abs=1e-5)


def test_convnet_layers_follow_the_course() -> None:
    small = build_convnet((64, 64, 3), 5, l2=0.01, dropout_rate=0.5)
    assert [layer.filters for layer in small.layers if hasattr(layer, "filters")] == [32, 64, 64]
    assert small.get_layer("dense").kernel_regularizer is not None
    assert small.get_layer("dropout").rate == 0.5
    assert small.output_shape == (None, 5)
    large = build_convnet((128, 128, 3), 5, augment=True)
    assert [layer.filters for layer in large.layers if hasattr(layer, "filters")] == [32, 64, 64, 128]
    assert large.layers[0].name.startswith("augment_")


def test_unfreeze_top_layers_keeps_batchnorm_frozen() -> None:
    keras.backend.clear_session()
    model = create_model("mobilenet", input_shape=(32, 32, 3), num_classes=3, base_weights="none",
                         freeze_base=True)
    base = find_base(model)
    assert not base.trainable
    opened = unfreeze_top_layers(base, 10)
    top, below = base.layers[-10:], base.layers[:-10]
    assert opened > 0
    assert all(not layer.trainable for layer in below)
    for layer in top:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        assert layer.trainable is (not is_bn), layer.name


def _block_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every HTTP(S) fetch fail at once, as offline: a proxy on a closed local port (no real network)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")


def test_mobilenet_without_weights_file_gives_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FACEREC_MOBILENET_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    _block_downloads(monkeypatch)
    monkeypatch.setenv("FACEREC_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelNotFoundError, match=r"cannot download.*--base-weights none"):
        resolve_mobilenet_weights("imagenet")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_mobilenet_weights(tmp_path / "missing.h5")
    assert resolve_mobilenet_weights("none") is None


def test_import_facerec_stays_light() -> None:
    code = ("import sys, facerec; heavy = [m for m in ('facerec.training', 'keras', 'tensorflow') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_train_then_predict(faces_dir: Path, cache_dir: Path, split_file: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from facerec.cli.train_cmds import predict as predict_command
    from facerec.cli.train_cmds import train as train_command

    keras.backend.clear_session()
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(train_command, [str(faces_dir), "-o", str(run), "--model", "convnet", "--image-size", "32",
                                           "--epochs", "2", "--batch-size", "8", "--early-stopping", "1",
                                           "--split", str(split_file), "--cache-dir", str(cache_dir), "--augment",
                                           "--save-h5", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    legacy = keras.saving.load_model(run / "model.h5", compile=False)  # augmentation left out: training-only
    chips = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(legacy(chips, training=False), load_run(run).model(chips, training=False),
                               rtol=1e-5, atol=1e-6)
    metrics = json.loads(result.stdout)
    assert metrics["model"] == "convnet" and metrics["people"] == len(PEOPLE)
    command = (run / "command.txt").read_text()
    assert command.startswith("facerec train ") and "--augment" in command and "--image-size 32" in command
    photo = faces_dir / "Andre_Agassi" / "Andre_Agassi_0001.jpg"

    named = runner.invoke(predict_command, ["--model", str(run), str(photo), "--threshold", "0", "--json"])
    assert named.exit_code == 0, named.output
    faces = json.loads(named.stdout)
    assert len(faces) == 1 and faces[0]["label"] in PEOPLE and len(faces[0]["box"]) == 4
    strict = runner.invoke(predict_command, ["--model", str(run), str(photo), "--threshold", "1", "--json"])
    assert json.loads(strict.stdout)[0]["label"] == "unknown"


@pytest.mark.slow
def test_cli_sweep_writes_comparison(faces_dir: Path, cache_dir: Path, split_file: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from facerec.cli.train_cmds import train as train_command

    out = tmp_path / "sweep"
    result = CliRunner().invoke(train_command, [str(faces_dir), "-o", str(out), "--sweep", "convnet,embedding-knn",
                                                "--image-size", "32", "--epochs", "1", "--split", str(split_file),
                                                "--cache-dir", str(cache_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| convnet | convnet | 32 |" in result.stdout and "| embedding-knn |" in result.stdout
    rows = json.loads((out / "comparison.json").read_text())
    assert [row["run"] for row in rows] == ["convnet", "embedding-knn"]
    assert (out / "convnet" / "model.keras").is_file() and (out / "embedding-knn" / "model.joblib").is_file()


def test_cli_mobilenet_without_weights_is_one_line_error(faces_dir: Path, cache_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from facerec.cli.train_cmds import train as train_command

    monkeypatch.delenv("FACEREC_MOBILENET_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    _block_downloads(monkeypatch)
    result = CliRunner().invoke(train_command, [str(faces_dir), "-o", str(tmp_path / "m"), "--model", "mobilenet",
                                                "--image-size", "32", "--cache-dir", str(cache_dir), "--quiet"])
    assert result.exit_code == 2
    assert "--base-weights none" in result.output and "Traceback" not in result.output


def test_mobilenet_imagenet_weights_come_from_keras_download_or_its_cache(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    # offline, the error names Keras' own download (its URL and file name) and the local-file option
    monkeypatch.delenv("FACEREC_MOBILENET_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("FACEREC_CACHE_DIR", str(tmp_path / "cache"))
    _block_downloads(monkeypatch)
    with pytest.raises(ModelNotFoundError) as offline:
        resolve_mobilenet_weights("imagenet", alpha=0.5, size=128)
    message = str(offline.value)
    assert "URL fetch failure on https://storage.googleapis.com/" in message
    assert "mobilenet_5_0_128_tf_no_top.h5" in message and "--base-weights PATH" in message
    assert "\n" not in message
    assert not list((tmp_path / "keras").rglob("*.h5")), "a failed download leaves no partial file"
    with pytest.raises(ModelNotFoundError, match="download not allowed"):
        resolve_mobilenet_weights("imagenet", download=False)
    # a file already in Keras' cache (where its download puts it) is used, with no fetch at all
    cached = tmp_path / "keras" / "models" / "mobilenet_5_0_224_tf_no_top.h5"
    cached.write_bytes(b"weights")
    assert resolve_mobilenet_weights("imagenet", alpha=0.5, size=32) == cached  # no 32 px file: Keras uses 224's


def test_mobilenet_loads_base_weights_from_a_local_file(tmp_path: Path) -> None:
    # the offline path for ImageNet weights: a weights file of the same base given with --base-weights PATH
    keras.backend.clear_session()
    donor = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.5, include_top=False, weights=None)
    path = tmp_path / "mobilenet_base.weights.h5"
    donor.save_weights(path)
    model = create_model("mobilenet", input_shape=(32, 32, 3), num_classes=3, base_weights=str(path))
    base = find_base(model)
    assert not base.trainable  # pretrained weights: the base starts frozen
    for ours, theirs in zip(base.weights, donor.weights):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


# ------------------------------------------------------------------------------------------------------------------
# Per-model defaults and the renamed options
# ------------------------------------------------------------------------------------------------------------------

def test_config_takes_the_models_defaults_and_reads_old_names() -> None:
    resolved = TrainConfig(model="resnet-face").resolve()
    defaults = model_info("resnet-face").defaults
    assert (resolved.learning_rate, resolved.epochs, resolved.patience, resolved.augment) == \
        (defaults.learning_rate, defaults.epochs, defaults.patience, defaults.augment)
    assert model_info("convnet").defaults.augment and model_info("convnet").defaults.patience > 0
    seed = TrainConfig(model="convnet", learning_rate=1e-4, epochs=20, patience=0, augment=False).resolve()
    assert (seed.learning_rate, seed.epochs, seed.patience, seed.augment) == (1e-4, 20, 0, False)
    old = TrainConfig.from_dict({"early_stopping": None, "threshold": 0.7})  # run.json / sweep files of before
    assert old.patience == 0 and old.min_probability == 0.7
    assert TrainConfig.from_dict({"early-stopping": 4}).patience == 4


def test_cli_old_option_spellings_are_hidden_aliases(faces_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from facerec.cli.train_cmds import predict as predict_command
    from facerec.cli.train_cmds import train as train_command

    help_text = CliRunner().invoke(train_command, ["--help"]).output
    assert "--patience" in help_text and "--min-probability" in help_text
    assert "--early-stopping" not in help_text and "--threshold" not in help_text
    assert "--threshold" not in CliRunner().invoke(predict_command, ["--help"]).output
    both = CliRunner().invoke(train_command, [str(faces_dir), "-o", str(tmp_path / "r"), "--patience", "3",
                                              "--early-stopping", "3"])
    assert both.exit_code == 2 and "old spelling of --patience" in both.output


@pytest.mark.slow
def test_convnet_defaults_augment_and_stop_early(faces_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    keras.backend.clear_session()
    defaults = model_info("convnet").defaults
    result = train(faces_dir, tmp_path / "defaults", TrainConfig(model="convnet", image_size=32, max_people=2),
                   cache_dir=cache_dir)
    recorded = json.loads((result.run_dir / "run.json").read_text())["config"]
    assert (recorded["learning_rate"], recorded["patience"], recorded["augment"], recorded["validation_size"]) == \
        (defaults.learning_rate, defaults.patience, True, defaults.validation_size)
    assert any(layer.name.startswith("augment_") for layer in result.model.layers)
    epochs = result.metrics["epochs_run"]
    assert defaults.patience_start + 1 <= epochs <= defaults.epochs  # no stop before patience_start
    assert result.metrics["best_epoch"] > defaults.patience_start
    assert result.metrics["validation_images"] >= 2
