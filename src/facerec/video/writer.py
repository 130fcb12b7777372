"""Writing frames to an H.264 video with PyAV, and the annotated frames of a tracking run.

The boxes and labels are drawn by :func:`facerec.drawing.draw_faces`, the same drawing as ``facerec identify
--draw``: green for known people, red for unknown ones, the label in a band under the box.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from facerec.drawing import draw_faces
from facerec.errors import VideoError
from facerec.video.source import _import_av, _reason
from facerec.video.tracking import UNKNOWN, FrameResult

__all__ = ["VideoWriter", "annotate_frame", "face_label"]


def face_label(track_id: int, name: str) -> str:
    """The text drawn beside a tracked face: ``#3 alice``."""
    return f"#{track_id} {name}"


def annotate_frame(result: FrameResult) -> npt.NDArray[np.uint8]:
    """A copy of ``result.image`` with each tracked face's box, track id and name drawn on it."""
    faces = result.faces
    canvas = draw_faces(result.image, [f.box for f in faces], [face_label(f.track_id, f.name) for f in faces],
                        [f.name != UNKNOWN for f in faces])
    return np.asarray(canvas, dtype=np.uint8)


class VideoWriter:
    """An H.264 (libx264, yuv420p) video file written frame by frame; a context manager.

    The file is written under a temporary name beside ``path`` and renamed when closed, so ``path`` never holds
    a half-written video; closing after an error elsewhere still finishes a playable file of the frames given.

    Args:
        path: the output file (``.mp4``, ``.mkv``, ``.mov``...: the container follows the ending).
        fps: the frame rate (a ``Fraction`` such as ``30000/1001`` keeps NTSC rates exact).
        width, height: the frame size; odd sizes lose their last row or column (yuv420p needs even sizes).
        crf: x264's constant rate factor: lower is better quality and bigger files; 23 is typical.
        preset: x264's speed preset (``"veryfast"`` by default; ``"medium"`` is smaller and slower).

    Raises:
        VideoError: the file cannot be created or the encoder cannot be set up.
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float | Fraction, width: int, height: int,
                 crf: int = 23, preset: str = "veryfast") -> None:
        av = _import_av()
        self.path = Path(path)
        self._partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix or '.mp4'}")
        self.width = width - width % 2
        self.height = height - height % 2
        if self.width < 2 or self.height < 2:
            raise VideoError(os.fspath(path), f"cannot write a video of {width}x{height} pixels")
        rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
        self.frames_written = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # MP4/MOV: the index at the front ("faststart"), so a copy cut short still plays up to the cut
            options = {"movflags": "faststart"} if self.path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
            self._container: Any = av.open(os.fspath(self._partial), mode="w", options=options)
            self._stream: Any = self._container.add_stream("libx264", rate=rate,
                                                           options={"crf": str(crf), "preset": preset})
            self._stream.width = self.width
            self._stream.height = self.height
            self._stream.pix_fmt = "yuv420p"
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self._cleanup()
            raise VideoError(os.fspath(path), f"cannot write the video: {_reason(exc)}") from None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, image: npt.NDArray[np.uint8]) -> None:
        """Append one RGB ``uint8`` frame (cropped to the writer's even size)."""
        av = _import_av()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:self.height, :self.width]), format="rgb24")
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoError(os.fspath(self.path), f"cannot write the video: {_reason(exc)}") from None
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, finish the file and move it to ``path`` (idempotent)."""
        if self._closed:
            return
        self._closed = True
        av = _import_av()
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
            os.replace(self._partial, self.path)
        except (av.error.FFmpegError, OSError) as exc:
            self._cleanup()
            raise VideoError(os.fspath(self.path), f"cannot finish the video: {_reason(exc)}") from None

    def _cleanup(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except Exception:
                pass
        self._partial.unlink(missing_ok=True)
