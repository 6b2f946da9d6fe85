"""Strict reading of the client's messages: a value of the wrong JSON type is invalid params.

pygls reads messages into lsprotocol types with a cattrs converter whose primitive hooks are
the types' constructors, so a wrong type is silently coerced: ``"line": "3"`` becomes line 3,
``"character": 1.5`` column 1, ``true`` a 1, ``"uri": 5`` the URI ``"5"``, and ``true`` a
member of an integer enumeration (``True == 1``). Here the converter pygls builds gets hooks
that accept exactly the JSON types the LSP names (integer: a JSON integer, not a boolean nor a
fraction; decimal: any number but a boolean; string; boolean; an enumeration's own values), so
such a request is answered with Invalid params (-32602) like any other bad params, for every
method read through the protocol. ``describe`` turns the converter's error into one line for
that answer.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import default_converter

T = TypeVar("T")

# JSON names of the Python types the LSP's base types map to, for messages.
_JSON_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
               dict: "an object", list: "an array", type(None): "null"}


class WrongType(TypeError):
    """A JSON value of another type than the LSP field's."""


def strict_converter() -> cattrs.Converter:
    """pygls' converter (lsprotocol's hooks) with strict hooks for the base types and enums."""
    converter = default_converter()
    converter.register_structure_hook(int, _integer)
    converter.register_structure_hook(float, _decimal)
    converter.register_structure_hook(str, _string)
    converter.register_structure_hook(bool, _boolean)
    converter.register_structure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, enum.Enum), _enumeration
    )
    return converter


def _integer(value: Any, cls: type) -> Any:
    if issubclass(cls, enum.Enum):  # an int-valued enumeration is an int subclass
        return _enumeration(value, cls)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(f"expected an integer, got {_json_name(value)}")
    return value


def _decimal(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongType(f"expected a number, got {_json_name(value)}")
    return float(value)


def _string(value: Any, cls: type) -> Any:
    if issubclass(cls, enum.Enum):
        return _enumeration(value, cls)
    if not isinstance(value, str):
        raise WrongType(f"expected a string, got {_json_name(value)}")
    return value


def _boolean(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise WrongType(f"expected a boolean, got {_json_name(value)}")
    return value


def _enumeration(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    kinds = {type(member.value) for member in cls}
    if isinstance(value, bool) or not any(isinstance(value, kind) for kind in kinds):
        raise WrongType(f"expected one of {[m.value for m in cls]}, got {_json_name(value)}")
    try:
        return cls(value)
    except ValueError:
        raise ValueError(f"{value!r} is not one of {[m.value for m in cls]}") from None


def _json_name(value: Any) -> str:
    name = _JSON_NAMES.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{name} ({shown[:40]})" if not isinstance(value, dict | list) else name


def describe(error: BaseException, limit: int = 3, path_root: str = "params") -> str:
    """One line for an Invalid params answer: the first ``limit`` problems, each with where
    it is in the params (``position.line: expected an integer, got a string ('3')``);
    ``path_root`` names the value read (a message's params, or a command's argument)."""
    cause = error.__cause__ if error.__cause__ is not None else error
    if not isinstance(cause, ClassValidationError | IterableValidationError):
        return str(cause) or type(cause).__name__
    problems = cattrs.transform_error(cause, path="$", format_exception=_format)
    shown = list(dict.fromkeys(_short_path(problem, path_root) for problem in problems))
    problems, shown = shown, shown[:limit]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(shown) + more


# What _format says when reading a field failed because its parent is not an object (a
# string or an array where ``{"uri": ...}`` belongs): the parent is named instead.
_PARENT_NOT_AN_OBJECT = "expected an object"


def _format(error: BaseException, cls: type | None) -> str:
    if isinstance(error, KeyError):
        return "required but missing"
    if isinstance(error, WrongType | ValueError):
        return str(error)
    if isinstance(error, TypeError):  # "string indices must be integers": not an object
        return _PARENT_NOT_AN_OBJECT
    return str(error) or type(error).__name__


def _short_path(problem: str, root: str) -> str:
    """cattrs says ``reason @ $.params.text_document.uri``; the answer says
    ``textDocument.uri: reason``, in the LSP's names, from inside the params."""
    reason, _, path = problem.rpartition(" @ ")
    if not reason:
        return problem
    parts = [_camel(part) for part in path.split(".")[1:]]
    parts = parts[1:] if parts[:1] == ["params"] else parts
    if reason == _PARENT_NOT_AN_OBJECT:
        parts = parts[:-1]
    return f"{'.'.join(parts) or root}: {reason}"


def _camel(name: str) -> str:
    """lsprotocol's attribute name -> the LSP's (``text_document`` -> ``textDocument``,
    ``from_`` -> ``from``); list indices (``items[2]``) stay."""
    head, *rest = name.removesuffix("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_COMMAND_CONVERTER = strict_converter()


def command_argument(arguments: Sequence[Any], cls: type[T], command: str) -> T:
    """A command's first argument read strictly as ``cls`` (an lsprotocol type such as
    ``TextDocumentPositionParams``); raises ``JsonRpcInvalidParams`` saying what is wrong
    (pygls answers it as -32602). Command arguments are LSPAny, so pygls checks nothing."""
    if not arguments or not isinstance(arguments[0], dict):
        raise JsonRpcInvalidParams(f"Invalid params for {command}: expected one argument, "
                                   f"an object ({cls.__name__})")
    try:
        return _COMMAND_CONVERTER.structure(arguments[0], cls)
    except Exception as error:
        raise JsonRpcInvalidParams(
            f"Invalid params for {command}: {describe(error, path_root='arguments[0]')}"
        ) from None
