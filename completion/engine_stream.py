"""Using an engine: whether it can serve now, and one stream run to its end.

Shared by every caller of an engine (code completion, code from instructions), so that the
readiness message, closing the stream and what a failure says are decided once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from loomline.completion.engines.base import (
    Engine,
    EngineRequestError,
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)

log = logging.getLogger(__name__)


def not_ready(engine: Engine) -> str | None:
    """Why ``engine`` cannot serve now (its status message), or None when it is ready."""
    return None if engine.state is EngineState.READY else engine.status_message


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """How a stream ended early: ``message`` is for the user."""

    message: str
    unavailable: bool  # the engine cannot serve now (expected), else it broke or refused the
    # request (logged)


async def stream_into(
    engine: Engine,
    request: GenerationRequest,
    stats: GenerationStats,
    take: Callable[[str], bool],
) -> StreamFailure | None:
    """Feed the engine's text chunks for ``request`` to ``take`` until it returns True (it has
    what it needs) or the stream ends; the stream is closed either way, so no tokens are
    paid for after. None when the stream ended well. Cancelling the caller stops the engine
    and raises ``CancelledError`` as usual."""
    try:
        stream = engine.stream(request, stats)
        try:
            async for chunk in stream:
                if take(chunk):
                    break  # done: stop paying for tokens
        finally:
            await stream.aclose()
    except EngineUnavailable as error:
        return StreamFailure(str(error), unavailable=True)
    except EngineRequestError as error:  # the request's fault: the server's words, no traceback
        log.warning("%s", error)
        return StreamFailure(str(error), unavailable=False)
    except Exception as error:  # a broken engine must not leave its caller waiting
        log.exception("the engine failed")
        return StreamFailure(f"the engine failed: {error}", unavailable=False)
    return None
