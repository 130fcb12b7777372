"""Recognition on 128-d face embeddings: identity classifiers, calibration and clustering.

Three parts, each usable on its own (needs the ``recognition`` extra: scikit-learn):

* :mod:`~facerec.recognition.identifiers` -- :class:`NearestCentroidIdentifier`, :class:`KNNIdentifier` and
  :class:`SVMIdentifier`: scikit-learn classifiers that name a face or answer ``"unknown"``, with the unknown
  threshold as a hyperparameter (``GridSearchCV`` tunes it).
* :mod:`~facerec.recognition.calibration` -- :func:`calibrate`: the distance threshold for a target false-accept
  rate and a calibrated ``P(same | distance)`` from a folder-per-person directory, saved as JSON.
* :mod:`~facerec.recognition.clustering` -- :func:`cluster_faces`: group the faces of unknown people (Chinese
  whispers by default; DBSCAN and agglomerative for comparison).

Example::

    from facerec.recognition import KNNIdentifier, embed_directory
    known = embed_directory("people/")                        # one folder of photos per person
    clf = KNNIdentifier(distance_threshold=0.5).fit(known.embeddings, known.labels)
    clf.predict(unknown_embeddings)                           # ["alice", "unknown", ...]
"""

from facerec.recognition.calibration import (
    CalibratedVerification,
    Calibration,
    calibrate,
    fit_match_probability,
    load_calibration,
    pair_distances,
    threshold_for_far,
)
from facerec.recognition.clustering import (
    CLUSTER_METHODS,
    DEFAULT_CLUSTER_METHOD,
    DEFAULT_CLUSTER_THRESHOLDS,
    ChineseWhispers,
    PairwiseScores,
    chinese_whispers,
    cluster_faces,
    pairwise_scores,
)
from facerec.recognition.data import LabelledEmbeddings, embed_directory, people_in
from facerec.recognition.identifiers import (
    IDENTIFIERS,
    KNNIdentifier,
    NearestCentroidIdentifier,
    SVMIdentifier,
    create_identifier,
    list_identifiers,
)

__all__ = [
    "CLUSTER_METHODS",
    "DEFAULT_CLUSTER_METHOD",
    "DEFAULT_CLUSTER_THRESHOLDS",
    "IDENTIFIERS",
    "CalibratedVerification",
    "Calibration",
    "ChineseWhispers",
    "KNNIdentifier",
    "LabelledEmbeddings",
    "NearestCentroidIdentifier",
    "PairwiseScores",
    "SVMIdentifier",
    "calibrate",
    "chinese_whispers",
    "cluster_faces",
    "create_identifier",
    "embed_directory",
    "fit_match_probability",
    "list_identifiers",
    "load_calibration",
    "pair_distances",
    "pairwise_scores",
    "people_in",
    "threshold_for_far",
]
