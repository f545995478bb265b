"""`voiced wyoming`: the configured ASR, TTS and wake word as Wyoming services on one TCP port.

One port, several programs in `info`: Home Assistant's Wyoming integration makes one entry per
host:port and adds a speech-to-text, a text-to-speech and a wake word entity for each kind of
program the `info` lists, so one port means one thing to add, one firewall rule and one mDNS
record. The services still do not share a queue: each model has its own lane (handler.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress

from daemon.config import WyomingSettings
from daemon.errors import ConfigError
from daemon.wyoming.engines import Engines
from daemon.wyoming.handler import Connection, Services
from daemon.wyoming.listener import Listener

__all__ = ["WyomingServer", "advertise", "serve_until_stopped"]

log = logging.getLogger("daemon.wyoming")


class WyomingServer:
    """`async with WyomingServer(engines, settings) as server:` serves on server.port."""

    def __init__(self, engines: Engines, settings: WyomingSettings) -> None:
        self.services = Services(engines, settings)
        self.settings = settings
        self.active = 0
        self._listener = Listener(
            settings.host, settings.port, settings.max_event_bytes, self._serve
        )

    @property
    def port(self) -> int:
        return self._listener.port

    async def __aenter__(self) -> WyomingServer:
        await self._listener.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._listener.__aexit__(*exc)
        self.services.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.active >= self.settings.max_connections:
            log.warning("wyoming: %d connections open; one more refused", self.active)
            return
        self.active += 1
        try:
            await Connection(reader, writer, self.services).run()
        finally:
            self.active -= 1


async def advertise(name: str, port: int, host: str) -> object:
    """mDNS for Home Assistant's discovery (the `zeroconf` extra); returns the announcer."""
    try:
        from wyoming.zeroconf import HomeAssistantZeroconf
    except ImportError:
        raise ConfigError(
            "voiced.yaml",
            "wyoming.zeroconf",
            "needs the zeroconf extra (pip install voiced[zeroconf])",
        ) from None
    announcer = HomeAssistantZeroconf(
        port=port, name=name, host=None if host in ("0.0.0.0", "") else host
    )
    await announcer.register_server()
    return announcer


async def serve_until_stopped(engines: Engines, settings: WyomingSettings) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with WyomingServer(engines, settings) as server:
        served = [
            line["name"]
            for kind in ("asr", "tts", "wake")
            for line in server.services.info.data[kind]
        ]
        log.info(
            "serving wyoming on tcp://%s:%s (%s)", settings.host, server.port, ", ".join(served)
        )
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "wyoming is open to the network on %s: it has no authentication", settings.host
            )
        if settings.zeroconf:
            await advertise(settings.name, server.port, settings.host)
        await stop.wait()
    log.info("wyoming stopped")
