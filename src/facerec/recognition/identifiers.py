"""Identity classifiers over 128-d face embeddings, as scikit-learn estimators.

Three classifiers name the person in a face embedding, or answer ``unknown_label`` when the face is not close
enough to anyone enrolled (open-set identification):

* :class:`NearestCentroidIdentifier` -- one mean embedding per person; the nearest wins.
* :class:`KNNIdentifier` -- a vote of the nearest enrolled faces (face_recognition's k-NN example).
* :class:`SVMIdentifier` -- a linear SVM with Platt-calibrated probabilities (the classic OpenFace pipeline).

The unknown-person threshold is an ordinary hyperparameter, so ``GridSearchCV`` can tune it: include some
impostor faces labelled ``unknown_label`` in ``y``. They are not enrolled as a person by ``fit``; they only count
in ``score`` (accuracy, where calling an impostor ``unknown_label`` is right)::

    search = GridSearchCV(KNNIdentifier(), {"distance_threshold": [0.4, 0.5, 0.6]}).fit(X, y)

Labels: ``y`` may hold strings (names; the common case) or integers. ``unknown_label`` must be of the same kind:
the default ``"unknown"`` suits names; for integer labels pass an integer such as ``-1``, or ``None`` to choose
automatically: ``"unknown"`` for string labels, and for numeric ones ``-1`` -- or one less than the smallest label
when ``-1`` is itself a label (scikit-learn's binary ``{-1, 1}`` convention), so numeric labels are then never
taken for impostors.

Choosing the threshold: a face is compared with a whole gallery, so a stranger gets many chances to come close to
someone. On LFW with 118 enrolled people (``docs/BENCHMARKS.md``), dlib's pair threshold 0.6 named 91% of the
photos of never-seen people as somebody; 0.548 (a pair false-accept rate of 1e-3) still 48%; 0.477 (pair FAR
1e-4) 10%, while rejecting 1-2% of the enrolled people's photos. Calibrate with
:func:`facerec.recognition.calibrate` at a pair FAR of about the open-set rate you want divided by the number of
people enrolled.

The classifiers are also registered by name (:data:`IDENTIFIERS`: ``centroid``, ``knn``, ``svm``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import pairwise_distances
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import LinearSVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.registry import Registry

__all__ = ["IDENTIFIERS", "KNNIdentifier", "NearestCentroidIdentifier", "SVMIdentifier", "create_identifier",
           "list_identifiers"]

Labels = npt.NDArray[Any]


def _labels_are_strings(y: npt.NDArray[Any]) -> bool:
    if y.dtype.kind in "US":
        return True
    if y.dtype == object:
        return all(isinstance(v, str) for v in y)
    return False


def _free_number(y: npt.NDArray[Any]) -> Any:
    """-1, or one less than the smallest label when -1 is itself a label (sklearn's binary {-1, 1} convention)."""
    values = np.unique(y)
    if not np.any(values == -1):
        return -1
    low = values.min() - 1
    return low.item() if hasattr(low, "item") else low


class _IdentifierMixin(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Label handling shared by the identifiers: the unknown label, enrolment and rejection."""

    unknown_label: Any
    classes_: Labels
    unknown_label_: Any

    def _fit_targets(self, X: Any, y: Any) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.intp]]:
        """Validate ``X, y``; set ``classes_`` and ``unknown_label_``; return the enrolled rows and their codes."""
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        strings = _labels_are_strings(y)
        unknown = self.unknown_label
        if unknown is None:
            unknown = "unknown" if strings else _free_number(y)
        elif strings and not isinstance(unknown, str):
            raise ConfigurationError(f"unknown_label={unknown!r} is not a string but y holds string labels; pass a "
                                     "string such as unknown_label='unknown' (or None to choose automatically)")
        elif not strings and (isinstance(unknown, (str, bool)) or not isinstance(unknown, numbers.Real)):
            raise ConfigurationError(f"unknown_label={unknown!r} is not a number but y holds {y.dtype} labels; pass "
                                     "a number such as unknown_label=-1 (or None to choose automatically)")
        self.unknown_label_ = unknown
        enrolled = np.asarray(y != unknown, dtype=bool)
        if not enrolled.any():
            raise ConfigurationError(f"every label in y is unknown_label={unknown!r}: there is nobody to enrol")
        self.classes_, codes = np.unique(y[enrolled], return_inverse=True)
        return X[enrolled], codes.astype(np.intp)

    def _validate_X(self, X: Any) -> npt.NDArray[np.floating[Any]]:
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])  # type: ignore[no-any-return]

    def _name(self, codes: npt.NDArray[np.intp], rejected: npt.NDArray[np.bool_]) -> Labels:
        """Class labels for ``codes``, with ``unknown_label_`` where ``rejected``."""
        names = self.classes_[codes]
        if names.dtype != object:
            names = names.astype(np.result_type(names.dtype, np.asarray([self.unknown_label_]).dtype))
        names[rejected] = self.unknown_label_
        return names

    def scores(self, X: Any) -> npt.NDArray[np.float64]:
        """How much each face looks like each enrolled person; higher is more alike.

        What the evaluation ranks people by (CMC, open-set rates): the negative centroid distance, the share of
        the neighbours' vote, or the calibrated probability, depending on the identifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        raise NotImplementedError

    def person_distances(self, X: Any) -> npt.NDArray[np.float64] | None:
        """The distance of each face to each enrolled person (lower is more alike), or ``None`` for an identifier
        that does not measure one (it then ranks by :meth:`scores` alone).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes) or None
            Columns in the order of ``classes_``.
        """
        return None

    def _top(self, scores: npt.NDArray[Any], k: int, ascending: bool) -> tuple[Labels, npt.NDArray[Any]]:
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ConfigurationError(f"k must be a positive integer, got {k!r}")
        k = min(int(k), scores.shape[1])
        order = np.argsort(scores if ascending else -scores, axis=1, kind="stable")[:, :k]
        return self.classes_[order], np.take_along_axis(scores, order, axis=1)


def _check_threshold(name: str, value: Any, *, upper: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) >= 0 or (
            upper is not None and float(value) > upper):
        bound = f"between 0 and {upper}" if upper is not None else ">= 0"
        raise ConfigurationError(f"{name} must be None or a number {bound}, got {value!r}")
    return float(value)


class NearestCentroidIdentifier(_IdentifierMixin):
    """Name a face by the nearest person's mean embedding.

    Each enrolled person is represented by the mean of their embeddings (the centroid); a face is given the
    name of the nearest centroid, or ``unknown_label`` when that centroid is farther than
    ``distance_threshold``. Fitting is instant and the model is small (one vector per person).

    Parameters
    ----------
    distance_threshold : float or None, default=0.58
        The largest Euclidean distance to a centroid still called a match. **Lower is stricter** (fewer false
        accepts, more faces called unknown). The default is :data:`facerec.compare.DEFAULT_DISTANCE_THRESHOLD`,
        face_recognition's 0.6 false-accept rate with flip averaging. A centroid averages away some noise, so faces
        sit a little closer to their own centroid than to single photos: 0.5-0.58 is typical for dlib embeddings.
        For open-set use in a large gallery it must be lower (see the module docs: 0.48 let 10% of never-seen
        people through among 118 enrolled). ``None`` never rejects (closed-set identification).
    unknown_label : str, int or None, default="unknown"
        The answer for a face that matches nobody. It must be of the same kind as ``y``'s labels (use ``-1``
        for integer labels); ``None`` picks ``"unknown"`` or ``-1`` to suit ``y``. Samples of ``y`` labelled
        with it are not enrolled (they serve as impostors in ``score``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The enrolled people.
    centroids_ : ndarray of shape (n_classes, n_features)
        The mean embedding of each person, in the order of ``classes_``.
    unknown_label_ : str or int
        The unknown label in use.
    n_features_in_ : int
        Number of features seen during fit (128 for face embeddings).

    See Also
    --------
    KNNIdentifier : a vote of the nearest enrolled faces; better when a person's photos vary a lot.
    sklearn.neighbors.NearestCentroid : the closed-set classifier this follows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.0, 1.1]])
    >>> clf = NearestCentroidIdentifier(distance_threshold=0.3).fit(X, ["ann", "ann", "bob", "bob"])
    >>> clf.predict([[0.05, 0.1], [0.5, 0.5]]).tolist()
    ['ann', 'unknown']
    """

    centroids_: npt.NDArray[np.float64]

    def __init__(self, distance_threshold: float | None = DEFAULT_DISTANCE_THRESHOLD,
                 unknown_label: Any = "unknown") -> None:
        self.distance_threshold = distance_threshold
        self.unknown_label = unknown_label

    def fit(self, X: Any, y: Any) -> NearestCentroidIdentifier:
        """Compute each person's centroid.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        y : array-like of shape (n_samples,)
            Person labels; samples labelled ``unknown_label`` are left out.

        Returns
        -------
        self : NearestCentroidIdentifier
            The fitted identifier.
        """
        _check_threshold("distance_threshold", self.distance_threshold)
        X, codes = self._fit_targets(X, y)
        sums = np.zeros((len(self.classes_), X.shape[1]), dtype=np.float64)
        np.add.at(sums, codes, X)
        self.centroids_ = sums / np.bincount(codes, minlength=len(self.classes_))[:, None]
        return self

    def distances(self, X: Any) -> npt.NDArray[np.float64]:
        """Euclidean distance of each face to each person's centroid.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; lower is more alike.
        """
        X = self._validate_X(X)
        return pairwise_distances(X, self.centroids_)  # type: ignore[no-any-return]

    def scores(self, X: Any) -> npt.NDArray[np.float64]:
        """The negative centroid distances (see :meth:`_IdentifierMixin.scores`)."""
        return -self.distances(X)

    def person_distances(self, X: Any) -> npt.NDArray[np.float64]:
        """The centroid distances (:meth:`distances`)."""
        return self.distances(X)

    def predict(self, X: Any) -> Labels:
        """The nearest person for each face, or ``unknown_label_`` beyond ``distance_threshold``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted names.
        """
        distances = self.distances(X)
        codes = np.argmin(distances, axis=1)
        nearest = distances[np.arange(len(codes)), codes]
        threshold = _check_threshold("distance_threshold", self.distance_threshold)
        rejected = nearest > threshold if threshold is not None else np.zeros(len(codes), dtype=bool)
        return self._name(codes, rejected)

    def top_k(self, X: Any, k: int = 5) -> tuple[Labels, npt.NDArray[np.float64]]:
        """The ``k`` nearest people for each face, nearest first, with their centroid distances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        k : int, default=5
            How many candidates (at most ``len(classes_)``).

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Candidate names, nearest first (no rejection is applied).
        distances : ndarray of shape (n_samples, k)
            Their centroid distances (lower is more alike).
        """
        return self._top(self.distances(X), k, ascending=True)


class KNNIdentifier(_IdentifierMixin):
    """Name a face by a vote of its nearest enrolled faces; unknown when even the nearest is too far.

    The ``n_neighbors`` enrolled faces nearest to a query vote for their person (weighted by inverse distance by
    default). The face is called ``unknown_label`` when its single nearest enrolled face is farther than
    ``distance_threshold`` -- the rule of face_recognition's k-NN example.

    Parameters
    ----------
    n_neighbors : int, default=5
        How many enrolled faces vote. Capped at the number of enrolled faces. With only a few photos per person,
        1-3 works best; the vote helps when people have many photos.
    distance_threshold : float or None, default=0.58
        The largest distance from the query to its nearest enrolled face still accepted. **Lower is stricter**
        (fewer false accepts, more faces called unknown); the default is
        :data:`facerec.compare.DEFAULT_DISTANCE_THRESHOLD`, face_recognition's 0.6 false-accept rate with flip
        averaging, good for a handful of people (:func:`facerec.thresholds.threshold_for_strangers` gives the
        threshold for a gallery size); large galleries need about 0.45-0.5 (see the module docs). ``None`` never
        rejects.
    weights : {"distance", "uniform"}, default="distance"
        ``"distance"`` weighs each vote by the inverse of its distance (a face identical to an enrolled one
        decides alone); ``"uniform"`` counts votes equally.
    unknown_label : str, int or None, default="unknown"
        The answer for a face that matches nobody; of the same kind as ``y``'s labels (``-1`` for integers;
        ``None`` chooses). Samples labelled with it are not enrolled.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The enrolled people.
    embeddings_ : ndarray of shape (n_enrolled, n_features)
        The enrolled faces.
    codes_ : ndarray of shape (n_enrolled,)
        Index into ``classes_`` of each enrolled face.
    n_neighbors_ : int
        The number of voters in use (``n_neighbors`` capped at the enrolled faces).
    unknown_label_ : str or int
        The unknown label in use.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    NearestCentroidIdentifier : one mean embedding per person; smaller and faster.
    sklearn.neighbors.KNeighborsClassifier : the closed-set classifier this follows.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.0, 1.1]])
    >>> clf = KNNIdentifier(n_neighbors=1, distance_threshold=0.3).fit(X, ["ann", "ann", "bob", "bob"])
    >>> clf.predict([[1.0, 1.2], [0.5, 0.5]]).tolist()
    ['bob', 'unknown']
    """

    embeddings_: npt.NDArray[np.floating[Any]]
    codes_: npt.NDArray[np.intp]
    n_neighbors_: int
    _index: NearestNeighbors

    def __init__(self, n_neighbors: int = 5, distance_threshold: float | None = DEFAULT_DISTANCE_THRESHOLD,
                 weights: str = "distance", unknown_label: Any = "unknown") -> None:
        self.n_neighbors = n_neighbors
        self.distance_threshold = distance_threshold
        self.weights = weights
        self.unknown_label = unknown_label

    def fit(self, X: Any, y: Any) -> KNNIdentifier:
        """Enrol the faces.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        y : array-like of shape (n_samples,)
            Person labels; samples labelled ``unknown_label`` are left out.

        Returns
        -------
        self : KNNIdentifier
            The fitted identifier.
        """
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors, numbers.Integral) or \
                self.n_neighbors < 1:
            raise ConfigurationError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if self.weights not in ("distance", "uniform"):
            raise ConfigurationError(f"weights must be 'distance' or 'uniform', got {self.weights!r}")
        _check_threshold("distance_threshold", self.distance_threshold)
        X, codes = self._fit_targets(X, y)
        self.embeddings_ = X
        self.codes_ = codes
        self.n_neighbors_ = min(int(self.n_neighbors), len(X))
        self._index = NearestNeighbors(n_neighbors=self.n_neighbors_).fit(X)
        return self

    def kneighbors(self, X: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
        """Distances to and indices (into ``embeddings_``) of the ``n_neighbors_`` nearest enrolled faces.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_neighbors_)
            Nearest first.
        indices : ndarray of shape (n_samples, n_neighbors_)
            Rows of ``embeddings_``; ``classes_[codes_[indices]]`` are their names.
        """
        X = self._validate_X(X)
        distances, indices = self._index.kneighbors(X)
        return distances, indices

    def _vote(self, X: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        distances, indices = self.kneighbors(X)
        if self.weights == "uniform":
            weights = np.ones_like(distances)
        else:
            with np.errstate(divide="ignore"):
                weights = 1.0 / distances
            exact = np.isinf(weights)
            rows = exact.any(axis=1)
            weights[rows] = exact[rows].astype(np.float64)
        proba = np.zeros((len(distances), len(self.classes_)))
        np.add.at(proba, (np.arange(len(distances))[:, None], self.codes_[indices]), weights)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba, distances[:, 0]

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Each person's share of the neighbours' (weighted) vote.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1. The unknown decision is not part of it.
        """
        return self._vote(X)[0]

    def predict(self, X: Any) -> Labels:
        """The winner of the vote for each face, or ``unknown_label_`` when the nearest face is too far.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted names.
        """
        proba, nearest = self._vote(X)
        threshold = _check_threshold("distance_threshold", self.distance_threshold)
        rejected = nearest > threshold if threshold is not None else np.zeros(len(nearest), dtype=bool)
        return self._name(np.argmax(proba, axis=1), rejected)

    def top_k(self, X: Any, k: int = 5) -> tuple[Labels, npt.NDArray[np.float64]]:
        """The ``k`` people with the nearest enrolled face, nearest first, with that distance.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        k : int, default=5
            How many candidates (at most ``len(classes_)``).

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Candidate names, nearest first (no rejection is applied).
        distances : ndarray of shape (n_samples, k)
            Distance to each candidate's nearest enrolled face (lower is more alike).
        """
        return self._top(self.person_distances(X), k, ascending=True)

    def scores(self, X: Any) -> npt.NDArray[np.float64]:
        """The vote shares (:meth:`predict_proba`)."""
        return self.predict_proba(X)

    def person_distances(self, X: Any) -> npt.NDArray[np.float64]:
        """The distance of each face to each person's nearest enrolled face."""
        X = self._validate_X(X)
        all_distances = pairwise_distances(X, self.embeddings_)
        per_person = np.empty((len(X), len(self.classes_)))
        for code in range(len(self.classes_)):
            per_person[:, code] = all_distances[:, self.codes_ == code].min(axis=1)
        return per_person


class SVMIdentifier(_IdentifierMixin):
    """Name a face with a linear SVM; unknown when the top calibrated probability is too low.

    The classic embedding pipeline (OpenFace's ``classifier.py``): a linear SVM over the embeddings with
    Platt-scaled probabilities. The SVM is one-vs-rest (:class:`~sklearn.svm.LinearSVC`, one linear boundary per
    person); Platt scaling (a sigmoid per person, fitted on out-of-fold SVM scores from up to 5 stratified
    folds, then normalised over the people) is done by :class:`~sklearn.calibration.CalibratedClassifierCV`
    with ``ensemble=False`` -- what scikit-learn 1.9 recommends in place of the deprecated
    ``SVC(probability=True)``. (One-vs-one ``SVC(kernel="linear")`` scores, calibrated per person the same way,
    named only 67% of LFW test faces right against 99.6% one-vs-rest: its per-person scores are vote counts.)
    The prediction is the most probable person, and the face is called ``unknown_label`` when that probability
    is below ``probability_threshold``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of the SVM's regularization (higher fits the training faces more tightly). Embeddings
        are already separable by person, so 1-10 is typical.
    probability_threshold : float or None, default=0.5
        The lowest top-class probability still accepted. **Higher is stricter** (fewer false accepts, more faces
        called unknown). On LFW with 118 enrolled people, 0.5 named 23% of the photos of never-seen people as
        someone while rejecting 0.5% of known faces; 0.7 gave 7% and 1.3%. Probabilities spread over more people
        in a bigger gallery, so calibrate it on your data (``benchmarks/identification.py``). ``None`` or 0
        never rejects.
    unknown_label : str, int or None, default="unknown"
        The answer for a face that matches nobody; of the same kind as ``y``'s labels (``-1`` for integers;
        ``None`` chooses). Samples labelled with it are not enrolled.
    random_state : int, RandomState instance or None, default=None
        Seeds the cross-validation folds of the probability calibration (set it for reproducible results).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The enrolled people.
    svm_ : sklearn.calibration.CalibratedClassifierCV
        The fitted SVM (``svm_.estimator``) with its calibration; its classes are indices into ``classes_``.
    unknown_label_ : str or int
        The unknown label in use.
    n_features_in_ : int
        Number of features seen during fit.

    Notes
    -----
    The probability says which side of the SVM's boundaries a face falls on, not how near it is to anyone, so
    in principle a stranger far from all enrolled people can be accepted with confidence. On LFW it nonetheless
    rejected never-seen people about as well as a distance threshold (see ``docs/BENCHMARKS.md``, "Identification
    on LFW"), at the cost of a slow fit (about a minute for 158 people) and at least two photos per person.

    Needs at least two enrolled people with at least two photos each (the calibration folds need them); with
    one photo per person use :class:`KNNIdentifier`.

    See Also
    --------
    KNNIdentifier : no training, rejection by distance.
    sklearn.svm.LinearSVC : the SVM used.
    """

    svm_: CalibratedClassifierCV

    def __init__(self, C: float = 1.0, probability_threshold: float | None = 0.5, unknown_label: Any = "unknown",
                 random_state: Any = None) -> None:
        self.C = C
        self.probability_threshold = probability_threshold
        self.unknown_label = unknown_label
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> SVMIdentifier:
        """Train the SVM and its probability calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        y : array-like of shape (n_samples,)
            Person labels; samples labelled ``unknown_label`` are left out.

        Returns
        -------
        self : SVMIdentifier
            The fitted identifier.

        Raises
        ------
        ValueError
            Fewer than two people are enrolled, or someone has a single sample.
        """
        if isinstance(self.C, bool) or not isinstance(self.C, numbers.Real) or not float(self.C) > 0:
            raise ConfigurationError(f"C must be a positive number, got {self.C!r}")
        _check_threshold("probability_threshold", self.probability_threshold, upper=1.0)
        X, codes = self._fit_targets(X, y)
        if len(self.classes_) < 2:
            raise ConfigurationError(f"SVMIdentifier needs at least 2 classes to tell apart, got 1 class "
                                     f"({self.classes_[0]!r}); use KNNIdentifier for a single person")
        counts = np.bincount(codes)
        if counts.min() < 2:
            raise ConfigurationError(
                f"SVMIdentifier needs at least 2 samples of every person for its probability calibration; "
                f"{self.classes_[np.argmin(counts)]!r} has 1. Use KNNIdentifier for people with a single photo")
        folds = StratifiedKFold(n_splits=min(5, int(counts.min())), shuffle=True, random_state=self.random_state)
        svm = LinearSVC(C=self.C, max_iter=10_000, random_state=self.random_state)
        self.svm_ = CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
        self.svm_.fit(X, codes)
        return self

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Calibrated probability of each person.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1 (over the enrolled people only).
        """
        X = self._validate_X(X)
        return self.svm_.predict_proba(X)  # type: ignore[no-any-return]

    def predict(self, X: Any) -> Labels:
        """The most probable person for each face, or ``unknown_label_`` below ``probability_threshold``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted names.
        """
        proba = self.predict_proba(X)
        codes = np.argmax(proba, axis=1)
        threshold = _check_threshold("probability_threshold", self.probability_threshold, upper=1.0)
        top = proba[np.arange(len(codes)), codes]
        rejected = top < threshold if threshold is not None else np.zeros(len(codes), dtype=bool)
        return self._name(codes, rejected)

    def top_k(self, X: Any, k: int = 5) -> tuple[Labels, npt.NDArray[np.float64]]:
        """The ``k`` most probable people for each face, with their probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Face embeddings.
        k : int, default=5
            How many candidates (at most ``len(classes_)``).

        Returns
        -------
        labels : ndarray of shape (n_samples, k)
            Candidate names, most probable first (no rejection is applied).
        probabilities : ndarray of shape (n_samples, k)
            Their probabilities (higher is more likely).
        """
        return self._top(self.predict_proba(X), k, ascending=False)

    def scores(self, X: Any) -> npt.NDArray[np.float64]:
        """The calibrated probabilities (:meth:`predict_proba`)."""
        return self.predict_proba(X)


IDENTIFIERS: Registry[_IdentifierMixin] = Registry("identifier")
IDENTIFIERS.register("centroid", "nearest person centroid, rejected beyond distance_threshold")(
    NearestCentroidIdentifier)
IDENTIFIERS.register("knn", "k nearest enrolled faces vote, rejected beyond distance_threshold")(KNNIdentifier)
IDENTIFIERS.register("svm", "linear SVM with calibrated probabilities, rejected below probability_threshold")(
    SVMIdentifier)


def create_identifier(name: str, **params: Any) -> _IdentifierMixin:
    """An unfitted identifier by registry name (``centroid``, ``knn``, ``svm``) with the given parameters.

    Examples:
        >>> create_identifier("knn", n_neighbors=3)
        KNNIdentifier(n_neighbors=3)
    """
    return IDENTIFIERS.create(name, **params)


def list_identifiers() -> list[str]:
    """The names of the registered identifiers."""
    return IDENTIFIERS.names()
