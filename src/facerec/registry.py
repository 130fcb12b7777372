"""A small named registry for swappable parts (detectors, embedders, classifiers, training models).

Each pipeline stage keeps one :class:`Registry`; backends register a factory under a name, and callers create
instances by name (``create("hog")``). Unknown names raise :class:`~facerec.errors.UnknownNameError` with close
matches. Factories are imported lazily by the stage modules so that nothing heavy loads at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from facerec.errors import UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry(Generic[T]):
    factory: Callable[..., T]
    description: str
    threads: bool
    on_copy: Mapping[str, Any]


class Registry(Generic[T]):
    """Names -> factories for one kind of part."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, _Entry[T]] = {}

    def register(self, name: str, description: str = "", *, threads: bool = False,
                 on_copy: Mapping[str, Any] | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``factory`` under ``name`` (``threads``: it takes a ``threads`` option;
        ``on_copy``: options it is made with when the pipeline detects on a downscaled copy, ``max_side`` set)."""

        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = _Entry(factory, description, threads, dict(on_copy or {}))
            return factory

        return decorator

    def create(self, name: str, **options: Any) -> T:
        """A new instance of the part called ``name``."""
        return self._entry(name).factory(**options)

    def copy_options(self, name: str) -> dict[str, Any]:
        """The options the part called ``name`` is made with when detection runs on a downscaled copy."""
        return dict(self._entry(name).on_copy)

    def takes_threads(self, name: str) -> bool:
        """Whether the part called ``name`` takes a ``threads`` option (it runs on ONNX Runtime or splits its work
        over threads)."""
        return self._entry(name).threads

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """``{name: description}`` for help texts."""
        return {name: self._entries[name].description for name in self.names()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def _entry(self, name: str) -> _Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._entries) from None
