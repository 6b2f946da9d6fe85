"""``workspace/executeCommand`` as a coroutine, for commands that need their whole request.

pygls hands a command handler its arguments only, and runs it in a task of its own that
``$/cancelRequest`` does not reach (the cancel ends pygls' wrapper, and the handler runs on).
``CommandProtocol`` runs executeCommand itself as a coroutine instead: a *request command*
(``add_request_command``) is awaited there with the whole ``ExecuteCommandParams`` (its
work-done token), and ``$/cancelRequest`` cancels it, so ``CancelledError`` lands at its
``await``. Every other command runs as pygls runs it (arguments converted by its annotations).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from lsprotocol import types
from pygls.feature_manager import is_thread_function
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

RequestCommand = Callable[[types.ExecuteCommandParams], Awaitable[Any]]


class CommandProtocol(LanguageServerProtocol):
    """The LSP protocol with cancellable request commands (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.request_commands: dict[str, RequestCommand] = {}
        super().__init__(*args, **kwargs)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    async def lsp_workspace__execute_command(  # type: ignore[override]
        self, params: types.ExecuteCommandParams
    ) -> Any:
        handler = self.request_commands.get(params.command)
        if handler is not None:
            return await handler(params)
        return await self._pygls_command(params)

    async def _pygls_command(self, params: types.ExecuteCommandParams) -> Any:
        """pygls' own executeCommand, whose steps ask for one handler call and its result."""
        steps = super().lsp_workspace__execute_command(params)
        handler, args, kwargs = next(steps)  # an unknown command raises "invalid params" here
        if is_thread_function(handler):
            result = await asyncio.to_thread(handler, *args, **(kwargs or {}))
        else:
            result = handler(*args, **(kwargs or {}))
            if inspect.isawaitable(result):
                result = await result
        try:
            steps.send(result)
        except StopIteration as end:
            return end.value
        raise RuntimeError(f"executeCommand {params.command}: more than one handler call")


def add_request_command(server: LanguageServer, name: str, handler: RequestCommand) -> None:
    """Register ``handler`` as command ``name``: advertised like every command, and run with
    its whole params by a ``CommandProtocol``. (Under another protocol it still runs, with
    the arguments alone: no work-done token, not cancellable.)"""
    protocol = server.protocol
    if isinstance(protocol, CommandProtocol):
        protocol.request_commands[name] = handler

    async def with_arguments_only(ls: LanguageServer, *arguments: object) -> Any:
        # (pygls passes the server first to any handler whose first parameter takes it.)
        return await handler(types.ExecuteCommandParams(command=name, arguments=list(arguments)))

    server.command(name)(with_arguments_only)
