"""A JSON-over-HTTP server on 127.0.0.1 for tests: each POST body goes to ``answer``, whose
bytes are the reply (the cassette recorder and its replay use it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalJsonServer:
    """Serves ``answer(body) -> reply`` on an ephemeral port until :meth:`close`."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                reply = answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
