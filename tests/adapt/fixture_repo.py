"""A small repository with a house style of its own, written into a folder by the tests.

Every function of ``ledger`` logs through ``audit`` with a tag of the form
``"LEDGER-<verb>"`` and returns a ``Receipt``: a convention a base model cannot guess and an
adapter trained on the repository picks up in a few steps. It also holds what must never
become training data: a file ``.gitignore`` names, one ``context.exclude`` names (``.env``),
and a secret in an otherwise ordinary file.
"""

from __future__ import annotations

from pathlib import Path

VERBS = ["open", "close", "credit", "debit", "freeze", "thaw", "audit", "merge", "split",
         "rename", "archive", "restore", "lock", "unlock", "settle", "void"]

IGNORED_MARKER = "ignored_only_marker_zq"
EXCLUDED_MARKER = "excluded_only_marker_zq"
SECRET = "AKIAQYLPMN5HHHFPZAM2"  # an AWS key id as detect-secrets knows them (not a real one)


def _module(verb: str) -> str:
    return (
        "from ledger.audit import audit\n"
        "from ledger.receipt import Receipt\n\n\n"
        f"def {verb}_account(account_id: int, amount: int = 0) -> Receipt:\n"
        f'    """{verb.capitalize()} the account."""\n'
        f'    audit("LEDGER-{verb.upper()}", account_id, amount)\n'
        f'    return Receipt(account_id, "{verb}", amount)\n\n\n'
        f"def {verb}_many(account_ids: list[int]) -> list[Receipt]:\n"
        f'    audit("LEDGER-{verb.upper()}-MANY", len(account_ids), 0)\n'
        f"    return [{verb}_account(a) for a in account_ids]\n"
    )


FILES: dict[str, str] = {
    "ledger/__init__.py": "",
    "ledger/audit.py": (
        "import logging\n\n"
        "log = logging.getLogger('ledger')\n\n\n"
        "def audit(tag: str, account_id: int, amount: int) -> None:\n"
        "    log.info('%s %s %s', tag, account_id, amount)\n"
    ),
    "ledger/receipt.py": (
        "from dataclasses import dataclass\n\n\n"
        "@dataclass(frozen=True)\n"
        "class Receipt:\n"
        "    account_id: int\n"
        "    verb: str\n"
        "    amount: int\n"
    ),
    "ledger/settings.py": (
        "import os\n\n"
        f'AWS_ACCESS_KEY_ID = "{SECRET}"\n'
        "REGION = os.environ.get('LEDGER_REGION', 'eu-west-1')\n"
    ),
    ".gitignore": "build/\n*.generated.py\n",
    "build/out.py": f"def {IGNORED_MARKER}():\n    return 1\n",
    "ledger/cache.generated.py": f"def {IGNORED_MARKER}_2():\n    return 2\n",
    ".env": f"{EXCLUDED_MARKER}=1\n",
    "secrets/keys.py": f"def {EXCLUDED_MARKER}():\n    return 3\n",
    **{f"ledger/{verb}.py": _module(verb) for verb in VERBS},
}


def write_repository(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write the repository (``FILES`` by default) under ``root``; returns ``root``."""
    for name, text in (files or FILES).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _shop_module(verb: str) -> str:
    return (
        "from shop.tracking import track\n"
        "from shop.order import Order\n\n\n"
        f"def {verb}_order(order_id: str, quantity: int = 1) -> Order:\n"
        f'    """{verb.capitalize()} the order."""\n'
        f'    track(f"shop.{verb}:{{order_id}}", quantity=quantity)\n'
        f'    return Order.load(order_id).with_state("{verb}ed")\n'
    )


# A second house style, for a second adapter: ``track(f"shop.<verb>:...")``, ``Order.load``.
SHOP_FILES: dict[str, str] = {
    "shop/__init__.py": "",
    "shop/tracking.py": "def track(event: str, quantity: int = 1) -> None:\n    print(event)\n",
    "shop/order.py": (
        "class Order:\n"
        "    @classmethod\n"
        "    def load(cls, order_id: str) -> 'Order':\n"
        "        return cls()\n\n"
        "    def with_state(self, state: str) -> 'Order':\n"
        "        return self\n"
    ),
    **{f"shop/{verb}.py": _shop_module(verb) for verb in VERBS},
}
