"""Training face classifiers in Keras on a folder-per-person data set (the deep-learning course's workflow).

Needs the ``train`` extra (``pip install 'facerec[train]'``: Keras, TensorFlow, scikit-learn, matplotlib). Keras
itself is imported only when a model is built or loaded, and ``import facerec`` does not import this package.

The steps, one module each:

* :mod:`facerec.training.data` -- folder per person -> aligned chips (cached), a seeded stratified split in JSON;
* :mod:`facerec.training.models` -- architectures by name: :func:`create_model`, :func:`list_models`
  (``convnet``, ``mobilenet``, ``resnet-face``, ``embedding-svm``, ``embedding-knn``) and the transfer-learning
  helpers;
* :mod:`facerec.training.runs` -- :func:`train` one configuration into a run folder, :func:`sweep` several;
* :mod:`facerec.training.predict` -- :func:`load_run` and :func:`predict_photos` for new photos;
* :mod:`facerec.training.plots` -- learning curves and confusion matrices.

Examples:
    >>> from facerec.training import TrainConfig, train                                   # doctest: +SKIP
    >>> result = train("lfw/images", "runs/convnet",
    ...                TrainConfig(model="convnet", image_size=64, min_images_per_person=20,
    ...                            epochs=30, patience=5, dropout=0.5))                   # doctest: +SKIP
    >>> result.test_accuracy                                                               # doctest: +SKIP
"""

from facerec.training.data import (
    ChipSettings,
    FaceDataset,
    SkippedPhoto,
    Split,
    dataset_embeddings,
    list_people,
    load_face_dataset,
    load_or_create_split,
    stratified_split,
)
from facerec.training.models import (
    ModelInfo,
    augmentation_layers,
    build_convnet,
    build_transfer_model,
    create_model,
    find_base,
    list_models,
    model_info,
    register_model,
    unfreeze_top_layers,
)
from facerec.training.predict import UNKNOWN, FacePrediction, TrainedModel, load_run, predict_photos
from facerec.training.runs import (
    RunResult,
    TrainConfig,
    configure_threads,
    load_results,
    load_sweep,
    sweep,
    train,
    write_comparison,
)

__all__ = [
    "UNKNOWN",
    "ChipSettings",
    "FaceDataset",
    "FacePrediction",
    "ModelInfo",
    "RunResult",
    "SkippedPhoto",
    "Split",
    "TrainConfig",
    "TrainedModel",
    "augmentation_layers",
    "build_convnet",
    "build_transfer_model",
    "configure_threads",
    "create_model",
    "dataset_embeddings",
    "find_base",
    "list_models",
    "list_people",
    "load_face_dataset",
    "load_or_create_split",
    "load_results",
    "load_run",
    "load_sweep",
    "model_info",
    "predict_photos",
    "register_model",
    "stratified_split",
    "sweep",
    "train",
    "unfreeze_top_layers",
    "write_comparison",
]
