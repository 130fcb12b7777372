"""Stage 3 of the pipeline: aligned 150x150 chips -> 128-d embeddings with dlib's face ResNet.

Embedders are chosen by name from :data:`EMBEDDERS`:

* ``onnx`` -- the ResNet rebuilt from dlib's model file and run on ONNX Runtime (default; batched, multi-threaded).
* ``dlib`` -- ``dlib.face_recognition_model_v1`` (the reference; one core, no BLAS in the ``dlib-bin`` wheel).

:func:`embed_chips` adds the test-time augmentations every backend shares: ``num_jitters`` randomly jittered
copies (small rotation, scale, shift and mirror, as dlib's ``jitter_image``) and a horizontal ``flip``; their
embeddings are averaged.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError
from facerec.registry import Registry

__all__ = ["EMBEDDERS", "EMBEDDING_SIZE", "Embedder", "create_embedder", "embed_chips", "jitter_chips",
           "list_embedders"]

#: Length of an embedding.
EMBEDDING_SIZE = 128


@runtime_checkable
class Embedder(Protocol):
    """An embedding backend: ``(n, 150, 150, 3)`` uint8 chips -> ``(n, 128)`` float32."""

    name: str

    def embed(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        ...


EMBEDDERS: Registry[Embedder] = Registry("embedder")


@EMBEDDERS.register("onnx", "dlib's face ResNet on ONNX Runtime (default; batched, multi-threaded, CUDA if available)",
                    threads=True)
def _make_onnx(**options: object) -> Embedder:
    from facerec.embedding.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(**options)  # type: ignore[arg-type]


@EMBEDDERS.register("dlib", "dlib.face_recognition_model_v1 (reference; one core)")
def _make_dlib(**options: object) -> Embedder:
    from facerec.embedding.dlib_backend import DlibEmbedder

    return DlibEmbedder(**options)  # type: ignore[arg-type]


def create_embedder(name: str, **options: object) -> Embedder:
    """An embedder by name (see :data:`EMBEDDERS`)."""
    return EMBEDDERS.create(name, **options)


def list_embedders() -> list[str]:
    """The names of the available embedders."""
    return EMBEDDERS.names()


def jitter_chips(chips: npt.NDArray[np.uint8], copies: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """``copies`` randomly jittered versions of each chip, ``(n * copies, h, w, 3)``, chip-major.

    Each copy is rotated by up to 3 degrees, scaled by 0.97-1.0, shifted by up to 2% of the side and mirrored
    with probability 1/2 (the ranges dlib's ``jitter_image`` uses), with bilinear resampling.
    """
    from PIL import Image

    out = []
    for chip in chips:
        h, w = chip.shape[:2]
        img = Image.fromarray(chip)
        for _ in range(copies):
            angle = math.radians(rng.uniform(-3.0, 3.0))
            scale = rng.uniform(0.97, 1.0)
            tx, ty = rng.uniform(-0.02, 0.02, size=2) * (w, h)
            cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
            cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
            # inverse map: output (x, y) -> input
            a, b = cos, -sin
            d, e = sin, cos
            c = cx - a * (cx + tx) - b * (cy + ty)
            f = cy - d * (cx + tx) - e * (cy + ty)
            copy = img.transform((w, h), Image.Transform.AFFINE, (a, b, c, d, e, f),
                                 resample=Image.Resampling.BILINEAR)
            arr = np.asarray(copy, dtype=np.uint8)
            if rng.random() < 0.5:
                arr = arr[:, ::-1]
            out.append(arr)
    return np.ascontiguousarray(np.stack(out)) if out else np.zeros((0, *chips.shape[1:]), dtype=np.uint8)


def embed_chips(embedder: Embedder, chips: npt.NDArray[np.uint8], *, num_jitters: int = 1, flip: bool = False,
                seed: int | None = 0) -> npt.NDArray[np.float32]:
    """Embeddings of aligned chips, with optional test-time augmentation.

    Args:
        embedder: a backend from :func:`create_embedder`.
        chips: ``(n, 150, 150, 3)`` uint8 chips from :func:`facerec.alignment.face_chips`.
        num_jitters: embed this many copies of each chip and average; 1 means the chip alone. Higher is slightly
            more accurate and proportionally slower (dlib suggests 100 for best accuracy; 10 is typical).
            Copies are jittered at random from ``seed``; the first copy is always the chip itself.
        flip: also embed the mirrored chip and average it in (cheap and helps about as much as 10 jitters).
        seed: seed of the jitter's random numbers (``None`` for a fresh seed each call).

    Returns:
        ``(n, 128)`` float32 array.
    """
    if chips.ndim != 4 or chips.shape[-1] != 3:
        raise ConfigurationError(f"chips must have shape (n, h, w, 3), got {chips.shape}")
    if num_jitters < 1:
        raise ConfigurationError(f"num_jitters must be >= 1, got {num_jitters}")
    n = len(chips)
    if n == 0:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    views = [chips]
    if flip:
        views.append(np.ascontiguousarray(chips[:, :, ::-1]))
    if num_jitters > 1:
        jittered = jitter_chips(chips, num_jitters - 1, np.random.default_rng(seed))
        views.extend(jittered.reshape(n, num_jitters - 1, *chips.shape[1:]).transpose(1, 0, 2, 3, 4))
    batch = np.concatenate(views, axis=0)
    vectors = embedder.embed(batch).reshape(len(views), n, EMBEDDING_SIZE)
    return np.ascontiguousarray(vectors.mean(axis=0), dtype=np.float32)
