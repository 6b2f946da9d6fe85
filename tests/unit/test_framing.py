"""The frame parser: every malformed stream yields the messages around the damage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.server.framing import FrameParser, FrameProblem, Message, encode


def body(i: int, **extra: object) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": i, "method": "m", **extra}).encode()


def messages(events: list[Message | FrameProblem]) -> list[object]:
    return [e.payload for e in events if isinstance(e, Message)]


def ids(events: list[Message | FrameProblem]) -> list[object]:
    return [p["id"] for p in messages(events) if isinstance(p, dict) and "id" in p]


def test_well_formed_frames_arrive_in_order_whatever_the_chunking():
    stream = b"".join(encode(body(i)) for i in range(5))
    for size in (1, 3, 7, len(stream)):
        parser = FrameParser()
        events = []
        for start in range(0, len(stream), size):
            events += parser.feed(stream[start : start + size])
        assert ids(events) == [0, 1, 2, 3, 4]
        assert not [e for e in events if isinstance(e, FrameProblem)]


@pytest.mark.parametrize(
    "header",
    [
        b"content-length: %d\r\n\r\n",  # lower-case name
        b"CONTENT-LENGTH:%d\r\n\r\n",  # no space
        b"Content-Length: %d\n\n",  # LF-only
        b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
    ],
)
def test_header_variants_are_read(header):
    one = body(1)
    events = FrameParser().feed(header % len(one) + one + encode(body(2)))
    assert ids(events) == [1, 2]


@pytest.mark.parametrize("delta", [-10, -1, 1, 10])
def test_a_wrong_length_costs_a_warning_not_the_session(delta):
    one = body(1, params={"text": "x" * 40})
    bad = b"Content-Length: %d\r\n\r\n" % (len(one) + delta) + one
    events = FrameParser().feed(bad + encode(body(2)) + encode(body(3)))
    assert ids(events)[-2:] == [2, 3]
    assert 1 in ids(events)
    assert any(isinstance(e, FrameProblem) for e in events)


def test_a_too_long_length_on_the_last_frame_is_resolved_by_the_next_one():
    parser = FrameParser()
    one = body(1)
    assert parser.feed(b"Content-Length: %d\r\n\r\n" % (len(one) + 50) + one) == []
    assert parser.waiting_on_body
    assert ids(parser.feed(encode(body(2)))) == [1, 2]


def test_a_body_that_stays_incomplete_is_given_up_after_a_quiet_while():
    parser = FrameParser()
    parser.feed(b"Content-Length: 30\r\n\r\n{\"jsonrpc\": \"2.0\", \"id\": ")
    problems = parser.give_up()
    assert len(problems) == 1 and isinstance(problems[0], FrameProblem)
    assert ids(parser.feed(encode(body(7)))) == [7]


@pytest.mark.parametrize(
    "header",
    [b"Content-Length: abc\r\n\r\n", b"Content-Length: -5\r\n\r\n", b"Content-Type: x\r\n\r\n"],
)
def test_a_header_without_a_valid_length_is_skipped(header):
    events = FrameParser().feed(header + b"{}" + encode(body(4)))
    assert ids(events) == [4]
    assert isinstance(events[0], FrameProblem)


def test_an_absurd_length_is_refused_without_allocating_it():
    parser = FrameParser()
    events = parser.feed(b"Content-Length: 1000000000000\r\n\r\n" + encode(body(5)))
    assert ids(events) == [5]
    assert "limit" in next(e for e in events if isinstance(e, FrameProblem)).description


def test_broken_json_and_invalid_utf8_are_parse_errors_and_the_stream_goes_on():
    broken = b'{"jsonrpc": "2.0", "id": 2, "method": '
    latin1 = '{"jsonrpc": "2.0", "method": "x", "params": "caf\xe9"}'.encode("latin-1")
    events = FrameParser().feed(encode(broken) + encode(latin1) + encode(body(3)))
    assert ids(events) == [3]
    problems = [e for e in events if isinstance(e, FrameProblem)]
    assert len(problems) == 2 and all(p.parse_error for p in problems)


def test_garbage_between_frames_is_skipped():
    junk = b"\x00\xff junk"
    events = FrameParser().feed(b"hello\r\n\r\n" + encode(body(1)) + junk + encode(body(2)))
    assert ids(events) == [1, 2]


def test_header_text_inside_a_document_does_not_cut_the_message():
    text = "Content-Length: 12\r\n\r\n" * 50 + "é😀" * 1000
    one = json.dumps({"jsonrpc": "2.0", "method": "didOpen", "params": {"text": text}}).encode()
    parser = FrameParser()
    events = []
    for start in range(0, len(one) + 200, 97):
        chunk = (encode(one) + encode(body(9)))[start : start + 97]
        events += parser.feed(chunk)
    assert [p["params"]["text"] for p in messages(events) if "params" in p] == [text]
    assert ids(events) == [9]
    assert not [e for e in events if isinstance(e, FrameProblem)]


@settings(max_examples=150, deadline=None)
@given(
    junk=st.binary(max_size=40),
    cut=st.integers(min_value=1, max_value=60),
)
def test_any_junk_before_a_frame_never_stops_the_frames_after_it(junk, cut):
    parser = FrameParser()
    stream = junk + encode(body(1)) + encode(body(2))
    events = []
    for start in range(0, len(stream), cut):
        events += parser.feed(stream[start : start + cut])
    events += parser.give_up()
    # The junk may swallow at most the frame right after it; never the one after that.
    assert 2 in ids(events)
