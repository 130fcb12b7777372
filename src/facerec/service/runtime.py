""":class:`FaceService`: what one running service holds -- the gallery, the one shared analyzer, the inference
threads and their admission limit -- and the blocking jobs the routes hand to those threads.

Inference runs in a :class:`~concurrent.futures.ThreadPoolExecutor` sized to the cores (``--workers``), so the
event loop never waits on a model. Threads rather than worker processes: the models run in ONNX Runtime and dlib,
both of which release the GIL, one set of models is loaded once (a process each would hold its own copy), and the
gallery and its search index stay in one place. Jobs beyond ``capacity`` (running plus waiting) are refused at once
with 503 and ``Retry-After``, so a burst cannot grow memory without bound.

Until the analyzer is thread-safe (dlib's HOG detector is not re-entrant) the analyzer's calls are serialised by
one lock here (:attr:`FaceService.analyzer_lock`, see :data:`ANALYZER_THREAD_SAFE`); gallery searches are
serialised by another (the search index catches up with the gallery lazily). Writes need no lock of ours: each is
one transaction of the gallery, and a sample of the same photo, person and box is stored once whatever the order
(a unique index).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from facerec.errors import ImageError
from facerec.gallery.enroll import EnrollOutcome, enroll_photo, face_crop_jpeg, file_sha256
from facerec.service.config import ServiceConfig
from facerec.service.errors import ServiceError, image_error_status
from facerec.service.uploads import Upload

if TYPE_CHECKING:
    from facerec.analyzer import FaceAnalyzer
    from facerec.gallery import Gallery, Identification
    from facerec.gallery.base import NewSample
    from facerec.recognition.calibration import Calibration
    from facerec.types import Face

__all__ = ["ANALYZER_THREAD_SAFE", "KEPT_CLUSTERINGS", "Cluster", "FaceService", "Overloaded", "Photo", "crop_base64"]

T = TypeVar("T")

#: Whether one :class:`~facerec.analyzer.FaceAnalyzer` may be called from several threads at once. ``False`` until
#: the thread-safe analyzer of issue 16 is on main (dlib's HOG detector is not re-entrant): the service then runs
#: one analyzer call at a time (:attr:`FaceService.analyzer_lock`). Set it to ``True`` with that change, and
#: ``tests/test_service_server.py`` checks that concurrent answers still equal the serial ones.
ANALYZER_THREAD_SAFE = False

#: How many uploads' clusters are kept for naming (the oldest are forgotten first).
KEPT_CLUSTERINGS = 32


class Overloaded(ServiceError):
    """Every inference thread is busy and the waiting line is full."""

    def __init__(self, capacity: int) -> None:
        super().__init__(503, "overloaded", f"the server is busy ({capacity} requests in work or waiting); retry "
                                            "in a moment", headers={"Retry-After": "1"})


@dataclass(frozen=True)
class Photo:
    """A decoded upload: its name, its bytes and the RGB array."""

    name: str
    data: bytes
    rgb: npt.NDArray[np.uint8]

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


@dataclass(frozen=True)
class Cluster:
    """One group of faces of an upload to ``POST /cluster``, kept until named or forgotten."""

    label: int
    samples: list[NewSample]
    files: list[str]


class FaceService:
    """One running service.

    Args:
        config: the settings.
        gallery: an open gallery to serve (the caller closes it); default: open ``config.gallery``.
        analyzer: the analyzer to share (default: one built from ``config.analyzer``).
    """

    def __init__(self, config: ServiceConfig, *, gallery: Gallery | None = None,
                 analyzer: FaceAnalyzer | None = None) -> None:
        self.config = config
        self._given_gallery = gallery
        self._gallery: Gallery | None = gallery
        self._analyzer = analyzer
        self.executor: ThreadPoolExecutor | None = None
        self.analyzer_lock: contextlib.AbstractContextManager[Any] = \
            contextlib.nullcontext() if ANALYZER_THREAD_SAFE else threading.Lock()
        self.search_lock = threading.Lock()
        self._admission = threading.Lock()
        self._pending = 0
        self.model_id = ""
        self.calibration: Calibration | None = None
        self._clusters: OrderedDict[str, dict[int, Cluster]] = OrderedDict()
        self.ready = False

    # -- life cycle ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the gallery, load every model (one warm-up photo) and start the inference threads."""
        from facerec.analyzer import FaceAnalyzer
        from facerec.gallery import model_id_for, open_gallery

        if self._analyzer is None:
            self._analyzer = FaceAnalyzer(**self.config.analyzer)
        if self._gallery is None:
            self._gallery = open_gallery(self.config.gallery, create=True)
        if self.config.calibration is not None:
            from facerec.recognition.calibration import Calibration

            self.calibration = Calibration.load(self.config.calibration)
        self.model_id = model_id_for(self._analyzer)
        self._gallery.check_model(self.model_id)
        self._analyzer.analyze(np.full((96, 96, 3), 128, dtype=np.uint8))  # loads detectors, landmarks, embedder
        self.executor = ThreadPoolExecutor(max_workers=self.config.threads, thread_name_prefix="facerec-infer")
        self.ready = True

    def close(self) -> None:
        """Stop the threads and close the gallery (unless it was given)."""
        self.ready = False
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        if self._gallery is not None and self._given_gallery is None:
            self._gallery.close()
            self._gallery = None

    @property
    def gallery(self) -> Gallery:
        """The served gallery."""
        if self._gallery is None:
            raise ServiceError(503, "starting", "the service is starting; retry in a moment",
                               headers={"Retry-After": "1"})
        return self._gallery

    @property
    def analyzer(self) -> FaceAnalyzer:
        """The one shared analyzer."""
        if self._analyzer is None or not self.ready:
            raise ServiceError(503, "starting", "the models are loading; retry in a moment",
                               headers={"Retry-After": "1"})
        return self._analyzer

    # -- running jobs ----------------------------------------------------------------------------------------------
    async def run(self, job: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run the blocking ``job(*args, **kwargs)`` on an inference thread, or raise :class:`Overloaded` at once when
        :attr:`ServiceConfig.capacity` jobs are running or waiting already."""
        if self.executor is None:
            raise ServiceError(503, "starting", "the service is starting; retry in a moment",
                               headers={"Retry-After": "1"})
        with self._admission:
            if self._pending >= self.config.capacity:
                raise Overloaded(self.config.capacity)
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: job(*args, **kwargs))
        finally:
            with self._admission:
                self._pending -= 1

    @property
    def pending(self) -> int:
        """Jobs running or waiting now."""
        return self._pending

    @contextlib.contextmanager
    def _models(self) -> Iterator[FaceAnalyzer]:
        with self.analyzer_lock:
            yield self.analyzer

    # -- the blocking jobs -----------------------------------------------------------------------------------------
    def decode(self, upload: Upload) -> Photo:
        """An upload as a photo, or :class:`ServiceError` 400/413/415 naming it."""
        from facerec.images import load_image

        try:
            rgb = load_image(upload.data, max_pixels=self.config.max_pixels)
        except ImageError as exc:
            status, code = image_error_status(exc)
            raise ServiceError(status, code, f"{upload.name}: {exc.reason}") from None
        return Photo(upload.name, upload.data, rgb)

    def detect(self, uploads: Sequence[Upload], points: int) -> list[tuple[Photo, list[Face]]]:
        """Faces with ``points`` landmarks in each photo."""
        photos = [self.decode(u) for u in uploads]
        with self._models() as analyzer:
            return [(p, analyzer.landmarks(p.rgb, points=points)) for p in photos]

    def embed(self, uploads: Sequence[Upload]) -> list[tuple[Photo, list[Face]]]:
        """Faces with alignment landmarks and embeddings in each photo."""
        photos = [self.decode(u) for u in uploads]
        with self._models() as analyzer:
            return [(p, analyzer.analyze(p.rgb)) for p in photos]

    def identify(self, uploads: Sequence[Upload], *, distance_threshold: float, top_k: int
                 ) -> list[tuple[Photo, list[Identification]]]:
        """Every face of each photo named from the gallery."""
        from facerec.gallery import identify

        out = []
        for photo, faces in self.embed(uploads):
            with self.search_lock:
                found = identify(self.gallery, faces, analyzer=self.analyzer, distance_threshold=distance_threshold,
                                 top_k=top_k)
            out.append((photo, found))
        return out

    def draw(self, photo: Photo, found: Sequence[Identification]) -> bytes:
        """The photo with boxes and names drawn on it (as ``facerec identify --draw``), as JPEG."""
        import io

        from facerec.drawing import draw_identifications

        faces = [f.face for f in found if f.face is not None]
        canvas = draw_identifications(photo.rgb, faces, [f for f in found if f.face is not None])
        buffer = io.BytesIO()
        canvas.save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    def verify(self, first: Upload, second: Upload, distance_threshold: float) -> Any:
        """:func:`facerec.verify` of two photos (one face of each: :attr:`ServiceConfig.pick`)."""
        from facerec.api import verify

        a, b = self.decode(first), self.decode(second)
        with self._models() as analyzer:
            return verify(a.rgb, b.rgb, distance_threshold=distance_threshold, pick=self.config.pick,
                          analyzer=analyzer)

    def enroll(self, name: str, uploads: Sequence[Upload]) -> list[tuple[EnrollOutcome, int | None, str]]:
        """Enroll each photo as a sample of ``name`` (created with the first sample), as ``facerec enroll`` does.

        Returns:
            Per photo: the outcome and, for unreadable photos, the status and code the photo alone would get.
        """
        out: list[tuple[EnrollOutcome, int | None, str]] = []
        for upload in uploads:
            try:
                self.decode(upload)  # to tell 400, 413 and 415 apart; enroll_photo decodes again
            except ServiceError as exc:
                out.append((EnrollOutcome(_upload_path(upload), name, "unreadable",
                                          message=exc.message.split(": ", 1)[-1]), exc.status, exc.code))
                continue
            with self._models() as analyzer:
                outcome = enroll_photo(self.gallery, name, upload.data, analyzer=analyzer,
                                       source=f"upload:{upload.name}", model_id=self.model_id,
                                       store_crops=self.config.store_crops, max_pixels=self.config.max_pixels)
            out.append((outcome, None, ""))
        return out

    def cluster(self, uploads: Sequence[Upload], distance_threshold: float | None
                ) -> tuple[str, dict[int, Cluster], list[NewSample], list[tuple[str, int, str, str]]]:
        """Group the faces of the photos by person (:func:`facerec.recognition.cluster_faces`), kept for naming.

        Returns:
            The clustering's id, its clusters by label, the faces left alone (label -1), and the photos that could
            not be used as ``(name, status, code, message)``.
        """
        from facerec.gallery.base import NewSample
        from facerec.recognition.clustering import cluster_faces

        samples: list[NewSample] = []
        files: list[str] = []
        failures: list[tuple[str, int, str, str]] = []
        for upload in uploads:
            try:
                photo = self.decode(upload)
            except ServiceError as exc:
                failures.append((upload.name, exc.status, exc.code, exc.message))
                continue
            with self._models() as analyzer:
                faces = analyzer.analyze(photo.rgb)
            if not faces:
                failures.append((upload.name, 422, "no_face", f"{upload.name}: no face found"))
            sha = file_sha256(photo.data)
            for face in faces:
                if face.embedding is None:  # pragma: no cover - analyze always embeds
                    continue
                samples.append(NewSample(embedding=face.embedding, source=f"upload:{upload.name}", source_sha256=sha,
                                         box=face.box, score=float(face.score),
                                         crop_jpeg=face_crop_jpeg(photo.rgb, face.box)))
                files.append(upload.name)
        labels = cluster_faces(np.stack([s.embedding for s in samples]), distance_threshold=distance_threshold) \
            if samples else np.zeros(0, dtype=np.intp)
        clusters: dict[int, Cluster] = {}
        for label in sorted({int(v) for v in labels if v >= 0}):
            chosen = [i for i, v in enumerate(labels) if int(v) == label]
            clusters[label] = Cluster(label, [samples[i] for i in chosen], [files[i] for i in chosen])
        alone = [samples[i] for i, v in enumerate(labels) if v < 0]
        token = secrets.token_urlsafe(12)
        with self._admission:
            self._clusters[token] = clusters
            while len(self._clusters) > KEPT_CLUSTERINGS:
                self._clusters.popitem(last=False)
        return token, clusters, alone, failures

    def name_cluster(self, token: str, label: int, name: str) -> list[int]:
        """Store the faces of one cluster as samples of ``name`` (created if missing), in one transaction."""
        with self._admission:
            cluster = self._clusters.get(token, {}).get(label)
        if cluster is None:
            raise ServiceError(404, "not_found", f"no cluster {label} of clustering {token!r} (clusterings are "
                                                 f"kept for the last {KEPT_CLUSTERINGS} uploads)")
        samples = cluster.samples if self.config.store_crops else [
            _without_crop(s) for s in cluster.samples]
        return self.gallery.add_samples(name, samples, model_id=self.model_id, create_person=True)

    # -- answers -----------------------------------------------------------------------------------------------------
    def probability(self, distance: float | None) -> float | None:
        """Calibrated P(same person | distance), or ``None`` without a calibration."""
        if self.calibration is None or distance is None:
            return None
        return float(self.calibration.probability(distance))

    @property
    def threshold(self) -> float:
        """The default distance threshold: the calibration's when loaded and none was set, else the config's."""
        return self.config.distance_threshold


def _upload_path(upload: Upload) -> Any:
    from pathlib import Path

    return Path(f"upload:{upload.name}")


def _without_crop(sample: NewSample) -> NewSample:
    from dataclasses import replace

    return replace(sample, crop_jpeg=None)


def crop_base64(sample: NewSample) -> str | None:
    """A sample's crop as base64 (for JSON)."""
    return None if sample.crop_jpeg is None else base64.b64encode(sample.crop_jpeg).decode("ascii")
