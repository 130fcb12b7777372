"""The photo library on real photos: `facerec index` into SQLite and PostgreSQL, with local worker processes, resumable
by hash, failures recorded, kill -9 in the middle; then people from the faces (cluster, name, split, reject, photos).

PostgreSQL tests use the server of ``$FACEREC_TEST_PG_DSN`` (CI sets it) and skip without it. The Ray tests are in
``tests/test_library_ray.py``.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from facerec import FaceAnalyzer
from facerec.cli import cli
from facerec.gallery import open_gallery
from facerec.library import LibraryError, LocalPool, PhotoStore, index_photos, open_store
from facerec.library.people import (
    cluster_library,
    core_point_clusters,
    name_cluster,
    photos_of,
    reject_faces,
    split_faces,
)

ROOT = Path(__file__).resolve().parent.parent
OPTIONS: dict[str, Any] = {"detector": "hog"}
PHOTOS = ("obama.jpg", "obama2.jpg", "biden.jpg", "two_people.jpg")


def _two_people(test_images: Path) -> Path:
    for candidate in (test_images / "two_people.jpg", test_images.parent.parent / "examples" / "two_people.jpg",
                      ROOT / "samples" / "test_images" / "two_people.jpg"):
        if candidate.is_file():
            return candidate
    pytest.skip("two_people.jpg not found (run `make setup`)")


def make_photo_folder(test_images: Path, folder: Path, *, variants: int = 1) -> Path:
    """Real photos in nested folders, a broken file, and (variants > 1) shrunk copies that hash differently."""
    (folder / "2019" / "trip").mkdir(parents=True)
    (folder / "2020").mkdir()
    shutil.copy(test_images / "obama.jpg", folder / "2019" / "obama.jpg")
    shutil.copy(test_images / "obama2.jpg", folder / "2019" / "trip" / "obama2.jpg")
    shutil.copy(test_images / "biden.jpg", folder / "2020" / "biden.jpg")
    shutil.copy(_two_people(test_images), folder / "2020" / "two_people.jpg")
    (folder / "2020" / "broken.jpg").write_bytes(b"not a jpeg at all")
    for i in range(1, variants):
        for name in ("obama.jpg", "biden.jpg"):
            with Image.open(test_images / name) as image:
                scale = 1.0 - 0.04 * i
                small = image.convert("RGB").resize((int(image.width * scale), int(image.height * scale)))
                buffer = io.BytesIO()
                small.save(buffer, format="JPEG", quality=90)
            (folder / "2021").mkdir(exist_ok=True)
            (folder / "2021" / f"{i:02d}-{name}").write_bytes(buffer.getvalue())
    return folder


def faces_by_photo(store: PhotoStore) -> dict[str, list[tuple[tuple[int, int, int, int], np.ndarray]]]:
    """sha256 -> sorted (box, embedding) of the photo's faces: what two indexes must agree on."""
    out: dict[str, list[tuple[tuple[int, int, int, int], np.ndarray]]] = {}
    for photo_id, _path, sha, _count in store.photos():
        faces = store.faces_of_photo(photo_id)
        vectors = store.embeddings([f.id for f in faces])
        out[sha] = sorted(((f.box.left, f.box.top, f.box.right, f.box.bottom), v) for f, v in zip(faces, vectors))
    return out


def assert_same_faces(a: PhotoStore, b: PhotoStore) -> None:
    fa, fb = faces_by_photo(a), faces_by_photo(b)
    assert fa.keys() == fb.keys()
    for sha in fa:
        assert [box for box, _ in fa[sha]] == [box for box, _ in fb[sha]]
        for (_, va), (_, vb) in zip(fa[sha], fb[sha]):
            np.testing.assert_allclose(va, vb, atol=1e-5)


