"""Named pipeline presets: ``fast`` (the defaults) and ``accurate`` (for enrolment and offline work).

A preset is a set of :class:`~facerec.analyzer.FaceAnalyzer` options. ``FaceAnalyzer(preset="accurate")`` starts
from the preset; an option given with a value other than its default wins over the preset. Their LFW accuracy and
speed are measured in docs/BENCHMARKS.md ("Presets").

Examples:
    >>> preset_options("accurate")["num_jitters"]
    10
    >>> preset_options("fast")
    {}
"""

from __future__ import annotations

from typing import Any, Literal

from facerec.errors import UnknownNameError

__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "preset_options"]

Preset = Literal["fast", "accurate"]

#: ``fast``: the library defaults (HOG at upsample 1, the CNN only where HOG finds nothing, 5-point alignment,
#: the embedding averaged with the mirrored chip's). ``accurate``: the same detection, and each chip embedded as
#: ten jittered copies plus its mirror image (11 network passes instead of 2: about 5x the embedding time).
PRESETS: dict[str, dict[str, Any]] = {
    "fast": {},
    "accurate": {"num_jitters": 10, "flip": True, "upsample": 1, "fallback_detector": "cnn", "landmarks": 5},
}
DEFAULT_PRESET: Preset = "fast"


def preset_options(name: str) -> dict[str, Any]:
    """The :class:`~facerec.analyzer.FaceAnalyzer` options of preset ``name`` (a copy).

    Raises:
        UnknownNameError: no such preset (the message lists them).
    """
    if name not in PRESETS:
        raise UnknownNameError("preset", name, PRESETS)
    return dict(PRESETS[name])
