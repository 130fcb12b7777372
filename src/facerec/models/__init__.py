"""Where the weights are (:mod:`facerec.models.locate`), dlib's file format and the networks rebuilt from it."""

from facerec.models.locate import MODEL_FILES, cache_dir, file_sha256, locate_model, write_cache_file

__all__ = ["MODEL_FILES", "cache_dir", "file_sha256", "locate_model", "write_cache_file"]
