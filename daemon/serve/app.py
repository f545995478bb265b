"""The ASGI app of `voiced serve`: OpenAI-compatible transcription and speech for many boxes.

Endpoints: POST /v1/audio/transcriptions (multipart, FunASR or whatever asr.backend names),
POST /v1/audio/speech (JSON, streamed pcm or wav from tts.backend), GET /v1/models, GET /health.

- The models are loaded once (`load_engines`) before the app is built; each runs on its own named
  Worker (daemon/worker.py: serve-asr, serve-tts), one request at a time (neither FunASR nor
  ChatTTS is thread-safe), so the event loop only ever parses, checks and streams. A request
  waits in its model's queue; one whose client left before its turn is skipped. A speech stream
  hands its chunks to the loop without waiting for the client, so a slow reader never holds the
  model.
- At most serve.capacity requests are admitted at once (running or waiting for a model); beyond
  that the answer is 503 with Retry-After at once, so a burst is never queued without bound.
- Every refusal is a 4xx JSON error in OpenAI's shape ({"error": {"message", "type", "code"}}).
- API keys (Bearer) are compared in constant time and never logged.
- A request's body is read (within serve.body_seconds, else 408) before it takes a capacity
  slot, so a key holder who trickles bodies cannot hold every slot. JSON nested too deep and
  text with nothing to speak are 400s; error messages never carry Python object addresses;
  new `seed-N` voices are bounded by serve.max_seed_voices (each is stored as a file).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import struct
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from daemon.asr.base import Transcriber, Transcript
from daemon.audio.frames import AudioChunk, float_to_int16, resample
from daemon.config import ChatttsVoice, Persona, ServeSettings, Settings
from daemon.errors import ErrorCode, StageError
from daemon.serve.audio import BadAudio, decode_audio
from daemon.tts.base import Synthesizer
from daemon.worker import Worker, WorkerBusy

__all__ = ["Engines", "close_app", "create_app", "load_engines"]

log = logging.getLogger("daemon.serve")
T = TypeVar("T")
_SEED_VOICE = re.compile(r"^seed-(\d{1,9})$")
MIN_SPEAKER_CHARS = 64  # ChatTTS speaker strings are long; OpenAI voice names are not
SPEECH_FORMATS = ("pcm", "wav")
STOP_WAIT_SECONDS = 10.0  # for an abandoned sentence's worker to stop, before the next one


@dataclass
class Engines:
    """The loaded models. Each is used on its own worker only (ServeWorkers); the lock is held
    around each use as well, so in-process callers (benchmarks, tests) can share the models."""

    transcriber: Transcriber
    synthesizer: Synthesizer
    persona: Persona
    asr_lock: threading.Lock = field(default_factory=threading.Lock)
    tts_lock: threading.Lock = field(default_factory=threading.Lock)


def load_engines(settings: Settings) -> Engines:
    """Load the configured ASR and TTS once (slow), as `voiced run` would."""
    from daemon.asr import make_transcriber
    from daemon.tts import make_synthesizer

    hotwords = [settings.persona.name, *settings.persona.hotwords]
    models = settings.models_dir()
    transcriber = make_transcriber(settings.daemon.asr, models, hotwords)
    synthesizer = make_synthesizer(settings.daemon.tts, models)
    return Engines(transcriber, synthesizer, settings.persona)


class ClientGone(Exception):
    """The client closed the connection while its request waited for a model."""


class ApiError(Exception):
    """A refusal that becomes a JSON error response."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        body = {"error": {"message": scrub(self.message), "type": kind, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


@dataclass
class ServeWorkers:
    """One thread per model kind, as the daemon's StageWorkers. Their queues hold every admitted
    request (serve.capacity) and as many abandoned ones that have not been skipped yet."""

    asr: Worker
    tts: Worker

    @classmethod
    def create(cls, capacity: int) -> ServeWorkers:
        return cls(
            Worker("serve-asr", max_queue=2 * capacity), Worker("serve-tts", max_queue=2 * capacity)
        )

    def close(self, timeout: float = 0.0) -> None:
        for worker in (self.asr, self.tts):
            worker.close(timeout)


