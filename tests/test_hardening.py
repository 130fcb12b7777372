"""Issue 16's smaller items, each at its root: memory budget of detection, pixel limits, people show boxes,
empty and read-only galleries, concurrent and multi-process enrollment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_support import run
from corpus import make_corpus
from facerec import FaceAnalyzer
from facerec.detection import create_detector, detect
from facerec.detection.budget import DETECT_MAX_PIXELS, plan_detection
from facerec.gallery import NewSample, SQLiteGallery
from facerec.types import Box

ROOT = Path(__file__).resolve().parent.parent


# -- bounded memory ---------------------------------------------------------------------------------------------
def test_plan_detection_keeps_normal_photos_and_caps_big_ones() -> None:
    assert plan_detection(1920, 1080, 1, DETECT_MAX_PIXELS["hog"]) == ((1920, 1080), 1)
    assert plan_detection(250, 250, 1, DETECT_MAX_PIXELS["cnn"]) == ((250, 250), 1)
    for width, height, upsample in ((8000, 7999, 1), (60_000, 2, 4), (4000, 3000, 2), (20_000, 20_000, 0)):
        plan = plan_detection(width, height, upsample, DETECT_MAX_PIXELS["hog"])
        assert plan.scanned_pixels() <= DETECT_MAX_PIXELS["hog"] and plan.upsample <= upsample
        assert plan.size[0] <= width and plan.size[1] <= height


def test_detect_on_a_photo_above_the_budget_maps_boxes_back(test_images: Path) -> None:
    photo = np.asarray(Image.open(test_images / "obama.jpg").convert("RGB"))
    big = np.ascontiguousarray(np.repeat(np.repeat(photo, 2, axis=0), 2, axis=1))  # 1820 x 2274: 4.1 Mpx
    hog = create_detector("hog")
    ((small_face, _),) = detect(hog, photo, upsample=1)
    budget = 2_000_000  # below the big copy's pixels: lower upsampling is not enough, a downscaled copy is used
    ((big_face, _),) = detect(hog, big, upsample=1, max_detect_pixels=budget)
    doubled = Box(small_face.box.left * 2, small_face.box.top * 2, small_face.box.right * 2,
                  small_face.box.bottom * 2)
    assert big_face.box.iou(doubled) > 0.6


def test_max_pixels_is_the_limit_and_can_be_raised(tmp_path: Path) -> None:
    paths = make_corpus(tmp_path / "corpus")
    refused = run("detect", paths["bomb"])
    assert refused.exit_code == 2
    assert "above the limit of 64,000,000 pixels" in refused.stderr and "--max-pixels" in refused.stderr
    pillow = run("detect", paths["bomb_pillow"])
    assert "900,000,000 pixels, above the limit of 64,000,000" in pillow.stderr  # facerec's limit, not Pillow's
    assert "178956970" not in pillow.stderr and "89478485" not in pillow.stderr
    # raised, the 81 Mpx picture is decoded (Pillow fills the missing rows: a black picture) and detected on
    raised = run("detect", "--json", "--max-pixels", "90000000", paths["bomb"])
    assert raised.exit_code == 0, raised.stderr
    assert json.loads(raised.stdout)["files"][0]["width"] == 9000
    # above Pillow's own limit too: facerec's limit decides (opened lazily here: decoding would take 2.7 GB)
    from facerec.images import _open

    assert _open(paths["bomb_pillow"].read_bytes(), "bomb", 1_000_000_000).size == (30_000, 30_000)
    analyzer = FaceAnalyzer(max_pixels=100)
    with pytest.raises(Exception, match="above the limit of 100 pixels"):
        analyzer.detect(np.zeros((20, 20, 3), dtype=np.uint8))


# -- people show, empty gallery, read-only gallery ----------------------------------------------------------------
@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    images: Path = request.getfixturevalue("test_images")
    root = tmp_path_factory.mktemp("enrolled")
    people = root / "people"
    for name, photo in (("obama", "obama.jpg"), ("biden", "biden.jpg")):
        (people / name).mkdir(parents=True)
        shutil.copyfile(images / photo, people / name / photo)
    gallery = root / "gallery.sqlite"
    assert run("enroll", people, "--gallery", gallery, "--quiet").exit_code == 0
    return gallery


def test_people_show_prints_boxes_as_left_top_right_bottom(enrolled: Path) -> None:
    with SQLiteGallery(enrolled, create=False) as gallery:
        (sample,) = gallery.samples_of("obama")
    assert sample.box is not None
    table = run("people", "show", "obama", "--gallery", enrolled)
    assert "BOX (L,T,R,B)" in table.stdout
    box = sample.box
    assert f"{box.left},{box.top},{box.right},{box.bottom}" in table.stdout


def test_identify_on_an_empty_gallery_fails_clearly(tmp_path: Path, test_images: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    SQLiteGallery(empty).close()
    result = run("identify", "--gallery", empty, test_images / "obama.jpg")
    assert result.exit_code == 2
    assert "holds no enrolled faces" in result.stderr and "facerec enroll" in result.stderr


def test_gallery_on_read_only_storage_can_be_read(enrolled: Path, test_images: Path) -> None:
    """The gallery's folder and file made read-only (as root, who writes through file modes, on a read-only bind
    mount of the folder in a private mount namespace): listing and identifying work, writing says why not."""
    folder = Path(tempfile.mkdtemp(prefix="facerec-ro-"))
    try:
        copy = folder / "gallery.sqlite"
        shutil.copyfile(enrolled, copy)
        copy.chmod(0o444)
        folder.chmod(0o555)
        photo = folder.parent / f"{folder.name}-obama.jpg"
        shutil.copyfile(test_images / "obama.jpg", photo)
        photo.chmod(0o444)
        script = ("import json, sys\n"
                  "from click.testing import CliRunner\n"
                  "from facerec.cli import cli\n"
                  "out = {}\n"
                  "for key, args in (('list', ['people', 'list', '--json']), ('identify', ['identify', '--json', "
                  "sys.argv[2]]), ('enroll', ['people', 'rename', 'obama', 'barack'])):\n"
                  "    r = CliRunner().invoke(cli, args + ['--gallery', sys.argv[1]])\n"
                  "    out[key] = [r.exit_code, r.stdout, r.stderr]\n"
                  "print(json.dumps(out))\n")
        command = [sys.executable, "-c", script, str(copy), str(photo)]
        if os.geteuid() == 0:  # root writes through file modes: mount the folder read-only, in a private namespace
            if shutil.which("unshare") is None:
                pytest.skip("running as root without unshare(1): cannot make a read-only mount")
            mount = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
            command = ["unshare", "-m", "sh", "-c", mount, "sh", str(folder), *command]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
        if os.geteuid() == 0 and done.returncode != 0 and "mount" in done.stderr[:300]:
            pytest.skip(f"cannot make a read-only mount here: {done.stderr[:300]}")
        assert done.returncode == 0, done.stderr[-2000:]
        out = json.loads(done.stdout)
        assert out["list"][0] == 0 and {p["name"] for p in json.loads(out["list"][1])["people"]} == {"obama",
                                                                                                        "biden"}
        assert out["identify"][0] == 0, out["identify"][2]
        assert json.loads(out["identify"][1])["files"][0]["faces"][0]["name"] == "obama"
        assert out["enroll"][0] == 2 and "read-only" in out["enroll"][2]  # writing says why it cannot
        assert sorted(p.name for p in folder.iterdir()) == ["gallery.sqlite"]  # nothing was written beside it
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
        for leftover in folder.parent.glob(f"{folder.name}-*"):
            leftover.unlink()


# -- enrollment: concurrent processes, several workers ------------------------------------------------------------
def test_add_samples_says_which_samples_this_call_stored(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    vector = np.ones(128, dtype=np.float32)
    with SQLiteGallery(path) as first, SQLiteGallery(path) as second:
        new_first: list[bool] = []
        new_second: list[bool] = []
        ids = first.add_samples("a", [NewSample(vector, "x.jpg", "ab", Box(1, 2, 3, 4))], model_id="m",
                                create_person=True, new=new_first)
        again = second.add_samples("a", [NewSample(vector, "x.jpg", "ab", Box(1, 2, 3, 4))], model_id="m",
                                   create_person=True, new=new_second)
    assert ids == again and new_first == [True] and new_second == [False]


@pytest.mark.slow
def test_concurrent_enrolls_of_one_folder_claim_each_sample_once(tmp_path: Path, test_images: Path) -> None:
    people = tmp_path / "people"
    photos = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face2.jpg"]
    for i, name in enumerate(photos):
        (people / f"p{i}").mkdir(parents=True)
        shutil.copyfile(test_images / name, people / f"p{i}" / name)
    gallery = tmp_path / "gallery.sqlite"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    command = [sys.executable, "-c", "from facerec.cli import main; main()", "enroll", str(people), "--gallery",
               str(gallery), "--json", "--quiet", "--upsample", "0"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    reports = []
    for process in runs:
        stdout, stderr = process.communicate(timeout=600)
        assert "Traceback" not in stderr
        reports.append(json.loads(stdout))
    enrolled = [o["sample_id"] for r in reports for o in r["files"] if o["status"] == "enrolled"]
    with SQLiteGallery(gallery, create=False) as opened:
        stored = opened.count()
    assert stored == len(photos) and sorted(enrolled) == sorted(set(enrolled)) and len(enrolled) == stored
    for report in reports:
        assert {o["status"] for o in report["files"]} <= {"enrolled", "unchanged"}


@pytest.mark.slow
def test_enroll_with_workers_gives_the_serial_outcome(tmp_path: Path, test_images: Path) -> None:
    people = tmp_path / "people"
    (people / "obama").mkdir(parents=True)
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copyfile(test_images / name, people / "obama" / name)
    shutil.copyfile(test_images / "obama.jpg", people / "obama" / "copy.jpg")  # same bytes: one sample
    (people / "obama" / "broken.jpg").write_bytes(b"not a photo")
    outcomes = {}
    for workers in ("1", "2"):
        result = run("enroll", people, "--gallery", tmp_path / f"g{workers}.sqlite", "--json", "--quiet",
                     "--workers", workers)
        assert result.exit_code == 1
        outcomes[workers] = [(Path(o["file"]).name, o["status"], o["sample_id"])
                             for o in json.loads(result.stdout)["files"]]
    assert outcomes["1"] == outcomes["2"]
    assert [status for _, status, _ in outcomes["2"]] == ["unreadable", "enrolled", "unchanged", "enrolled"]
