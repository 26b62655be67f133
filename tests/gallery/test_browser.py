"""The gallery in a real headless Chromium (Debian's chromium and chromium-driver, which
``scripts/setup.sh --test`` installs): from the live server and from file://, a room's wall,
the lightbox driven by the keyboard, and "paint a new one". Saves a screenshot as an artefact
(``$KERAS_GANS_TEST_ARTIFACTS``, default ``test-artifacts/`` in the repository)."""
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("KERAS_GANS_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (bash scripts/setup.sh --test installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # both paths given: Selenium Manager downloads nothing
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                 "--allow-file-access-from-files"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(built_site, gallery_runs):
    uvicorn = pytest.importorskip("uvicorn")
    from keras_gans.gallery.server import create_app

    app = create_app(built_site, [gallery_runs["styled"], gallery_runs["plain"]])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    assert instance.started, "the gallery server did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def _wait(driver, condition, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def _check_wall_and_lightbox(driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    paintings = driver.find_elements(By.CSS_SELECTOR, "[data-lightbox-wall] a.painting")
    assert len(paintings) == 4
    _wait(driver, lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.wall img')).every(i => i.complete && i.naturalWidth > 0)"))
    dialog = driver.find_element(By.CSS_SELECTOR, "dialog[data-lightbox]")
    paintings[0].send_keys(Keys.ENTER)  # keyboard only: focus a painting, Enter opens it
    _wait(driver, lambda d: dialog.get_attribute("open") is not None)
    caption = driver.find_element(By.CSS_SELECTOR, "[data-lightbox-caption]")
    assert "seed 0" in caption.text
    _wait(driver, lambda d: d.execute_script("return document.querySelector('[data-lightbox-image]').naturalWidth") == 16)
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    _wait(driver, lambda d: "seed 1" in caption.text)
    assert driver.execute_script("return location.hash") == "#seed000001-psi0.70"  # the permalink
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    _wait(driver, lambda d: dialog.get_attribute("open") is None)
    # Focus goes back to the painting last shown on the wall.
    _wait(driver, lambda d: d.switch_to.active_element.get_attribute("data-key") == "seed000001-psi0.70", timeout=10)


def test_the_gallery_from_the_live_server(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server + "/index.html")
    assert "AI Art Gallery" in browser.title
    assert len(browser.find_elements(By.CSS_SELECTOR, ".wing-card")) == 2
    browser.get(server + "/styled/room-red-sky.html")
    _check_wall_and_lightbox(browser)

    # "Paint a new one": a seed no wall shows; the picture arrives from /api/paint.
    seed = browser.find_element(By.CSS_SELECTOR, "[data-paint-form] input[name=seed]")
    seed.clear()
    seed.send_keys("4242")
    browser.find_element(By.CSS_SELECTOR, "[data-paint-form] button[type=submit]").click()
    _wait(browser, lambda d: d.execute_script(
        "var i = document.querySelector('[data-paint-image]'); return i.src.startsWith('blob:') && i.complete && i.naturalWidth === 16"))
    assert "seed 4242" in browser.find_element(By.CSS_SELECTOR, ".paint-status").text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get(server + "/styled/room-red-sky.html#seed000002-psi0.70")  # a permalink opens its painting
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "dialog[data-lightbox]").get_attribute("open") is not None)
    browser.save_screenshot(str(ARTIFACTS / "gallery-lightbox.png"))
    browser.get(server + "/styled/index.html")
    browser.save_screenshot(str(ARTIFACTS / "gallery-wing.png"))
    assert (ARTIFACTS / "gallery-lightbox.png").stat().st_size > 0


def test_the_gallery_from_file_urls(browser, built_site):
    from selenium.webdriver.common.by import By

    browser.get((built_site / "index.html").as_uri())
    assert len(browser.find_elements(By.CSS_SELECTOR, ".wing-card")) == 2
    browser.get((built_site / "styled" / "room-blue-sea.html").as_uri())
    _check_wall_and_lightbox(browser)
    # Without the server there is nothing to paint with: the form says so instead of failing.
    assert not browser.find_element(By.CSS_SELECTOR, "[data-paint-form]").is_displayed()
    assert "live server" in browser.find_element(By.CSS_SELECTOR, ".paint-offline").text
    browser.get((built_site / "styled" / "in-between.html").as_uri())
    _wait(browser, lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.extras img')).every(i => i.complete && i.naturalWidth > 0)"))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".extras img")) == 4
