"""The web page in a real browser: headless Chromium (Debian's, driven by Playwright) against a real ``facerec
serve`` on 127.0.0.1. It signs in, enrolls real photos, opens, renames, merges and deletes people, recognises and
clusters photos, manages keys, and checks what the page shows; screenshots of the main screens go to
``docs/screenshots/`` (at desktop and phone width)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
pytest.importorskip("uvicorn")

from facerec.gallery import open_gallery
from facerec.gallery.keys import create_key
from service_support import ROOT, Server, running_server

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("web")
    gallery = folder / "gallery.sqlite"
    with open_gallery(gallery) as g:
        keys = {role: create_key(g, f"{role}-user", role)[1] for role in ("read", "write", "admin")}
    with running_server(gallery, folder / "server.log", "--workers", "2") as server:
        yield server, keys


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash tools/setup_chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _page(browser: Any, server: Server, key: str, *, width: int = 1200, height: int = 860) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(120_000)
    page.goto(server.url + "/")
    page.fill("#signin-key", key)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#view-people:not([hidden])")
    return page


def _shot(page: Any, name: str) -> None:
    import io

    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(SHOTS / f"{name}.png", optimize=True)


def test_sign_in_refuses_a_bad_key(browser: Any, served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#signin-key", "frk_not-a-key")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "not valid" in page.inner_text("#signin-error")
    assert page.is_hidden("#view-people")
    page.close()


def test_enroll_browse_recognise_and_manage(browser: Any, served: tuple[Server, dict[str, str]],
                                           test_images: Path) -> None:
    server, keys = served
    page = _page(browser, server, keys["admin"])
    # add a person and drop several photos: one outcome per photo
    page.fill("#add-name", "Barack Obama")
    page.set_input_files("#add-files", [str(test_images / n) for n in ("obama.jpg", "obama2.jpg", "biden.jpg")])
    page.click("#add-form button[type=submit]")
    page.wait_for_selector("#add-outcomes li >> nth=2")
    outcomes = page.locator("#add-outcomes li")
    assert [outcomes.nth(i).get_attribute("data-status") for i in range(3)] == ["enrolled"] * 3
    page.fill("#add-name", "Joe Biden")
    page.set_input_files("#add-files", [str(test_images / "biden.jpg"), str(test_images / "obama3.jpg")])
    page.click("#add-form button[type=submit]")
    page.wait_for_selector(".person[data-name='Joe Biden']")
    # the grid: thumbnails and counts
    cards = page.locator(".person")
    assert cards.count() == 2
    assert "3 faces" in page.inner_text(".person[data-name='Barack Obama']")
    page.wait_for_function("() => [...document.querySelectorAll('.person img')].every(i => i.complete && "
                           "i.naturalWidth > 0)")
    _shot(page, "people")
    # the person page: remove the wrongly enrolled biden photo from "Barack Obama"
    page.click(".person[data-name='Barack Obama']")
    page.wait_for_selector("#view-person:not([hidden]) .face >> nth=2")
    assert page.inner_text("#person-name") == "Barack Obama"
    page.wait_for_function("() => [...document.querySelectorAll('.face img')].every(i => i.complete && "
                           "i.naturalWidth > 0)")
    _shot(page, "person")
    page.locator(".face").nth(2).locator("button").click()
    page.wait_for_selector("#flash:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('.face').length === 2")
    # rename
    page.fill("#rename-name", "Obama")
    page.click("#rename-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('person-name').textContent === 'Obama'")
    page.wait_for_function("() => document.getElementById('flash').textContent === 'Renamed to Obama.'")
    # recognise a photo: boxes drawn on the canvas, names in the table beside it
    page.click("nav a[data-view=recognise]")
    page.set_input_files("#recognise-file", str(test_images / "obama3.jpg"))
    page.click("#recognise-form button[type=submit]")
    page.wait_for_selector("#recognise-result:not([hidden])")
    rows = page.locator("#recognise-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-name") == "Joe Biden"  # obama3 was enrolled as Biden
    page.set_input_files("#recognise-file", str(test_images / "obama_partial_face2.jpg"))
    page.click("#recognise-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#recognise-table tbody tr')?.dataset.name === 'Obama'")
    assert "Obama" in page.inner_text("#recognise-table tbody")
    width = page.evaluate("document.getElementById('recognise-canvas').width")
    assert width > 100
    green = page.evaluate("""() => { const c = document.getElementById('recognise-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 30 && d[i + 1] > 140 && d[i + 2] < 30) n++; return n; }""")
    assert green > 200  # the green box of a known face is drawn
    _shot(page, "recognise")
    # merge "Joe Biden" (who holds an Obama photo) into "Obama", with the confirmation-free merge form
    page.goto(server.url + "/#/person/Joe%20Biden")
    page.wait_for_selector("#view-person:not([hidden])")
    page.wait_for_function("() => document.getElementById('person-name').textContent === 'Joe Biden'")
    page.select_option("#merge-target", "Obama")
    page.click("#merge-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('person-name').textContent === 'Obama'")
    page.wait_for_function("() => document.querySelectorAll('.face').length === 4")
    # cluster an upload and name a cluster
    page.click("nav a[data-view=cluster]")
    page.set_input_files("#cluster-files", [str(test_images / n) for n in
                                            ("obama.jpg", "biden.jpg", "obama2.jpg", "obama_partial_face.jpg")])
    page.click("#cluster-form button[type=submit]")
    page.wait_for_selector(".cluster >> nth=1")
    sizes = sorted(int(page.locator(".cluster").nth(i).get_attribute("data-size")) for i in range(2))
    assert sizes == [1, 3]
    page.wait_for_function("() => [...document.querySelectorAll('.cluster img')].every(i => i.complete && "
                           "i.naturalWidth > 0)")
    _shot(page, "cluster")
    single = page.locator(".cluster[data-size='1']")
    single.locator("input").fill("Biden")
    single.locator("button").click()
    page.wait_for_function("() => document.querySelector(\".cluster[data-size='1'] .hint\").textContent"
                           ".includes('Enrolled 1')")
    # delete with a confirmation
    page.goto(server.url + "/#/person/Biden")
    page.wait_for_function("() => document.getElementById('person-name').textContent === 'Biden'")
    page.click("#delete-person")
    assert "cannot be undone" in page.inner_text("#delete-question")
    page.click("#delete-no")
    assert page.is_hidden("#delete-confirm")
    page.click("#delete-person")
    page.click("#delete-yes")
    page.wait_for_selector("#view-people:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('.person').length === 1 && "
                           "document.querySelector(\".person[data-name='Obama']\")")
    page.wait_for_function("() => document.getElementById('flash').textContent === 'Deleted Biden.'")
    # keys: make one (shown once), revoke it
    page.click("nav a[data-view=keys]")
    page.wait_for_selector("#keys-table tbody tr[data-key='admin-user']")
    page.fill("#key-name", "kiosk")
    page.select_option("#key-role", "read")
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-value")
    made = page.inner_text("#key-value")
    assert made.startswith("frk_")
    page.wait_for_selector("#keys-table tbody tr[data-key='kiosk']")
    assert made not in page.inner_text("#keys-table")
    _shot(page, "keys")
    page.locator("#keys-table tbody tr[data-key='kiosk'] button").click()
    page.wait_for_function("() => !document.querySelector(\"#keys-table tr[data-key='kiosk']\")")
    page.close()


def test_read_key_sees_but_cannot_change(browser: Any, served: tuple[Server, dict[str, str]]) -> None:
    server, keys = served
    page = _page(browser, server, keys["read"])
    assert page.is_hidden("#add-form") and page.is_hidden("#nav-keys")
    assert "read-user (read)" in page.inner_text("#who")
    page.close()


def test_phone_width_is_tidy(browser: Any, served: tuple[Server, dict[str, str]], test_images: Path) -> None:
    server, keys = served
    page = _page(browser, server, keys["write"], width=390, height=844)
    page.wait_for_selector(".person")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 390, f"the page scrolls sideways at phone width ({scroll} px)"
    columns = page.evaluate("getComputedStyle(document.getElementById('people-grid')).gridTemplateColumns"
                            ".split(' ').length")
    assert columns >= 3
    _shot(page, "people-phone")
    page.click("nav a[data-view=recognise]")
    page.set_input_files("#recognise-file", str(test_images / "obama2.jpg"))
    page.click("#recognise-form button[type=submit]")
    page.wait_for_selector("#recognise-result:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "recognise-phone")
    page.close()


def test_dropping_photos_enrolls_them_with_an_outcome_each(browser: Any, served: tuple[Server, dict[str, str]],
                                                           test_images: Path) -> None:
    import base64

    server, keys = served
    page = _page(browser, server, keys["write"])
    page.fill("#add-name", "Dropped")
    files = [("obama2.jpg", (test_images / "obama2.jpg").read_bytes(), "image/jpeg"),
             ("notes.jpg", b"not a photo at all", "image/jpeg")]
    page.evaluate("""(files) => {
        const transfer = new DataTransfer();
        for (const [name, data, type] of files) {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], name, { type }));
        }
        document.getElementById('add-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer,
                                                                                 bubbles: true }));
    }""", [[n, base64.b64encode(d).decode(), t] for n, d, t in files])
    assert page.inner_text("#add-chosen") == "obama2.jpg, notes.jpg"
    page.click("#add-form button[type=submit]")
    page.wait_for_selector("#add-outcomes li >> nth=1")
    items = page.locator("#add-outcomes li")
    assert [items.nth(i).get_attribute("data-status") for i in range(2)] == ["enrolled", "unreadable"]
    assert "not an image" in items.nth(1).inner_text()
    page.wait_for_selector(".person[data-name='Dropped']")
    assert "1 face" in page.inner_text(".person[data-name='Dropped']")
    page.close()