class Admission:
    """At most `capacity` requests inside at once; the rest are turned away, not queued."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.active = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.active >= self.capacity:
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


@dataclass
class Timing:
    """What the per-request log line reports."""

    started: float = field(default_factory=time.monotonic)
    wait: float = 0.0
    run: float = 0.0
    detail: str = ""

    def line(self, request: Request, status: int) -> str:
        total = time.monotonic() - self.started
        client = request.client.host if request.client else "-"
        return (
            f"{request.method} {request.url.path} {status} from={client} wait={self.wait:.3f}s "
            f"run={self.run:.3f}s total={total:.3f}s {self.detail}"
        ).rstrip()


class Service:
    """The handlers, with the engines, limits and keys they share."""

    def __init__(
        self, engines: Engines, serve: ServeSettings, seed_folder: Path | None = None
    ) -> None:
        self.engines = engines
        self.limits = serve
        self.keys = serve.api_keys()
        self.admission = Admission(serve.capacity)
        self.workers = ServeWorkers.create(serve.capacity)
        self.seeds = SeedVoices(serve.max_seed_voices, seed_folder)
        if not self.keys:
            log.warning("no API keys configured (serve.api_keys_env/_file): the server is open")

    # --- checks shared by the endpoints ---

    def authorize(self, request: Request) -> None:
        if not self.keys:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing_api_key", "an API key is required (Authorization: Bearer)")
        given = token.strip().encode()
        if not any(hmac.compare_digest(given, key.encode()) for key in self.keys):
            raise ApiError(401, "invalid_api_key", "the API key is not valid")

    def admit(self) -> None:
        if not self.admission.enter():
            raise self.busy()

    def busy(self) -> ApiError:
        retry = str(self.limits.retry_after_seconds)
        return ApiError(503, "busy", "the server is busy; retry later", {"Retry-After": retry})

    async def body(self, request: Request) -> bytes:
        """The request body, refused with 413 as soon as it is over the limit and with 408 if it
        has not all come within serve.body_seconds."""
        limit = self.limits.max_request_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, "request_too_large", f"the request is over {limit} bytes")
        parts, size = [], 0
        try:
            async with asyncio.timeout(self.limits.body_seconds):
                async for part in request.stream():
                    size += len(part)
                    if size > limit:
                        raise ApiError(
                            413, "request_too_large", f"the request is over {limit} bytes"
                        )
                    parts.append(part)
        except TimeoutError:
            seconds = self.limits.body_seconds
            raise ApiError(
                408, "request_timeout", f"the body did not arrive within {seconds:g} s"
            ) from None
        return b"".join(parts)

    async def guarded(
        self, request: Request, handler: Callable[[Request, bytes, Timing], Any]
    ) -> Response:
        """Authorization, the body, admission, errors and the log line around one inference
        request. The body is read before admission: a slow sender waits outside the capacity.

        The handler may hand the admission slot over to a streamed response (it returns
        `(response, True)`), which then leaves when its stream ends.
        """
        timing = Timing()
        handed_over = False
        status = 500
        try:
            self.authorize(request)
            body = await self.body(request)
            self.admit()
            try:
                response, handed_over = await handler(request, body, timing)
            finally:
                if not handed_over:
                    self.admission.leave()
            status = response.status_code
            return response
        except ApiError as err:
            status = err.status
            return err.response()
        except ClientGone:
            status = 499  # as nginx logs it: the client closed the request; nobody to answer
            return Response(status_code=499)
        except StageError as err:
            log.warning("%s %s: %s", request.method, request.url.path, err)
            status = 500
            return ApiError(500, str(err.code), err.detail).response()
        except Exception as exc:  # a library's own error: one bad request, not a dead server
            log.exception("%s %s failed", request.method, request.url.path)
            status = 500
            message = f"internal error ({type(exc).__name__}); the server log has the details"
            return ApiError(500, "internal_error", message).response()
        finally:
            if not handed_over:
                log.info("%s", timing.line(request, status))

    # --- endpoints ---

    async def transcriptions(self, request: Request) -> Response:
        return await self.guarded(request, self._transcribe)

    async def speech(self, request: Request) -> Response:
        return await self.guarded(request, self._speak)

    async def models(self, request: Request) -> Response:
        try:
            self.authorize(request)
        except ApiError as err:
            return err.response()
        names = [self.engines.transcriber.name, self.engines.synthesizer.name]
        data = [{"id": name, "object": "model", "owned_by": "voiced"} for name in names]
        return JSONResponse({"object": "list", "data": data})

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "asr": self.engines.transcriber.name,
                "tts": self.engines.synthesizer.name,
                "active": self.admission.active,
                "capacity": self.admission.capacity,
            }
        )

    # --- transcription ---

    async def _transcribe(
        self, request: Request, body: bytes, timing: Timing
    ) -> tuple[Response, bool]:
        form = await _form(request, body, self.limits.max_request_bytes)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(400, "missing_file", "the form has no 'file' field with audio")
        try:
            samples = decode_audio(await upload.read(), self.limits.max_audio_seconds)
        except BadAudio as err:
            raise ApiError(400, err.code, str(err)) from None
        timing.detail = f"audio={len(samples) / 16000:.2f}s"
        try:
            queued = time.monotonic()
            call = self.workers.asr.run(self._run_asr, samples, timing, queued)
            transcript = await until_gone(request, call)
        except WorkerBusy:  # abandoned requests still fill the queue
            raise self.busy() from None
        timing.detail += f" chars={len(transcript.text)}"
        if str(form.get("response_format") or "json") == "text":
            return PlainTextResponse(transcript.text), False
        answer: dict[str, Any] = {"text": transcript.text}
        if transcript.language:
            answer["language"] = transcript.language
        return JSONResponse(answer), False

    def _run_asr(self, samples: np.ndarray, timing: Timing, queued: float) -> Transcript:
        with self.engines.asr_lock:
            started = time.monotonic()
            timing.wait = started - queued
            try:
                session = self.engines.transcriber.start()
                session.feed(samples)
                return session.finish()
            finally:
                timing.run = time.monotonic() - started

    # --- speech ---

    async def _speak(self, request: Request, body: bytes, timing: Timing) -> tuple[Response, bool]:
        text, persona, form = self._speech_request(body)
        timing.detail = f"chars={len(text)}"
        producer = _Producer(self.engines, text, persona, timing, asyncio.get_running_loop())
        try:
            producer.start(self.workers.tts)
        except WorkerBusy:
            raise self.busy() from None
        try:
            first = await until_gone(request, producer.first())
        except BaseException:  # an error, or the client left while waiting for the voice
            producer.stop()
            raise
        rate = first.sample_rate
        headers = {"X-Sample-Rate": str(rate)}
        media = "audio/wav" if form == "wav" else "audio/pcm"
        stream = self._stream(request, producer, first, form, timing)
        return StreamingResponse(stream, media_type=media, headers=headers), True

    def _speech_request(self, raw: bytes) -> tuple[str, Persona, str]:
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_json", "the body is not JSON") from None
        except RecursionError:
            raise ApiError(400, "invalid_json", "the JSON is nested too deep") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the body must be a JSON object")
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "empty_input", "'input' must be non-empty text")
        if len(text) > self.limits.max_text_chars:
            limit = self.limits.max_text_chars
            raise ApiError(400, "input_too_long", f"'input' is over {limit} characters")
        if not speakable(text):
            raise ApiError(
                400, "unspeakable_input", "'input' has no letters or digits to speak"
            )
        form = body.get("response_format") or "pcm"
        if form not in SPEECH_FORMATS:
            allowed = ", ".join(SPEECH_FORMATS)
            raise ApiError(400, "unsupported_format", f"response_format must be one of {allowed}")
        voice = body.get("voice")
        self.seeds.admit(voice)
        persona = persona_for(self.engines.persona, voice, body.get("language"))
        return text.strip(), persona, form

    async def _stream(
        self, request: Request, producer: _Producer, first: AudioChunk, form: str, timing: Timing
    ) -> AsyncIterator[bytes]:
        status = 200
        try:
            if form == "wav":
                yield wav_header(first.sample_rate)
            yield pcm_bytes(first, first.sample_rate)
            async for chunk in producer.rest():
                yield pcm_bytes(chunk, first.sample_rate)
        except StageError as err:  # mid-stream: the status is sent already; end the stream
            status = 500
            log.warning("%s %s: %s", request.method, request.url.path, err)
        finally:
            producer.stop()
            self.admission.leave()
            log.info("%s", timing.line(request, status))


async def until_gone(request: Request, waiting: Awaitable[T]) -> T:
    """`waiting`'s result, unless the client leaves first: then it is cancelled (a model call
    still in its worker's queue is skipped) and ClientGone is raised."""
    work = asyncio.ensure_future(waiting)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if work.done():
        return work.result()
    work.cancel()
    raise ClientGone


