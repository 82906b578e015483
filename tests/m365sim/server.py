"""One Flask app serving the identity platform, Graph v1.0 and the /_sim control endpoints,
and a threaded werkzeug server that runs it (HTTPS by default: msal requires https)."""

from __future__ import annotations

import logging
import ssl
import threading
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.m365sim.control import control
from tests.m365sim.graph_routes import graph
from tests.m365sim.graph_support import error_body
from tests.m365sim.identity import identity
from tests.m365sim.state import SimState


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: tests and benchmarks send thousands."""

    def log_request(self, code="-", size="-") -> None:
        pass


def create_app(state: SimState) -> Flask:
    app = Flask("m365sim")
    app.config["SIM_STATE"] = state
    app.json.sort_keys = False  # keep Graph's property order
    app.register_blueprint(control)
    app.register_blueprint(graph)
    app.register_blueprint(identity)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _http_error(error: HTTPException):
    """Unknown paths and methods answer JSON, in Graph's shape under /v1.0."""
    if request.path.startswith("/v1.0/"):
        return jsonify(error_body("BadRequest", error.description or error.name)), error.code
    return jsonify({"error": error.name.lower().replace(" ", "_")}), error.code


def _unexpected_error(error: Exception):
    logging.getLogger("m365sim").exception("simulator bug while answering %s", request.path)
    return jsonify(error_body("InternalServerError", "The simulator failed.")), 500


class SimulatorServer:
    """Binds at construction (port 0 picks a free port); `serve_forever` in any thread."""

    def __init__(self, state: SimState, host: str = "127.0.0.1", port: int = 0,
                 tls_files: tuple[Path, Path] | None = None):
        context = None
        if tls_files is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
        self.state = state
        self._server = make_server(host, port, create_app(state), threaded=True,
                                   request_handler=QuietRequestHandler, ssl_context=context)
        self._server.daemon_threads = True
        scheme = "https" if context else "http"
        self.port = self._server.server_port
        state.base_url = f"{scheme}://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="m365sim", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
