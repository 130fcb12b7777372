""":class:`RayPool`: photos analysed by Ray actors that each hold their models (``pip install 'facerec[distributed]'``).

Each actor is a process on some node of the cluster with one :class:`~facerec.analyzer.FaceAnalyzer` (models
loaded once, ONNX Runtime on one thread, one CPU reserved); the driver sends it batches of photo *paths* (every
node must see the photos at the same paths: a shared or replicated file system), keeps two batches per actor in
flight, and writes the results to the database itself, batch by batch. When an actor's process or node is lost
Ray restarts the actor and the driver resubmits the batch, up to ``retries`` times; a batch that keeps killing its
worker (one photo that crashes the decoder, or runs it out of memory) is then recorded as failed, photo by photo,
and the run goes on.

Workers import facerec: install it on every node (the same version as the driver's).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from facerec.errors import ConfigurationError
from facerec.library.index import analyze_batch, worker_analyzer
from facerec.library.records import LibraryError, PhotoResult, PhotoTask

__all__ = ["RayPool"]


class _PhotoWorker:
    """The actor: one analyzer, batches in, results out."""

    def __init__(self, analyzer_options: dict[str, Any], crop_size_px: int) -> None:
        self.analyzer = worker_analyzer(analyzer_options)
        self.crop_size_px = crop_size_px

    def analyze(self, tasks: list[PhotoTask]) -> list[PhotoResult]:
        return analyze_batch(self.analyzer, tasks, crop_size_px=self.crop_size_px)

    def pid(self) -> int:
        return os.getpid()


class RayPool:
    """Batches of photos analysed by Ray actors (see the module docstring).

    Args:
        address: the cluster: ``"auto"`` (the one this machine belongs to, as started by ``ray start``), a
            ``HOST:PORT`` or ``ray://HOST:PORT`` address, or ``"local"`` (start Ray on this machine only, for
            trying it out). When Ray is already initialised in this process, that connection is used.
        workers: actors to start (default: one per CPU of the cluster).
        analyzer_options: options of :class:`~facerec.analyzer.FaceAnalyzer`.
        crop_size_px: the longer side of the face thumbnails.
        retries: how many times a batch is resubmitted after its worker was lost.

    Raises:
        LibraryError: Ray is not installed or the cluster cannot be reached.
    """

    def __init__(self, address: str = "auto", *, workers: int | None = None,
                 analyzer_options: dict[str, Any] | None = None, crop_size_px: int = 112, retries: int = 3) -> None:
        if workers is not None and workers < 1:
            raise ConfigurationError(f"workers must be >= 1, got {workers}")
        if retries < 0:
            raise ConfigurationError(f"retries must be >= 0, got {retries}")
        try:
            import ray
        except ImportError as exc:
            raise LibraryError(f"--ray needs Ray: pip install 'facerec[distributed]' ({exc})") from exc
        self._ray: Any = ray
        self._started = False
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise LibraryError(f"cannot reach the Ray cluster at {address!r}: {exc} (start one with "
                                   "`ray start --head`, or use --ray local)") from exc
            self._started = True
        self.retries = retries
        self.lost_workers = 0
        count = workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=0)(_PhotoWorker)
        self._actors: list[Any] = [remote.remote(dict(analyzer_options or {}), crop_size_px) for _ in range(count)]
        self.workers = count
        self._lost_errors = tuple(getattr(ray.exceptions, name) for name in (
            "RayActorError", "WorkerCrashedError", "ObjectLostError", "NodeDiedError", "ActorUnavailableError")
            if hasattr(ray.exceptions, name))

    def worker_pids(self) -> list[int]:
        """The process ids of the actors (for monitoring; tests kill one)."""
        return [int(pid) for pid in self._ray.get([actor.pid.remote() for actor in self._actors])]

    def map_unordered(self, batches: Iterable[list[PhotoTask]]) -> Iterator[list[PhotoResult]]:
        ray = self._ray
        pending: dict[Any, tuple[list[PhotoTask], int]] = {}
        source: Iterator[list[PhotoTask] | None] = iter(batches)
        exhausted = False
        turn = 0
        retry: list[tuple[list[PhotoTask], int]] = []

        def submit(batch: list[PhotoTask], attempt: int) -> None:
            nonlocal turn
            actor = self._actors[turn % len(self._actors)]
            turn += 1
            pending[actor.analyze.remote(batch)] = (batch, attempt)

        while True:
            while retry:
                submit(*retry.pop())
            while not exhausted and len(pending) < 2 * len(self._actors):
                batch = next(source, None)
                if batch is None:
                    exhausted = True
                else:
                    submit(batch, 0)
            if not pending:
                return
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            batch, attempt = pending.pop(ref)
            try:
                results: list[PhotoResult] = ray.get(ref)
            except self._lost_errors as exc:
                self.lost_workers += 1
                if attempt < self.retries:
                    retry.append((batch, attempt + 1))
                    continue
                reason = f"its worker was lost {attempt + 1} times ({type(exc).__name__})"
                results = [PhotoResult(t.path, t.sha256, t.size_bytes, t.mtime_ns, error=reason) for t in batch]
            except ray.exceptions.RayTaskError as exc:  # an error that fails every photo alike (e.g. no model)
                cause = exc.as_instanceof_cause() if hasattr(exc, "as_instanceof_cause") else exc
                raise LibraryError(f"a Ray worker failed: {cause}") from None
            yield results

    def close(self) -> None:
        """Stop the actors (and Ray, when this pool started it)."""
        for actor in self._actors:
            try:
                self._ray.kill(actor)
            except Exception:
                pass
        self._actors = []
        if self._started:
            self._ray.shutdown()
            self._started = False

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
