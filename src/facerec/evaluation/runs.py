"""Run folders: where every evaluation leaves its results, so that a report can be rebuilt from them alone.

A run folder holds:

* ``metrics.json`` -- the numbers (the ``kind`` key says which protocol wrote them: ``verify``, ``identify``,
  ``detect``, ``speed``);
* ``<plot>.png`` and ``<plot>.svg`` -- each figure in both formats (PNG for quick looks, SVG for the report);
* ``command.txt`` -- the exact command line that made the run;
* ``versions.json`` -- Python, platform, facerec and the libraries that shape the numbers;
* ``manifest.json`` -- every data file the run read, with its size and SHA-256, so a result can be tied to data;
* any extra tables (``errors.csv``, ``tsne.json``, ...) the protocol chose to keep.

Examples:
    >>> run = RunFolder.create("runs", "verify")                               # doctest: +SKIP
    >>> run.write_metrics({"kind": "verify", "accuracy": 0.99})                # doctest: +SKIP
    >>> run.finish(command=["facerec", "evaluate", "verify"], data_files=[...])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from facerec.errors import ConfigurationError
from facerec.files import file_sha256
from facerec.jsonsafe import jsonable, write_json

__all__ = ["RunFolder", "data_manifest", "file_sha256", "jsonable", "library_versions", "load_run"]

#: Distributions whose versions are recorded with every run.
_VERSIONED = ("facerec", "numpy", "dlib-bin", "dlib", "onnxruntime", "scikit-learn", "matplotlib", "pillow",
              "keras", "tensorflow-cpu", "click")


def library_versions() -> dict[str, str]:
    """Versions of Python, the platform and the libraries that shape results (missing ones left out)."""
    out = {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine()}
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def data_manifest(files: Iterable[str | os.PathLike[str]], *, root: str | os.PathLike[str] | None = None,
                  ) -> list[dict[str, Any]]:
    """One entry per distinct file: path (relative to ``root`` when given), size in bytes and SHA-256.

    Files are listed in sorted order; a file that does not exist is listed with ``"missing": true``.
    """
    seen: dict[str, Path] = {}
    for item in files:
        path = Path(item)
        seen.setdefault(os.fspath(path.resolve()), path)
    entries = []
    base = Path(root).resolve() if root is not None else None
    for resolved in sorted(seen):
        path = Path(resolved)
        shown = resolved
        if base is not None:
            try:
                shown = os.fspath(path.relative_to(base))
            except ValueError:
                shown = resolved
        if not path.is_file():
            entries.append({"path": shown, "missing": True})
            continue
        entries.append({"path": shown, "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    return entries


@dataclass
class RunFolder:
    """One evaluation's output folder (see the module docstring for its contents).

    Attributes:
        path: the folder.
    """

    path: Path

    @classmethod
    def create(cls, base: str | os.PathLike[str], kind: str, name: str | None = None) -> RunFolder:
        """A new folder ``<base>/<kind>-<UTC timestamp>`` (or ``<base>/<name>`` when ``name`` is given).

        An existing folder named explicitly is reused (its files are overwritten); a timestamped one gets a
        numeric suffix if it already exists.
        """
        base_path = Path(base)
        if name:
            folder = base_path / name
        else:
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            folder = base_path / f"{kind}-{stamp}"
            suffix = 1
            while folder.exists():
                suffix += 1
                folder = base_path / f"{kind}-{stamp}-{suffix}"
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder)

    def file(self, name: str) -> Path:
        """The path of ``name`` inside the run folder."""
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``data`` (made JSON-ready by :func:`jsonable`) as indented JSON."""
        return write_json(self.file(name), data, indent=2)

    def write_metrics(self, metrics: Mapping[str, Any]) -> Path:
        """Write ``metrics.json``; it must carry a ``kind`` key naming the protocol."""
        if "kind" not in metrics:
            raise ConfigurationError("metrics need a 'kind' key (verify, identify, detect or speed)")
        return self.write_json("metrics.json", metrics)

    def write_text(self, name: str, text: str) -> Path:
        target = self.file(name)
        target.write_text(text, encoding="utf-8")
        return target

    def write_csv(self, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
        """Write a CSV table (values through :func:`jsonable`, ``None`` as an empty cell)."""
        import csv

        target = self.file(name)
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(["" if v is None else v for v in jsonable(list(row))])
        return target

    def save_figure(self, figure: Any, stem: str) -> list[Path]:
        """Save a matplotlib figure as ``<stem>.png`` (150 dpi) and ``<stem>.svg``, then close it."""
        import matplotlib.pyplot as plt

        paths = [self.file(f"{stem}.png"), self.file(f"{stem}.svg")]
        figure.savefig(paths[0], dpi=150, bbox_inches="tight")
        figure.savefig(paths[1], bbox_inches="tight", metadata={"Date": None})
        plt.close(figure)
        return paths

    def finish(self, *, command: Sequence[str] | str, data_files: Iterable[str | os.PathLike[str]] = (),
               data_root: str | os.PathLike[str] | None = None) -> None:
        """Write ``command.txt``, ``versions.json`` and ``manifest.json`` (data files with SHA-256)."""
        text = command if isinstance(command, str) else shlex.join([str(c) for c in command])
        self.write_text("command.txt", text + "\n")
        self.write_json("versions.json", library_versions())
        self.write_json("manifest.json", {"root": os.fspath(data_root) if data_root is not None else None,
                                          "files": data_manifest(data_files, root=data_root)})


def load_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A run folder's ``metrics.json`` with ``_dir`` (the folder) and ``_command`` (its command line) added.

    Raises:
        ConfigurationError: the folder has no ``metrics.json``.
    """
    folder = Path(path)
    metrics_file = folder / "metrics.json"
    if not metrics_file.is_file():
        raise ConfigurationError(f"{folder} is not a run folder: it has no metrics.json")
    data: dict[str, Any] = json.loads(metrics_file.read_text(encoding="utf-8"))
    data["_dir"] = folder
    command = folder / "command.txt"
    data["_command"] = command.read_text(encoding="utf-8").strip() if command.is_file() else ""
    return data
