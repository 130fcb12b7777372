"""The service's API through FastAPI's test client, on real photos and a real SQLite gallery: every route, the
JSON errors and their statuses, the upload limits, and keys of each role on every mutating route."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from PIL import Image

import facerec
from facerec import FaceAnalyzer
from facerec.compare import DEFAULT_DISTANCE_THRESHOLD
from facerec.gallery import open_gallery
from facerec.gallery.keys import create_key
from facerec.service import create_app
from service_support import TEST_MAX_PIXELS, bad_images
from test_gallery import pg_dsn  # noqa: F401 - the PostgreSQL server fixture

API = "/api/v1"


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def gallery_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service") / "gallery.sqlite"


@pytest.fixture(scope="module")
def keys(gallery_path: Path) -> dict[str, str]:
    with open_gallery(gallery_path) as gallery:
        return {role: create_key(gallery, f"test-{role}", role)[1] for role in ("read", "write", "admin")}


@pytest.fixture(scope="module")
def client(gallery_path: Path, keys: dict[str, str], analyzer: FaceAnalyzer) -> Iterator[TestClient]:
    app = create_app(gallery=gallery_path, analyzer=analyzer, workers=2, max_pixels=TEST_MAX_PIXELS)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _h(keys: dict[str, str], role: str = "admin") -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def _file(test_images: Path, name: str, field: str = "file") -> tuple[str, tuple[str, bytes, str]]:
    return field, (name, (test_images / name).read_bytes(), "image/jpeg")


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert "Traceback" not in response.text
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


@pytest.fixture(scope="module")
def enrolled(client: TestClient, keys: dict[str, str], test_images: Path) -> dict[str, Any]:
    """obama (obama.jpg, obama2.jpg) and biden enrolled through the API."""
    obama = client.post(f"{API}/people/obama/faces", headers=_h(keys, "write"),
                        files=[_file(test_images, "obama.jpg"), _file(test_images, "obama2.jpg")])
    biden = client.post(f"{API}/people/biden/faces", headers=_h(keys, "write"), files=[_file(test_images, "biden.jpg")])
    assert obama.status_code == 201, obama.text
    assert biden.status_code == 201, biden.text
    return {"obama": obama.json(), "biden": biden.json()}


# -- health, detect, embed, verify, identify ------------------------------------------------------------------------
def test_health_needs_no_key_and_reports_models(client: TestClient, enrolled: dict[str, Any]) -> None:
    body = client.get(f"{API}/health").json()
    assert body["status"] == "ok" and body["people"] >= 2 and body["models"]["detector"] == "hog"
    assert body["models"]["model_id"].startswith("dlib-resnet-v1:")


def test_enroll_reports_each_photo(enrolled: dict[str, Any]) -> None:
    obama = enrolled["obama"]
    assert obama["counts"] == {"enrolled": 2}
    assert [f["status"] for f in obama["files"]] == ["enrolled", "enrolled"]
    assert obama["person"]["name"] == "obama" and obama["person"]["samples"] == 2
    assert obama["person"]["thumbnail"] == obama["files"][0]["sample_id"]


def test_enroll_again_is_unchanged_and_mixed_batch_reports_each(client: TestClient, keys: dict[str, str],
                                                                test_images: Path, enrolled: dict[str, Any]) -> None:
    again = client.post(f"{API}/people/obama/faces", headers=_h(keys, "write"),
                        files=[_file(test_images, "obama.jpg"), ("file", ("notes.jpg", b"not a photo", "image/jpeg"))])
    assert again.status_code == 200, again.text  # nothing new stored
    statuses = {f["file"]: f["status"] for f in again.json()["files"]}
    assert statuses == {"upload:obama.jpg": "unchanged", "upload:notes.jpg": "unreadable"}
    assert again.json()["person"]["samples"] == 2


def test_identify_names_the_enrolled_people(client: TestClient, keys: dict[str, str], test_images: Path,
                                            enrolled: dict[str, Any]) -> None:
    response = client.post(f"{API}/identify", headers=_h(keys, "read"),
                           files=[_file(test_images, "obama3.jpg"), _file(test_images, "biden.jpg")])
    assert response.status_code == 200, response.text
    images = response.json()["images"]
    assert [[f["name"] for f in image["faces"]] for image in images] == [["obama"], ["biden"]]
    obama = images[0]["faces"][0]
    assert obama["distance"] < 0.45 and obama["candidates"][0]["name"] == "obama"
    assert [c["name"] for c in obama["candidates"]] == ["obama", "biden"]
    assert obama["candidates"][1]["distance"] > 0.6 and obama["probability"] is None


def test_identify_strict_threshold_gives_unknown(client: TestClient, keys: dict[str, str], test_images: Path,
                                                 enrolled: dict[str, Any]) -> None:
    response = client.post(f"{API}/identify?threshold=0.05&top_k=1", headers=_h(keys, "read"),
                           files=[_file(test_images, "obama3.jpg")])
    face = response.json()["images"][0]["faces"][0]
    assert face["name"] == "unknown" and face["person_id"] is None and len(face["candidates"]) == 1


def test_identify_draw_returns_the_annotated_picture(client: TestClient, keys: dict[str, str], test_images: Path,
                                                     enrolled: dict[str, Any]) -> None:
    from facerec.drawing import draw_faces
    from facerec.images import load_image

    response = client.post(f"{API}/identify?draw=true", headers=_h(keys, "read"),
                           files=[_file(test_images, "obama3.jpg")])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    drawn = Image.open(io.BytesIO(response.content))
    original = load_image(test_images / "obama3.jpg")
    assert drawn.size == (original.shape[1], original.shape[0])
    # the green box of a known face is there: the drawn picture differs from the photo along the face box
    faces = client.post(f"{API}/identify", headers=_h(keys, "read"),
                        files=[_file(test_images, "obama3.jpg")]).json()["images"][0]["faces"]
    box = faces[0]["box"]
    from facerec.types import Box

    reference = draw_faces(original, [Box(**box)], ["obama"], [True])
    import numpy as np

    diff = np.abs(np.asarray(drawn, dtype=np.int16) - np.asarray(reference, dtype=np.int16))
    assert diff.mean() < 3  # the same drawing, up to JPEG
    two = client.post(f"{API}/identify?draw=true", headers=_h(keys, "read"),
                      files=[_file(test_images, "obama3.jpg"), _file(test_images, "biden.jpg")])
    _error(two, 422, "bad_field")


def test_detect_boxes_and_landmarks(client: TestClient, keys: dict[str, str], test_images: Path) -> None:
    five = client.post(f"{API}/detect", headers=_h(keys, "read"), files=[_file(test_images, "obama.jpg")]).json()
    face = five["images"][0]["faces"][0]
    assert len(five["images"][0]["faces"]) == 1 and len(face["landmarks"]) == 5 and "embedding" not in face
    (library,) = facerec.detect_faces(test_images / "obama.jpg")  # the pipeline's defaults, as the service's
    assert face["box"] == library.box.to_dict()
    sixty_eight = client.post(f"{API}/detect?landmarks=68", headers=_h(keys, "read"),
                              files=[_file(test_images, "obama.jpg")]).json()
    assert len(sixty_eight["images"][0]["faces"][0]["landmarks"]) == 68
    _error(client.post(f"{API}/detect?landmarks=7", headers=_h(keys, "read"),
                       files=[_file(test_images, "obama.jpg")]), 422, "bad_field")


def test_embed_multipart_and_base64_agree_with_the_library(client: TestClient, keys: dict[str, str],
                                                           test_images: Path, analyzer: FaceAnalyzer) -> None:
    import numpy as np

    data = (test_images / "biden.jpg").read_bytes()
    multipart = client.post(f"{API}/embed", headers=_h(keys, "read"), files=[("file", ("b.jpg", data))]).json()
    as_json = client.post(f"{API}/embed", headers=_h(keys, "read"),
                          json={"image": base64.b64encode(data).decode()}).json()
    a = np.asarray(multipart["images"][0]["faces"][0]["embedding"])
    b = np.asarray(as_json["images"][0]["faces"][0]["embedding"])
    expected = analyzer.analyze(test_images / "biden.jpg")[0].embedding
    assert expected is not None
    assert a.shape == (128,) and np.allclose(a, b) and np.allclose(a, expected, atol=1e-6)
    several = client.post(f"{API}/embed", headers=_h(keys, "read"), json={
        "images": [base64.b64encode(data).decode(), base64.b64encode(data).decode()]}).json()
    assert [i["file"] for i in several["images"]] == ["images[0]", "images[1]"]


def test_verify_same_and_different(client: TestClient, keys: dict[str, str], test_images: Path) -> None:
    same = client.post(f"{API}/verify", headers=_h(keys, "read"),
                       files=[_file(test_images, "obama.jpg", "file1"), _file(test_images, "obama2.jpg", "file2")])
    other = client.post(f"{API}/verify", headers=_h(keys, "read"),
                        files=[_file(test_images, "obama.jpg", "file1"), _file(test_images, "biden.jpg", "file2")])
    assert same.json()["same"] is True and same.json()["distance"] < 0.5
    answer = other.json()
    assert answer["same"] is False and answer["distance"] > 0.6 and answer["threshold"] == DEFAULT_DISTANCE_THRESHOLD
    _error(client.post(f"{API}/verify", headers=_h(keys, "read"), files=[_file(test_images, "obama.jpg", "file1")]),
           422, "missing_file")
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), (255, 255, 255)).save(blank, format="PNG")
    _error(client.post(f"{API}/verify", headers=_h(keys, "read"), files=[
        _file(test_images, "obama.jpg", "file1"), ("file2", ("blank.png", blank.getvalue()))]), 422, "no_face")


# -- people and faces -------------------------------------------------------------------------------------------------
def test_people_crud(client: TestClient, keys: dict[str, str], test_images: Path, enrolled: dict[str, Any]) -> None:
    h = _h(keys, "write")
    created = client.post(f"{API}/people", headers=h, json={"name": "  carol  ", "metadata": {"team": "x"}})
    assert created.status_code == 201 and created.json()["name"] == "carol" and created.json()["samples"] == 0
    _error(client.post(f"{API}/people", headers=h, json={"name": "carol"}), 409, "name_taken")
    _error(client.post(f"{API}/people", headers=h, json={"name": ""}), 422, "bad_field")
    _error(client.post(f"{API}/people", headers=h, json={"nom": "x"}), 422, "bad_field")
    _error(client.post(f"{API}/people", headers=h, content=b"{not json", ), 422)
    renamed = client.patch(f"{API}/people/carol", headers=h, json={"name": "caroline", "metadata": {"team": "y"}})
    assert renamed.json()["name"] == "caroline" and renamed.json()["metadata"] == {"team": "y"}
    _error(client.patch(f"{API}/people/caroline", headers=h, json={"name": "obama"}), 409, "name_taken")
    _error(client.get(f"{API}/people/carol", headers=h), 404, "not_found")
    page = client.get(f"{API}/people?limit=2&offset=0", headers=h).json()
    assert page["total"] >= 3 and len(page["people"]) == 2
    assert [p["name"] for p in client.get(f"{API}/people?q=CAROL", headers=h).json()["people"]] == ["caroline"]
    # merge caroline (one sample) into a new person dave
    client.post(f"{API}/people/caroline/faces", headers=h, files=[_file(test_images, "obama_partial_face.jpg")])
    client.post(f"{API}/people", headers=h, json={"name": "dave"})
    merged = client.post(f"{API}/people/caroline/merge", headers=h, json={"into": "dave"})
    assert merged.status_code == 200 and merged.json()["name"] == "dave"
    _error(client.get(f"{API}/people/caroline", headers=h), 404)
    _error(client.post(f"{API}/people/dave/merge", headers=h, json={"into": "nobody"}), 404)
    deleted = client.delete(f"{API}/people/dave", headers=h)
    assert deleted.status_code == 200 and deleted.json()["removed_samples"] == merged.json()["samples"]
    _error(client.delete(f"{API}/people/dave", headers=h), 404)


def test_faces_list_crop_and_delete(client: TestClient, keys: dict[str, str], test_images: Path,
                                    enrolled: dict[str, Any]) -> None:
    h = _h(keys, "write")
    client.post(f"{API}/people/erin/faces", headers=h, files=[_file(test_images, "obama2.jpg")])
    faces = client.get(f"{API}/people/erin/faces", headers=h).json()
    (face,) = faces["faces"]
    assert face["has_crop"] and face["source"] == "upload:obama2.jpg" and face["box"]["right"] > face["box"]["left"]
    crop = client.get(f"{API}/faces/{face['id']}/crop", headers=h)
    assert crop.headers["content-type"] == "image/jpeg" and max(Image.open(io.BytesIO(crop.content)).size) == 112
    assert client.delete(f"{API}/faces/{face['id']}", headers=h).json() == {"removed": face["id"]}
    _error(client.delete(f"{API}/faces/{face['id']}", headers=h), 404, "not_found")
    _error(client.get(f"{API}/faces/{face['id']}/crop", headers=h), 404, "not_found")
    _error(client.get(f"{API}/faces/abc/crop", headers=h), 422, "bad_field")
    assert client.get(f"{API}/people/erin", headers=h).json()["samples"] == 0


def test_enroll_without_a_usable_face_is_refused(client: TestClient, keys: dict[str, str], test_images: Path) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 200, 200)).save(blank, format="JPEG")
    error = _error(client.post(f"{API}/people/ghost/faces", headers=_h(keys, "write"),
                               files=[("file", ("blank.jpg", blank.getvalue()))]), 422, "no_usable_face")
    assert error["files"][0]["status"] == "no_face"
    _error(client.get(f"{API}/people/ghost", headers=_h(keys, "read")), 404)  # no empty person left behind


def test_cluster_and_name_a_cluster(client: TestClient, keys: dict[str, str], test_images: Path) -> None:
    response = client.post(f"{API}/cluster", headers=_h(keys, "read"), files=[
        _file(test_images, n) for n in ("obama.jpg", "biden.jpg", "obama2.jpg", "obama3.jpg")])
    assert response.status_code == 200, response.text
    body = response.json()
    groups = sorted(sorted(f["file"] for f in c["faces"]) for c in body["clusters"])
    assert groups == [["biden.jpg"], ["obama.jpg", "obama2.jpg", "obama3.jpg"]]
    assert all(f["crop"] for c in body["clusters"] for f in c["faces"])
    largest = body["clusters"][0]
    named = client.post(f"{API}/clusters/{body['id']}/{largest['label']}/name", headers=_h(keys, "write"),
                        json={"name": "barack"})
    assert named.status_code == 201 and len(named.json()["sample_ids"]) == 3
    assert client.get(f"{API}/people/barack", headers=_h(keys, "read")).json()["samples"] == 3
    _error(client.post(f"{API}/clusters/{body['id']}/99/name", headers=_h(keys, "write"), json={"name": "x"}), 404)
    client.delete(f"{API}/people/barack", headers=_h(keys, "write"))


# -- errors ---------------------------------------------------------------------------------------------------------
IMAGE_ROUTES = ["/detect", "/embed", "/identify", "/identify?draw=true", "/cluster", "/people/corpus/faces",
                "/verify"]


@pytest.mark.parametrize("route", IMAGE_ROUTES)
def test_bad_images_get_4xx_json_on_every_image_route(client: TestClient, keys: dict[str, str], test_images: Path,
                                                      route: str) -> None:
    good = (test_images / "obama.jpg").read_bytes()
    for name, (data, status) in bad_images(good).items():
        if route == "/verify":
            files = [("file1", (f"{name}.img", data)), ("file2", ("obama.jpg", good))]
        else:
            files = [("file", (f"{name}.img", data))]
        response = client.post(API + route, headers=_h(keys, "write"), files=files)
        if status == 200:  # 16-bit and CMYK photos are read (no face in a red channel is fine too)
            assert response.status_code in (200, 201, 422), (name, response.text)
            if response.status_code == 422:
                assert response.json()["error"]["code"] in ("no_face", "no_usable_face"), (name, response.text)
        else:
            _error(response, status)
    assert client.get(f"{API}/health").status_code == 200  # still serving


def test_request_errors_are_json(client: TestClient, keys: dict[str, str], test_images: Path) -> None:
    h = _h(keys, "read")
    _error(client.post(f"{API}/detect", headers=h, content=b"abc", ), 415, "unsupported_media_type")
    _error(client.post(f"{API}/detect", headers={**h, "content-type": "text/plain"}, content=b"abc"), 415)
    _error(client.post(f"{API}/detect", headers={**h, "content-type": "application/json"}, content=b"{oops"), 400,
           "bad_json")
    _error(client.post(f"{API}/detect", headers=h, json={"image": "%%% not base64"}), 400, "bad_base64")
    _error(client.post(f"{API}/detect", headers=h, json={"image": 5}), 422, "bad_field")
    _error(client.post(f"{API}/detect", headers=h, json=[1, 2]), 422, "bad_field")
    _error(client.post(f"{API}/detect", headers=h, json={}), 422, "missing_file")
    _error(client.post(f"{API}/detect", headers=h, data={"file": "a text field"}, files=[("other", ("x", b"x"))]),
           422, "bad_field")
    _error(client.post(f"{API}/detect", headers=h, files=[("photo", ("x.jpg", b"x"))]), 422, "missing_file")
    _error(client.get(f"{API}/nothing-here", headers=h), 404, "not_found")
    _error(client.put(f"{API}/detect", headers=h), 405, "method_not_allowed")
    _error(client.post(f"{API}/identify?threshold=-1", headers=h, files=[_file(test_images, "obama.jpg")]), 422)
    # the OpenAPI document names both ways to send a photo
    spec = client.get("/openapi.json").json()
    content = spec["paths"][f"{API}/identify"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(content)


def test_upload_limit_is_enforced_while_reading(gallery_path: Path, keys: dict[str, str], analyzer: FaceAnalyzer,
                                                test_images: Path) -> None:
    app = create_app(gallery=gallery_path, analyzer=analyzer, workers=1, max_upload_mb=0.25)
    big = b"\xff" * 400_000
    with TestClient(app, raise_server_exceptions=False) as small:
        _error(small.post(f"{API}/detect", headers=_h(keys, "read"), files=[("file", ("big.jpg", big))]), 413,
               "too_large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
            for _ in range(40):
                yield b"\x00" * 10_000

        _error(small.post(f"{API}/detect", headers={**_h(keys, "read"), "content-type": "application/json"},
                          content=chunks()), 413, "too_large")
        ok = small.post(f"{API}/detect", headers=_h(keys, "read"), files=[_file(test_images, "obama2.jpg")])
        assert ok.status_code == 200


# -- keys and roles -------------------------------------------------------------------------------------------------
def test_every_route_but_health_needs_a_key(client: TestClient, keys: dict[str, str]) -> None:
    spec = client.get("/openapi.json").json()
    routes = [(method, path) for path, item in spec["paths"].items() for method in item]
    assert len(routes) >= 17
    for method, path in routes:
        url = path.replace("{name}", "obama").replace("{face_id}", "1").replace("{clustering}", "x") \
            .replace("{label}", "0")
        if path == f"{API}/health":
            continue
        _error(client.request(method, url), 401, "missing_key")
        _error(client.request(method, url, headers={"X-API-Key": "frk_wrong"}), 401, "bad_key")


def _setup_person(client: TestClient, keys: dict[str, str], test_images: Path, name: str) -> int:
    response = client.post(f"{API}/people/{name}/faces", headers=_h(keys, "admin"),
                           files=[_file(test_images, "obama_partial_face2.jpg")])
    assert response.status_code in (200, 201), response.text
    return int(response.json()["files"][0]["sample_id"])


def _mutations(client: TestClient, keys: dict[str, str], test_images: Path
               ) -> dict[str, tuple[str, Callable[[str], Any]]]:
    """Each mutating route: the role it needs and a call of it with a given key (after its setup)."""

    def tmp(role: str) -> str:
        return f"tmp-{role}"

    def enroll(key: str) -> Any:
        return client.post(f"{API}/people/enroll-{key[:8]}/faces", headers={"X-API-Key": key},
                           files=[_file(test_images, "obama.jpg")])

    def add(key: str) -> Any:
        return client.post(f"{API}/people", headers={"X-API-Key": key}, json={"name": f"new-{key[-8:]}"})

    def rename(key: str) -> Any:
        _setup_person(client, keys, test_images, "rename-me")
        return client.patch(f"{API}/people/rename-me", headers={"X-API-Key": key},
                            json={"name": f"renamed-{key[-8:]}"})

    def merge(key: str) -> Any:
        _setup_person(client, keys, test_images, "merge-from")
        _setup_person(client, keys, test_images, f"merge-to-{key[-8:]}")
        return client.post(f"{API}/people/merge-from/merge", headers={"X-API-Key": key},
                           json={"into": f"merge-to-{key[-8:]}"})

    def delete(key: str) -> Any:
        _setup_person(client, keys, test_images, "delete-me")
        return client.delete(f"{API}/people/delete-me", headers={"X-API-Key": key})

    def delete_face(key: str) -> Any:
        sample = _setup_person(client, keys, test_images, "face-owner")
        return client.delete(f"{API}/faces/{sample}", headers={"X-API-Key": key})

    def name_cluster(key: str) -> Any:
        body = client.post(f"{API}/cluster", headers=_h(keys, "read"),
                           files=[_file(test_images, "biden.jpg")]).json()
        return client.post(f"{API}/clusters/{body['id']}/0/name", headers={"X-API-Key": key},
                           json={"name": f"cluster-{key[-8:]}"})

    def make_key(key: str) -> Any:
        return client.post(f"{API}/keys", headers={"X-API-Key": key}, json={"name": f"k-{key[-8:]}", "role": "read"})

    def revoke(key: str) -> Any:
        client.post(f"{API}/keys", headers=_h(keys, "admin"), json={"name": "revoke-me", "role": "read"})
        return client.delete(f"{API}/keys/revoke-me", headers={"X-API-Key": key})

    del tmp
    return {"enroll": ("write", enroll), "add person": ("write", add), "rename": ("write", rename),
            "merge": ("write", merge), "delete person": ("write", delete), "delete face": ("write", delete_face),
            "name cluster": ("write", name_cluster), "create key": ("admin", make_key),
            "revoke key": ("admin", revoke)}


MUTATIONS = ["enroll", "add person", "rename", "merge", "delete person", "delete face", "name cluster", "create key",
             "revoke key"]


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("role", ["read", "write", "admin"])
def test_each_role_gets_exactly_its_rights(client: TestClient, keys: dict[str, str], test_images: Path,
                                           mutation: str, role: str) -> None:
    from facerec.gallery.keys import role_allows

    needed, call = _mutations(client, keys, test_images)[mutation]
    response = call(keys[role])
    if role_allows(role, needed):
        assert response.status_code in (200, 201), (mutation, role, response.text)
    else:
        error = _error(response, 403, "forbidden")
        assert needed in error["message"]


def test_reads_work_with_a_read_key_and_admin_routes_do_not(client: TestClient, keys: dict[str, str],
                                                            enrolled: dict[str, Any]) -> None:
    h = _h(keys, "read")
    assert client.get(f"{API}/people", headers=h).status_code == 200
    assert client.get(f"{API}/people/obama/faces", headers=h).status_code == 200
    _error(client.get(f"{API}/keys", headers=h), 403)
    _error(client.get(f"{API}/keys", headers=_h(keys, "write")), 403)


def test_keys_through_the_api(client: TestClient, keys: dict[str, str]) -> None:
    h = _h(keys, "admin")
    made = client.post(f"{API}/keys", headers=h, json={"name": "frontend", "role": "read"})
    assert made.status_code == 201
    token = made.json()["key"]
    assert token.startswith("frk_") and made.json()["prefix"] == token[:10]
    listed = client.get(f"{API}/keys", headers=h).json()["keys"]
    assert "frontend" in [k["name"] for k in listed] and all("key" not in k for k in listed)
    assert token not in client.get(f"{API}/keys", headers=h).text
    assert client.get(f"{API}/people", headers={"X-API-Key": token}).status_code == 200
    _error(client.post(f"{API}/keys", headers=h, json={"name": "frontend", "role": "read"}), 409, "name_taken")
    _error(client.post(f"{API}/keys", headers=h, json={"name": "x", "role": "owner"}), 422, "bad_field")
    assert client.delete(f"{API}/keys/frontend", headers=h).json()["name"] == "frontend"
    _error(client.get(f"{API}/people", headers={"X-API-Key": token}), 401, "bad_key")
    _error(client.delete(f"{API}/keys/frontend", headers=h), 404, "not_found")


def test_the_service_on_a_postgresql_gallery(request: pytest.FixtureRequest, analyzer: FaceAnalyzer,
                                             test_images: Path) -> None:
    import uuid

    dsn = request.getfixturevalue("pg_dsn")
    from facerec.gallery.postgres import PostgresGallery

    schema = f"test_{uuid.uuid4().hex[:12]}"
    gallery = PostgresGallery(dsn, schema=schema)
    try:
        _, token = create_key(gallery, "pg-writer", "write")
        with TestClient(create_app(gallery=gallery, analyzer=analyzer, workers=1),
                        raise_server_exceptions=False) as pg:
            h = {"X-API-Key": token}
            enrolled = pg.post(f"{API}/people/obama/faces", headers=h, files=[_file(test_images, "obama.jpg")])
            assert enrolled.status_code == 201, enrolled.text
            found = pg.post(f"{API}/identify", headers=h, files=[_file(test_images, "obama2.jpg")]).json()
            assert found["images"][0]["faces"][0]["name"] == "obama"
            _error(pg.get(f"{API}/keys", headers=h), 403, "forbidden")
            _error(pg.post(f"{API}/people", headers=h, json={"name": "obama"}), 409, "name_taken")
            sample = enrolled.json()["files"][0]["sample_id"]
            assert pg.get(f"{API}/faces/{sample}/crop", headers=h).headers["content-type"] == "image/jpeg"
    finally:
        gallery.drop()
