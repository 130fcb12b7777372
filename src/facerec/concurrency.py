"""Sharing model objects that are not re-entrant between threads.

Some of dlib's objects keep scratch state inside themselves while they run: the HOG detector loads each image into
its scanner, and dlib's DNN networks (the MMOD CNN run by dlib, the face ResNet run by dlib) keep every layer's
output. Two threads calling one such object at once corrupt each other's results (wrong boxes, wrong embeddings)
without any error. ONNX Runtime sessions, dlib's shape predictors and ``get_face_chips`` are re-entrant and need
nothing.

Two remedies, chosen per part by measurement (docs/BENCHMARKS.md, "Thread safety"):

* :class:`InstancePool` -- each concurrent caller borrows its own instance, created on demand and kept for reuse;
  callers run in parallel (dlib releases the GIL). Used for the HOG detector, which is small (a few MB) and cheap
  to run, so that several threads detect at once.
* :class:`threading.Lock` around the call -- one caller at a time. Used for dlib's own networks, whose instances
  are large and whose runs are long; they are the reference backends, not the defaults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["InstancePool"]

T = TypeVar("T")


class InstancePool(Generic[T]):
    """A thread-safe pool of interchangeable instances of one non-re-entrant object.

    :meth:`borrow` hands the calling thread an idle instance (making a new one with ``make`` when all are in use)
    and takes it back when the ``with`` block ends, so at most as many instances exist as threads ever ran at once.

    Args:
        make: builds one instance (called lazily, at most once per concurrent caller).

    Examples:
        >>> pool = InstancePool(list)
        >>> with pool.borrow() as scratch:
        ...     scratch.append(1)
        >>> pool.size
        1
    """

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._idle: list[T] = []
        self._lock = threading.Lock()
        self._size = 0

    @property
    def size(self) -> int:
        """How many instances have been made so far."""
        return self._size

    @contextmanager
    def borrow(self) -> Iterator[T]:
        """An instance for the caller's exclusive use inside the ``with`` block."""
        with self._lock:
            item = self._idle.pop() if self._idle else None
        if item is None:
            item = self._make()
            with self._lock:
                self._size += 1
        try:
            yield item
        finally:
            with self._lock:
                self._idle.append(item)
