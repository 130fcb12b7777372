"""The service as a real ``facerec serve`` process on 127.0.0.1: concurrent requests give exactly the serial
answers, concurrent enrolls never lose or duplicate a sample, a full queue answers 503 with Retry-After, and kill -9
during enrolls keeps every acknowledged sample, once."""

from __future__ import annotations

import io
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from PIL import Image

from facerec.gallery import open_gallery
from facerec.gallery.keys import create_key
from service_support import TEST_MAX_PIXELS, Server, bad_images, running_server, start_server

API = "/api/v1"
PHOTOS = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]


def _admin_key(gallery: Path) -> str:
    with open_gallery(gallery) as g:
        return create_key(g, f"admin-{time.monotonic_ns()}", "admin")[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, test_images: Path) -> Iterator[tuple[Server, str]]:
    folder = tmp_path_factory.mktemp("served")
    gallery = folder / "gallery.sqlite"
    key = _admin_key(gallery)
    with running_server(gallery, folder / "server.log", "--workers", "2", "--max-pixels",
                        str(TEST_MAX_PIXELS)) as server:
        h = {"X-API-Key": key}
        for name, photo in (("obama", "obama.jpg"), ("biden", "biden.jpg")):
            response = httpx.post(f"{server.url}{API}/people/{name}/faces", headers=h, timeout=60,
                                  files=[("file", (photo, (test_images / photo).read_bytes()))])
            assert response.status_code == 201, response.text
        yield server, key


def _identify(server: Server, key: str, data: bytes) -> Any:
    response = httpx.post(f"{server.url}{API}/identify", headers={"X-API-Key": key},
                          files=[("file", ("photo.jpg", data))], timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_health_and_a_bad_request_over_http(served: tuple[Server, str]) -> None:
    server, key = served
    health = httpx.get(f"{server.url}{API}/health").json()
    assert health["status"] == "ok" and health["people"] == 2
    bad = httpx.post(f"{server.url}{API}/detect", headers={"X-API-Key": key},
                     files=[("file", ("x.jpg", b"\xff\xd8\xff\xe0 truncated"))])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_image"
    assert httpx.get(f"{server.url}{API}/people").status_code == 401
    big = httpx.post(f"{server.url}{API}/detect", headers={"X-API-Key": key},
                     files=[("file", ("big.jpg", b"\0" * (11 * 2**20)))])
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert httpx.get(f"{server.url}/").status_code == 200


@pytest.mark.parametrize("route", ["/detect", "/embed", "/identify", "/identify?draw=true", "/cluster",
                                   "/people/corpus/faces", "/verify"])
def test_bad_images_over_http_get_4xx_json(served: tuple[Server, str], test_images: Path, route: str) -> None:
    server, key = served
    good = (test_images / "obama2.jpg").read_bytes()
    for name, (data, status) in bad_images(good).items():
        if status == 200:  # the readable ones (16-bit, CMYK) are tested through the test client
            continue
        files = [("file1", (name, data)), ("file2", ("good.jpg", good))] if route == "/verify" \
            else [("file", (name, data))]
        response = httpx.post(f"{server.url}{API}{route}", headers={"X-API-Key": key}, files=files, timeout=120)
        assert response.status_code == status, (route, name, response.text)
        assert set(response.json()["error"]) >= {"code", "message"}
    assert httpx.get(f"{server.url}{API}/health").status_code == 200


def test_concurrent_identify_gives_exactly_the_serial_answers(served: tuple[Server, str], test_images: Path) -> None:
    server, key = served
    photos = [(test_images / p).read_bytes() for p in PHOTOS]
    serial = [_identify(server, key, data) for data in photos]
    assert [f["name"] for f in serial[0]["images"][0]["faces"]] == ["obama"]
    jobs = [i % len(photos) for i in range(2 * len(photos))]
    random.Random(0).shuffle(jobs)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda i: (i, _identify(server, key, photos[i])), jobs))
    for i, answer in answers:
        assert answer == serial[i], PHOTOS[i]


