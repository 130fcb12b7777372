"""Shared fixtures: where the real photos are, and shared analyzers (models load once per session)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FACEREC_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLES = ROOT / "samples" / "test_images"


def _test_images_dir() -> Path | None:
    for candidate in (SHARED_DATA / "face_recognition_test_images" / "tests" / "test_images", SAMPLES):
        if (candidate / "obama.jpg").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def test_images() -> Path:
    """The reference library's test photos: from ../shared/data, else from `make setup`'s samples/."""
    found = _test_images_dir()
    if found is None:
        pytest.skip("reference test photos not found: run `make setup` (fetches them from PyPI) or place "
                    "../shared/data beside the checkout")
    return found


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (LFW, detection ground truth); tests that need it skip when it is absent."""
    if not (SHARED_DATA / "lfw" / "pairs.txt").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA} (needed for LFW and detection ground-truth tests)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def hog_analyzer():  # type: ignore[no-untyped-def]
    import facerec

    return facerec.FaceAnalyzer(detector="hog")
