"""Dry runs: build the real Google Gen AI SDK request for Vertex AI, send nothing.

While `recording()` is active every request the SDK's client would send is recorded and
stopped where it would go over HTTP, before any credentials are asked for, so `--dry-run`
needs no credentials and no network.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock


class RequestCaptured(Exception):
    """Raised once the request is recorded; ends the SDK call."""


def anonymous_credentials() -> Any:
    import google.auth.credentials

    return google.auth.credentials.AnonymousCredentials()


@contextlib.contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    from google.genai import _api_client

    requests: list[dict[str, Any]] = []

    def send(_client: Any, http_request: Any, *args: Any, **kwargs: Any) -> Any:
        requests.append(
            {
                "method": http_request.method.upper(),
                "url": str(http_request.url),
                "body": http_request.data,
            }
        )
        raise RequestCaptured(http_request.url)

    with mock.patch.object(_api_client.BaseApiClient, "_request", send):
        yield requests


def first_request(action: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run `action` until its first API request and return that request."""
    with recording() as requests, contextlib.suppress(RequestCaptured):
        action(*args)
    if not requests:
        raise RuntimeError("dry run: the SDK returned without sending a request")
    return requests[0]
