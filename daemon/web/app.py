"""The console's HTTP side (Starlette): one page, a JSON API and a server-sent event stream.

GET  /                  the page (static/index.html; ?token=... logs in and redirects)
POST /login             form login with the token
GET  /api/summary       persona, backends, LLM (never a key), the last state
GET  /api/events        server-sent events: state, level, turn, console-turn
GET  /api/turns         the last turns from the turn log, with p50/p95 of voice-to-voice
GET  /api/health        checks: models, LLM actually answering, voices, disk
GET  /api/persona       the persona file's text
PUT  /api/persona       validate + save atomically + reload; 400 names the field
POST /api/chat          {"text"} -> the reply (and its audio at audio_url)
POST /api/talk          a WAV recording -> the transcript and the reply
GET  /api/audio/{id}    a recent reply's audio (WAV)
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daemon.errors import ConfigError
from daemon.serve.audio import BadAudio, decode_audio
from daemon.turnlog import read_turns
from daemon.web.backend import ConsoleBackend, ConsoleTurn
from daemon.web.security import COOKIE, Guard

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_CHAT_BYTES = 8_000
MAX_PERSONA_BYTES = 64_000
MAX_TALK_BYTES = 2_000_000  # ~60 s of 16 kHz 16-bit mono
MAX_TALK_SECONDS = 30.0
AUDIO_KEPT = 16  # recent replies whose audio can still be fetched
KEEPALIVE_SECONDS = 15.0
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make Origin "null" on our own forms
    "Cache-Control": "no-store",
}
Handler = Callable[[Request], Awaitable[Response]]


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, **extra}}, status)


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit` bytes (a lying Content-Length too)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ValueError("send application/json")
    data = json.loads(await read_body(request, limit))
    if not isinstance(data, dict):
        raise ValueError("send a JSON object")
    return data


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Console:
    def __init__(self, backend: ConsoleBackend, guard: Guard) -> None:
        self.backend = backend
        self.guard = guard
        self.audio: OrderedDict[int, bytes] = OrderedDict()

    # --- access ------------------------------------------------------------------------------

    def reader(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not self.guard.host_ok(request):
                return error(421, "unknown Host for this console")
            if not self.guard.may_read(request):
                return error(401, "the console token is needed (open the page with ?token=...)")
            return await handler(request)

        return guarded

    def writer(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if not self.guard.host_ok(request):
                return error(421, "unknown Host for this console")
            problem = self.guard.write_problem(request)
            if problem is not None:
                return error(403 if self.guard.authorized(request) else 401, problem)
            try:
                return await handler(request)
            except TooLarge:
                return error(413, "request too large")
            except (ValueError, UnicodeDecodeError) as exc:
                return error(400, f"bad request: {exc}")

        return guarded

    # --- pages -------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        offered = request.query_params.get("token")
        if offered is not None:
            return self._login(offered)
        if not self.guard.host_ok(request):
            return error(421, "unknown Host for this console")
        if not self.guard.may_read(request):
            return FileResponse(STATIC / "login.html", status_code=401)
        return FileResponse(STATIC / "index.html")

    async def login_form(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
            return error(403, "cross-site request refused")
        form = await request.form(max_files=0, max_fields=2)
        token = form.get("token")
        return self._login(token if isinstance(token, str) else "")

    def _login(self, offered: str) -> Response:
        if not self.guard.token_ok(offered):
            return HTMLResponse("wrong token", 401)
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, offered, httponly=True, samesite="strict", path="/")
        return response

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("console.js", "console.css"):
            return error(404, "not found")
        return FileResponse(STATIC / name)

    # --- reading -----------------------------------------------------------------------------

    async def summary(self, request: Request) -> Response:
        data = self.backend.summary()
        data["state"] = self.backend.hub.last_state
        data["can_write"] = self.guard.authorized(request)
        return JSONResponse(data)

    async def events(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            with self.backend.hub.subscribe() as queue:
                yield f"event: state\ndata: {json.dumps(self.backend.hub.last_state)}\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    yield event.sse()

        return StreamingResponse(stream(), media_type="text/event-stream")

    async def turns(self, request: Request) -> Response:
        last = min(max(int(request.query_params.get("last", "50") or 50), 1), 500)
        path = self.backend.turn_log()
        turns = read_turns(path, last) if path else []
        v2v = [
            t["timings"]["voice_to_voice_ms"]
            for t in turns
            if isinstance(t.get("timings"), dict) and t["timings"].get("voice_to_voice_ms")
        ]
        return JSONResponse(
            {
                "turns": turns,
                "voice_to_voice_ms": {
                    "p50": percentile(v2v, 0.5),
                    "p95": percentile(v2v, 0.95),
                    "n": len(v2v),
                },
            }
        )

    async def health(self, request: Request) -> Response:
        checks = await self.backend.health()
        return JSONResponse(
            {"checks": [{"status": c.status, "name": c.name, "text": c.text} for c in checks]}
        )

    async def persona_text(self, request: Request) -> Response:
        store = self.backend.persona
        return JSONResponse({"path": str(store.path), "text": store.read()})

    async def audio_clip(self, request: Request) -> Response:
        wav = self.audio.get(int(request.path_params["id"]))
        if wav is None:
            return error(404, "no such audio (only the most recent replies are kept)")
        return Response(wav, media_type="audio/wav")

    # --- writing -----------------------------------------------------------------------------

    async def save_persona(self, request: Request) -> Response:
        text = (await read_json(request, MAX_PERSONA_BYTES)).get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        try:
            persona = await asyncio.to_thread(self.backend.persona.save, text)
        except ConfigError as err:
            return error(400, str(err), field=err.field, file=err.file, reason=err.reason)
        self.backend.hub.publish("persona", {"name": persona.name, "language": persona.language})
        return JSONResponse({"ok": True, "name": persona.name, "language": persona.language})

    async def chat(self, request: Request) -> Response:
        text = (await read_json(request, MAX_CHAT_BYTES)).get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text must be a non-empty string")
        return self._answer(await self.backend.chat(text))

    async def talk(self, request: Request) -> Response:
        body = await read_body(request, MAX_TALK_BYTES)
        try:
            samples = await asyncio.to_thread(decode_audio, body, MAX_TALK_SECONDS)
        except BadAudio as err:
            return error(400, str(err), code=err.code)
        return self._answer(await self.backend.talk(samples))

    def _answer(self, turn: ConsoleTurn) -> Response:
        if turn.audio:
            self.audio[turn.id] = turn.audio
            while len(self.audio) > AUDIO_KEPT:
                self.audio.popitem(last=False)
        return JSONResponse(turn.to_json())


def create_console(backend: ConsoleBackend, guard: Guard) -> Starlette:
    console = Console(backend, guard)
    read, write = console.reader, console.writer
    routes = [
        Route("/", console.page),
        Route("/login", console.login_form, methods=["POST"]),
        Route("/static/{name}", console.static),
        Route("/api/summary", read(console.summary)),
        Route("/api/events", read(console.events)),
        Route("/api/turns", read(console.turns)),
        Route("/api/health", read(console.health)),
        Route("/api/persona", read(console.persona_text)),
        Route("/api/persona", write(console.save_persona), methods=["PUT"]),
        Route("/api/chat", write(console.chat), methods=["POST"]),
        Route("/api/talk", write(console.talk), methods=["POST"]),
        Route("/api/audio/{id:int}", read(console.audio_clip)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds HEADERS to every response (plain ASGI: the event stream is not buffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
