"""facerec: face detection, alignment, embedding and recognition on dlib's pretrained models.

The pipeline, one stage per module: :mod:`facerec.images` (anything -> RGB array), :mod:`facerec.detection`,
:mod:`facerec.alignment`, :mod:`facerec.embedding`, :mod:`facerec.compare`; :class:`FaceAnalyzer` runs them all.

Quick start::

    import facerec
    faces = facerec.embed_faces("photo.jpg")          # boxes, landmarks and 128-d embeddings
    facerec.verify("a.jpg", "b.jpg")                  # Verification(distance=0.41, threshold=0.58, same=True)
"""

from facerec._version import __version__
from facerec.alignment import face_chips
from facerec.analyzer import FaceAnalyzer, get_analyzer, pick_face
from facerec.api import align_faces, detect_faces, embed_faces, face_landmarks, verify
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD, Verification, compare_faces, face_distance
from facerec.detection import list_detectors
from facerec.embedding import list_embedders
from facerec.errors import (
    ConfigurationError,
    FaceNotFoundError,
    FacerecError,
    ImageError,
    ModelError,
    ModelFormatError,
    ModelNotFoundError,
    UnknownNameError,
)
from facerec.images import load_image
from facerec.types import Box, Detection, Face

__all__ = [
    "DEFAULT_DISTANCE_THRESHOLD",
    "Box",
    "ConfigurationError",
    "Detection",
    "Face",
    "FaceAnalyzer",
    "FaceNotFoundError",
    "FacerecError",
    "ImageError",
    "ModelError",
    "ModelFormatError",
    "ModelNotFoundError",
    "UnknownNameError",
    "Verification",
    "__version__",
    "align_faces",
    "compare_faces",
    "detect_faces",
    "embed_faces",
    "face_chips",
    "face_distance",
    "face_landmarks",
    "get_analyzer",
    "list_detectors",
    "list_embedders",
    "load_image",
    "pick_face",
    "verify",
]
