"""Who may do what on the console.

- Bound to loopback (the default), reading is open to the box's own browser; every change
  (persona save, chat, push-to-talk) needs the token.
- A request from any other address needs the token for everything, page included.
- The token arrives once as ?token=... (or a login form) and is then kept in an HttpOnly,
  SameSite=Strict cookie; scripts may send it as `Authorization: Bearer`.
- Writes are CSRF-safe: they need the header X-Voiced-Console (a cross-site form cannot send
  one, and a cross-site fetch with it is stopped by the browser's preflight, which we never
  grant) and, when the browser sends Origin, an Origin equal to our own.
- The Host header must be one we answer to on loopback (no DNS rebinding).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from starlette.requests import Request

COOKIE = "voiced_console"
CSRF_HEADER = "x-voiced-console"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def load_token(path: Path) -> str:
    """The token in `path`, created (random, mode 0600) when the file is missing or empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    def __init__(self, token: str, bound_host: str) -> None:
        self._token = token
        self.local_only = is_loopback(bound_host)

    def token_ok(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest((offered or "").encode(), self._token.encode())

    def offered_token(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.cookies.get(COOKIE)

    def authorized(self, request: Request) -> bool:
        return self.token_ok(self.offered_token(request))

    def client_is_local(self, request: Request) -> bool:
        return request.client is not None and is_loopback(request.client.host)

    def may_read(self, request: Request) -> bool:
        return (self.local_only and self.client_is_local(request)) or self.authorized(request)

    def host_ok(self, request: Request) -> bool:
        """On loopback, only Host names of this machine (a rebinding attack sends its own)."""
        if not self.local_only:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in LOCAL_HOSTS

    def write_problem(self, request: Request) -> str | None:
        """Why this write is refused, or None."""
        if not self.authorized(request):
            return "the console token is needed for changes"
        if CSRF_HEADER not in request.headers:
            return f"missing {CSRF_HEADER} header"
        origin = request.headers.get("origin")
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin is not None and origin != own:
            return "cross-site request refused"
        return None
