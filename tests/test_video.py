"""facerec.video and ``facerec video``: clips made here from real photos (a face moving across the frame, two faces
crossing, a face leaving and coming back), the shared Hamilton clip, and broken inputs."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

av = pytest.importorskip("av")

from facerec.batch import KnownPeople, load_known_people
from facerec.cli import cli
from facerec.errors import VideoError
from facerec.types import Box
from facerec.video import (
    FaceTrack,
    FrameResult,
    Tracker,
    TrackName,
    VideoWriter,
    cluster_tracks,
    default_detect_every,
    make_analyzer,
    open_video,
    timeline,
    track,
)

FPS = 15
WIDTH, HEIGHT = 480, 270
SPRITE = 150  # the pasted square; the face inside is about 75 px wide


# -- clips made from still photos ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def analyzer() -> Any:
    return make_analyzer()


@pytest.fixture(scope="session")
def sprites(test_images: Path, analyzer: Any) -> dict[str, np.ndarray]:
    """A square cut around the face of obama2.jpg and biden.jpg, face about half the square."""
    out = {}
    for name, file in (("obama", "obama2.jpg"), ("biden", "biden.jpg")):
        image = np.asarray(Image.open(test_images / file).convert("RGB"))
        face = max(analyzer.detect(image), key=lambda f: f.box.area)
        cx, cy = face.box.center
        half = face.box.width
        box = Box(int(cx - half), int(cy - half), int(cx + half), int(cy + half)).clip(image.shape[1], image.shape[0])
        crop = Image.fromarray(image[box.top:box.bottom, box.left:box.right]).resize((SPRITE, SPRITE))
        out[name] = np.asarray(crop)
    return out


@pytest.fixture(scope="session")
def known(test_images: Path, tmp_path_factory: pytest.TempPathFactory) -> KnownPeople:
    folder = tmp_path_factory.mktemp("known")
    shutil.copy(test_images / "obama.jpg", folder / "obama.jpg")
    shutil.copy(test_images / "biden.jpg", folder / "biden.jpg")
    people, failures = load_known_people(folder)
    assert not failures and sorted(people.names) == ["biden", "obama"]
    return people


Placement = list[tuple[str, float, float]]  # (sprite, left, top) per face in one frame


def _render(sprites: dict[str, np.ndarray], placements: Placement) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), 110, dtype=np.uint8)
    for name, left, top in placements:
        x, y = round(left), round(top)
        sprite = sprites[name]
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + SPRITE, WIDTH), min(y + SPRITE, HEIGHT)
        if x1 > x0 and y1 > y0:
            frame[y0:y1, x0:x1] = sprite[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame


def _write_clip(path: Path, sprites: dict[str, np.ndarray], frames: list[Placement]) -> Path:
    with VideoWriter(path, fps=FPS, width=WIDTH, height=HEIGHT) as writer:
        for placements in frames:
            writer.write(_render(sprites, placements))
    return path


def _moving(frames: int, start: float, end: float) -> list[float]:
    return [start + (end - start) * i / (frames - 1) for i in range(frames)]


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def moving_clip(clip_dir: Path, sprites: dict[str, np.ndarray]) -> tuple[Path, list[Placement]]:
    """3 s: Obama from the left edge to the right edge."""
    frames = [[("obama", x, 60.0)] for x in _moving(45, 0, WIDTH - SPRITE)]
    return _write_clip(clip_dir / "moving.mp4", sprites, frames), frames


@pytest.fixture(scope="session")
def crossing_clip(clip_dir: Path, sprites: dict[str, np.ndarray]) -> Path:
    """3 s: Obama left to right above, Biden right to left below; they cross in the middle."""
    xs = _moving(45, 0, WIDTH - SPRITE)
    frames = [[("obama", x, 0.0), ("biden", WIDTH - SPRITE - x, HEIGHT - SPRITE)] for x in xs]
    return _write_clip(clip_dir / "crossing.mp4", sprites, frames)


@pytest.fixture(scope="session")
def return_clip(clip_dir: Path, sprites: dict[str, np.ndarray]) -> Path:
    """Obama for 1 s, nobody for 1.5 s, Obama again for 1 s (60 frames)."""
    frames: list[Placement] = [[("obama", 100.0 + i, 60.0)] for i in range(15)]
    frames += [[] for _ in range(22)]
    frames += [[("obama", 220.0 - i, 60.0)] for i in range(23)]
    return _write_clip(clip_dir / "return.mp4", sprites, frames)


def _run(source: Any, **options: Any) -> tuple[list[FrameResult], list[FaceTrack]]:
    frames: list[FrameResult] = []
    tracks: list[FaceTrack] = []
    for item in track(source, **options):
        (frames if isinstance(item, FrameResult) else tracks).append(item)  # type: ignore[arg-type]
    return frames, tracks


def test_track_face_moving_across_frame(moving_clip: tuple[Path, list[Placement]], known: KnownPeople,
                                        analyzer: Any) -> None:
    path, placements = moving_clip
    frames, tracks = _run(path, known=known, analyzer=analyzer, detect_every=3)
    assert [f.index for f in frames] == list(range(45))
    assert len(tracks) == 1
    (only,) = tracks
    assert only.track_id == 1 and only.name == "obama" and only.name_changes == 0
    assert only.distance is not None and only.distance < 0.5
    assert only.first_frame == 0 and only.last_frame == 44 and only.frames_seen == 45
    assert only.first_time == 0.0 and only.last_time == pytest.approx(44 / FPS, abs=1e-3)
    assert only.detections == 15 and 1 <= only.samples <= 5
    assert only.best_crop is not None and only.best_crop.shape[2] == 3
    # every frame has the face, named, and its box (interpolated between detections) follows the sprite
    for frame, placement in zip(frames, placements):
        (face,) = frame.faces
        assert face.track_id == 1 and face.name == "obama"
        assert face.detected == (frame.index % 3 == 0)
        true_x = placement[0][1] + SPRITE / 2
        assert abs(face.box.center[0] - true_x) < 12, frame.index


def test_track_two_faces_crossing(crossing_clip: Path, known: KnownPeople, analyzer: Any) -> None:
    frames, tracks = _run(crossing_clip, known=known, analyzer=analyzer, detect_every=3)
    assert sorted(t.name for t in tracks) == ["biden", "obama"]
    assert all(t.name_changes == 0 and t.frames_seen == 45 for t in tracks)
    by_name = {t.name: t.track_id for t in tracks}
    # the ids stayed with their faces through the crossing: Obama's track ends on the right, Biden's on the left
    last = {f.name: f for f in frames[-1].faces}
    assert last["obama"].track_id == by_name["obama"] and last["obama"].box.center[0] > WIDTH / 2
    assert last["biden"].track_id == by_name["biden"] and last["biden"].box.center[0] < WIDTH / 2
    assert all(len(f.faces) == 2 and {x.name for x in f.faces} == {"obama", "biden"} for f in frames)


def test_track_face_leaving_and_returning(return_clip: Path, known: KnownPeople, analyzer: Any) -> None:
    frames, tracks = _run(return_clip, known=known, analyzer=analyzer, detect_every=3, max_missed_s=1.0)
    tracks.sort(key=lambda t: t.first_frame)
    assert [(t.track_id, t.name) for t in tracks] == [(1, "obama"), (2, "obama")]
    first, second = tracks
    # detections every 3rd frame: an end is placed within a frame of the truth (half the gap between detections)
    assert first.first_time == 0.0 and first.last_frame in (13, 14)
    assert first.last_time == pytest.approx(first.last_frame / FPS, abs=1e-3)
    assert second.first_frame in range(37, 40) and second.last_frame == 59
    assert second.first_time == pytest.approx(second.first_frame / FPS, abs=1e-3)
    assert all(not f.faces for f in frames[16:36])


def test_track_detection_threads_give_the_serial_answers(crossing_clip: Path, known: KnownPeople,
                                                        analyzer: Any) -> None:
    def answers(threads: int) -> list[Any]:
        frames, tracks = _run(crossing_clip, known=known, analyzer=analyzer, detect_every=3, detect_threads=threads)
        return [[(x.track_id, x.box, x.name) for x in f.faces] for f in frames] + [t.to_dict() for t in tracks]

    assert answers(3) == answers(1)


def test_track_without_known_people_names_everyone_unknown(moving_clip: tuple[Path, list[Placement]],
                                                           analyzer: Any) -> None:
    (only,) = timeline(moving_clip[0], analyzer=analyzer, detect_every=5)
    assert only.name == "unknown" and only.distance is None and only.embedding is not None


def test_track_rejects_gallery_and_known_together(moving_clip: tuple[Path, list[Placement]],
                                                  known: KnownPeople) -> None:
    from facerec.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        next(track(moving_clip[0], known=known, gallery=object()))  # type: ignore[arg-type]


# -- the shared clip ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def hamilton(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    examples = shared_data / "face_recognition_test_images" / "examples"
    clip = examples / "short_hamilton_clip.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found")
    folder = tmp_path_factory.mktemp("hamilton_known")
    for name in ("lin-manuel-miranda.png", "alex-lacamoire.png"):
        shutil.copy(examples / name, folder / name)
    return clip, folder


def test_track_hamilton_clip(hamilton: tuple[Path, Path], analyzer: Any) -> None:
    clip, folder = hamilton
    known, failures = load_known_people(folder)
    assert not failures
    frames, tracks = _run(clip, known=known, analyzer=analyzer, detect_every=5)
    assert len(frames) == 275
    assert [f.index for f in frames if f.cut] == [20, 82, 211]  # the three cuts between shots
    named = sorted((t for t in tracks if t.known), key=lambda t: t.first_frame)
    # Lin-Manuel Miranda on stage (shot 1), Alex Lacamoire in profile at the piano (shot 2: HOG misses the
    # profile, the CNN fallback finds it), Lin-Manuel Miranda in close-up (shot 3); the audience is unknown
    assert [t.name for t in named] == ["lin-manuel-miranda", "alex-lacamoire", "lin-manuel-miranda"]
    stage, piano, close_up = named
    assert stage.first_time == 0.0 and stage.last_frame == 19
    assert piano.first_frame == 20 and piano.last_frame == 42
    assert piano.first_time == pytest.approx(20 / 29.97, abs=0.01)
    assert close_up.first_frame in range(82, 92) and close_up.last_frame == 210
    assert close_up.frames_seen > 100 and close_up.distance is not None and close_up.distance < 0.5
    # nobody is named in the audience shot; no name flickers: along each track the name changes at most once
    # (a first unknown made a person by new samples), and the last frames carry the track's final name
    assert all(not f.faces or all(x.name == "unknown" for x in f.faces) for f in frames if f.index >= 211)
    for t in tracks:
        names = [x.name for f in frames for x in f.faces if x.track_id == t.track_id]
        changes = sum(1 for a, b in itertools.pairwise(names) if a != b)
        assert changes == t.name_changes <= 1 and names[-1] == t.name, (t.track_id, names)


# -- the parts ------------------------------------------------------------------------------------------------------
def test_tracker_keeps_ids_of_two_boxes_moving_apart() -> None:
    tracker = Tracker()
    a, b = Box(0, 0, 40, 40), Box(100, 0, 140, 40)
    first = tracker.update([a, b], frame=0)
    ids = [t.track_id for t in first]
    second = tracker.update([Box(112, 0, 152, 40), Box(-12, 0, 28, 40)], frame=3)  # listed the other way round
    assert [t.track_id for t in second] == ids[::-1]
    assert tracker.tracks[0].predict(6).left == pytest.approx(-24, abs=2)  # the velocity carries on


def test_tracker_ends_a_track_after_max_missed_rounds() -> None:
    tracker = Tracker(max_missed=1)
    tracker.update([Box(0, 0, 40, 40)], frame=0)
    tracker.update([], frame=5)
    assert tracker.ended == [] and len(tracker.tracks) == 1
    tracker.update([], frame=10)
    assert [t.track_id for t in tracker.ended] == [1] and tracker.tracks == []
    assert [t.track_id for t in tracker.update([Box(0, 0, 40, 40)], frame=15)] == [2]  # ids are never reused


def test_track_name_changes_only_on_two_decisions_in_a_row() -> None:
    namer = TrackName(distance_threshold=0.6, margin=0.04, confirm=2)
    assert namer.decide([("alice", 0.45), ("bob", 0.7)]) == "alice"
    assert namer.decide([("bob", 0.40), ("alice", 0.62)]) == "alice"  # one decision for bob: not enough
    assert namer.decide([("alice", 0.50), ("bob", 0.55)]) == "alice"  # and the streak is broken
    assert namer.decide([("alice", 0.63), ("bob", 0.70)]) == "alice"  # within threshold + margin: kept
    assert namer.decide([("bob", 0.40), ("alice", 0.66)]) == "alice"
    assert namer.decide([("bob", 0.41), ("alice", 0.66)]) == "bob"
    assert namer.changes == 1
    unknown = TrackName(distance_threshold=0.6)
    assert unknown.decide([("alice", 0.65)]) == "unknown"
    assert unknown.decide([("alice", 0.58)]) == "unknown"  # inside the band: no evidence yet
    assert unknown.decide([("alice", 0.55)]) == "unknown"
    assert unknown.decide([("alice", 0.55)]) == "alice"


def test_cluster_tracks_never_joins_tracks_seen_at_the_same_time(known: KnownPeople) -> None:
    pytest.importorskip("sklearn")
    obama = known.embeddings[list(known.names).index("obama")]
    biden = known.embeddings[list(known.names).index("biden")]

    def made(track_id: int, vector: np.ndarray, first: int, last: int) -> FaceTrack:
        return FaceTrack(track_id=track_id, name="unknown", distance=None, nearest=None, first_frame=first,
                         last_frame=last, first_time=first / FPS, last_time=last / FPS, frames_seen=last - first + 1,
                         detections=3, samples=3, name_changes=0, embedding=vector.astype(np.float32))

    tracks = [made(1, obama, 0, 10), made(2, obama + 0.01, 5, 15), made(3, obama, 20, 30), made(4, biden, 0, 10),
              FaceTrack(5, "obama", 0.3, "obama", 0, 9, 0.0, 0.6, 10, 4, 4, 0, embedding=obama)]
    labels = cluster_tracks(tracks)
    assert set(labels) == {1, 2, 3, 4}  # the known track is not clustered
    assert labels[1] != labels[2]  # the same face twice at once: two people
    assert labels[3] in (labels[1], labels[2])  # seen later: one of them
    assert list(labels.values()).count(labels[4]) == 1  # Biden on his own


def test_default_detect_every_from_frame_rate_and_cores() -> None:
    assert default_detect_every(30, 2) == 5
    assert default_detect_every(29.97, 1) == 10
    assert default_detect_every(25, 16) == 1
    assert default_detect_every(None, 2) == 5


def test_writer_writes_a_playable_h264_file(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    with VideoWriter(path, fps=FPS, width=101, height=61) as writer:
        for i in range(10):
            writer.write(np.full((61, 101, 3), i * 20, dtype=np.uint8))
    with open_video(path) as video:
        assert (video.width, video.height, video.codec, round(video.fps or 0)) == (100, 60, "h264", FPS)
        assert sum(1 for _ in video.frames()) == 10
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no partial file left


# -- broken inputs --------------------------------------------------------------------------------------------------
def test_open_video_refuses_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    with pytest.raises(VideoError, match="not a video"):
        open_video(bad)
    with pytest.raises(VideoError, match="no such file"):
        open_video(tmp_path / "missing.mp4")


def test_open_video_refuses_a_missing_camera() -> None:
    with pytest.raises(VideoError, match=r"no such camera|cannot be opened"):
        open_video(63)


def test_track_truncated_file_keeps_the_frames_before_the_cut(moving_clip: tuple[Path, list[Placement]],
                                                               known: KnownPeople, analyzer: Any,
                                                               tmp_path: Path) -> None:
    data = moving_clip[0].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 2 // 3])
    items: list[Any] = []
    with pytest.raises(VideoError, match=r"decoding failed after|ends early"):
        items.extend(track(cut, known=known, analyzer=analyzer, detect_every=3))  # keeps what came before
    frames = [i for i in items if isinstance(i, FrameResult)]
    tracks = [i for i in items if isinstance(i, FaceTrack)]
    assert 5 < len(frames) < 45
    assert [(t.name, t.last_frame) for t in tracks] == [("obama", frames[-1].index)]


class _DroppingHandler(BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload[:len(self.payload) // 2])  # then the connection drops
        self.wfile.flush()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def dropping_stream(clip_dir: Path, sprites: dict[str, np.ndarray]) -> Iterator[str]:
    """An HTTP server that sends half of an MPEG-TS clip and hangs up: a stream that drops."""
    ts = clip_dir / "stream.ts"
    if not ts.exists():
        _write_clip(ts, sprites, [[("obama", x, 60.0)] for x in _moving(45, 0, WIDTH - SPRITE)])
    handler: Callable[..., Any] = type("Handler", (_DroppingHandler,), {"payload": ts.read_bytes()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stream.ts"
    finally:
        server.shutdown()
        server.server_close()


def test_cli_video_dropped_stream_writes_the_timeline_so_far(dropping_stream: str, known: KnownPeople,
                                                             test_images: Path, tmp_path: Path) -> None:
    folder = tmp_path / "known"
    folder.mkdir()
    shutil.copy(test_images / "obama.jpg", folder / "obama.jpg")
    result = CliRunner().invoke(cli, ["video", dropping_stream, "--known", str(folder), "--json", "-q",
                                      "--detect-every", "3"])
    assert result.exit_code == 1, result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("facerec:")]
    # without -q a stream logs who appears and leaves: "[00:00.0] + #1 obama" ... "[00:01.2] - #1 obama (1.2 s)"
    logged = CliRunner().invoke(cli, ["video", dropping_stream, "--known", str(folder), "--detect-every", "3"])
    log = [line.split("] ", 1)[1] for line in logged.stderr.splitlines() if line.startswith("[")]
    assert log[0] == "+ #1 obama" and log[-1].startswith("- #1 obama (")
    assert len(error_lines) == 1 and "stream broke off after" in error_lines[0]
    document = json.loads(result.stdout)
    assert 5 < document["frames"] < 45 and document["error"]
    assert [t["name"] for t in document["tracks"]] == ["obama"]


# -- the command line ---------------------------------------------------------------------------------------------
def test_cli_video_writes_timeline_annotated_copy_and_crops(crossing_clip: Path, test_images: Path,
                                                           tmp_path: Path) -> None:
    folder = tmp_path / "known"
    folder.mkdir()
    for file in ("obama.jpg", "biden.jpg"):
        shutil.copy(test_images / file, folder / file)
    out, crops = tmp_path / "annotated.mp4", tmp_path / "crops"
    result = CliRunner().invoke(cli, ["video", str(crossing_clip), "--known", str(folder), "--out", str(out),
                                      "--crops", str(crops), "--detect-every", "3", "--json", "-q"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["frames"] == 45 and document["error"] is None and document["annotated"] == str(out)
    assert sorted(t["name"] for t in document["tracks"]) == ["biden", "obama"]
    for entry in document["tracks"]:
        assert entry["first_time"] == 0.0 and entry["last_time"] == pytest.approx(44 / FPS, abs=1e-3)
        assert entry["frames_seen"] == 45 and Path(entry["crop"]).is_file()
    with open_video(out) as video:
        annotated = [f.image for f in video.frames()]
    assert len(annotated) == 45
    # the drawing is identify --draw's: a green box (known person) around each face
    green = (annotated[0][:, :, 1] > 150) & (annotated[0][:, :, 0] < 90) & (annotated[0][:, :, 2] < 90)
    assert green.sum() > 200


def test_cli_video_csv_and_cluster_of_unknown_tracks(return_clip: Path, tmp_path: Path) -> None:
    from facerec.gallery import open_gallery

    empty = tmp_path / "empty.sqlite"
    open_gallery(str(empty), create=True).close()
    result = CliRunner().invoke(cli, ["video", str(return_clip), "--gallery", str(empty), "--csv", "--cluster",
                                      "-q", "--detect-every", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "track,name,distance,nearest,first_s,last_s,frames,crop,cluster"
    rows = [line.split(",") for line in lines[1:]]
    assert [(r[0], r[1], r[-1]) for r in rows] == [("1", "unknown", "0"), ("2", "unknown", "0")]  # one person


def test_cli_video_bad_inputs_give_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    runner = CliRunner()
    for args, words in (([str(bad)], "not a video"), (["--camera", "63"], "camera 63"),
                        ([str(tmp_path / "missing.mp4")], "no such file")):
        result = runner.invoke(cli, ["video", *args, "--gallery", str(tmp_path / "g.sqlite"), "-q"])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("facerec: ") and words in result.stderr
    usage = runner.invoke(cli, ["video", "-q"])
    assert usage.exit_code == 2 and "--camera" in usage.stderr