async def _disconnected(request: Request) -> None:
    """Returns when the client has closed the connection (its body is read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


_ADDRESS = re.compile(r"\s*at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")


def scrub(message: str) -> str:
    """No Python object addresses (or other long hex) in what a client is told."""
    return _ADDRESS.sub("", message)


def speakable(text: str) -> bool:
    """Whether `text` has anything a voice can say (a letter or a digit in any script)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


class SeedVoices:
    """Bounds the `seed-N` voices a server keeps: each new seed is drawn once and stored as a
    file (daemon/tts/chattts.py), so without a bound every request could add one."""

    def __init__(self, limit: int, folder: Path | None) -> None:
        self.limit = limit
        self.folder = folder
        self._seen: set[int] = set()
        self._lock = threading.Lock()

    def admit(self, voice: object) -> None:
        """ApiError 400 for a seed voice that would be one too many."""
        if not isinstance(voice, str) or not (match := _SEED_VOICE.match(voice)):
            return
        seed = int(match[1])
        with self._lock:
            if seed in self._seen or self._stored(seed):
                self._seen.add(seed)
                return
            if len(self._seen | self._stored_seeds()) >= self.limit:
                raise ApiError(
                    400,
                    "too_many_voices",
                    f"this server keeps at most {self.limit} seed voices; use one of them or "
                    "a speaker string",
                )
            self._seen.add(seed)

    def _stored(self, seed: int) -> bool:
        return self.folder is not None and (self.folder / f"seed-{seed}.txt").is_file()

    def _stored_seeds(self) -> set[int]:
        if self.folder is None or not self.folder.is_dir():
            return set()
        found = (_SEED_VOICE.match(p.stem) for p in self.folder.glob("seed-*.txt"))
        return {int(m[1]) for m in found if m}


