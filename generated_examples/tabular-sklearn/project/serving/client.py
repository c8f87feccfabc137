"""A Vertex-format request to the serving container's server, run in this process.

`make serve-local` (serving/local.py) and the project's tests use it: the server is the one the
container runs (serving/server.py), on a free local port.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from serving.server import build_server


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def serve_and_ask(model_dir: str, instances: list[Any]) -> dict[str, Any]:
    """Runs the server in this process on a free port and sends it one request."""
    server = build_server(model_dir, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as health:
            assert health.status == 200
        return post(f"http://127.0.0.1:{port}/predict", {"instances": instances})
    finally:
        server.shutdown()
        server.server_close()


def shown(instances: list[Any]) -> list[Any]:
    """The instances as printed: image bytes elided."""
    return [i if not isinstance(i, dict) or "b64" not in i else {"b64": "..."} for i in instances]


def check_main(local: Any, default_data: str, argv: list[str] | None = None) -> int:
    """`python -m serving.local`: a request from validation rows, the server's answer, and its
    agreement with the trainer's own predictions (`local` is the stack's serving.local module:
    options_of, validation_instances, trainer_outputs, served_outputs)."""
    import argparse
    import sys

    import numpy as np

    parser = argparse.ArgumentParser(description=(local.__doc__ or "").splitlines()[0])
    parser.add_argument("--model_dir", default="outputs/model")
    parser.add_argument("--data", default=default_data)
    parser.add_argument("--rows", type=int, default=4)
    args = parser.parse_args(argv)
    options = local.options_of(args.model_dir)
    instances = local.validation_instances(args.data, options, args.rows)
    response = serve_and_ask(args.model_dir, instances)
    print(json.dumps({"request": {"instances": shown(instances)}, "response": response}, indent=2))
    expected = local.trainer_outputs(args.model_dir, args.data, options, args.rows)
    served = local.served_outputs(response["predictions"])
    if served.shape != expected.shape or not np.allclose(served, expected, atol=1e-5):
        print("serve-local: the server's predictions differ from the trainer's", file=sys.stderr)
        return 1
    print(f"serve-local: {len(instances)} predictions match the trainer's", file=sys.stderr)
    return 0
