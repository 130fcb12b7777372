"""The bad-input corpus (tests/corpus.py) through every CLI verb: no traceback ever, each bad file named with its
reason, every good file of the same run processed, output that strict parsers accept."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from cli_support import run
from corpus import CORPUS, GOOD, make_corpus

NON_UTF8 = os.fsdecode(b"caf\xe9.jpg")
SHOWN_NON_UTF8 = "caf\\xe9.jpg"  # how facerec prints and stores that name


def strict_json(text: str) -> Any:
    """Parse ``text`` as JSON and insist that every string is valid Unicode (no lone surrogates), as strict
    parsers (browsers, Go, Rust's serde) do."""
    document = json.loads(text)

    def check(value: Any) -> None:
        if isinstance(value, str):
            value.encode("utf-8")  # raises on a lone surrogate
        elif isinstance(value, dict):
            for key, item in value.items():
                check(key)
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)

    check(document)
    return document


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Path]:
    face = request.getfixturevalue("test_images") / "obama.jpg"
    return make_corpus(tmp_path_factory.mktemp("corpus") / "photos", face)


#: Files a folder run must report as processed: every good file, the link's target once, the photo inside the
#: folder named x.jpg (the folder itself, and the loop, are folders, not files).
def expected_files(corpus: dict[str, Path]) -> set[str]:
    names = {corpus[k].name for k in GOOD if k in corpus and k not in ("symlink", "loop", "dir_jpg", "non_utf8")}
    return names | {SHOWN_NON_UTF8, "inside.jpg"}


def bad_files(corpus: dict[str, Path]) -> dict[str, str]:
    return {corpus[k].name: CORPUS[k].reason for k in CORPUS if not CORPUS[k].good and k in corpus}


def _check_folder_run(result: Result, corpus: dict[str, Path]) -> dict[str, Any]:
    assert result.exit_code == 1, result.output  # some files failed, the others were processed
    document = strict_json(result.stdout)
    processed = {Path(f["file"]).name for f in document["files"]}
    assert processed == expected_files(corpus)
    errors = {Path(e["file"]).name: e["error"] for e in document["errors"]}
    for name, reason in bad_files(corpus).items():
        assert reason in errors[name], (name, errors[name])
        assert name in result.stderr  # named on stderr as it happened, too
    assert set(errors) == set(bad_files(corpus))
    assert "same file as" in result.stderr and "symlink.jpg" in result.stderr
    assert "symbolic link back into a folder" in result.stderr
    assert "animated.gif: note: has 3 frames; only the first is used" in result.stderr
    assert "multipage.tiff: note: has 2 pages; only the first is used" in result.stderr
    assert isinstance(document, dict)
    return document


@pytest.mark.slow
def test_corpus_detect_folder(corpus: dict[str, Path]) -> None:
    result = run("detect", "--json", "--quiet", corpus["face"].parent)
    document = _check_folder_run(result, corpus)
    faces = {Path(f["file"]).name: len(f["faces"]) for f in document["files"]}
    assert faces["face.jpg"] == faces[SHOWN_NON_UTF8] == faces["exif_rotated.jpg"] == faces["inside.jpg"] == 1
    assert faces["one_pixel.png"] == faces["strip.png"] == 0


@pytest.mark.slow
def test_corpus_embed_folder_and_table(corpus: dict[str, Path]) -> None:
    document = _check_folder_run(run("embed", "--json", "--quiet", corpus["face"].parent), corpus)
    embedded = {Path(f["file"]).name: f["faces"] for f in document["files"]}
    assert len(embedded["face.jpg"][0]["embedding"]) == 128
    table = run("embed", "--quiet", corpus["face"], corpus["non_utf8"], corpus["empty"])
    assert table.exit_code == 1 and SHOWN_NON_UTF8 in table.stdout and "file is empty" in table.stderr
    rows = run("detect", "--csv", "--quiet", corpus["non_utf8"], corpus["face"])
    assert rows.exit_code == 0 and SHOWN_NON_UTF8 in rows.stdout


@pytest.mark.slow
def test_corpus_identify_folder(corpus: dict[str, Path], tmp_path: Path) -> None:
    known = tmp_path / "known"
    known.mkdir()
    shutil.copyfile(corpus["face"], known / "obama.jpg")
    result = run("identify", "--known", known, "--json", "--quiet", corpus["face"].parent)
    document = _check_folder_run(result, corpus)
    names = {Path(f["file"]).name: [m["name"] for m in f["faces"]] for f in document["files"]}
    assert names[SHOWN_NON_UTF8] == names["exif_rotated.jpg"] == names["face.jpg"] == ["obama"]


@pytest.mark.slow
def test_corpus_verify_each_file(corpus: dict[str, Path]) -> None:
    same = run("verify", corpus["face"], corpus["non_utf8"])
    assert same.exit_code == 0 and SHOWN_NON_UTF8 in same.stdout
    assert run("verify", corpus["face"], corpus["exif_rotated"]).exit_code == 0
    for key, entry in CORPUS.items():
        if entry.good or key not in corpus:
            continue
        result = run("verify", corpus["face"], corpus[key])
        assert result.exit_code == 2, key
        assert corpus[key].name in result.stderr and entry.reason in result.stderr, (key, result.stderr)
    faceless = run("verify", corpus["face"], corpus["one_pixel"])
    assert faceless.exit_code == 2 and "no face" in faceless.stderr


@pytest.mark.slow
def test_corpus_enroll_folder(corpus: dict[str, Path], tmp_path: Path) -> None:
    people = tmp_path / "people"
    make_corpus(people / "obama", corpus["face"])  # every corpus file as photos of one person
    odd = people / os.fsdecode(b"jos\xe9")  # a person folder whose name is not UTF-8
    odd.mkdir()
    shutil.copyfile(corpus["exif_rotated"], odd / NON_UTF8)
    elsewhere = tmp_path / "elsewhere" / "biden"
    elsewhere.mkdir(parents=True)
    shutil.copyfile(corpus["cmyk"], elsewhere / "biden.jpg")
    (people / "linked").symlink_to(elsewhere)  # a symlinked person folder is followed
    gallery = tmp_path / "gallery.sqlite"
    result = run("enroll", people, "--gallery", gallery, "--json", "--quiet")
    assert result.exit_code == 1, result.output  # the bad files are skipped, with their reasons
    document = strict_json(result.stdout)
    by_file = {f["file"].replace(str(people) + "/", ""): f for f in document["files"]}
    for key, entry in CORPUS.items():
        if not entry.good and key in corpus:
            outcome = by_file[f"obama/{corpus[key].name}"]
            assert outcome["status"] == "unreadable" and entry.reason in outcome["message"], outcome
    assert by_file[f"obama/{SHOWN_NON_UTF8}"]["status"] == "enrolled"  # sorts before face.jpg
    assert by_file["obama/face.jpg"]["status"] == "unchanged"  # the same bytes
    assert by_file["obama/x.jpg/inside.jpg"]["status"] == "unchanged"
    assert by_file["obama/animated.gif"]["message"] == "has 3 frames; only the first is used"
    assert by_file[f"jos\\xe9/{SHOWN_NON_UTF8}"]["status"] == "enrolled"
    assert by_file["jos\\xe9/" + SHOWN_NON_UTF8]["person"] == "jos\\xe9"
    assert by_file["linked/biden.jpg"]["status"] == "enrolled"
    listed = strict_json(run("people", "list", "--gallery", gallery, "--json").stdout)
    assert {"obama", "jos\\xe9", "linked"} <= {p["name"] for p in listed["people"]}
