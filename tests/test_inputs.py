"""Inputs of the command line: ``-`` (standard input), images recognised by content, the summary of skipped
files, ``python -m facerec``, which face ``verify`` compared; the README's migration example; the package
metadata."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from facerec.batch import find_images
from facerec.cli import cli
from facerec.filetypes import FileKind, describe_skipped, file_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_file_kind_reads_the_first_bytes(tmp_path: Path, test_images: Path) -> None:
    Image.open(test_images / "obama.jpg").convert("RGB").resize((60, 75)).save(tmp_path / "subject01.happy", "GIF")
    shutil.copy(test_images / "32bit.png", tmp_path / "noending")
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    (tmp_path / "clip.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(28))
    (tmp_path / "stream.ts").write_bytes(b"\x47" + bytes(200))
    (tmp_path / "notes.txt").write_text("hello")
    kinds = {p.name: file_kind(p) for p in tmp_path.iterdir()}
    assert kinds == {"subject01.happy": "image", "noending": "image", "clip.mp4": "video", "clip.mkv": "video",
                     "stream.ts": "video", "notes.txt": "other"}
    assert file_kind(tmp_path / "missing") == "other"


def test_find_images_takes_images_by_content_and_lists_the_rest(tmp_path: Path, test_images: Path) -> None:
    Image.open(test_images / "obama.jpg").convert("RGB").resize((60, 75)).save(tmp_path / "subject01.happy", "GIF")
    shutil.copy(test_images / "obama2.jpg", tmp_path / "b.jpg")
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(20))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / ".hidden").write_text("never listed")
    skipped: list[tuple[Path, FileKind]] = []
    found = find_images([tmp_path], skipped=skipped)
    assert [p.name for p in found] == ["b.jpg", "subject01.happy"]
    assert [(p.name, kind) for p, kind in skipped] == [("clip.mp4", "video"), ("notes.txt", "other")]
    assert describe_skipped(skipped) == (f"skipped 1 video file ({tmp_path / 'clip.mp4'}): see facerec video; "
                                         f"1 file that is not an image ({tmp_path / 'notes.txt'})")
    many: list[tuple[Path, FileKind]] = [(Path(f"v{i}.mp4"), "video") for i in range(5)]
    assert describe_skipped(many) == "skipped 5 video files (v0.mp4, v1.mp4, v2.mp4 and 2 more): see facerec video"


def test_detect_a_folder_of_extensionless_gifs_and_a_video(tmp_path: Path, test_images: Path) -> None:
    folder = tmp_path / "yalefaces"
    folder.mkdir()
    for name, photo in (("subject01.happy", "obama.jpg"), ("subject02.sad", "biden.jpg")):
        Image.open(test_images / photo).convert("L").save(folder / name, "GIF")
    (folder / "interview.mov").write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(20))
    result = CliRunner().invoke(cli, ["detect", "--csv", "--fallback-detector", "none", str(folder)])
    assert result.exit_code == 0, result.output
    rows = result.stdout.splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [str(folder / "subject01.happy"), str(folder / "subject02.sad")]
    assert result.stderr == f"facerec: skipped 1 video file ({folder / 'interview.mov'}): see facerec video\n"
    only_video = tmp_path / "videos"
    only_video.mkdir()
    shutil.copy(folder / "interview.mov", only_video / "interview.mov")
    nothing = CliRunner().invoke(cli, ["detect", str(only_video)])
    assert nothing.exit_code == 2 and "no image files found" in nothing.stderr and "facerec video" in nothing.stderr


def test_dash_reads_one_image_from_stdin(test_images: Path) -> None:
    data = (test_images / "obama.jpg").read_bytes()
    result = CliRunner().invoke(cli, ["detect", "--json", "--max-side", "0", "-"], input=data)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [f["file"] for f in document["files"]] == ["-"]
    assert document["files"][0]["faces"][0]["box"] == {"left": 349, "top": 142, "right": 617, "bottom": 409}
    same = CliRunner().invoke(cli, ["verify", "--csv", "-", str(test_images / "obama2.jpg")], input=data)
    assert same.exit_code == 0, same.output
    assert same.stdout.splitlines()[1].startswith(f"-,{test_images / 'obama2.jpg'},")
    empty = CliRunner().invoke(cli, ["detect", "-"], input=b"")
    assert empty.exit_code == 2 and "standard input is empty" in empty.stderr
    both = CliRunner().invoke(cli, ["verify", "-", "-"], input=data)
    assert both.exit_code == 2 and "only one of A and B" in both.stderr


def test_verify_shows_the_faces_it_compared_and_notes_several(tmp_path: Path, test_images: Path) -> None:
    left, right = Image.open(test_images / "obama3.jpg"), Image.open(test_images / "biden.jpg")
    height = 480
    parts = [im.convert("RGB").resize((round(im.width * height / im.height), height)) for im in (left, right)]
    montage = Image.new("RGB", (parts[0].width + parts[1].width, height))
    montage.paste(parts[0], (0, 0))
    montage.paste(parts[1], (parts[0].width, 0))
    pair = tmp_path / "pair.jpg"
    montage.save(pair, quality=92)
    runner = CliRunner()
    result = runner.invoke(cli, ["verify", "--json", "--pick", "central", "--max-side", "0",
                                 str(test_images / "obama.jpg"), str(pair)])
    document = json.loads(result.stdout)
    assert document["faces"]["a"] == {"box": {"left": 349, "top": 142, "right": 617, "bottom": 409}, "found": 1}
    assert document["faces"]["b"]["found"] == 2
    note = result.stderr.strip()
    box = document["faces"]["b"]["box"]
    assert note == (f"facerec: {pair}: 2 faces; compared the central one (box {box['left']},{box['top']},"
                    f"{box['right']},{box['bottom']}; --pick largest|central|best chooses)")
    largest = json.loads(runner.invoke(cli, ["verify", "--json", "--max-side", "0", str(test_images / "obama.jpg"),
                                             str(pair)]).stdout)
    boxes = {json.dumps(d["faces"]["b"]["box"]) for d in (document, largest)}
    assert len(boxes) == 2  # --pick changes the face compared
    assert {d["same"] for d in (document, largest)} == {True, False}


def test_python_dash_m_facerec_is_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "facerec", "--version"], capture_output=True, text=True,
                            check=True)
    assert re.fullmatch(r"facerec, version \S+\n", result.stdout)


def test_readme_migration_example_runs_as_shown(test_images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- migration-example -->", 1)[1]
    code, output = re.findall(r"```(?:python)?\n(.*?)```", section, flags=re.S)[:2]
    monkeypatch.chdir(test_images)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue() == output


def test_package_metadata_uses_an_spdx_license() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"  # a string, not the deprecated table
    assert all((ROOT / name).is_file() for name in project["license-files"])
    assert "tqdm" in " ".join(project["dependencies"])
    scripts = project["scripts"]
    assert scripts["facerec-face-recognition"].startswith("facerec.compat.face_recognition.face_recognition_cli:")
    assert scripts["facerec-face-detection"].startswith("facerec.compat.face_recognition.face_detection_cli:")


def test_search_reads_the_photo_from_stdin(tmp_path: Path, test_images: Path) -> None:
    people = tmp_path / "people" / "barack"
    people.mkdir(parents=True)
    shutil.copy(test_images / "obama.jpg", people / "a.jpg")
    gallery = tmp_path / "gallery.sqlite"
    runner = CliRunner()
    enrolled = runner.invoke(cli, ["enroll", str(tmp_path / "people"), "--gallery", str(gallery), "--quiet"])
    assert enrolled.exit_code == 0, enrolled.output
    found = runner.invoke(cli, ["search", "-", "--gallery", str(gallery), "--json"],
                          input=(test_images / "obama2.jpg").read_bytes())
    assert found.exit_code == 0, found.output
    document = json.loads(found.stdout)
    assert document["file"] == "-" and document["faces"][0]["candidates"][0]["name"] == "barack"
    # enroll takes the group's --workers too (issue 16): the photo stored above is reported unchanged
    workers = runner.invoke(cli, ["enroll", str(tmp_path / "people"), "--gallery", str(gallery), "--workers", "2",
                                  "--json", "--quiet"])
    assert workers.exit_code == 0, workers.output
    assert [entry["status"] for entry in json.loads(workers.stdout)["files"]] == ["unchanged"]
