"""Named pipeline presets: a few settings of :class:`~facerec.analyzer.FaceAnalyzer` and the face pick, by name.

``fast`` is facerec's defaults (HOG with the CNN fallback, upsample 1 on a copy of at most 640 px refined at full
size where needed, 5-point alignment, flip, one jitter, the largest face). ``accurate`` is the best LFW
configuration measured in docs/BENCHMARKS.md (99.15% +- 0.08%: the central face, flip and 10 jitters) with
detection at full size (the smallest faces of big photos too), about five times the embedding cost per face,
worth it where embeddings are made once (enrolling a gallery, calibrating).

A preset only fills in settings that are not given: ``resolve_preset("accurate", {"num_jitters": 4})`` keeps the 4.
The command line's ``--preset`` (:func:`facerec.cli._common.pipeline_options`) resolves through this one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from facerec.errors import ConfigurationError

__all__ = ["DEFAULT_PRESET", "PRESETS", "resolve_preset"]

DEFAULT_PRESET = "fast"

#: Each preset's settings, by :class:`~facerec.analyzer.FaceAnalyzer` keyword (plus ``pick``, the face used of a
#: photo with several: see :func:`facerec.analyzer.pick_face`). Missing keys keep the library defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {},
    "accurate": {"pick": "central", "flip": True, "num_jitters": 10, "max_side": None},
}


def resolve_preset(preset: str, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings of ``preset`` with ``given`` settings on top (given values win).

    Raises:
        ConfigurationError: ``preset`` is not one of :data:`PRESETS`.
    """
    if preset not in PRESETS:
        raise ConfigurationError(f"preset must be one of {', '.join(sorted(PRESETS))}, got {preset!r}")
    return {**PRESETS[preset], **(given or {})}