def persona_for(base: Persona, voice: object, language: object) -> Persona:
    """The server's persona with the request's voice (seed-N or a ChatTTS speaker string)."""
    chattts = base.voice.chattts
    if isinstance(voice, str) and (match := _SEED_VOICE.match(voice)):
        chattts = ChatttsVoice(**{**chattts.model_dump(), "speaker": None, "seed": int(match[1])})
    elif isinstance(voice, str) and len(voice) >= MIN_SPEAKER_CHARS:
        chattts = ChatttsVoice(**{**chattts.model_dump(), "speaker": voice})
    update: dict[str, Any] = {"voice": base.voice.model_copy(update={"chattts": chattts})}
    if language in ("en", "zh"):
        update["language"] = language
    return base.model_copy(update=update)


def pcm_bytes(chunk: AudioChunk, rate: int) -> bytes:
    """16-bit little-endian mono at `rate` (a fallback voice may speak at another rate)."""
    samples = resample(chunk.samples.astype(np.float32), chunk.sample_rate, rate)
    return float_to_int16(samples).astype("<i2").tobytes()


def wav_header(rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (sizes 0xFFFFFFFF)."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    unknown = 0xFFFFFFFF
    return (
        b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", unknown)
    )  # fmt: skip


async def _form(request: Request, body: bytes, limit: int) -> Any:
    """The multipart form of an already-read body (read once, under the size limit)."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "not_multipart", "send the audio as multipart/form-data ('file')")
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_part_size=limit)
    except Exception as exc:  # python-multipart raises several kinds for a malformed form
        raise ApiError(400, "invalid_form", f"the form cannot be parsed ({exc})") from None


_DONE = object()


class _Producer:
    """Runs one sentence of TTS on the TTS worker, handing chunks to the event loop as they come
    (never waiting for the client); stop() makes it quit at the next chunk (client gone, or
    stream finished), or skip its turn if it has not started."""

    def __init__(
        self,
        engines: Engines,
        text: str,
        persona: Persona,
        timing: Timing,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.engines, self.text, self.persona, self.timing = engines, text, persona, timing
        self.loop = loop
        self.items: asyncio.Queue[object] = asyncio.Queue()
        self.stopped = threading.Event()

    def start(self, worker: Worker) -> None:
        """Queue the sentence on `worker` (WorkerBusy if its queue is full)."""
        worker.submit(self._run, time.monotonic(), block=False)

    def _run(self, queued: float) -> None:
        if self.stopped.is_set():  # the client left while it waited for the model
            return
        with self.engines.tts_lock:
            started = time.monotonic()
            self.timing.wait = started - queued
            chunks = self.engines.synthesizer.synthesize(self.text, self.persona)
            try:
                for chunk in chunks:
                    if self.stopped.is_set():
                        break
                    self._put(chunk)
                self._put(_DONE)
            except Exception as exc:
                self._put(exc)
            finally:
                self._close(chunks)
                self.timing.run = time.monotonic() - started

    def _close(self, chunks: Iterator[AudioChunk]) -> None:
        """End the sentence before the next request gets the model: closing the generator stops
        the voice (the fallback wrapper cancels its worker), and its worker is waited for, so the
        next sentence finds the model free instead of going to espeak."""
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while _busy(self.engines.synthesizer) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _put(self, item: object) -> None:
        self.loop.call_soon_threadsafe(self.items.put_nowait, item)

    async def _next(self) -> AudioChunk | None:
        item = await self.items.get()
        if item is _DONE:
            return None
        if isinstance(item, StageError):
            raise item
        if isinstance(item, Exception):
            raise _tts_error(item)
        assert isinstance(item, AudioChunk)
        return item

    async def first(self) -> AudioChunk:
        chunk = await self._next()
        if chunk is None:
            raise ApiError(500, "tts-failed", "the voice produced no audio")
        return chunk

    async def rest(self) -> AsyncIterator[AudioChunk]:
        while (chunk := await self._next()) is not None:
            yield chunk

    def stop(self) -> None:
        self.stopped.set()


def _busy(synthesizer: object) -> bool:
    """Whether a wrapped voice (polish -> fallback) still runs an abandoned sentence."""
    while synthesizer is not None:
        if getattr(synthesizer, "busy", False) is True:
            return True
        synthesizer = getattr(synthesizer, "inner", None)
    return False


def _tts_error(exc: Exception) -> StageError:
    return StageError(ErrorCode.TTS_FAILED, f"{type(exc).__name__}: {exc}")


def create_app(settings: Settings, engines: Engines) -> Starlette:
    """The app around already-loaded engines (load_engines), limits from settings.daemon.serve."""
    serve = settings.daemon.serve or ServeSettings()
    service = Service(engines, serve, settings.models_dir() / "chattts" / "voices")
    routes = [
        Route("/v1/audio/transcriptions", service.transcriptions, methods=["POST"]),
        Route("/v1/audio/speech", service.speech, methods=["POST"]),
        Route("/v1/models", service.models, methods=["GET"]),
        Route("/health", service.health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.service = service
    app.state.serve_settings = serve
    return app


def close_app(app: Starlette, timeout: float = 0.0) -> None:
    """Once the server has stopped: the model workers end (a running call may finish first)."""
    service = getattr(app.state, "service", None)
    if isinstance(service, Service):
        service.workers.close(timeout)
