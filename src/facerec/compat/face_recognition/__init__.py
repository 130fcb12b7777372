"""face_recognition 1.3's public API on facerec's models: change one import line, get the same answers faster.

Before::

    import face_recognition

After::

    from facerec.compat import face_recognition

The functions, their signatures, defaults, return types and box order (``(top, right, bottom, left)`` tuples)
are face_recognition 1.3's. HOG detection and the landmark predictors are dlib's own; the 128-d encodings come
from dlib's face ResNet run on ONNX Runtime (within 1e-5 of dlib's) and ``model="cnn"`` detection from dlib's
MMOD network run on ONNX Runtime (the same rectangles). Nothing is loaded at import: each model loads on first use.
"""

from facerec.compat.face_recognition.api import (
    batch_face_locations,
    compare_faces,
    face_distance,
    face_encodings,
    face_landmarks,
    face_locations,
    load_image_file,
)

__author__ = "facerec (API of face_recognition by Adam Geitgey)"
#: The face_recognition release whose API this package follows.
__version__ = "1.3.0"

__all__ = [
    "batch_face_locations",
    "compare_faces",
    "face_distance",
    "face_encodings",
    "face_landmarks",
    "face_locations",
    "load_image_file",
]
