"""JSON-ready values, with one rule for what JSON cannot hold: every writer of JSON in facerec goes through
:func:`jsonable`, so a NaN is ``null`` everywhere (never the non-standard ``NaN`` token).

Examples:
    >>> from pathlib import Path
    >>> jsonable({"a": (np.int64(1), np.inf), 2: np.bool_(True), "p": Path("x/y.jpg")})
    {'a': [1, None], '2': True, 'p': 'x/y.jpg'}
    >>> dumps({"loss": float("nan")})
    '{"loss": null}'
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["dumps", "jsonable", "write_json"]


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, paths, tuples and non-finite floats made JSON-ready.

    Non-finite floats (NaN, infinities) become ``None``; numpy arrays and tuples become lists; mapping keys become
    strings; paths become their text. Anything else is returned as it is.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` of :func:`jsonable` ``(value)``, refusing NaN (none is left); ``options`` go to json."""
    return json.dumps(jsonable(value), allow_nan=False, **options)


def write_json(path: str | os.PathLike[str], value: Any, *, indent: int = 1) -> Path:
    """Write :func:`dumps` ``(value)`` and a newline to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.write_text(dumps(value, indent=indent) + "\n", encoding="utf-8")
    return target
