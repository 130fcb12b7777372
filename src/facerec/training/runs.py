"""Training runs: one configuration -> one folder with the model, its history, plots and test metrics.

:func:`train` is what ``facerec train`` does::

    data set folder --(facerec pipeline, cached)--> chips --(split.json, seeded, stratified 70/30)--> train /
    validation / test --> create_model(name) --> fit (early stopping on validation loss, optional two-stage
    transfer schedule) --> evaluate on test --> run folder

A run folder holds:

=========================  ===========================================================================
``model.keras``            the trained Keras model (``model.h5`` too with ``save_h5``); ``model.joblib``
                           for the embedding classifiers
``run.json``               the configuration, people, chip settings and file names (read by ``predict``)
``summary.txt``            ``model.summary()``
``history.json``           per-epoch loss/accuracy (train and validation), epoch times, fine-tuning start
``learning_curve.png``     loss and accuracy, training vs validation, fine-tuning start marked
``metrics.json``           test accuracy, per-person precision / recall / F1, confusion matrix, timings, size
``confusion_matrix.png``   the confusion matrix on the test photos
``split.json``             the split used
``command.txt``            the exact command (when given)
=========================  ===========================================================================

:func:`sweep` runs several configurations (``keras.backend.clear_session()`` between them) and
:func:`write_comparison` writes their comparison table as Markdown and JSON (:mod:`facerec.training.sweeps`).
The pieces: :mod:`facerec.training.config` (the configuration and result records), :mod:`facerec.training.fitting`
(Keras and embedding-classifier fitting), :mod:`facerec.training.trainer` (one run), :mod:`facerec.training.sweeps`
(several); this module re-exports them under their old path.
"""

from facerec.training.config import RunResult, TrainConfig
from facerec.training.fitting import configure_threads, probabilities
from facerec.training.sweeps import load_results, load_sweep, sweep, write_comparison
from facerec.training.trainer import train

__all__ = [
    "RunResult",
    "TrainConfig",
    "configure_threads",
    "load_results",
    "load_sweep",
    "probabilities",
    "sweep",
    "train",
    "write_comparison",
]
