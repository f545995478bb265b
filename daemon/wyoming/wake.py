"""Wake word detection over Wyoming: `detect`, audio-start, chunks -> `detection` per hit, and
`not-detected` after audio-stop if there was none.

Each stream gets a detector of its own from a small pool (openWakeWord keeps audio state), held
while the stream runs; the stream must keep pace with real time or it is dropped (Connection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wyoming.wake import Detection, NotDetected

from daemon.audio.frames import FRAME_SAMPLES, Reframer
from daemon.wake.base import WakeDetector
from daemon.wyoming.audio import Incoming
from daemon.wyoming.lanes import Pool

if TYPE_CHECKING:
    from daemon.wyoming.handler import Connection

__all__ = ["WakeJob"]


class WakeJob:
    def __init__(self, conn: Connection, pool: Pool[WakeDetector], names: list[str] | None) -> None:
        self.conn, self.pool = conn, pool
        self.names = names
        self.detector: WakeDetector | None = None
        self.incoming = Incoming()
        self.reframer = Reframer(FRAME_SAMPLES)
        self.hits = 0

    async def audio_start(self, data: dict) -> None:
        await self._begin()

    async def _begin(self) -> None:
        if self.detector is not None:
            return
        detector = await self.pool.take()
        self.detector = detector
        self.conn.hold_model()
        await self.pool.submit(detector.reset)

    async def audio_chunk(self, data: dict, payload: bytes | None) -> None:
        await self._begin()
        samples = self.incoming.convert(data, payload)
        self.conn.audio_received(self.incoming.seconds)
        assert self.detector is not None
        for frame in self.reframer.push(samples):
            try:
                hit = await self.pool.submit(self.detector.process, frame.samples)
            except Exception:
                self._broken()
                raise
            if hit is not None:
                await self._detected(frame.end)

    def _broken(self) -> None:
        """A detector that raised is not given back: the next stream gets a fresh one."""
        self.detector = None
        self.pool.discard()
        self.conn.release_model()

    async def _detected(self, at_seconds: float) -> None:
        assert self.detector is not None
        self.hits += 1
        timestamp = round(at_seconds * 1000)
        await self.conn.write(Detection(name=self.detector.name, timestamp=timestamp).event())
        self.conn.log_done("wake", f"name={self.detector.name} at={at_seconds:.2f}s")
        await self.pool.submit(self.detector.reset)

    async def audio_stop(self) -> None:
        if not self.hits:
            await self.conn.write(NotDetected().event())
        self._let_go()
        self.incoming = Incoming()
        self.reframer = Reframer(FRAME_SAMPLES)
        self.hits = 0

    def _let_go(self) -> None:
        if self.detector is not None:
            self.pool.give_back(self.detector)
            self.detector = None
            self.conn.release_model()

    async def close(self) -> None:
        self._let_go()
