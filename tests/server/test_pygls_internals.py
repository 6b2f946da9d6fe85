"""What server/pygls_internals.py relies on in pygls: this fails when pygls changes it."""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.server.app import LoomlineProtocol
from loomline.server.framing import Message
from loomline.server.pygls_internals import forget_result_type
from loomline.server.transport import MessageGate


class _Discard:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def test_an_error_answer_leaves_no_result_type_behind() -> None:
    server = LanguageServer("t", "1", protocol_cls=LoomlineProtocol)
    protocol = server.protocol
    protocol.set_writer(_Discard())
    gate = MessageGate(protocol, lambda data: None)
    gate.handle(Message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"capabilities": {}}}))
    # pygls keeps the result type of each request the server sends, by its id...
    protocol.send_request(types.WINDOW_WORK_DONE_PROGRESS_CREATE,
                          types.WorkDoneProgressCreateParams(token="t1"), msg_id="r1")
    protocol.send_request(types.WINDOW_WORK_DONE_PROGRESS_CREATE,
                          types.WorkDoneProgressCreateParams(token="t2"), msg_id="r2")
    assert set(protocol._result_types) == {"r1", "r2"}
    # ...forgets it on a result (pygls itself)...
    gate.handle(Message({"jsonrpc": "2.0", "id": "r1", "result": None}))
    # ...and, through the gate, on an error answer too.
    gate.handle(Message({"jsonrpc": "2.0", "id": "r2",
                         "error": {"code": -32603, "message": "no progress here"}}))
    assert protocol._result_types == {}
    assert protocol._request_futures == {}


def test_forgetting_an_unknown_id_does_nothing() -> None:
    server = LanguageServer("t", "1", protocol_cls=LoomlineProtocol)
    forget_result_type(server.protocol, "unknown")
    assert server.protocol._result_types == {}