def test_concurrent_enrolls_never_lose_or_duplicate(served: tuple[Server, str], test_images: Path) -> None:
    server, key = served
    photos = [p for p in PHOTOS if p.startswith("obama")][:3]
    # six clients: each enrolls the same three photos of "twin" and one photo of its own person
    def client(n: int) -> list[tuple[str, int | None, str]]:
        files = [("file", (p, (test_images / p).read_bytes())) for p in photos]
        done = []
        for person, batch in (("twin", files), (f"solo-{n}", files[n % 3: n % 3 + 1])):
            response = httpx.post(f"{server.url}{API}/people/{person}/faces", headers={"X-API-Key": key},
                                  files=batch, timeout=300)
            assert response.status_code in (200, 201), response.text
            done += [(person, f["sample_id"], f["status"]) for f in response.json()["files"]]
        return done

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [row for rows in pool.map(client, range(6)) for row in rows]
    h = {"X-API-Key": key}
    twin = httpx.get(f"{server.url}{API}/people/twin/faces", headers=h).json()["faces"]
    assert len(twin) == 3 and len({f["source"] for f in twin}) == 3
    assert {sid for person, sid, _ in results if person == "twin"} == {f["id"] for f in twin}
    assert sum(1 for person, _, status in results if person == "twin" and status == "enrolled") == 3
    for n in range(6):
        solo = httpx.get(f"{server.url}{API}/people/solo-{n}/faces", headers=h).json()["faces"]
        assert [f["id"] for f in solo] == [sid for person, sid, _ in results if person == f"solo-{n}"]


def test_full_queue_answers_503_with_retry_after(tmp_path: Path, test_images: Path) -> None:
    gallery = tmp_path / "gallery.sqlite"
    key = _admin_key(gallery)
    data = (test_images / "obama3.jpg").read_bytes()
    with running_server(gallery, tmp_path / "server.log", "--workers", "1", "--queue", "0") as server:
        def call(_: int) -> Any:
            return httpx.post(f"{server.url}{API}/detect", headers={"X-API-Key": key},
                              files=[("file", ("p.jpg", data))], timeout=120)

        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(pool.map(call, range(6)))
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
        refused = next(r for r in responses if r.status_code == 503)
        assert refused.headers["Retry-After"] == "1" and refused.json()["error"]["code"] == "overloaded"
        assert call(0).status_code == 200  # serving again once the burst is over


def _variants(test_images: Path, count: int) -> list[tuple[str, bytes]]:
    """``count`` distinct photos (re-encoded at other qualities and sizes) of single faces."""
    out = []
    sources = [Image.open(test_images / p).convert("RGB") for p in ("obama.jpg", "obama2.jpg", "biden.jpg")]
    for i in range(count):
        picture = sources[i % len(sources)]
        scale = 0.5 + 0.05 * (i // len(sources))
        small = picture.resize((int(picture.width * scale), int(picture.height * scale)))
        buffer = io.BytesIO()
        small.save(buffer, format="JPEG", quality=70 + i % 20)
        out.append((f"v{i}.jpg", buffer.getvalue()))
    return out


@pytest.mark.slow
def test_kill_9_during_api_enrolls_keeps_every_acknowledged_sample_once(tmp_path: Path, test_images: Path) -> None:
    gallery = tmp_path / "gallery.sqlite"
    key = _admin_key(gallery)
    photos = _variants(test_images, 18)
    acknowledged: dict[int, tuple[str, str]] = {}
    for round_no in range(3):
        server = start_server(gallery, tmp_path / f"server{round_no}.log", "--workers", "2")
        stop = threading.Event()

        def enroll_loop(worker: int, server: Server = server, stop: threading.Event = stop) -> None:
            for i in range(worker, len(photos), 2):
                if stop.is_set():
                    return
                name, data = photos[i]
                try:
                    response = httpx.post(f"{server.url}{API}/people/p{i % 3}/faces", headers={"X-API-Key": key},
                                          files=[("file", (name, data))], timeout=60)
                except httpx.HTTPError:
                    return  # killed mid-request: not acknowledged
                if response.status_code in (200, 201):
                    for f in response.json()["files"]:
                        acknowledged[f["sample_id"]] = (f"p{i % 3}", f["file"])

        threads = [threading.Thread(target=enroll_loop, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0 + round_no * 1.5)
        server.stop(kill=True)  # SIGKILL
        stop.set()
        for t in threads:
            t.join(timeout=60)
    with sqlite3.connect(gallery) as conn:
        rows = conn.execute("SELECT s.id, p.name, s.source, s.source_sha256, s.box FROM samples s "
                            "JOIN people p ON p.id = s.person_id").fetchall()
    stored = {sid: (name, source) for sid, name, source, _, _ in rows}
    assert acknowledged, "no enroll was acknowledged before the kills"
    for sid, where in acknowledged.items():
        assert stored.get(sid) == where, (sid, where)
    keys = [(name, sha, box) for _, name, _, sha, box in rows]
    assert len(keys) == len(set(keys))  # none twice
    with open_gallery(gallery) as g:
        assert g.integrity_check() == []
        assert all(p.sample_count > 0 for p in g.list_people())
