"""face_recognition 1.3's ``face_recognition`` command, installed as ``facerec-face-recognition``.

``facerec-face-recognition KNOWN_PEOPLE_FOLDER IMAGE_TO_CHECK`` prints one ``file,name`` line per face found in
each photo to check (``file,unknown_person`` for a face that matches nobody, ``file,no_persons_found`` for a photo
without a face; ``file,name,distance`` with ``--show-distance true``). A known person's name is their photo's file
name without the extension; only the first face of each known photo is used. Warnings go to stderr, so stdout
holds the result lines alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import click
import numpy as np
import numpy.typing as npt
import PIL.Image

from facerec.compat.face_recognition import api

__all__ = ["image_files_in_folder", "main", "print_result", "scan_known_people", "test_image"]

#: Photos to check are shrunk to this longer side first, as face_recognition does ("so things run faster").
MAX_SIDE = 1600
#: The file name endings the command reads in a folder (face_recognition's list; not searched recursively).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def image_files_in_folder(folder: str | os.PathLike[str]) -> list[str]:
    """The ``.jpg``, ``.jpeg`` and ``.png`` files directly in ``folder`` (any case), sorted by name."""
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))
            if name.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(os.path.join(folder, name))]


def scan_known_people(known_people_folder: str | os.PathLike[str]) -> tuple[list[str], list[npt.NDArray[Any]]]:
    """The names (file names without extension) and first-face encodings of the known people's photos."""
    names: list[str] = []
    encodings: list[npt.NDArray[Any]] = []
    for file in image_files_in_folder(known_people_folder):
        found = api.face_encodings(api.load_image_file(file))
        if len(found) > 1:
            click.echo(f"WARNING: More than one face found in {file}. Only considering the first face.", err=True)
        if not found:
            click.echo(f"WARNING: No faces found in {file}. Ignoring file.", err=True)
            continue
        names.append(os.path.splitext(os.path.basename(file))[0])
        encodings.append(found[0])
    return names, encodings


def print_result(filename: str, name: str, distance: float | None, show_distance: bool = False) -> None:
    """Print one result line: ``filename,name`` (and ``,distance``)."""
    click.echo(_result_line(filename, name, distance, show_distance))


def _result_line(filename: str, name: str, distance: float | None, show_distance: bool) -> str:
    return f"{filename},{name},{distance}" if show_distance else f"{filename},{name}"


def _check(image_to_check: str, known_names: Sequence[str], known_face_encodings: Sequence[npt.NDArray[Any]],
           tolerance: float, show_distance: bool) -> list[str]:
    """The result lines of one photo."""
    image = api.load_image_file(image_to_check)
    if max(image.shape) > MAX_SIDE:
        picture = PIL.Image.fromarray(image)
        picture.thumbnail((MAX_SIDE, MAX_SIDE), PIL.Image.Resampling.LANCZOS)
        image = np.array(picture)
    lines: list[str] = []
    encodings = api.face_encodings(image)
    for encoding in encodings:
        distances = api.face_distance(known_face_encodings, encoding)
        matches = [(name, float(d)) for name, d in zip(known_names, distances) if d <= tolerance]
        if matches:
            lines.extend(_result_line(image_to_check, name, d, show_distance) for name, d in matches)
        else:
            lines.append(_result_line(image_to_check, "unknown_person", None, show_distance))
    if not encodings:
        lines.append(_result_line(image_to_check, "no_persons_found", None, show_distance))
    return lines


def test_image(image_to_check: str, known_names: Sequence[str], known_face_encodings: Sequence[npt.NDArray[Any]],
               tolerance: float = 0.6, show_distance: bool = False) -> None:
    """Print the result lines of one photo (see the module docstring)."""
    for line in _check(image_to_check, known_names, known_face_encodings, tolerance, show_distance):
        click.echo(line)


test_image.__test__ = False  # type: ignore[attr-defined]  # a command's step, not a test for pytest


def _worker_start() -> None:
    api._use_threads(1)


def _check_args(args: tuple[str, Sequence[str], Sequence[npt.NDArray[Any]], float, bool]) -> list[str]:
    return _check(*args)


def _check_many(images: Sequence[str], known_names: Sequence[str], known_face_encodings: Sequence[npt.NDArray[Any]],
                cpus: int, tolerance: float, show_distance: bool) -> None:
    """Check ``images`` in ``cpus`` worker processes (-1: one per core), printing each photo's lines in order."""
    workers = (os.cpu_count() or 1) if cpus == -1 else max(cpus, 1)
    jobs = [(image, known_names, known_face_encodings, tolerance, show_distance) for image in images]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_worker_start) as pool:
        for lines in pool.map(_check_args, jobs):
            for line in lines:
                click.echo(line)


@click.command()
@click.argument("known_people_folder")
@click.argument("image_to_check")
@click.option("--cpus", default=1, help='number of CPU cores to use in parallel (can speed up processing lots of '
                                        'images). -1 means "use all in system"')
@click.option("--tolerance", default=0.6, help="Tolerance for face comparisons. Default is 0.6. Lower this if you "
                                               "get multiple matches for the same person.")
@click.option("--show-distance", default=False, type=bool,
              help="Output face distance. Useful for tweaking tolerance setting.")
def main(known_people_folder: str, image_to_check: str, cpus: int, tolerance: float, show_distance: bool) -> None:
    """Name the known people (one photo each in KNOWN_PEOPLE_FOLDER, named after them) in IMAGE_TO_CHECK (a photo
    or a folder of photos): one "file,name" line per face."""
    known_names, known_face_encodings = scan_known_people(known_people_folder)
    if not os.path.isdir(image_to_check):
        test_image(image_to_check, known_names, known_face_encodings, tolerance, show_distance)
        return
    images = image_files_in_folder(image_to_check)
    if cpus == 1 or len(images) < 2:
        for image in images:
            test_image(image, known_names, known_face_encodings, tolerance, show_distance)
    else:
        _check_many(images, known_names, known_face_encodings, cpus, tolerance, show_distance)


if __name__ == "__main__":
    main()
