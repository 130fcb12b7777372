"""The service's settings: one frozen :class:`ServiceConfig`, filled from ``facerec serve``'s options."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.errors import ConfigurationError
from facerec.images import DEFAULT_MAX_PIXELS

__all__ = ["API_PREFIX", "DEFAULT_MAX_UPLOAD_MB", "ServiceConfig", "is_loopback"]

#: Where the JSON API is mounted (the web page at ``/`` calls it there).
API_PREFIX = "/api/v1"

#: The largest request body accepted, in megabytes (CompreFace's is 5).
DEFAULT_MAX_UPLOAD_MB = 10.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``127.0.0.0/8``, ``::1`` or ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceConfig:
    """How the service runs.

    Attributes:
        gallery: the gallery: a SQLite file or a ``postgresql://`` DSN (``None``: the CLI's default gallery).
        workers: inference threads over the one shared analyzer (``None``: one per core).
        queue_size: requests (one photo or a batch each) allowed to wait for a free inference thread; beyond,
            requests get 503 with ``Retry-After`` (``None``: four per thread).
        max_upload_mb: the largest request body, in megabytes; larger ones get 413, checked while reading.
        max_pixels: photos with more pixels get 413 before they are decoded.
        auth: require an ``X-API-Key`` on every route but health (off only on a loopback host).
        distance_threshold: the largest distance still called the same person. Lower is stricter; 0.6 is typical.
        calibration: a calibration JSON file (``facerec calibrate --out``) for match probabilities, or ``None``.
        top_k: the candidates listed per face by identify when the request does not say.
        store_crops: keep a small JPEG of each enrolled face (the web page's thumbnails).
        analyzer: keyword options for :class:`~facerec.analyzer.FaceAnalyzer` (detector, upsample, ...).
        pick: which face of a photo with several verify compares: ``largest``, ``central`` or ``best``.
    """

    gallery: str | None = None
    workers: int | None = None
    queue_size: int | None = None
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_pixels: int = DEFAULT_MAX_PIXELS
    auth: bool = True
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD
    calibration: str | None = None
    top_k: int = 3
    store_crops: bool = True
    analyzer: dict[str, Any] = field(default_factory=dict)
    pick: Literal["largest", "central", "best"] = "largest"

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigurationError(f"workers must be >= 1, got {self.workers}")
        if self.queue_size is not None and self.queue_size < 0:
            raise ConfigurationError(f"queue_size must be >= 0, got {self.queue_size}")
        if self.max_upload_mb <= 0:
            raise ConfigurationError(f"max_upload_mb must be > 0, got {self.max_upload_mb}")
        if self.max_pixels < 1:
            raise ConfigurationError(f"max_pixels must be >= 1, got {self.max_pixels}")
        if self.distance_threshold <= 0:
            raise ConfigurationError(f"distance_threshold must be > 0, got {self.distance_threshold}")
        if self.top_k < 1:
            raise ConfigurationError(f"top_k must be >= 1, got {self.top_k}")

    @property
    def threads(self) -> int:
        """The number of inference threads."""
        return self.workers or os.cpu_count() or 1

    @property
    def capacity(self) -> int:
        """Requests in inference at once, running or waiting; one more is refused with 503."""
        waiting = 4 * self.threads if self.queue_size is None else self.queue_size
        return self.threads + waiting

    @property
    def max_upload_bytes(self) -> int:
        """:attr:`max_upload_mb` in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)
