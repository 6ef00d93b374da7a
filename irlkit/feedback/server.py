"""The labelling page's HTTP server: the static page, the clips, and a small JSON API.

It is one module on purpose: every route's request checks (Host, Origin, token, sizes, ranges)
and its answer sit side by side, so a reviewer sees each route's whole defence in one place.

Bound to a loopback address only: the page shows what an agent does and takes answers that
steer training, so nothing off this machine may reach it (use an SSH tunnel to label from
elsewhere). Other web pages the person has open in the same browser are kept out three ways:

- the Host header must name this machine (a loopback address or `localhost`), which stops DNS
  rebinding (a foreign name made to resolve to 127.0.0.1);
- a request that carries an `Origin` (browsers send one with every POST and every cross-origin
  fetch) must come from the page's own origin, and a browser's `Sec-Fetch-Site` must not say that
  another site asked for an API answer or a clip;
- every API call carries the session's token in an `X-Irlkit-Token` header. The token is made
  fresh when the server starts and written into the served page, which only a same-origin reader
  can see; a foreign page can neither read it nor send the custom header (that needs a CORS
  answer, which this server never gives). The page is served with `frame-ancestors 'none'`, so it
  cannot be framed and clicked through either.

API (all JSON, each call with `X-Irlkit-Token: <token>`):
    GET  /api/state?annotator=A            progress and the session's state
    GET  /api/next?annotator=A&wait=S&known=STATE   the next pair for A, waiting up to S seconds
                                           or until the state differs from STATE (long poll)
    POST /api/label  {"pair_id", "label", "annotator"}   commit a label (left/right/equal/skip)
    GET  /clips/<file>                     a clip (mp4/webp/gif), with byte ranges for <video>

Every malformed or refused request gets a 4xx with {"error": reason}: an unknown pair or page
(404), a pair already labelled (409), malformed JSON, fields, query or headers (400), a foreign
Host or Origin, or a missing or stale token (403; `"reload": true` tells the page to reload and
pick up the current token), another method (405), a body over 4 KiB (413), no Content-Length
(411), a body that is not JSON (415), an unsatisfiable Range (416). A 500 is a bug. A label is
acknowledged only after it is on disk.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import mimetypes
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from irlkit.errors import IrlkitError
from irlkit.feedback.session import LabelSession, RequestError

PAGE_DIR = Path(__file__).resolve().parent / "page"
MAX_BODY = 4096  # a label is about 100 bytes; anything much larger is a mistake or an attack
MAX_QUERY_FIELDS = 16
_CLIP_NAME = re.compile(r"^[0-9a-f]{16}-[LR]\.(mp4|webp|gif)$")
_PAGE_FILES = {"index.html", "app.js", "style.css"}
_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")
"""One byte range. 15 digits is a petabyte: longer numbers are malformed, not numbers to convert."""
TOKEN_HEADER = "X-Irlkit-Token"
TOKEN_PLACEHOLDER = "__IRLKIT_TOKEN__"  # in index.html's <meta name="irlkit-token">, which app.js reads
BACKLOG = 128
"""Connections the kernel queues until the server accepts them. socketserver's default of 5 drops
the connections of a burst (each annotator's page fetches the page, its script, two clips and a
long poll at once), and a dropped connection attempt is retried only after 1 s: under a 20-way
burst the p99 latency was 1 s (BENCHMARKS.md, bench/feedback_flood.py)."""
_PAGE_SECURITY_HEADERS = (
    # no framing (another page could overlay it and steer clicks onto the answer buttons); scripts
    # are not restricted further, so browser automation (the tests, bench/feedback_latency.py) works
    ("Content-Security-Policy", "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
_FOREIGN_FETCH_SITES = {"cross-site", "same-site"}
"""`Sec-Fetch-Site` values that mean another page asked (same-site: another port of this host)."""
mimetypes.add_type("image/webp", ".webp")
mimetypes.add_type("text/javascript", ".js")


def check_loopback(host: str) -> str:
    """Refuse any bind address that is not loopback (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise IrlkitError(
        f"feedback.host={host!r}: the labelling page binds to this machine only (127.0.0.1 or ::1). "
        "To label from another machine, forward the port: ssh -L 8765:127.0.0.1:8765 THIS_HOST"
    )


def _is_loopback_address(name: str) -> bool:
    """A literal loopback IP (127.x.y.z, [::1]), not a host name that only looks like one."""
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The name part of a Host header value (`127.0.0.1:8765` -> `127.0.0.1`, `[::1]:80` -> `[::1]`)."""
    host = host.strip().lower()
    return host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]


class _Handler(BaseHTTPRequestHandler):
    server: "LabelServer"
    protocol_version = "HTTP/1.1"
    server_version = "irlkit-feedback"
    timeout = 30
    """Seconds a socket read may block: a client that announces a body and never sends it
    frees its thread instead of holding it forever."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the page polls; stay quiet)
        return

    # ---- answers ------------------------------------------------------------------------------
    def _send_json(self, status: int, obj: Any) -> None:
        body = (json.dumps(obj) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if status == 405:
            self.send_header("Allow", "GET, HEAD, POST")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, reason: str, *, close: bool = False, reload: bool = False) -> None:
        if close:
            self.close_connection = True
        body: dict[str, Any] = {"error": reason, "status": status}
        if reload:
            body["reload"] = True
        self._send_json(status, body)

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """http.server's own refusals (a malformed request line or version, headers over its
        limits, a line too long) as JSON with a reason, like every other error."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # a garbled request line is no HTTP/0.9 client: give it a status line
        reason = message or explain or self.responses.get(code, ("refused",))[0]
        if code == 505:  # "HTTP/7.0": the client's mistake, a 4xx like every other malformed request
            code = 400
        try:
            self._error(code, f"{reason} (HTTP {code})")
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches to do_<METHOD> and answers 501 (a server error) when there is none:
        # any method but GET, HEAD and POST is the client's mistake, a 405.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _method_not_allowed(self) -> None:
        self._error(405, f"method {self.command!r} is not served here; the page uses GET and POST", close=True)

    # ---- who may ask ----------------------------------------------------------------------------
    def _check_host(self) -> None:
        for host in self.headers.get_all("Host") or [""]:
            name = _host_name(host)
            if not (name in ("localhost", "") or _is_loopback_address(name)):
                # e.g. 127.attacker.example: a name that merely starts like one is refused
                raise RequestError(403, "requests must name this machine (127.0.0.1 or localhost) as Host")

    def _check_origin(self, *, page: bool) -> None:
        """Refuse what another web page asks for (see the module doc). The page itself may be
        opened from anywhere (a link, the terminal); a foreign page can still not read it."""
        origins = self.headers.get_all("Origin") or []
        if origins:
            host = (self.headers.get("Host") or "").strip().lower()
            own = {f"http://{host}"} if host else set()
            if len(origins) > 1 or origins[0].strip().lower() not in own:
                raise RequestError(
                    403,
                    f"requests from other web pages are refused (Origin {origins[0][:100]!r}); "
                    "open the labelling page itself",
                )
        site = (self.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if not page and site in _FOREIGN_FETCH_SITES:
            raise RequestError(403, f"requests from other web pages are refused (Sec-Fetch-Site: {site})")

    def _check_token(self) -> None:
        tokens = self.headers.get_all(TOKEN_HEADER) or []
        if len(tokens) != 1 or not hmac.compare_digest(tokens[0].strip().encode(), self.server.token.encode()):
            what = "carries no session token" if not tokens else "carries a session token of another session"
            raise RequestError(
                403,
                f"this request {what} ({TOKEN_HEADER}). The labelling page sends it: reload the "
                f"page (the token is new each time the server starts)",
            )

    def _query(self) -> dict[str, str]:
        try:
            parsed = parse_qs(urlsplit(self.path).query, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            raise RequestError(400, f"the query has more than {MAX_QUERY_FIELDS} fields") from None
        return {k: v[-1] for k, v in parsed.items()}

    # ---- GET ----------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        try:
            self._get()
        except RequestError as err:
            self._error(err.status, err.reason, reload=err.status == 403 and TOKEN_HEADER in err.reason)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # noqa: BLE001  (a bug must answer 500, not drop the page's request)
            self._error(500, f"internal error: {type(err).__name__}: {err}")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def _get(self) -> None:
        self._check_host()
        path = urlsplit(self.path).path
        session = self.server.session
        page = path in ("/", "/index.html") or path.startswith("/page/")
        self._check_origin(page=page)
        if path in ("/", "/index.html"):
            return self._send_page()
        if path.startswith("/page/"):
            name = path[len("/page/") :]
            if name not in _PAGE_FILES or name == "index.html":
                raise RequestError(404, f"no page file {name!r}")
            return self._send_file(PAGE_DIR / name)
        if path.startswith("/clips/"):
            name = path[len("/clips/") :]
            if not _CLIP_NAME.match(name) or not (self.server.clip_dir / name).is_file():
                raise RequestError(404, f"no clip {name!r}")
            return self._send_file(self.server.clip_dir / name, ranges=True)
        if path == "/favicon.ico":
            return self._send_empty(204)
        if path == "/api/label":
            raise RequestError(405, "labels are sent with POST /api/label")
        if not path.startswith("/api/"):
            raise RequestError(404, f"no such page {path[:200]!r}")
        self._check_token()
        if path == "/api/state":
            q = self._query()
            return self._send_json(200, session.progress(q.get("annotator") or session.annotator))
        if path == "/api/next":
            q = self._query()
            annotator = session.check_annotator(q.get("annotator"))
            try:
                wait = float(q.get("wait", "0"))
            except ValueError:
                raise RequestError(400, f"wait={q.get('wait')!r} is not a number of seconds") from None
            if not math.isfinite(wait) or wait < 0:
                raise RequestError(400, f"wait={q.get('wait')!r} must be a number of seconds, 0 or more")
            known = q.get("known") or None
            return self._send_json(200, session.next_pair(annotator, wait, known))
        raise RequestError(404, f"no such page {path[:200]!r}")

    def _send_empty(self, status: int, *headers: tuple[str, str]) -> None:
        self.send_response(status)
        for name, value in (*headers, ("Content-Length", "0")):
            self.send_header(name, value)
        self.end_headers()

    def _send_page(self) -> None:
        """index.html with this session's token in it, never cached (the token changes per start)."""
        body = (PAGE_DIR / "index.html").read_text(encoding="utf-8").replace(TOKEN_PLACEHOLDER, self.server.token)
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in _PAGE_SECURITY_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_file(self, path: Path, *, ranges: bool = False) -> None:
        data = path.read_bytes()
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        start, end, status = 0, len(data) - 1, 200
        rng = self.headers.get("Range") if ranges else None
        if rng:
            m = _RANGE.match(rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                raise RequestError(
                    416, f"unsupported Range {rng[:100]!r}; one range of bytes is served (bytes=START-END)"
                )
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
            if start > end or start >= len(data):
                return self._send_empty(416, ("Content-Range", f"bytes */{len(data)}"))
            status = 206
        body = data[start : end + 1]
        self.send_response(status)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else ""))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Cache-Control", "no-cache" if path.parent == PAGE_DIR else "max-age=3600")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # ---- POST ---------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802
        try:
            self._post()
        except RequestError as err:
            self._error(
                err.status,
                err.reason,
                close=err.status in (400, 408, 411, 413),
                reload=err.status == 403 and TOKEN_HEADER in err.reason,
            )
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # noqa: BLE001
            self._error(500, f"internal error: {type(err).__name__}: {err}; the label was not recorded", close=True)

    def _post(self) -> None:
        self._check_host()
        self._check_origin(page=False)
        path = urlsplit(self.path).path
        if path != "/api/label":
            raise RequestError(404, f"no such endpoint {path[:200]!r} (POST /api/label takes labels)")
        self._check_token()
        if self.headers.get_all("Transfer-Encoding"):
            raise RequestError(400, "chunked bodies are not accepted; send the label with a Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise RequestError(411, "a Content-Length header is required")
        if len(set(v.strip() for v in lengths)) > 1:
            raise RequestError(400, "several different Content-Length headers; send one")
        length_header = lengths[0].strip()
        if not re.fullmatch(r"\d{1,9}", length_header):
            raise RequestError(400, f"Content-Length {length_header[:30]!r} is not a number of bytes")
        length = int(length_header)
        if length > MAX_BODY:
            raise RequestError(413, f"body of {length} bytes is over the {MAX_BODY}-byte limit for a label")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            raise RequestError(408, f"the {length}-byte body did not arrive within {self.timeout} s") from None
        if len(raw) < length:
            raise RequestError(400, f"the body ended after {len(raw)} of {length} bytes")
        if ctype != "application/json":
            raise RequestError(415, f"send the label as application/json, not {ctype[:60] or 'no content type'}")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RequestError(400, f"the body is not valid JSON ({err})") from None
        except RecursionError:
            raise RequestError(400, "the body is not a label: its JSON is nested too deeply") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object with pair_id, label and annotator")
        unknown = sorted(set(body) - {"pair_id", "label", "annotator"})
        if unknown:
            raise RequestError(400, f"unknown field(s) {unknown[:5]}; a label has pair_id, label and annotator")
        pair_id, label = body.get("pair_id"), body.get("label")
        if not isinstance(pair_id, str) or not pair_id:
            raise RequestError(400, "field 'pair_id' must be a non-empty string")
        if not isinstance(label, str):
            raise RequestError(400, "field 'label' must be one of left, right, equal, skip")
        annotator = body.get("annotator")
        if annotator is not None and not isinstance(annotator, str):
            raise RequestError(400, "field 'annotator' must be a string (your alias)")
        session = self.server.session
        who = session.check_annotator(annotator)
        self._send_json(200, session.submit(pair_id, label, who))


class LabelServer(ThreadingHTTPServer):
    """A threading HTTP server serving one `LabelSession` on a loopback address.

    :param session: what the page asks and answers.
    :param clip_dir: where the clip worker writes clips.
    :param token: the session token pages must send (default: a fresh random one).
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(
        self,
        session: LabelSession,
        clip_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: Optional[str] = None,
    ):
        host = check_loopback(host)
        if ":" in host:
            import socket

            self.address_family = socket.AF_INET6
        self.session = session
        self.clip_dir = Path(clip_dir)
        self.token = token or secrets.token_urlsafe(32)
        try:
            super().__init__((host, port), _Handler)
        except OSError as err:
            raise IrlkitError(
                f"cannot serve the labelling page on {host}:{port} ({err.strerror or err}). Another program uses "
                "the port: pick another with feedback.port=N (or --port N), or feedback.port=0 for any free port."
            ) from None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        raw, port = self.server_address[:2]
        host = raw.decode() if isinstance(raw, bytes) else str(raw)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def start(self) -> "LabelServer":
        """Serve in a background (daemon) thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="irlkit-label-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
