"""The web console in a real headless Chromium (Debian's chromium + chromium-driver, selenium),
served for real over the daemon's zero-download stages and the local test LLM server.

Screenshots are kept in out/console/ as test artifacts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fixtures.audio import PLAIN_VOICE, AudioBuilder, duration
from tests.fixtures.console import ConsoleHarness
from tests.fixtures.llm_server import LLMServer, Script

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow

SHOTS = REPO / "out" / "console"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
REPLY = "Here is a joke about ducks."


def open_browser(profile: Path, microphone: Path | None = None) -> webdriver.Chrome:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Chromium is missing: apt-get install chromium chromium-driver (scripts/setup)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
    ):
        options.add_argument(flag)
    if microphone is not None:
        options.add_argument(f"--use-file-for-fake-audio-capture={microphone}")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))


def shot(browser: webdriver.Chrome, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def wait_for(browser: webdriver.Chrome, condition, seconds: float = 20):  # type: ignore[no-untyped-def]
    return WebDriverWait(browser, seconds, poll_frequency=0.1).until(condition)


def ready(browser: webdriver.Chrome) -> None:
    wait_for(browser, lambda b: b.execute_script("return document.body.dataset.ready") == "1")


def logged_in(browser: webdriver.Chrome, console: ConsoleHarness) -> None:
    browser.get(f"{console.url}/?token={console.token}")
    ready(browser)


def type_chat(browser: webdriver.Chrome, text: str) -> None:
    browser.find_element(By.ID, "chat-input").send_keys(text)
    browser.find_element(By.ID, "chat-send").click()


def text_of(browser: webdriver.Chrome, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleHarness]:
    monkeypatch.setenv("VOICED_CONSOLE_TEST_KEY", "sk-console-never-shown-1234")
    with LLMServer(default=Script("stream", text=REPLY)) as llm:
        harness = ConsoleHarness(tmp_path / "state", llm.base_url).start()
        try:
            yield harness
        finally:
            harness.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    driver = open_browser(tmp_path / "chromium")
    try:
        yield driver
    finally:
        driver.quit()


def test_page_loads_and_follows_a_turn_driven_from_a_file(
    console: ConsoleHarness, browser: webdriver.Chrome, audio: AudioBuilder
) -> None:
    logged_in(browser, console)
    assert text_of(browser, "persona-name") == "Jarvis"
    assert "test-model" in text_of(browser, "backends")
    assert "OK llm: test-model at" in text_of(browser, "health")
    assert "sk-console-never-shown" not in browser.page_source
    shot(browser, "1-loaded")
    browser.execute_script(
        "window.seen = [];"
        "new MutationObserver(() => window.seen.push(document.getElementById('state')"
        ".dataset.state)).observe(document.getElementById('state'), {attributes: true});"
        "window.wakePeak = 0; setInterval(() => { window.wakePeak = Math.max(window.wakePeak,"
        " document.getElementById('wake').value); }, 20);"
    )
    console.drive(audio.request("what time is it", voice=PLAIN_VOICE)).result(60)
    wait_for(browser, lambda b: "It's" in text_of(b, "conversation"))
    seen = browser.execute_script("return window.seen")
    assert "recording" in seen and "speaking" in seen, seen
    assert browser.execute_script("return window.wakePeak") >= 0.5  # the live wake score met
    assert seen.index("recording") < seen.index("speaking")
    assert "p50" in text_of(browser, "latency")
    shot(browser, "2-after-a-turn")


def test_typed_chat_gets_its_reply_with_audio(
    console: ConsoleHarness, browser: webdriver.Chrome
) -> None:
    logged_in(browser, console)
    type_chat(browser, "tell me a joke")
    wait_for(browser, lambda b: REPLY in text_of(b, "conversation"))
    player = browser.find_element(By.CSS_SELECTOR, "#conversation li.chat audio")
    src = player.get_attribute("src")
    assert src and "/api/audio/" in src
    duration_s = wait_for(
        browser, lambda b: b.execute_script("return arguments[0].duration", player)
    )
    assert duration_s > 0.5, "the reply's audio plays in the browser"
    type_chat(browser, "what time is it")
    wait_for(browser, lambda b: "It's" in text_of(b, "conversation").split(REPLY)[-1])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#conversation li.chat")) == 2
    shot(browser, "3-typed-chat")


def test_persona_editor_names_the_bad_field_and_reloads_a_good_edit(
    console: ConsoleHarness, browser: webdriver.Chrome
) -> None:
    logged_in(browser, console)
    editor = browser.find_element(By.ID, "persona-text")
    original = editor.get_attribute("value")
    assert "name: Jarvis" in original

    def submit(text: str) -> None:
        browser.execute_script("arguments[0].value = arguments[1]", editor, text)
        browser.find_element(By.ID, "persona-save").click()

    submit(original.replace("language: en", "language: fr"))
    wait_for(browser, lambda b: "language" in text_of(b, "persona-message"))
    message = browser.find_element(By.ID, "persona-message")
    assert message.get_attribute("data-field") == "language"
    assert "Input should be 'en' or 'zh' (got 'fr')" in message.text
    assert console.persona.current.name == "Jarvis", "a bad edit changes nothing"
    shot(browser, "4-persona-invalid")
    # The profile's Whisper hears Mandarin as well (the persona's language goes to it), so a
    # Mandarin persona is saved; refusing one the ASR cannot hear: test_whisper_pieces.
    chinese = original.replace("name: Jarvis", "name: 小智").replace("language: en", "language: zh")
    submit(chinese)
    wait_for(browser, lambda b: "saved and reloaded: 小智 (zh)" in text_of(b, "persona-message"))
    assert "name: 小智" in console.settings.persona_path.read_text(encoding="utf-8")
    submit(original.replace("name: Jarvis", "name: Friday"))
    wait_for(browser, lambda b: "saved and reloaded: Friday (en)" in text_of(b, "persona-message"))
    assert text_of(browser, "persona-name") == "Friday"
    assert console.persona.current.name == "Friday"
    assert "name: Friday" in console.settings.persona_path.read_text(encoding="utf-8")
    type_chat(browser, "what time is it")
    wait_for(browser, lambda b: "It's" in text_of(b, "conversation"))
    shot(browser, "5-persona-saved")


def non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.200", 9))  # no packet is sent: this only picks a route
            address = sock.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.fail("this machine has no non-loopback IPv4 address to serve the console on")
    return address


def test_a_non_local_request_needs_the_token(tmp_path: Path, browser: webdriver.Chrome) -> None:
    harness = ConsoleHarness(tmp_path / "state", None, host=non_loopback_address()).start()
    try:
        browser.get(f"{harness.url}/")
        assert browser.find_element(By.ID, "token")  # the login form, not the console
        assert "Jarvis" not in browser.page_source
        browser.get(f"{harness.url}/api/persona")
        assert "401" in browser.title or "token is needed" in browser.page_source
        browser.get(f"{harness.url}/")
        shot(browser, "6-token-needed")
        browser.find_element(By.ID, "token").send_keys(harness.token)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        ready(browser)
        assert text_of(browser, "persona-name") == "Jarvis"
    finally:
        harness.stop()


def test_push_to_talk_from_the_browser_microphone(
    console: ConsoleHarness, tmp_path: Path, audio: AudioBuilder
) -> None:
    speech = audio.concat(audio.speech("what time is it", PLAIN_VOICE), audio.silence(0.5))
    microphone = tmp_path / "microphone.wav"
    shutil.copy(speech, microphone)
    browser = open_browser(tmp_path / "chromium-mic", microphone)
    try:
        logged_in(browser, console)
        talk = browser.find_element(By.ID, "talk")
        actions = webdriver.ActionChains(browser)
        actions.click_and_hold(talk).pause(duration(microphone) + 0.3).release().perform()
        wait_for(browser, lambda b: "you (talk)" in text_of(b, "conversation"), 30)
        assert "It's" in text_of(browser, "conversation"), text_of(browser, "conversation")
        shot(browser, "7-push-to-talk")
    finally:
        browser.quit()


def test_voiced_run_web_serves_the_console_beside_the_daemon(
    tmp_path: Path, audio: AudioBuilder
) -> None:
    """The real `voiced run --web`: the console answers a typed request with the daemon's own
    responder while the daemon listens to a file in real time, and the turn log is shared."""
    state = tmp_path / "state"
    quiet = audio.silence(20)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "daemon", "run", "--config", str(REPO / "config" / "voiced.yaml")]
        + ["--profile", "zero-download", "--input", str(quiet), "--realtime"]
        + ["--output", str(tmp_path / "out.wav"), "--web", "127.0.0.1:0"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "XDG_STATE_HOME": str(state)},
    )
    try:
        assert daemon.stderr is not None
        url = None
        for line in daemon.stderr:
            if found := re.search(r"web console on (http://\S+/) \(token in (\S+)\)", line):
                url, token_file = found.group(1), Path(found.group(2))
                break
        assert url, "no start-up line for the console"
        assert token_file.parent == state / "voiced"
        token = token_file.read_text().strip()
        request = urllib.request.Request(
            url + "api/chat",
            data=json.dumps({"text": "what time is it"}).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Voiced-Console": "1",
                "Authorization": f"Bearer {token}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            reply = json.load(answer)
        assert reply["source"] == "intent:time" and reply["reply"].startswith("It's")
        with urllib.request.urlopen(url + reply["audio_url"][1:], timeout=10) as clip:
            assert clip.read(4) == b"RIFF"
    finally:
        daemon.terminate()
        assert daemon.wait(10) == 0
