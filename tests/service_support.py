"""What the service tests share: a bad-image corpus, API keys of each role, and a real uvicorn server process."""

from __future__ import annotations

import io
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def bad_images(face_jpeg: bytes) -> dict[str, tuple[bytes, int]]:
    """The CLI tests' bad-file classes as ``name -> (bytes, expected status)``.

    ``truncated``, ``not_an_image``, ``empty``, ``bomb`` and ``huge`` must be refused (400, 415, 400, 413, 413
    with ``max_pixels`` below the huge one); ``16bit`` and ``cmyk`` are real photos that facerec reads (200).
    """
    rgb = np.asarray(Image.open(io.BytesIO(face_jpeg)).convert("RGB"))
    sixteen = io.BytesIO()
    Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257).save(sixteen, format="PNG")
    cmyk = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(cmyk, format="JPEG")
    huge = io.BytesIO()
    Image.new("RGB", (3000, 2000), (90, 90, 90)).save(huge, format="JPEG", quality=50)
    return {
        "truncated": (face_jpeg[: len(face_jpeg) // 3], 400),
        "not_an_image": (b"this is plain text, not a picture\n" * 20, 415),
        "empty": (b"", 400),
        "bomb": (bomb_png(), 413),
        "huge": (huge.getvalue(), 413),
        "16bit": (sixteen.getvalue(), 200),
        "cmyk": (cmyk.getvalue(), 200),
    }


#: ``max_pixels`` for servers fed :func:`bad_images` (below the 6-megapixel ``huge``, above the test photos).
TEST_MAX_PIXELS = 5_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``facerec serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(gallery: Path, log: Path, *extra: str, timeout_s: float = 120.0) -> Server:
    """``facerec serve`` on 127.0.0.1 and a free port, returned once health answers 200."""
    import httpx

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-c", "from facerec.cli import main; main()", "serve", "--gallery", str(gallery),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *extra], stdout=handle,
            stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"facerec serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return Server(url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"facerec serve did not answer within {timeout_s} s: {log.read_text()[-2000:]}")


@contextmanager
def running_server(gallery: Path, log: Path, *extra: str) -> Iterator[Server]:
    server = start_server(gallery, log, *extra)
    try:
        yield server
    finally:
        server.stop()
