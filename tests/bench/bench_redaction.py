"""Cost of redacting secrets from a prompt, per keystroke (a script, not a test).

    .venv/bin/python tests/bench/bench_redaction.py [--lines 5000] [--keystrokes 200]

A generated 5,000-line Python file with a few planted secrets; the cursor goes to its middle and
one character is typed at a time. Prints the first redaction of the file (every line judged:
the cache is cold) and the p50 / p99 per keystroke after it (one changed line judged, the rest
from the cache), for ``redact_around`` on the prefix and suffix.
"""

from __future__ import annotations

import argparse
import statistics
import time

from loomline.context.redaction import SecretRedactor


def generated_file(lines: int) -> str:
    out = ['"""A generated module."""', "import os", ""]
    planted = {
        lines // 4: 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"',
        lines // 3: 'api_key = "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"',
        lines // 2 + 10: 'TOKEN = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"',
    }
    i = 0
    while len(out) < lines:
        if len(out) in planted:
            out.append(planted[len(out)])
            continue
        out += [
            f"def helper_{i}(items: list[int], factor: float = {i}.0) -> float:",
            f'    """Scale and sum the items ({i})."""',
            "    result = 0.0",
            "    for item in items:",
            f'        result += item * factor if item % {i % 7 + 2} else -item  # "{i}"',
            "    return result",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--keystrokes", type=int, default=200)
    parser.add_argument("--prompt-tokens", type=int, default=1024,
                        help="completion.promptTokens: the service redacts 32 characters a "
                             "token around the cursor (0: the whole file)")
    args = parser.parse_args()
    keep = 32 * args.prompt_tokens or None
    text = generated_file(args.lines)
    cursor = text.index("\n", len(text) // 2)
    redactor = SecretRedactor()
    redactor.text("import os  # loads the plugins (once per process)")
    started = time.perf_counter()
    redactor.around(text[:cursor], text[cursor:], "module.py", keep)
    cold_ms = (time.perf_counter() - started) * 1000
    times = []
    for typed in range(1, args.keystrokes + 1):
        before = text[:cursor] + "x" * typed
        started = time.perf_counter()
        redactor.around(before, text[cursor:], "module.py", keep)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{args.lines} lines, {len(text)} characters, window {keep or 'all'} characters")
    print(f"first redaction (cold cache): {cold_ms:.1f} ms")
    print(f"per keystroke: p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
