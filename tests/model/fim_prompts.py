"""A fixed set of fill-in-the-middle prompts (prefix, suffix) where the answer is one line or
starts with one: for comparing runtimes and precisions of the same model."""

from __future__ import annotations

FIM_PROMPTS: tuple[tuple[str, str], ...] = (
    (
        "def is_palindrome(text: str) -> bool:\n"
        '    """Return True if text reads the same forwards and backwards, ignoring case."""\n'
        "    cleaned = text.lower()\n    ",
        "\n\n\ndef main() -> None:\n    print(is_palindrome('Level'))\n",
    ),
    (
        "import os\n\n\ndef list_python_files(root: str) -> list[str]:\n"
        "    result = []\n    for directory, _subdirs, files in os.walk(root):\n"
        "        for name in files:\n            if name.endswith('.py'):\n                ",
        "\n    return sorted(result)\n",
    ),
    (
        "def fibonacci(n: int) -> int:\n"
        '    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    ',
        "\n",
    ),
    (
        "class Stack:\n    def __init__(self) -> None:\n        self._items: list[int] = []\n\n"
        "    def push(self, item: int) -> None:\n        ",
        "\n\n    def pop(self) -> int:\n        return self._items.pop()\n",
    ),
    (
        "import json\n\n\ndef load_config(path: str) -> dict:\n"
        "    with open(path, encoding='utf-8') as handle:\n        ",
        "\n",
    ),
    (
        "function sum(values) {\n  let total = 0;\n  for (const value of values) {\n    ",
        "\n  }\n  return total;\n}\n",
    ),
    (
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tnames := []string{\"a\", \"b\"}\n"
        "\tfor _, name := range names {\n\t\t",
        "\n\t}\n}\n",
    ),
    (
        "def average(values: list[float]) -> float:\n    if not values:\n        return 0.0\n"
        "    return ",
        "\n",
    ),
    (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Point:\n    x: float\n"
        "    y: float\n\n    def distance_to(self, other: 'Point') -> float:\n        return ",
        "\n",
    ),
    (
        "def count_words(text: str) -> dict[str, int]:\n    counts: dict[str, int] = {}\n"
        "    for word in text.split():\n        ",
        "\n    return counts\n",
    ),
)
