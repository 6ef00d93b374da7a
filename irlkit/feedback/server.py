"""The labelling page's HTTP server: the static page, the clips, and a small JSON API.

Bound to a loopback address only: the page shows what an agent does and takes answers that
steer training, so nothing off this machine may reach it (use an SSH tunnel to label from
elsewhere). Requests whose Host header names another host are refused too, which stops a web
page the person has open elsewhere from talking to the server through DNS rebinding.

API (all JSON):
    GET  /api/state?annotator=A            progress and the session's state
    GET  /api/next?annotator=A&wait=S&known=STATE   the next pair for A, waiting up to S seconds
                                           or until the state differs from STATE (long poll)
    POST /api/label  {"pair_id", "label", "annotator"}   commit a label (left/right/equal/skip)
    GET  /clips/<file>                     a clip (mp4/webp/gif), with byte ranges for <video>

Mistakes get a 4xx with {"error": reason}: unknown pair (404), a pair already labelled (409),
malformed JSON or fields (400), a body over 4 KiB (413), no Content-Length (411), a body that is
not JSON (415). A label is acknowledged only after it is on disk.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from irlkit.errors import IrlkitError
from irlkit.feedback.session import LabelSession, RequestError

PAGE_DIR = Path(__file__).resolve().parent / "page"
MAX_BODY = 4096
"""A label is about 100 bytes; anything much larger is a mistake or an attack."""
_CLIP_NAME = re.compile(r"^[0-9a-f]{16}-[LR]\.(mp4|webp|gif)$")
_PAGE_FILES = {"index.html", "app.js", "style.css"}
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
    import ipaddress

    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: "LabelServer"  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"
    server_version = "irlkit-feedback"
    timeout = 30
    """Seconds a socket read may block: a client that announces a body and never sends it
    frees its thread instead of holding it forever."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the page polls; stay quiet)
        return

    # ---- helpers ------------------------------------------------------------------------------
    def _send_json(self, status: int, obj: Any) -> None:
        body = (json.dumps(obj) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, reason: str, *, close: bool = False) -> None:
        if close:
            self.close_connection = True
        self._send_json(status, {"error": reason, "status": status})

    def _host_ok(self) -> bool:
        hosts = self.headers.get_all("Host") or [""]
        for host in hosts:
            host = host.strip().lower()
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if not (name in ("localhost", "") or _is_loopback_address(name)):
                return False  # e.g. 127.attacker.example: a name that merely starts like one is refused
        return True

    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    # ---- GET ----------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        try:
            self._get()
        except RequestError as err:
            self._error(err.status, err.reason)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # noqa: BLE001  (a bug must answer 500, not drop the page's request)
            self._error(500, f"internal error: {type(err).__name__}: {err}")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def _get(self) -> None:
        if not self._host_ok():
            raise RequestError(403, "requests must name this machine (127.0.0.1 or localhost) as Host")
        path = urlsplit(self.path).path
        session = self.server.session
        if path in ("/", "/index.html"):
            return self._send_file(PAGE_DIR / "index.html")
        if path.startswith("/page/"):
            name = path[len("/page/"):]
            if name not in _PAGE_FILES:
                raise RequestError(404, f"no page file {name!r}")
            return self._send_file(PAGE_DIR / name)
        if path.startswith("/clips/"):
            name = path[len("/clips/"):]
            if not _CLIP_NAME.match(name) or not (self.server.clip_dir / name).is_file():
                raise RequestError(404, f"no clip {name!r}")
            return self._send_file(self.server.clip_dir / name, ranges=True)
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
            known = q.get("known") or None
            return self._send_json(200, session.next_pair(annotator, wait, known))
        if path == "/favicon.ico":
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        raise RequestError(404, f"no such page {path!r}")

    def _send_file(self, path: Path, *, ranges: bool = False) -> None:
        data = path.read_bytes()
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        start, end, status = 0, len(data) - 1, 200
        rng = self.headers.get("Range") if ranges else None
        if rng:
            m = re.match(r"^bytes=(\d*)-(\d*)$", rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                raise RequestError(416, f"unsupported Range {rng!r}")
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
            if start > end or start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") else ""))
        self.send_header("Content-Length", str(len(body)))
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
            self._error(err.status, err.reason, close=err.status in (408, 411, 413))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as err:  # noqa: BLE001
            self._error(500, f"internal error: {type(err).__name__}: {err}; the label was not recorded", close=True)

    def _post(self) -> None:
        if not self._host_ok():
            raise RequestError(403, "requests must name this machine (127.0.0.1 or localhost) as Host")
        path = urlsplit(self.path).path
        if path != "/api/label":
            raise RequestError(404, f"no such endpoint {path!r} (POST /api/label takes labels)")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise RequestError(411, "a Content-Length header is required")
        try:
            length = int(length_header)
        except ValueError:
            raise RequestError(400, f"Content-Length {length_header!r} is not a number") from None
        if length < 0:
            raise RequestError(400, "Content-Length must not be negative")
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
            raise RequestError(415, f"send the label as application/json, not {ctype or 'no content type'}")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RequestError(400, f"the body is not valid JSON ({err})") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object with pair_id, label and annotator")
        unknown = sorted(set(body) - {"pair_id", "label", "annotator"})
        if unknown:
            raise RequestError(400, f"unknown field(s) {unknown}; a label has pair_id, label and annotator")
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
    """A threading HTTP server serving one `LabelSession` on a loopback address."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, session: LabelSession, clip_dir: Path, *, host: str = "127.0.0.1", port: int = 8765):
        host = check_loopback(host)
        if ":" in host:
            import socket

            self.address_family = socket.AF_INET6
        self.session = session
        self.clip_dir = Path(clip_dir)
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
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def start(self) -> "LabelServer":
        """Serve in a background (daemon) thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="irlkit-label-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