@pytest.fixture(scope="module")
def photo_folder(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_photo_folder(test_images, tmp_path_factory.mktemp("library") / "photos")


@pytest.fixture(scope="module")
def indexed(photo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite library of photo_folder indexed in this process (one worker)."""
    path = tmp_path_factory.mktemp("lib") / "gallery.sqlite"
    with open_store(path) as store:
        index_photos(store, [photo_folder], analyzer_options=OPTIONS, batch_size=2)
    return path


@pytest.fixture()
def pg_dsn() -> str:
    dsn = os.environ.get("FACEREC_TEST_PG_DSN")
    if not dsn:
        pytest.skip("FACEREC_TEST_PG_DSN is not set: start a server with "
                    "`export FACEREC_TEST_PG_DSN=$(bash tools/setup_postgres.sh)` (CI sets it)")
    return dsn


@pytest.fixture()
def pg_store(pg_dsn: str) -> Iterator[tuple[str, str]]:
    """A fresh (DSN, schema) whose gallery and library are dropped afterwards."""
    schema = f"test_lib_{uuid.uuid4().hex[:10]}"
    yield pg_dsn, schema
    from facerec.gallery.postgres import PostgresGallery

    PostgresGallery(pg_dsn, schema=schema).drop()


# -- indexing ------------------------------------------------------------------------------------------------------
def test_index_stores_every_face_with_thumbnail_and_records_failures(indexed: Path, photo_folder: Path) -> None:
    analyzer = FaceAnalyzer(**OPTIONS)
    with open_store(indexed) as store:
        counts = store.counts()
        assert counts["photos"] == 4 and counts["failures"] == 1
        (failure,) = store.failures()
        assert failure[0].endswith("broken.jpg") and "not an image" in failure[1]
        total = 0
        for photo_id, path, sha, count in store.photos():
            data = Path(path).read_bytes()
            import hashlib

            assert hashlib.sha256(data).hexdigest() == sha
            expected = analyzer.analyze(data)
            faces = store.faces_of_photo(photo_id)
            assert count == len(faces) == len(expected) >= 1
            assert sorted(f.box.css() for f in faces) == sorted(f.box.css() for f in expected)
            by_box = {f.box: f.embedding for f in expected}
            for face, vector in zip(faces, store.embeddings([f.id for f in faces])):
                np.testing.assert_allclose(vector, np.asarray(by_box[face.box]), atol=1e-5)
                crop = store.crop(face.id)
                assert crop is not None and crop[:2] == b"\xff\xd8"
                with Image.open(io.BytesIO(crop)) as thumb:
                    assert max(thumb.size) <= 112
            total += count
        assert counts["faces"] == total == 5  # two_people.jpg holds two
        assert store.model_id() is not None


def test_index_rerun_skips_unchanged_photos_and_copies_by_hash(indexed: Path, photo_folder: Path,
                                                               tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite"
    shutil.copy(indexed, library)
    copy = photo_folder.parent / "more"
    copy.mkdir(exist_ok=True)
    shutil.copy(photo_folder / "2019" / "obama.jpg", copy / "renamed.jpg")   # same bytes, new path
    with open_store(library) as store:
        before = faces_by_photo(store)
        again = index_photos(store, [photo_folder, copy], analyzer_options=OPTIONS)
        assert again.progress.total == 6 and again.progress.skipped == 6
        assert again.progress.stored == again.progress.faces == again.progress.failed == 0
        assert faces_by_photo(store).keys() == before.keys()
        # a photo whose time changed but not its bytes: hashed again, still skipped
        os.utime(photo_folder / "2020" / "biden.jpg", (time.time(), time.time() + 5))
        third = index_photos(store, [photo_folder], analyzer_options=OPTIONS)
        assert third.progress.skipped == 5 and third.progress.stored == 0


def test_index_hashing_in_workers_drops_copies_when_writing(indexed: Path, photo_folder: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite"
    shutil.copy(indexed, library)
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(photo_folder / "2020" / "biden.jpg", extra / "copy-of-biden.jpg")
    with open_store(library) as store:
        before = store.counts()
        report = index_photos(store, [photo_folder, extra], analyzer_options=OPTIONS, hash_in_driver=False)
        # the copy is analysed, then dropped (and so is biden.jpg when an earlier test touched its time)
        assert report.progress.duplicates >= 1 and report.progress.skipped + report.progress.duplicates == 6
        assert report.progress.stored == report.progress.failed == 0
        assert store.counts() == before


def test_index_two_worker_processes_store_the_same_faces(indexed: Path, photo_folder: Path,
                                                         tmp_path: Path) -> None:
    with open_store(tmp_path / "two.sqlite") as store, LocalPool(workers=2, analyzer_options=OPTIONS) as pool:
        report = index_photos(store, [photo_folder], pool=pool, analyzer_options=OPTIONS, batch_size=1)
        assert report.progress.stored == 4 and report.progress.failed == 1
        with open_store(indexed) as reference:
            assert_same_faces(store, reference)


def test_index_postgres_stores_the_same_faces(indexed: Path, photo_folder: Path,
                                              pg_store: tuple[str, str]) -> None:
    dsn, schema = pg_store
    with open_store(dsn, schema=schema) as store:
        report = index_photos(store, [photo_folder], workers=1, analyzer_options=OPTIONS, batch_size=3)
        assert (report.progress.stored, report.progress.faces, report.progress.failed) == (4, 5, 1)
        with open_store(indexed) as reference:
            assert_same_faces(store, reference)
        assert store.failures()[0][0].endswith("broken.jpg")
        rerun = index_photos(store, [photo_folder], analyzer_options=OPTIONS)
        assert rerun.progress.skipped == 5 and rerun.progress.stored == 0
        crop = store.crop(store.faces_of_photo(store.photos()[0][0])[0].id)
        assert crop is not None and crop[:2] == b"\xff\xd8"


def test_index_refuses_a_library_of_another_model(indexed: Path, photo_folder: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib.sqlite"
    shutil.copy(indexed, library)
    with open_store(library) as store, pytest.raises(LibraryError, match="model"):
        index_photos(store, [photo_folder], analyzer_options=OPTIONS, model_id="other-model/5pt")


def test_index_cli_reports_failures_and_exit_code(photo_folder: Path, tmp_path: Path) -> None:
    library = tmp_path / "cli.sqlite"
    runner = CliRunner()
    done = runner.invoke(cli, ["index", str(photo_folder), "--gallery", str(library), "--detector", "hog",
                               "--json", "--min-faces", "2"])
    assert done.exit_code == 1, (done.output, done.exception)  # broken.jpg failed
    assert done.stdout, repr(done.exception)
    import json

    document = json.loads(done.stdout)
    assert document["stored"] == 4 and document["faces"] == 5 and document["failed"] == 1
    assert "broken.jpg" in done.stderr
    assert document["clustering"]["considered"] == 5
    again = runner.invoke(cli, ["index", str(photo_folder), "--gallery", str(library), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["skipped"] == 5
    missing = runner.invoke(cli, ["index", str(tmp_path / "nope"), "--gallery", str(library)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


@pytest.mark.slow
def test_index_survives_kill_9_nothing_lost_nothing_twice(test_images: Path, tmp_path: Path) -> None:
    photos = make_photo_folder(test_images, tmp_path / "photos", variants=5)   # 12 photos, 1 broken file
    library = tmp_path / "crash.sqlite"
    command = [sys.executable, "-c", "import sys; from facerec.cli import main; sys.argv[0] = 'facerec'; main()",
               "index", str(photos), "--gallery", str(library), "--batch-size", "1", "--detector", "hog",
               "--no-cluster", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    kills = 0
    for _round in range(2):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            stored = _stored_photos(library)
            if stored >= 2 + 3 * kills:  # some batches committed, more to come
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                break
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert kills >= 1
    finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert finish.returncode in (0, 1), finish.stderr  # 1 when this run met the broken file
    with open_store(library) as store, open_store(tmp_path / "clean.sqlite") as clean:
        index_photos(clean, [photos], analyzer_options=OPTIONS, batch_size=4)
        assert store.counts()["photos"] == clean.counts()["photos"] == 12
        assert [Path(p).name for p, _ in store.failures()] == ["broken.jpg"]
        assert store.counts()["faces"] == clean.counts()["faces"]
        assert_same_faces(store, clean)
        for photo_id, _path, _sha, count in store.photos():
            assert len(store.faces_of_photo(photo_id)) == count  # no photo with half its faces
    conn = sqlite3.connect(library)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT sha256) FROM library_photos").fetchone() == (12, 12)
    conn.close()


def _stored_photos(library: Path) -> int:
    if not library.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{library}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT count(*) FROM library_photos").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


# -- people --------------------------------------------------------------------------------------------------------
def test_core_point_clusters_keeps_existing_labels_and_rejections() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 128)).astype(np.float32)
    centres *= 2.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.concatenate([c + rng.normal(scale=0.01, size=(5, 128)) for c in centres]).astype(np.float32)
    truth = np.repeat(np.arange(3), 5)
    labels = core_point_clusters(vectors, np.full(15, -1), distance_threshold=0.5, min_faces=3)
    assert len(set(labels)) == 3 and all(len(set(labels[truth == t])) == 1 for t in range(3))
    # incremental: old labels stay; a new face of person 1 joins its cluster; a rejected face does not
    grown = np.concatenate([vectors, centres[1:2] + 0.01, centres[2:3] + 0.01]).astype(np.float32)
    again = core_point_clusters(grown, np.concatenate([labels, [-1, -1]]), forbidden={16: {int(labels[10])}})
    assert (again[:15] == labels).all()
    assert again[15] == labels[5]
    assert again[16] != labels[10]


def test_people_cluster_name_split_reject_and_photos(indexed: Path, tmp_path: Path) -> None:
    library = tmp_path / "people.sqlite"
    shutil.copy(indexed, library)
    with open_store(library) as store, open_gallery(library) as gallery:
        run = cluster_library(store, gallery, min_faces=2)
        assert run.considered == 5 and run.new_clusters >= 2
        clusters = store.clusters()
        paths = {c.id: sorted(Path(f.path).name for f in store.faces_of_cluster(c.id)) for c in clusters}
        obama = next(c for c in clusters if paths[c.id].count("obama.jpg") + paths[c.id].count("obama2.jpg") == 2)
        biden = next(c for c in clusters if "biden.jpg" in paths[c.id])
        assert "two_people.jpg" in paths[obama.id] and "two_people.jpg" in paths[biden.id]
        assert name_cluster(store, gallery, obama.id, "obama") == 3
        assert name_cluster(store, gallery, biden.id, "biden") == 2
        assert gallery.get_person("obama").sample_count == 3
        assert [Path(p).name for p in photos_of(store, gallery, ["obama"])] == ["obama.jpg", "obama2.jpg",
                                                                                 "two_people.jpg"]
        assert [Path(p).name for p in photos_of(store, gallery, ["obama", "biden"])] == ["two_people.jpg"]
        # a new photo of obama, indexed later, joins the named cluster and is enrolled
        newer = tmp_path / "new"
        newer.mkdir()
        with Image.open(next(Path(p[1]) for p in store.photos() if p[1].endswith("/obama.jpg"))) as image:
            image.convert("RGB").resize((image.width * 3 // 4, image.height * 3 // 4)).save(newer / "later.jpg")
        index_photos(store, [newer], analyzer_options=OPTIONS)
        assert cluster_library(store, gallery, min_faces=2).enrolled == 1
        assert gallery.get_person("obama").sample_count == 4
        assert "later.jpg" in [Path(p).name for p in photos_of(store, gallery, ["obama"])]
        (later,) = store.faces_of_photo(store.photos()[-1][0])
        assert reject_faces(store, gallery, [later.id]) == 1
        # reject obama's face of two_people.jpg: out of the person, and it stays out on re-runs
        wrong = next(f for f in store.faces_of_cluster(obama.id) if f.path.endswith("two_people.jpg"))
        assert reject_faces(store, gallery, [wrong.id]) == 1
        assert gallery.get_person("obama").sample_count == 2
        cluster_library(store, gallery, min_faces=1)
        assert store.faces([wrong.id])[0].cluster_id != obama.id
        assert [Path(p).name for p in photos_of(store, gallery, ["obama"])] == ["obama.jpg", "obama2.jpg"]
        # split one face out of biden's cluster: a cluster of its own, no longer biden's sample
        moved = store.faces_of_cluster(biden.id)[0]
        new_id = split_faces(store, gallery, [moved.id])
        assert store.faces([moved.id])[0].cluster_id == new_id != biden.id
        assert gallery.get_person("biden").sample_count == 1
        with pytest.raises(LibraryError, match="no face 999999"):
            reject_faces(store, gallery, [999999])


def test_people_cli_suggest_name_photos(indexed: Path, tmp_path: Path) -> None:
    import json

    library = tmp_path / "cli.sqlite"
    shutil.copy(indexed, library)
    runner = CliRunner()
    assert runner.invoke(cli, ["people", "cluster", "--gallery", str(library), "--min-faces", "2"]).exit_code == 0
    suggested = runner.invoke(cli, ["people", "suggest", "--gallery", str(library), "--json", "--crops",
                                    str(tmp_path / "crops")])
    assert suggested.exit_code == 0, suggested.output
    clusters = json.loads(suggested.stdout)["clusters"]
    assert [c["size"] for c in clusters] == sorted((c["size"] for c in clusters), reverse=True)
    assert len(list((tmp_path / "crops").rglob("*.jpg"))) == sum(len(c["face_ids"]) for c in clusters)
    first = clusters[0]
    named = runner.invoke(cli, ["people", "name", str(first["id"]), "someone", "--gallery", str(library)])
    assert named.exit_code == 0 and "enrolled" in named.stdout
    listed = runner.invoke(cli, ["photos", "--person", "someone", "--gallery", str(library), "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)["photos"]) == first["size"]
    unknown = runner.invoke(cli, ["photos", "--person", "nobody", "--gallery", str(library)])
    assert unknown.exit_code == 2 and "nobody" in unknown.stderr


def test_index_progress_rate_and_eta() -> None:
    from facerec.cli.library_cmds import _eta
    from facerec.library import IndexProgress

    progress = IndexProgress(total=100, done=30, stored=8, failed=2, skipped=20, elapsed_s=5.0)
    assert progress.photos_per_s == pytest.approx(2.0)   # skipped photos are not work
    assert progress.eta_s == pytest.approx(35.0)
    assert IndexProgress(total=5).eta_s is None
    assert (_eta(35.0), _eta(3725.0), _eta(None)) == ("00:35", "1:02:05", "--:--")
