"""The custom protocol has one owner per side: ``server/methods.py`` and the extension's
``src/protocol.ts`` name the same notifications and commands, with the same constant names,
the server registers each one it receives, and no other module spells a name out."""

from __future__ import annotations

import re
from pathlib import Path

from loomline.server import methods
from tests.conftest import REPO

PROTOCOL_TS = REPO / "editor-extension" / "src" / "protocol.ts"
METHODS_PY = REPO / "server" / "methods.py"


def _ts_names() -> dict[str, str]:
    text = PROTOCOL_TS.read_text(encoding="utf-8")
    return dict(re.findall(r'^export const (\w+) = "([^"]+)";$', text, re.M))


def _py_names() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(methods).items()
        if name.isupper() and isinstance(value, str)
    }


def test_both_sides_name_the_same_methods() -> None:
    ts, py = _ts_names(), _py_names()
    assert len(py) == 11, py
    assert ts == py


def test_the_name_lists_are_complete() -> None:
    names = set(_py_names().values())
    foreign = set(methods.REQUESTS) | set(methods.FOREIGN_NOTIFICATIONS)
    assert set(methods.NOTIFICATIONS) | set(methods.COMMANDS) | foreign == names
    assert not set(methods.NOTIFICATIONS) & set(methods.COMMANDS)
    assert all(n.startswith("textDocument/") for n in foreign)
    assert all(n.startswith("loomline/") for n in methods.NOTIFICATIONS)
    assert all(n.startswith("loomline.") for n in methods.COMMANDS)


def test_the_client_types_every_command() -> None:
    text = PROTOCOL_TS.read_text(encoding="utf-8")
    body = text.split("export interface ServerCommands {", 1)[1].split("\n}", 1)[0]
    typed = re.findall(r"^\s*\[(\w+)\]: \{ args: .*; result: .* \};$", body, re.M)
    commands = {name for name, value in _py_names().items() if value in methods.COMMANDS}
    assert sorted(typed) == sorted(commands)


def test_the_server_registers_every_command_and_the_event() -> None:
    from loomline.server.app import server

    assert set(methods.COMMANDS) <= set(server.protocol.fm.commands)
    assert methods.EVENT_NOTIFICATION in server.protocol.fm.features
    assert set(methods.REQUESTS) | set(methods.FOREIGN_NOTIFICATIONS) <= set(
        server.protocol.fm.features
    )


def _spelled_out(files: list[Path], names: set[str]) -> list[str]:
    """Each ``path:line: name`` where code (not a comment) has one of ``names`` in quotes."""
    quoted = re.compile(r"""(["'])(loomline[./]\w+)\1""")
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("#", "//", "/*", "*")):
                continue
            for _, name in quoted.findall(line):
                if name in names:
                    found.append(f"{path}:{number}: {name}")
    return found


def test_no_other_module_spells_a_name_out() -> None:
    names = set(_py_names().values())
    python = [
        p
        for package in ("server", "completion", "context")
        for p in sorted((REPO / package).rglob("*.py"))
        if p != METHODS_PY
    ]
    typescript = [
        p for p in sorted((REPO / "editor-extension" / "src").glob("*.ts")) if p != PROTOCOL_TS
    ]
    assert len(python) > 20 and len(typescript) > 10
    assert _spelled_out(python + typescript, names) == []


def test_the_check_finds_a_spelled_out_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '# "loomline.stats" in a comment\nX = "loomline.stats"\nY = "loomline.enable"\n',
        encoding="utf-8",
    )
    found = _spelled_out([sample], {"loomline.stats"})
    assert len(found) == 1 and found[0].endswith(":2: loomline.stats")
