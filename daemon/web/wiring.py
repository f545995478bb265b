"""The console beside a running Daemon (`voiced run --web HOST:PORT`, or `web.enabled`).

Built only from the Daemon's public parts: its stages (the same Responder, so typed and spoken
turns share intents and memory; its TTS and ASR) and its on_turn_end hook (finished turns). The
console keeps a PersonaHolder of its own for the editor; the daemon's watcher picks the saved file
up within its poll interval. Live state and microphone level come from Daemon.on_state and
Daemon.on_frame; the console's model calls queue on the daemon's own workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from daemon.config import Settings, WebSettings
from daemon.errors import ConfigError
from daemon.service import Daemon, PersonaHolder
from daemon.turn.record import TurnRecord
from daemon.web.app import create_console
from daemon.web.backend import DaemonConsole
from daemon.web.hub import ConsoleTap, EventHub
from daemon.web.security import Guard, is_loopback, load_token
from daemon.web.server import ConsoleServer

log = logging.getLogger(__name__)


def parse_address(text: str, default: WebSettings) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, HOST or :PORT; what is left out comes from `default`."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if port and not port.isdigit():
        raise ConfigError("--web", "", f"{text!r} is not HOST:PORT")
    return host or default.host, int(port) if port else default.port


def token_path(settings: Settings, state_dir: Path) -> Path:
    web = settings.daemon.web
    if web.token_file:
        return (settings.config_path.parent / web.token_file).expanduser()
    return state_dir / "console-token"


def tap_turns(daemon: Daemon, tap: ConsoleTap) -> None:
    earlier = daemon.on_turn_end

    def ended(turn: TurnRecord) -> None:
        tap.turn(turn.to_json())
        if earlier is not None:
            earlier(turn)

    daemon.on_turn_end = ended


async def run_with_console(
    daemon: Daemon, address: tuple[str, int], token_file: Path, turn_log: Path | None
) -> int:
    """daemon.run() with the console served beside it; a console that cannot start is logged
    and the daemon runs on without it (the box must keep answering)."""
    host, port = address
    hub = EventHub()
    tap = ConsoleTap(hub)
    tap_turns(daemon, tap)
    daemon.on_state = lambda state: tap.state(str(state))
    daemon.on_frame = tap.frame
    persona = PersonaHolder(daemon.settings)
    stages = daemon.stages
    backend = DaemonConsole(
        daemon.settings,
        stages.responder,
        stages.tts,
        stages.asr,
        persona,
        persona.reload,
        hub,
        turn_log,
        run_tts=daemon.workers.tts.run,  # the daemon's own model threads: one model, one thread
        run_asr=daemon.workers.asr.run,
    )
    server = ConsoleServer(create_console(backend, Guard(load_token(token_file), host)), host, port)
    serving = asyncio.create_task(server.serve())
    await server.ready.wait()
    if server.started:
        where = "" if is_loopback(host) else "; every request needs the token"
        url = f"http://{host}:{server.port}/"
        log.info("web console on %s (token in %s%s)", url, token_file, where)
    else:
        log.error("web console could not listen on %s:%d; running without it", host, port)
    try:
        return await daemon.run()
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 2.0)
