"""The gallery on both backends: enroll -> identify -> remove on real photos, model binding, deletion, integrity.

PostgreSQL tests use the server of ``$FACEREC_TEST_PG_DSN``, or start one with ``tools/setup_postgres.sh``; they
skip only when PostgreSQL cannot be set up here (never when ``FACEREC_REQUIRE_PG=1`` or a DSN is given).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from facerec import ConfigurationError, FaceAnalyzer, FacerecError
from facerec.gallery import (
    UNKNOWN,
    Gallery,
    GalleryError,
    ModelMismatchError,
    NewSample,
    PersonNotFoundError,
    SQLiteGallery,
    enroll,
    identify,
    model_id_for,
    open_gallery,
)
from facerec.types import Box

ROOT = Path(__file__).resolve().parent.parent
SETUP_PG = ROOT / "tools" / "setup_postgres.sh"

OpenGallery = Callable[[], Gallery]


# -- fixtures -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A PostgreSQL server with pgvector: $FACEREC_TEST_PG_DSN, else one started by tools/setup_postgres.sh."""
    given = os.environ.get("FACEREC_TEST_PG_DSN")
    if given:
        return given
    try:
        import pgvector  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError as exc:
        reason = f"psycopg/pgvector not installed ({exc}): pip install -e '.[postgres]'"
        if os.environ.get("FACEREC_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        done = subprocess.run(["bash", str(SETUP_PG)], capture_output=True, text=True, timeout=900,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        done = subprocess.CompletedProcess([], 1, "", str(exc))
    if done.returncode != 0 or not done.stdout.strip():
        reason = f"PostgreSQL could not be set up by {SETUP_PG.name}: {done.stderr.strip()[-500:]}"
        if os.environ.get("FACEREC_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(params=["sqlite", "postgres"])
def open_new(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenGallery]:
    """A function that opens (and reopens) one fresh gallery of the backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "gallery.sqlite"
        yield lambda: SQLiteGallery(path)
        return
    dsn = request.getfixturevalue("pg_dsn")
    from facerec.gallery.postgres import PostgresGallery

    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield lambda: PostgresGallery(dsn, schema=schema)
    PostgresGallery(dsn, schema=schema).drop()


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer(detector="hog")


@pytest.fixture()
def obama_people(test_images: Path, tmp_path: Path) -> Path:
    """people/obama/{1,2}.jpg."""
    people = tmp_path / "people"
    (people / "obama").mkdir(parents=True)
    shutil.copy(test_images / "obama.jpg", people / "obama" / "1.jpg")
    shutil.copy(test_images / "obama2.jpg", people / "obama" / "2.jpg")
    return people


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 128)).astype(np.float32)
    unit: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit


# -- real photos, both backends -------------------------------------------------------------------------------------
def test_gallery_enroll_identify_remove_round_trip(open_new: OpenGallery, obama_people: Path, test_images: Path,
                                                   analyzer: FaceAnalyzer) -> None:
    with open_new() as gallery:
        report = enroll(gallery, obama_people, analyzer)
        assert report.counts() == {"enrolled": 2}
        assert [p.name for p in gallery.list_people()] == ["obama"]
        assert gallery.model_id == model_id_for(analyzer)
        who = identify(gallery, test_images / "obama3.jpg", analyzer=analyzer)
        assert [w.name for w in who] == ["obama"]
        assert who[0].distance is not None and who[0].distance < 0.5
        biden = identify(gallery, test_images / "biden.jpg", analyzer=analyzer)
        assert [w.name for w in biden] == [UNKNOWN]
        assert biden[0].person_id is None
        assert biden[0].candidates[0].name == "obama" and biden[0].candidates[0].distance > 0.6
    with open_new() as gallery:  # reopened: everything persisted
        again = enroll(gallery, obama_people, analyzer)
        assert again.counts() == {"unchanged": 2}
        assert gallery.count() == 2
        assert gallery.integrity_check() == []
        assert gallery.remove_person("obama") == 2
        assert gallery.count() == 0 and gallery.list_people() == []
        assert identify(gallery, test_images / "obama3.jpg", analyzer=analyzer)[0].name == UNKNOWN
        assert gallery.integrity_check() == []


def test_gallery_enroll_skips_photos_without_one_face(open_new: OpenGallery, obama_people: Path,
                                                      test_images: Path, analyzer: FaceAnalyzer,
                                                      tmp_path: Path) -> None:
    blank = obama_people / "nobody"
    blank.mkdir()
    from PIL import Image

    Image.new("RGB", (200, 200), (120, 130, 140)).save(blank / "wall.png")
    (blank / "broken.jpg").write_bytes(b"not a jpeg")
    shutil.copy(test_images / "obama.jpg", obama_people / "loose.jpg")
    with open_new() as gallery:
        seen: list[tuple[int, int]] = []
        report = enroll(gallery, obama_people, analyzer, on_progress=lambda d, t, o: seen.append((d, t)))
        status = {o.path.name: o.status for o in report.outcomes}
        assert status == {"1.jpg": "enrolled", "2.jpg": "enrolled", "wall.png": "no_face",
                          "broken.jpg": "unreadable", "loose.jpg": "not_in_person_folder"}
        assert seen == [(i, 5) for i in range(1, 6)]
        assert gallery.find_person("nobody") is None  # no empty person left behind


@pytest.mark.shared_data
def test_gallery_identifies_lfw_people(open_new: OpenGallery, shared_data: Path, analyzer: FaceAnalyzer,
                                       tmp_path: Path) -> None:
    names = ["Colin_Powell", "Gerhard_Schroeder", "Serena_Williams", "Tony_Blair"]
    people = tmp_path / "lfw_people"
    held_out: dict[str, Path] = {}
    for name in names:
        photos = sorted((shared_data / "lfw" / "images" / name).glob("*.jpg"))
        (people / name).mkdir(parents=True)
        for photo in photos[:3]:
            shutil.copy(photo, people / name / photo.name)
        held_out[name] = photos[5]
    with open_new() as gallery:
        report = enroll(gallery, people, analyzer)
        enrolled = {o.person for o in report.enrolled}
        assert enrolled == set(names), report.to_dict()
        assert len(report.enrolled) >= 10
        for name, photo in held_out.items():
            answers = identify(gallery, photo, analyzer=analyzer, top_k=3)
            assert answers, photo
            central = min(answers, key=lambda a: abs(a.face.box.center[0] - 125) + abs(a.face.box.center[1] - 125))  # type: ignore[union-attr]
            assert central.name == name, (photo, central.candidates)
            assert len(central.candidates) == 3
            assert [c.distance for c in central.candidates] == sorted(c.distance for c in central.candidates)


# -- synthetic samples, both backends -------------------------------------------------------------------------------
def test_gallery_people_operations(open_new: OpenGallery) -> None:
    v = _vectors(6)
    with open_new() as gallery:
        alice = gallery.add_person("alice", {"employee": 7})
        gallery.add_person("bob")
        with pytest.raises(GalleryError, match="already"):
            gallery.add_person("alice")
        ids = gallery.add_samples(alice, [NewSample(v[0], "a.jpg", "aa", Box(1, 2, 3, 4), 1.5),
                                          NewSample(v[1], "b.jpg", "bb", Box(1, 2, 3, 4))], model_id="m")
        # idempotent on (person, source sha256, box)
        assert gallery.add_samples("alice", [NewSample(v[0], "a.jpg", "aa", Box(1, 2, 3, 4))], model_id="m") == ids[:1]
        assert gallery.count() == 2
        gallery.add_samples("bob", [NewSample(v[2], "a.jpg", "aa", Box(1, 2, 3, 4)), NewSample(v[3])], model_id="m")
        assert gallery.get_person("alice").metadata == {"employee": 7}
        assert gallery.get_person(alice.id).name == "alice"
        with pytest.raises(PersonNotFoundError, match="did you mean 'alice'"):
            gallery.get_person("alicia")
        assert gallery.rename_person("bob", "robert").name == "robert"
        with pytest.raises(GalleryError, match="taken"):
            gallery.rename_person("robert", "alice")
        samples = gallery.samples_of("alice")
        assert [s.id for s in samples] == ids
        assert samples[0].box == Box(1, 2, 3, 4) and samples[0].score == 1.5 and samples[0].model == "m"
        np.testing.assert_array_equal(samples[0].embedding, v[0])
        # merge: robert's sample from a.jpg at the same box is a duplicate of alice's and is dropped
        merged = gallery.merge_people("robert", "alice")
        assert merged.sample_count == 3
        assert [p.name for p in gallery.list_people()] == ["alice"]
        gallery.remove_sample(ids[1])
        with pytest.raises(GalleryError):
            gallery.remove_sample(ids[1])
        assert gallery.count() == 2
        found = gallery.search(v[3], model_id="m", top_k=2)
        assert found[0][0].name == "alice" and found[0][0].distance == pytest.approx(0.0, abs=1e-5)
        assert gallery.integrity_check() == []


def test_add_samples_can_create_the_person_in_the_same_transaction(open_new: OpenGallery) -> None:
    v = _vectors(3, seed=4)
    with open_new() as gallery:
        with pytest.raises(PersonNotFoundError):
            gallery.add_samples("carol", [NewSample(v[0])], model_id="m")
        assert gallery.count_people() == 0
        first = gallery.add_samples("carol", [NewSample(v[0])], model_id="m", create_person=True)
        second = gallery.add_samples("carol", [NewSample(v[1])], model_id="m", create_person=True)
        assert [p.name for p in gallery.list_people()] == ["carol"]
        assert [s.id for s in gallery.samples_of("carol")] == first + second
        # a refused sample creates nobody
        with pytest.raises(ModelMismatchError):
            gallery.add_samples("dave", [NewSample(v[2])], model_id="other", create_person=True)
        with pytest.raises(ConfigurationError):
            gallery.add_samples("dave", [NewSample(np.full(128, np.nan))], model_id="m", create_person=True)
        assert gallery.find_person("dave") is None
        assert gallery.integrity_check() == []


def test_gallery_search_follows_changes(open_new: OpenGallery) -> None:
    v = _vectors(4, seed=3)
    with open_new() as gallery:
        gallery.add_person("a")
        gallery.add_person("b")
        gallery.add_samples("a", [NewSample(v[0])], model_id="m")
        assert gallery.search(v[1], model_id="m")[0][0].name == "a"
        gallery.add_samples("b", [NewSample(v[1])], model_id="m")
        assert gallery.search(v[1], model_id="m")[0][0].name == "b"
        gallery.merge_people("b", "a")
        top = gallery.search(v[1], model_id="m")[0]
        assert [m.name for m in top] == ["a"] and top[0].distance == pytest.approx(0.0, abs=1e-5)
        gallery.remove_person("a")
        assert gallery.search(v[1], model_id="m") == [[]]


def test_gallery_refuses_other_models(open_new: OpenGallery, test_images: Path, analyzer: FaceAnalyzer,
                                      obama_people: Path) -> None:
    with open_new() as gallery:
        enroll(gallery, obama_people, analyzer)
        bound = gallery.model_id
        with pytest.raises(ModelMismatchError, match="5pt") as info:
            identify(gallery, test_images / "obama3.jpg", analyzer=FaceAnalyzer(detector="hog", landmarks=68))
        assert info.value.gallery_model == bound and info.value.given_model.endswith("/68pt")
        with pytest.raises(ModelMismatchError):
            gallery.add_samples("obama", [NewSample(_vectors(1)[0])], model_id="other-net:123/5pt")
        with pytest.raises(ModelMismatchError):
            enroll(gallery, obama_people, FaceAnalyzer(detector="hog", landmarks=68))
        with pytest.raises(ModelMismatchError):
            gallery.search(_vectors(1), model_id="other")
        assert gallery.count() == 2
    assert issubclass(ModelMismatchError, FacerecError)


def test_gallery_rejects_bad_input(open_new: OpenGallery) -> None:
    with open_new() as gallery:
        gallery.add_person("a")
        with pytest.raises(ConfigurationError, match="shape"):
            gallery.add_samples("a", [NewSample(np.zeros(64, dtype=np.float32))], model_id="m")
        with pytest.raises(ConfigurationError, match="NaN"):
            gallery.add_samples("a", [NewSample(np.full(128, np.nan, dtype=np.float32))], model_id="m")
        with pytest.raises(ConfigurationError):
            gallery.add_person("  ")
        with pytest.raises(ConfigurationError, match="JSON"):
            gallery.add_person("b", {"x": object()})
        with pytest.raises(PersonNotFoundError):
            gallery.add_samples("nobody", [NewSample(_vectors(1)[0])], model_id="m")
        assert gallery.count() == 0 and gallery.model_id is None


# -- SQLite specifics -----------------------------------------------------------------------------------------------
def test_model_id_is_shared_by_dlib_and_onnx() -> None:
    from facerec.embedding import list_embedders

    dlib_id = model_id_for(FaceAnalyzer(embedder="dlib"))
    assert dlib_id.startswith("dlib-resnet-v1:") and dlib_id.endswith("/5pt")
    assert model_id_for(FaceAnalyzer(embedder="dlib", landmarks=68)).endswith("/68pt")
    if "onnx" in list_embedders():
        assert model_id_for(FaceAnalyzer(embedder="onnx")) == dlib_id


def test_sqlite_remove_overwrites_embedding_and_crop_bytes(obama_people: Path, analyzer: FaceAnalyzer,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as gallery:
        enroll(gallery, obama_people, analyzer, store_crops=True)
        samples = gallery.samples_of("obama")
        secrets = [s.embedding.tobytes() for s in samples]
        crops = [gallery.get_crop(s.id) for s in samples]
        assert all(c and c[:2] == b"\xff\xd8" for c in crops)  # JPEG
    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("g.sqlite*"))

    # crops span several pages: look for a 200-byte piece of each (it sits in one page)
    pieces = [c[16:216] for c in crops if c]
    before = on_disk()
    assert all(s in before for s in secrets) and all(p in before for p in pieces)  # the check can see them
    with SQLiteGallery(path) as gallery:
        assert gallery.remove_person("obama") == 2
    after = on_disk()
    for secret in secrets:
        assert secret not in after
        assert secret[:64] not in after  # not even a fragment of the 512 bytes
    for piece in pieces:
        assert piece not in after


def test_sqlite_integrity_check_reports_damage(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with SQLiteGallery(path) as gallery:
        gallery.add_person("a")
        gallery.add_samples("a", [NewSample(v) for v in _vectors(3)], model_id="m")
        assert gallery.integrity_check() == []
    raw = sqlite3.connect(path)
    raw.execute("UPDATE samples SET model = 'intruder' WHERE id = 1")
    nan = np.full(128, np.nan, dtype=np.float32).tobytes()
    raw.execute("UPDATE samples SET embedding = ? WHERE id = 2", (nan,))
    raw.execute("PRAGMA foreign_keys = OFF")
    raw.execute("UPDATE samples SET person_id = 999 WHERE id = 3")
    raw.commit()
    raw.close()
    with SQLiteGallery(path) as gallery:
        problems = gallery.integrity_check()
    assert any("intruder" in p for p in problems)
    assert any("sample 2" in p and "NaN" in p for p in problems)
    assert any("samples row 3" in p and "people" in p for p in problems)


def test_sqlite_refuses_files_that_are_not_galleries(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"hello, I am not a database" * 100)
    with pytest.raises(GalleryError, match=r"junk.sqlite"):
        SQLiteGallery(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(GalleryError, match="not a facerec gallery"):
        SQLiteGallery(other)
    with pytest.raises(GalleryError, match="no gallery"):
        open_gallery(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_sqlite_uses_durable_settings(tmp_path: Path) -> None:
    with SQLiteGallery(tmp_path / "g.sqlite") as gallery:
        pragma = {name: gallery.conn.execute(f"PRAGMA {name}").fetchone()[0]
                  for name in ("journal_mode", "synchronous", "foreign_keys", "secure_delete")}
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "secure_delete": 1}


def test_default_gallery_path_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from facerec.gallery import default_gallery_path

    monkeypatch.delenv("FACEREC_GALLERY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_gallery_path() == tmp_path / "xdg" / "facerec" / "gallery.sqlite"
    monkeypatch.setenv("FACEREC_GALLERY", str(tmp_path / "mine.sqlite"))
    assert default_gallery_path() == tmp_path / "mine.sqlite"
