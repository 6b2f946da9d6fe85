"""server/tcp.py's pure parts: who is admitted, and where the token comes from."""

from __future__ import annotations

from typing import Any

import pytest

from loomline.server.tcp import admit, loopback_only, tcp_token

TOKEN = "s3cret-token"


def initialize(options: Any, **extra: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"capabilities": {}, "initializationOptions": options}, **extra}


def test_the_right_token_admits_and_is_taken_out_of_the_options():
    payload = initialize({"token": TOKEN, "backend": "fake"})
    admitted = admit(payload, TOKEN)
    assert admitted is not None
    assert admitted["params"]["initializationOptions"] == {"backend": "fake"}
    assert admitted["id"] == 1 and admitted["params"]["capabilities"] == {}
    assert payload["params"]["initializationOptions"]["token"] == TOKEN  # not mutated


@pytest.mark.parametrize(
    "payload",
    [
        initialize({"token": TOKEN + "x"}),
        initialize({"token": TOKEN[:-1]}),
        initialize({"token": ""}),
        initialize({"token": 12345}),
        initialize({"backend": "fake"}),
        initialize(None),
        initialize("s3cret-token"),
        {**initialize({"token": TOKEN}), "method": "workspace/executeCommand"},
        {k: v for k, v in initialize({"token": TOKEN}).items() if k != "id"},
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": None},
        [initialize({"token": TOKEN})],
        None,
    ],
    ids=["longer", "shorter", "empty", "number", "missing", "null-options", "string-options",
         "other-method", "notification", "null-params", "batch", "nothing"],
)
def test_anything_else_is_refused(payload):
    assert admit(payload, TOKEN) is None


def test_the_token_comes_from_the_environment_else_is_generated():
    assert tcp_token({"LOOMLINE_TCP_TOKEN": " chosen "}) == ("chosen", False)
    first, generated = tcp_token({})
    second, _ = tcp_token({"LOOMLINE_TCP_TOKEN": "  "})
    assert generated and len(first) >= 40 and first != second


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost",
                                  "::ffff:127.0.0.1"])
def test_loopback_hosts_are_loopback(host):
    assert loopback_only(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "192.168.1.20", "10.0.0.1",
                                  "fe80::1", "8.8.8.8", "no-such-host.invalid", ""])
def test_other_hosts_are_not(host):
    assert not loopback_only(host)
