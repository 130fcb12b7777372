"""face_recognition 1.3's ``face_detection`` command, installed as ``facerec-face-detection``.

``facerec-face-detection IMAGE_TO_CHECK`` prints one ``file,top,right,bottom,left`` line per face (detection at
upsample 0, as face_recognition's command does), for a photo or for each ``.jpg``/``.jpeg``/``.png`` photo in a
folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import click

from facerec.compat.face_recognition import api
from facerec.compat.face_recognition.face_recognition_cli import image_files_in_folder

__all__ = ["image_files_in_folder", "main", "print_result", "test_image"]


def print_result(filename: str, location: Sequence[int]) -> None:
    """Print one ``filename,top,right,bottom,left`` line."""
    click.echo(_result_line(filename, location))


def _result_line(filename: str, location: Sequence[int]) -> str:
    top, right, bottom, left = location
    return f"{filename},{top},{right},{bottom},{left}"


def _detect(image_to_check: str, model: str) -> list[str]:
    image = api.load_image_file(image_to_check)
    return [_result_line(image_to_check, box)
            for box in api.face_locations(image, number_of_times_to_upsample=0, model=model)]


def test_image(image_to_check: str, model: str) -> None:
    """Print the faces of one photo."""
    for line in _detect(image_to_check, model):
        click.echo(line)


test_image.__test__ = False  # type: ignore[attr-defined]  # a command's step, not a test for pytest


def _worker_start() -> None:
    api._use_threads(1)


def _detect_args(args: tuple[str, str]) -> list[str]:
    return _detect(*args)


@click.command()
@click.argument("image_to_check")
@click.option("--cpus", default=1, help='number of CPU cores to use in parallel. -1 means "use all in system"')
@click.option("--model", default="hog", type=click.Choice(["hog", "cnn"]),
              help='Which face detection model to use. Options are "hog" or "cnn".')
def main(image_to_check: str, cpus: int, model: str) -> None:
    """Print "file,top,right,bottom,left" for each face in IMAGE_TO_CHECK (a photo or a folder of photos)."""
    if not os.path.isdir(image_to_check):
        test_image(image_to_check, model)
        return
    images = image_files_in_folder(image_to_check)
    if cpus == 1 or len(images) < 2:
        for image in images:
            test_image(image, model)
        return
    workers = (os.cpu_count() or 1) if cpus == -1 else max(cpus, 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_worker_start) as pool:
        for lines in pool.map(_detect_args, [(image, model) for image in images]):
            for line in lines:
                click.echo(line)


if __name__ == "__main__":
    main()
