"""The ``facerec`` command line: one verb per library call, thin translations between the shell and the library.

Every verb lives in its own module; :mod:`facerec.cli._common` holds what they share (options, exit codes, error
lines, the progress bar, tables, JSON and CSV). Errors of facerec itself
(:class:`~facerec.errors.FacerecError`) become one ``facerec: <message>`` line on stderr, never a traceback.
"""

from __future__ import annotations

import click

from facerec import __version__
from facerec.cli._common import FacerecGroup
from facerec.cli.detect import detect
from facerec.cli.doctor import doctor
from facerec.cli.embed import embed
from facerec.cli.evaluate_cmds import evaluate, report
from facerec.cli.gallery_cmds import COMMANDS as GALLERY_COMMANDS
from facerec.cli.identify import identify
from facerec.cli.landmarks import landmarks
from facerec.cli.library_cmds import COMMANDS as LIBRARY_COMMANDS
from facerec.cli.library_cmds import PEOPLE_COMMANDS
from facerec.cli.recognition_cmds import COMMANDS as RECOGNITION_COMMANDS
from facerec.cli.serve_cmds import COMMANDS as SERVE_COMMANDS
from facerec.cli.train_cmds import predict, train
from facerec.cli.verify import verify
from facerec.cli.video import video

__all__ = ["cli", "main"]


@click.group(cls=FacerecGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="facerec")
def cli() -> None:
    """Find, align, encode and recognise faces in photos.

    PATHS and PHOTOS may be files, folders (searched recursively for .jpg, .jpeg, .png, .webp, .bmp, .gif, .tif,
    .tiff, .pgm, .ppm and for files of other names that hold an image; hidden files skipped; the others named in
    one line on stderr) or - (one image on standard input). Every command that detects or embeds takes the same
    pipeline options (--preset, --detector, ... --workers). Output is an aligned table; --json prints one JSON
    document and --csv a CSV table with a header row. A file that cannot be used is reported on stderr as
    "facerec: FILE: REASON" and skipped; the run goes on.

    \b
    Exit codes:
      0  success
      1  ran, but some inputs failed (each reported on stderr); for verify: different people
      2  usage error, or nothing usable (no image found, every input failed, missing model)

    Run "facerec COMMAND --help" for a command's options.
    """


cli.add_command(detect)
cli.add_command(landmarks)
cli.add_command(embed)
cli.add_command(verify)
cli.add_command(identify)
cli.add_command(doctor)
cli.add_command(video)
for _command in (*GALLERY_COMMANDS, *RECOGNITION_COMMANDS, train, predict, evaluate, report, *SERVE_COMMANDS,
                 *LIBRARY_COMMANDS):
    cli.add_command(_command)
for _command in PEOPLE_COMMANDS:  # the photo library's verbs under `facerec people`
    people_group = cli.commands["people"]
    assert isinstance(people_group, click.Group)
    people_group.add_command(_command)


def main() -> None:
    """The console script's entry point."""
    cli.main(prog_name="facerec")
