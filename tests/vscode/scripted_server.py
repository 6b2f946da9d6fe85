"""``loomline lsp`` with test settings laid over whatever the client sends, for clients that
cannot send them: the VS Code extension has no setting for the fake backend's scripted answer.

$LOOMLINE_TEST_SETTINGS: a JSON object in the server's settings shape (e.g.
``{"fake": {"response": "..."}}``), applied after the client's initializationOptions and after
each settings change it pushes. Test use only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from loomline.server import app
from loomline.server.cli import main

EXTRA: dict[str, Any] = json.loads(os.environ.get("LOOMLINE_TEST_SETTINGS") or "{}")
_client_settings = app.LoomlineServer.apply_settings


def _with_test_settings(self: app.LoomlineServer, raw: Any) -> bool:
    engine_changed = _client_settings(self, raw)
    return _client_settings(self, EXTRA) or engine_changed


app.LoomlineServer.apply_settings = _with_test_settings  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main(["lsp", *sys.argv[1:]]))
