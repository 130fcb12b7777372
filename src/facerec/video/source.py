"""Reading frames from a video file, a local camera or a network stream, with PyAV (FFmpeg inside its wheels).

:func:`open_video` opens any of the three; iterating :meth:`VideoSource.frames` yields :class:`VideoFrame` values
(RGB ``uint8`` arrays with their index and time). Every failure is a :class:`~facerec.errors.VideoError` that
names the source: one that cannot be opened fails at once, one that breaks off (a truncated file, a corrupt
packet, a dropped stream) fails after the frames decoded before the break were yielded, so the caller keeps them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from facerec.errors import ConfigurationError, VideoError

__all__ = ["STREAM_SCHEMES", "SourceKind", "VideoFrame", "VideoSource", "open_video"]

#: URL schemes read as network streams (anything else is a file path).
STREAM_SCHEMES: tuple[str, ...] = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://",
                                   "srt://")

SourceKind = Literal["file", "camera", "stream"]

#: A file is called truncated when it ends this many frames (or more) before the frame count in its header.
_EARLY_END_FRAMES = 2


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame.

    Attributes:
        index: 0 for the first frame decoded, then 1, 2, ...
        time: seconds since the first frame (from the frame's timestamp, else ``index / fps``).
        image: the picture, RGB ``uint8`` of shape ``(height, width, 3)``.
    """

    index: int
    time: float
    image: npt.NDArray[np.uint8]


def _import_av() -> Any:
    try:
        import av
    except ImportError as exc:  # the video extra is not installed
        raise ConfigurationError(f"video needs PyAV ({exc}): pip install 'facerec[video]'") from None
    return av


def _reason(exc: BaseException) -> str:
    """FFmpeg's words for an error, without the errno and the repeated file name."""
    strerror = getattr(exc, "strerror", None)
    return str(strerror) if strerror else str(exc) or type(exc).__name__


