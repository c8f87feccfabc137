"""The HTTP server of the serving container, on Vertex AI's custom-container contract.

Vertex AI starts it with AIP_HTTP_PORT, AIP_HEALTH_ROUTE, AIP_PREDICT_ROUTE and AIP_STORAGE_URI
(the registered model's artifacts) set; locally the flags stand in for them:

    python -m serving.server --model_dir outputs/model --port 8080
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from serving.predictor import InstanceError, Predictor

LOG = logging.getLogger("serving")
MAX_BODY = 64 * 1024 * 1024  # Vertex AI's online requests are far smaller; this bounds memory


def make_handler(predictor: Predictor, health: str, predict: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == health:
                self.reply(HTTPStatus.OK, {"status": "ok"})
            else:
                self.reply(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != predict:
                self.reply(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request too large"})
                return
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
                instances = request.get("instances") if isinstance(request, dict) else None
                self.reply(HTTPStatus.OK, {"predictions": predictor.predict(instances)})
            except (InstanceError, json.JSONDecodeError) as exc:
                self.reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            LOG.info(format, *args)

    return Handler


def build_server(
    model_dir: str, port: int, health: str = "/health", predict: str = "/predict"
) -> ThreadingHTTPServer:
    handler = make_handler(Predictor(model_dir), health, predict)
    return ThreadingHTTPServer(("0.0.0.0", port), handler)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", default=os.environ.get("AIP_STORAGE_URI", "outputs/model"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIP_HTTP_PORT", "8080")))
    parser.add_argument("--health_route", default=os.environ.get("AIP_HEALTH_ROUTE", "/health"))
    parser.add_argument("--predict_route", default=os.environ.get("AIP_PREDICT_ROUTE", "/predict"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    server = build_server(args.model_dir, args.port, args.health_route, args.predict_route)
    LOG.info("serving %s on port %d (%s)", args.model_dir, args.port, args.predict_route)
    server.serve_forever()


if __name__ == "__main__":
    main()
