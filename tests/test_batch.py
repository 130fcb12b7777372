"""facerec.batch: file discovery, known-people folders, per-file results, annotated copies."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import facerec
from facerec.batch import (
    UNKNOWN,
    BatchProcessor,
    FileResult,
    KnownPeople,
    annotated_paths,
    draw_faces,
    find_images,
    known_people_files,
    load_known_people,
    process_file,
)
from facerec.types import Box


def write_bad_files(folder: Path, good_photo: Path) -> dict[str, Path]:
    """A corrupt PNG, a truncated JPEG, a text file named .jpg and an empty file, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    corrupt = bytearray(buffer.getvalue())
    start = corrupt.index(b"IDAT") + 10
    corrupt[start:start + 200] = b"\xff" * 200
    data = good_photo.read_bytes()
    files = {
        "corrupt": folder / "corrupt.png",
        "truncated": folder / "truncated.jpg",
        "text": folder / "notes.jpg",
        "empty": folder / "empty.jpg",
    }
    files["corrupt"].write_bytes(bytes(corrupt))
    files["truncated"].write_bytes(data[: len(data) // 3])
    files["text"].write_text("this is not a photo\n")
    files["empty"].write_bytes(b"")
    return files


def write_faceless(path: Path) -> Path:
    """A plain grey picture: readable, with no face."""
    Image.new("RGB", (160, 120), (128, 128, 128)).save(path)
    return path


# -- find_images -----------------------------------------------------------------------------------------------
def test_find_images_recursive_sorted_known_endings_only(tmp_path: Path) -> None:
    for name in ("b.JPG", "a.png", "sub/c.webp", "sub/deeper/d.jpeg", "notes.txt", ".hidden.jpg",
                 ".cache/e.jpg", "sub/._shadow.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images([tmp_path])]
    assert found == ["a.png", "b.JPG", "sub/c.webp", "sub/deeper/d.jpeg"]


def test_find_images_keeps_named_files_and_drops_repeats(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    named = tmp_path / "notes.txt"
    named.write_text("x")
    missing = tmp_path / "missing.jpg"
    found = find_images([named, missing, tmp_path, tmp_path / "a.jpg"])
    assert found == [named, missing, tmp_path / "a.jpg"]


# -- known people ----------------------------------------------------------------------------------------------
def test_known_people_files_reads_both_layouts(tmp_path: Path) -> None:
    (tmp_path / "alice.jpg").write_bytes(b"x")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "1.jpg").write_bytes(b"x")
    (tmp_path / "bob" / "more").mkdir()
    (tmp_path / "bob" / "more" / "2.png").write_bytes(b"x")
    (tmp_path / "readme.txt").write_text("x")
    pairs = [(name, p.relative_to(tmp_path).as_posix()) for name, p in known_people_files(tmp_path)]
    assert pairs == [("alice", "alice.jpg"), ("bob", "bob/1.jpg"), ("bob", "bob/more/2.png")]


def test_known_people_files_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"x")
    with pytest.raises(facerec.ConfigurationError, match="not a folder"):
        known_people_files(tmp_path / "x.jpg")


def test_known_people_match_nearest_within_threshold() -> None:
    embeddings = np.zeros((3, 128), dtype=np.float32)
    embeddings[1, 0] = 1.0
    embeddings[2, 0] = 2.0
    known = KnownPeople(("a", "b", "b"), embeddings)
    assert known.people == ["a", "b"]
    probe = np.zeros(128, dtype=np.float32)
    probe[0] = 1.9
    match = known.match(probe, 0.6)
    assert (match.name, match.nearest, match.known) == ("b", "b", True)
    assert match.distance == pytest.approx(0.1, abs=1e-6)
    probe[0] = 3.0
    far = known.match(probe, 0.6)
    assert (far.name, far.nearest, far.known) == (UNKNOWN, "b", False)
    assert far.distance == pytest.approx(1.0, abs=1e-6)
    assert KnownPeople((), np.zeros((0, 128), dtype=np.float32)).match(probe).to_dict() == {
        "name": UNKNOWN, "distance": None, "nearest": None}


def test_known_people_rejects_mismatched_shapes() -> None:
    with pytest.raises(facerec.ConfigurationError, match="shape"):
        KnownPeople(("a",), np.zeros((2, 128), dtype=np.float32))


# -- one file --------------------------------------------------------------------------------------------------
def test_process_file_turns_bad_files_into_errors(tmp_path: Path, test_images: Path) -> None:
    bad = write_bad_files(tmp_path, test_images / "obama2.jpg")
    analyzer = facerec.FaceAnalyzer()
    reasons = {key: process_file(analyzer, path, operation="detect").error for key, path in bad.items()}
    reasons["missing"] = process_file(analyzer, tmp_path / "missing.jpg").error
    assert reasons["corrupt"] is not None and "corrupt" in reasons["corrupt"]
    assert reasons["truncated"] is not None and "truncated" in reasons["truncated"]
    assert reasons["text"] == "not an image, or a format Pillow cannot read"
    assert reasons["empty"] == "file is empty"
    assert reasons["missing"] == "no such file"


def test_process_file_needs_known_people_to_identify(test_images: Path) -> None:
    with pytest.raises(facerec.ConfigurationError, match="known"):
        process_file(facerec.FaceAnalyzer(), test_images / "obama.jpg", operation="identify")


def test_batch_processor_validates_options() -> None:
    with pytest.raises(facerec.ConfigurationError, match="workers"):
        BatchProcessor(workers=-1)
    with pytest.raises(facerec.UnknownNameError):
        BatchProcessor(detector="hgo")
    with BatchProcessor() as batch, pytest.raises(facerec.ConfigurationError, match="points"):
        list(batch.run([], operation="landmarks", points=7))


def test_identify_with_known_folder_on_real_photos(tmp_path: Path, test_images: Path) -> None:
    known_dir = tmp_path / "known"
    known_dir.mkdir()
    shutil.copyfile(test_images / "obama.jpg", known_dir / "barack.jpg")
    write_faceless(known_dir / "nobody.png")
    photos = [test_images / "obama2.jpg", test_images / "biden.jpg", write_faceless(tmp_path / "grey.png")]
    with BatchProcessor(upsample=0) as batch:
        known, failures = load_known_people(known_dir, batch)
        results = list(batch.run(photos, operation="identify", known=known, draw_dir=tmp_path / "out"))
    assert known.names == ("barack",) and known.embeddings.shape == (1, 128)
    assert [(f.path.name, f.error) for f in failures] == [("nobody.png", "no face found")]
    obama2, biden, grey = results
    assert [m.name for m in obama2.matches or ()] == ["barack"]
    assert [(m.name, m.nearest) for m in biden.matches or ()] == [(UNKNOWN, "barack")]
    assert biden.matches is not None and biden.matches[0].distance is not None
    assert biden.matches[0].distance > 0.6
    assert grey.ok and grey.faces == () and grey.matches == ()
    for result in results:
        assert result.annotated is not None
        with Image.open(result.annotated) as drawn:
            assert drawn.size == result.size


# -- drawing ---------------------------------------------------------------------------------------------------
def test_draw_faces_keeps_size_and_marks_boxes() -> None:
    image = np.full((120, 200, 3), 255, dtype=np.uint8)
    drawn = draw_faces(image, [Box(10, 10, 60, 60), Box(100, 20, 150, 70)], ["alice", UNKNOWN], [True, False])
    assert drawn.size == (200, 120) and drawn.mode == "RGB"
    pixels = np.asarray(drawn)
    assert tuple(pixels[10, 30]) == (0, 200, 0)     # top edge of the known box
    assert tuple(pixels[20, 125]) == (230, 0, 0)    # top edge of the unknown box
    assert (image == 255).all()                     # the input is not modified


def test_annotated_paths_are_distinct(tmp_path: Path) -> None:
    out = annotated_paths([Path("a/x.jpg"), Path("b/x.jpg"), Path("c/x.JPG"), Path("y.webp"), Path("z.png")],
                          tmp_path)
    assert [p.name for p in out] == ["x.jpg", "x-2.jpg", "x-3.JPG", "y.png", "z.png"]
    assert all(p.parent == tmp_path for p in out)


def test_worker_analyzers_run_every_onnx_part_on_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from facerec import batch

    monkeypatch.setattr(batch, "_worker_analyzer", None)
    batch._init_worker({"detector": "hog", "fallback_detector": "cnn", "embedder": "onnx"})
    analyzer = batch._worker_analyzer
    assert analyzer is not None
    # the CNN fallback too, not only the primary detector and the embedder
    assert analyzer._fallback().threads == 1  # type: ignore[attr-defined]
    assert analyzer.embedder.threads == 1  # type: ignore[attr-defined]
    # options given for a part still win; parts that do not run on ONNX Runtime get no threads option
    own = facerec.FaceAnalyzer(detector="hog", threads=1, embedder_options={"threads": 2})
    assert own.embedder.threads == 2  # type: ignore[attr-defined]
    assert own.detector is not None


def test_threads_give_the_serial_answers_in_order(tmp_path: Path, test_images: Path) -> None:
    """One photo per thread, one set of models: the same results, in the same order, bad files included."""
    bad = tmp_path / "broken.jpg"
    bad.write_bytes((test_images / "obama.jpg").read_bytes()[:2000])
    photos = [test_images / n for n in ("obama.jpg", "biden.jpg", "obama2.jpg", "32bit.png", "obama3.jpg")]
    files = [*photos[:2], bad, *photos[2:]] * 2
    serial = list(BatchProcessor(threads=1).run(files))
    threaded = list(BatchProcessor(threads=3).run(files))
    assert [r.path for r in threaded] == files
    assert [r.error is None for r in threaded] == [f != bad for f in files]
    for a, b in zip(serial, threaded):
        assert [f.box for f in a.faces] == [f.box for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            assert fa.embedding is not None and fb.embedding is not None
            assert np.array_equal(fa.embedding, fb.embedding)
    with pytest.raises(facerec.ConfigurationError):
        BatchProcessor(threads=-1)


def test_threads_work_on_a_big_photo_alone_and_keep_the_order(tmp_path: Path, test_images: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import facerec.batch as batch_module

    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 3000), (128, 128, 128)).save(big)
    assert facerec.images.declared_pixels(big) == 9_000_000
    assert facerec.images.declared_pixels(tmp_path / "missing.jpg") == 0
    seen: list[tuple[str, int]] = []
    real = batch_module.process_file

    def spy(analyzer: object, path: Path, **options: object) -> FileResult:
        import threading

        seen.append((Path(path).name, threading.get_ident()))
        return real(analyzer, path, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_module, "process_file", spy)
    files = [test_images / "obama.jpg", test_images / "biden.jpg", big, test_images / "obama2.jpg"]
    results = list(BatchProcessor(threads=2).run(files))
    assert [r.path for r in results] == files
    assert results[2].ok and results[2].faces == () and len(results[0].faces) == 1
    import threading

    assert (big.name, threading.get_ident()) in seen  # worked on in the calling thread, the others done first
    assert [name for name, _ in seen].index(big.name) == 2