class VideoSource:
    """An open video file, camera or stream (from :func:`open_video`); a context manager.

    Attributes:
        name: a printable name (the path, ``camera N`` or the URL).
        kind: ``"file"``, ``"camera"`` or ``"stream"``.
        fps: frames per second as the container gives it (``None`` when unknown).
        width, height: the frame size in pixels.
        frame_count: the number of frames the file's header announces (``None`` when it does not say, and for
            cameras and streams).
    """

    def __init__(self, container: Any, name: str, kind: SourceKind) -> None:
        self._container = container
        self.name = name
        self.kind: SourceKind = kind
        if not container.streams.video:
            container.close()
            raise VideoError(name, "no video stream in it")
        self._stream = container.streams.video[0]
        if self._stream.codec_context is None:
            container.close()
            raise VideoError(name, "its video codec cannot be decoded by this FFmpeg build")
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.rate: Fraction | None = Fraction(rate) if rate else None
        self.fps: float | None = float(rate) if rate else None
        self.width = int(self._stream.codec_context.width or 0)
        self.height = int(self._stream.codec_context.height or 0)
        self.frame_count: int | None = int(self._stream.frames) if kind == "file" and self._stream.frames else None
        self.codec: str = str(self._stream.codec_context.name)

    @property
    def live(self) -> bool:
        """Whether frames arrive in real time (a camera or a stream) rather than from a file."""
        return self.kind != "file"

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the container (idempotent)."""
        self._container.close()

    def frames(self) -> Iterator[VideoFrame]:
        """The frames, in order.

        Raises:
            VideoError: decoding broke off (corrupt data, a dropped stream), or a file ended at least two frames
                before the count in its header (truncated); raised after every frame decoded before it was
                yielded.
        """
        av = _import_av()
        index = 0
        start: float | None = None
        try:
            for frame in self._container.decode(self._stream):
                t = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
                if t is None:
                    t = index / self.fps if self.fps else 0.0
                if start is None:
                    start = t
                image = frame.to_ndarray(format="rgb24")
                yield VideoFrame(index=index, time=max(t - start, 0.0), image=image)
                index += 1
        except av.error.FFmpegError as exc:
            what = "the stream broke off" if self.live else "decoding failed"
            raise VideoError(self.name, f"{what} after {index} frame(s): {_reason(exc)}") from None
        except OSError as exc:  # a device or socket error outside FFmpeg's own
            raise VideoError(self.name, f"reading failed after {index} frame(s): {_reason(exc)}") from None
        if index == 0:
            raise VideoError(self.name, "no frame could be decoded (an empty, truncated or unsupported video)")
        if self.frame_count is not None and index <= self.frame_count - _EARLY_END_FRAMES:
            raise VideoError(self.name, f"the file ends early: {index} of the {self.frame_count} frames its header "
                                        "announces could be decoded (truncated?)")


def _camera_device(index: int) -> tuple[str, str | None]:
    """The device name and FFmpeg input format of camera ``index`` on this platform."""
    if sys.platform.startswith("linux"):
        return f"/dev/video{index}", "v4l2"
    if sys.platform == "darwin":
        return f"{index}:none", "avfoundation"
    if sys.platform == "win32":
        return f"video={index}", "dshow"  # dshow wants a device name; an index works for some drivers
    return str(index), None


def open_video(source: str | os.PathLike[str] | int, *, timeout_s: float = 10.0,
               options: dict[str, str] | None = None) -> VideoSource:
    """Open a video file, a local camera or a network stream.

    Args:
        source: a file path; an ``int`` camera index (``0`` is ``/dev/video0`` through FFmpeg's v4l2 input on
            Linux, AVFoundation's device 0 on macOS); or a URL starting with one of :data:`STREAM_SCHEMES`
            (``rtsp://camera.local/stream``; RTSP is read over TCP).
        timeout_s: how long to wait for a stream or camera to open and for each read, in seconds.
        options: extra FFmpeg input options (``{"video_size": "1280x720", "framerate": "30"}`` for a camera).

    Returns:
        The open :class:`VideoSource` (close it, or use it in a ``with`` block).

    Raises:
        VideoError: the file is missing or not a video, the camera does not exist or is busy, the stream cannot
            be reached, or there is no decodable video stream.
        ConfigurationError: PyAV (the ``video`` extra) is not installed.

    Examples:
        >>> with open_video("clip.mp4") as video:                  # doctest: +SKIP
        ...     print(video.fps, video.width, video.height, sum(1 for _ in video.frames()))
        29.97 640 360 275
    """
    av = _import_av()
    opts = dict(options or {})
    fmt: str | None = None
    kind: SourceKind
    if isinstance(source, bool):
        raise ConfigurationError(f"a video source must be a path, a camera index or a URL, got {source!r}")
    if isinstance(source, int):
        if source < 0:
            raise ConfigurationError(f"a camera index must be >= 0, got {source}")
        target, fmt = _camera_device(source)
        name, kind = f"camera {source} ({target})", "camera"
    elif isinstance(source, str) and source.lower().startswith(STREAM_SCHEMES):
        target, name, kind = source, source, "stream"
        if source.lower().startswith(("rtsp://", "rtsps://")):
            opts.setdefault("rtsp_transport", "tcp")
    else:
        path = Path(source)
        target, name, kind = os.fspath(path), os.fspath(path), "file"
        if not path.exists():
            raise VideoError(name, "no such file")
        if path.is_dir():
            raise VideoError(name, "is a folder, not a video file")
    try:
        container = av.open(target, mode="r", format=fmt, options=opts,
                            timeout=None if kind == "file" else (timeout_s, timeout_s))
    except av.error.FileNotFoundError:
        raise VideoError(name, "no such camera" if kind == "camera" else "not found") from None
    except av.error.InvalidDataError:
        raise VideoError(name, "not a video, or truncated before its index (FFmpeg: invalid data)") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(name, f"cannot be opened: {_reason(exc)}") from None
    return VideoSource(container, name, kind)
