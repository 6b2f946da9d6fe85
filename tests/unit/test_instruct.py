"""Instruction prompts and turning the model's answer into placed lines: pure, golden cases."""

from __future__ import annotations

import ast

import pytest
from lsprotocol.types import CompletionItemKind, InsertTextFormat, InsertTextMode

from loomline.completion.instruct_answer import (
    CodeLines,
    code_from_answer,
    join_placed,
    reindent,
    strip_fences,
)
from loomline.completion.instruct_prompt import (
    InstructRequest,
    build_messages,
    render_chatml,
    render_prompt,
)
from loomline.completion.instruct_targets import (
    Placement,
    comment_instruction,
    find_python_stub,
    placement_for,
    python_stub,
    stub_at,
)
from loomline.context.documents import Document
from loomline.context.positions import Position
from loomline.server.completion_items import ClientFormats, completion_item, word_start


def _request(**kw: object) -> InstructRequest:
    base: dict[str, object] = {
        "instruction": "  reverse the words  ",
        "language": "python",
        "path": "pkg/m.py",
        "prefix": "import os\n\n",
        "suffix": "\nprint(1)\n",
    }
    base.update(kw)
    return InstructRequest(**base)


# ---- the prompt -------------------------------------------------------------------------------
def test_messages_for_an_insertion():
    system, user = build_messages(_request())
    assert system["role"] == "system" and "code only" in system["content"]
    content = user["content"]
    assert user["role"] == "user"
    assert "File: pkg/m.py (python)" in content
    assert "Code before the insertion point:\n```python\nimport os\n```" in content
    assert "Code after the insertion point:\n```python\nprint(1)\n```" in content
    assert "Instruction: reverse the words\n" in content
    assert "Selected" not in content


def test_messages_for_a_rewrite_show_the_selection():
    _, user = build_messages(_request(selection="def f(a,b): return a+b\n", prefix=""))
    content = user["content"]
    assert "Selected code:\n```python\ndef f(a,b): return a+b\n\n```" in content
    assert "Code before" not in content  # nothing before it
    assert "Rewrite the selected code" in content


def test_windows_cut_at_line_boundaries():
    prefix = "".join(f"line{i} = {i}\n" for i in range(1000))
    _, user = build_messages(
        _request(prefix=prefix, suffix=prefix), prefix_chars=100, suffix_chars=50
    )
    content = user["content"]
    assert "line999 = 999" in content and content.count("line0 = 0\n") == 1
    before = content.split("Code before the insertion point:\n```python\n")[1].split("```")[0]
    assert before.startswith("line") and len(before) <= 100
    after = content.split("Code after the insertion point:\n```python\n")[1].split("```")[0]
    assert after.startswith("line0 = 0\n") and len(after) <= 52


class _Tokenizer:
    chat_template = "{{ messages }}"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False and add_generation_prompt is True
        return "TEMPLATE:" + "|".join(m["role"] for m in messages) + ":ASSISTANT\n"


class _BrokenTokenizer:
    chat_template = None

    def apply_chat_template(self, *args, **kwargs):
        raise ValueError("no template")


def test_prompt_uses_the_chat_template_and_opens_a_fence():
    messages = build_messages(_request())
    assert render_prompt(messages, _Tokenizer(), "python") == (
        "TEMPLATE:system|user:ASSISTANT\n```python\n"
    )
    stub = 'def f():\n    """Doc."""\n'
    assert render_prompt(messages, _Tokenizer(), "python", stub).endswith("```python\n" + stub)


@pytest.mark.parametrize("tokenizer", [None, _BrokenTokenizer()])
def test_prompt_falls_back_to_chatml(tokenizer):
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert render_chatml(messages) == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render_prompt(messages, tokenizer, "typescriptreact") == (
        render_chatml(messages) + "```tsx\n"
    )


def test_real_tokenizer_template_matches_chatml(model_dir):
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    messages = build_messages(_request())
    assert render_prompt(messages, tokenizer, "python") == render_prompt(messages, None, "python")


# ---- fences and indentation -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "opened", "code"),
    [
        ("```python\nx = 1\n```\nThis sets x.", False, "x = 1"),
        ("Here it is:\n\n```py\nx = 1\ny = 2\n```", False, "x = 1\ny = 2"),
        ("x = 1\n", False, "x = 1"),
        ("x = 1\ny = 2\n```\nExplanation", True, "x = 1\ny = 2"),
        ("~~~\nx = 1\n~~~", False, "x = 1"),
    ],
)
def test_strip_fences(answer, opened, code):
    assert strip_fences(answer, opened) == code


def test_reindent_moves_the_least_indented_line():
    assert reindent(["    if x:", "        y()", "", "    z()"], "\t") == [
        "\tif x:",
        "\t    y()",
        "",
        "\tz()",
    ]
    assert reindent(["", "  "], "  ") == ["", ""]


@pytest.mark.parametrize(
    ("before", "after", "selection", "expected"),
    [
        # An empty line inside a block: the document holds the indentation already.
        ("    ", "", None, Placement(indent="    ", first_prefix="")),
        # At the end of a comment line: a new line below, same indentation.
        (
            "    # sort it",
            "",
            None,
            Placement(indent="    ", first_prefix="    ", leading_newline=True),
        ),
        # After a block opener: one level deeper.
        ("def f():", "", None, Placement(indent="    ", first_prefix="    ", leading_newline=True)),
        # Code after the point stays on its own line.
        ("    ", "return x", None, Placement(indent="    ", trailing="\n    ")),
        # Whole lines selected from column 0.
        (
            "",
            "",
            "    a = 1\n    b = 2\n",
            Placement(indent="    ", first_prefix="    ", trailing="\n"),
        ),
        # Selection starting after the indentation.
        ("    ", "", "a = 1\n    b = 2", Placement(indent="    ")),
        # Part of a line.
        ("x = ", "", "foo(1)", Placement(indent="")),
    ],
)
def test_placement(before, after, selection, expected):
    assert placement_for(before, after, selection) == expected


def test_code_lines_streamed_equal_whole():
    answer = "```python\ndef add(a, b):\n\n    return a + b\n```\nIt adds."
    placement = Placement(indent="    ", first_prefix="")
    whole = code_from_answer(answer, placement)
    lines = CodeLines(placement)
    placed: list[str] = []
    for ch in answer:  # one character at a time
        placed += lines.feed(ch)
    placed += lines.finish()
    assert join_placed(placed, placement, first=True) == whole
    assert whole == "def add(a, b):\n\n        return a + b"
    assert lines.done


def test_code_lines_hand_out_only_finished_lines():
    lines = CodeLines(Placement(indent=""))
    assert lines.feed("x = 1\ny = ") == ["x = 1"]
    assert lines.feed("2") == []
    assert lines.feed("\n```\nmore") == ["y = 2"]
    assert lines.done and lines.feed("z = 3\n") == []


def test_code_lines_stop_at_stop_tokens_and_the_code_after():
    assert code_from_answer("x = 1\n<|im_end|>", Placement()) == "x = 1"
    assert code_from_answer("x = 1<|im_end|>", Placement()) == "x = 1"
    after = "\n\nif __name__ == '__main__':\n    main()\n"
    answer = "def f():\n    pass\n\nif __name__ == '__main__':\n    main()\n```"
    assert code_from_answer(answer, Placement(), context_after=after) == "def f():\n    pass"


def test_a_repeated_prefix_is_dropped():
    before = "import os\n\n# helpers\n"
    answer = "import os\n\n# helpers\ndef rev(s):\n    return s[::-1]\n```"
    assert code_from_answer(answer, Placement(), context_before=before) == (
        "def rev(s):\n    return s[::-1]"
    )
    # A partial repeat is the model's own code: kept.
    kept = "import os\nimport sys\n```"
    assert code_from_answer(kept, Placement(), context_before=before) == "import os\nimport sys"
    # Not when rewriting.
    assert code_from_answer(
        answer, Placement(), context_before=before, drop_repeated=False
    ).startswith("import os")


def test_insert_below_a_comment_with_code_after():
    placement = placement_for("    # make y", "", None)
    text = code_from_answer("y = 2\nz = 3\n```", placement)
    assert text == "\n    y = 2\n    z = 3"
    doc = "def f():\n    # make y\n    return y\n"
    assert doc.replace("# make y", "# make y" + text) == (
        "def f():\n    # make y\n    y = 2\n    z = 3\n    return y\n"
    )


def test_rewrite_keeps_whole_lines():
    selection = "    a=1\n    b=2\n"
    placement = placement_for("", "", selection)
    text = code_from_answer("a = 1\nb = 2\n```", placement, drop_repeated=False)
    assert text == "    a = 1\n    b = 2\n"


# ---- stubs and comments -----------------------------------------------------------------------
def test_python_stub():
    assert python_stub('import x\n\ndef f(a):\n    """Doc."""\n    ') == (
        'def f(a):\n    """Doc."""\n'
    )
    method = (
        "class A:\n    async def m(self,\n            b):\n"
        '        """Doc.\n\n        More.\n        """'
    )
    stub = python_stub(method)
    assert stub is not None and stub.startswith("async def m(self,\n")
    ast.parse(stub + "    pass\n")
    assert python_stub("def f():\n    return 1\n") is None
    assert python_stub("x = 1\n") is None
    assert python_stub('def f():\n    """unterminated') is None


SOURCE_TEXT = '''import os


def parse(line: str) -> dict:
    """Split a header line into fields.

    Fields are separated by commas.
    """


def done():
    return 1


class A:
    def m(self):
        """M."""

    # TODO: add a method that resets the state
'''
SOURCE = SOURCE_TEXT.split("\n")


@pytest.mark.parametrize("line", [3, 4, 6, 7])
def test_find_python_stub_on_its_lines(line):
    stub = find_python_stub(SOURCE, line)
    assert stub is not None and (stub.name, stub.def_line, stub.end_line) == ("parse", 3, 7)


@pytest.mark.parametrize("line", [0, 8, 10, 11, 14])
def test_no_stub_elsewhere(line):
    assert find_python_stub(SOURCE, line) is None


def test_method_stub():
    stub = find_python_stub(SOURCE, 15)
    assert stub is not None and (stub.name, stub.end_line) == ("m", 16)


@pytest.mark.parametrize(
    ("line", "language", "instruction"),
    [
        (
            "    # TODO: add a method that resets the state",
            "python",
            "add a method that resets the state",
        ),
        ("// FIXME - sort the users by name", "typescript", "sort the users by name"),
        ("/// parse the config file", "rust", "parse the config file"),
        ("-- count the rows per day", "sql", "count the rows per day"),
        ("#!/usr/bin/env python", "python", None),
        ("# type: ignore", "python", None),
        ("# TODO", "python", None),
        ("x = 1  # set x", "python", None),
        ("# a python comment", "javascript", None),
    ],
)
def test_comment_instruction(line, language, instruction):
    assert comment_instruction(line, language) == instruction


# ---- the completion-list fallback -------------------------------------------------------------
def _doc(text: str) -> Document:
    return Document(uri="file:///t/a.py", language_id="python", version=1, text=text)


def test_item_replaces_the_word_being_typed():
    doc = _doc("def f(a, b):\n    ret\n")
    item = completion_item(doc, Position(1, 7), "urn a + b", formats=ClientFormats(markdown=True))
    assert item.label == "return a + b"
    assert item.filter_text == "return a + b"
    assert item.text_edit is not None and item.text_edit.new_text == "return a + b"
    assert item.text_edit.range.start.character == 4 and item.text_edit.range.end.character == 7
    assert item.documentation.value == "```python\n    return a + b\n```"
    assert item.insert_text_format == InsertTextFormat.PlainText
    assert item.kind == CompletionItemKind.Text


def test_multiline_item_as_escaped_snippet():
    doc = _doc("def f():\n    x = \n")
    text = "{'a': 1}\n    $y = '}'"
    item = completion_item(doc, Position(1, 8), text, formats=ClientFormats(snippets=True))
    assert item.insert_text_format == InsertTextFormat.Snippet
    assert item.kind == CompletionItemKind.Snippet
    # Escaped, and new lines relative to the cursor line's indentation (the client adds it).
    assert item.text_edit.new_text == "{'a': 1\\}\n\\$y = '\\}'$0"
    assert item.insert_text_mode == InsertTextMode.AdjustIndentation
    assert item.label == "{'a': 1}"
    assert item.documentation == "    x = {'a': 1}\n    $y = '}'"  # no MarkupContent


def test_multiline_plain_text_keeps_absolute_indentation():
    doc = _doc("def f():\n    x = \n")
    item = completion_item(
        doc,
        Position(1, 8),
        "1\n    y = 2",
        prefer_snippet=False,
        formats=ClientFormats(snippets=True),
    )
    assert item.insert_text_format == InsertTextFormat.PlainText
    assert item.text_edit.new_text == "1\n    y = 2"
    assert item.insert_text_mode == InsertTextMode.AsIs


def test_word_start():
    assert word_start("    self.val", 12) == 9
    assert word_start("x", 0) == 0
    assert word_start("a_b1", 4) == 0


def test_a_finished_function_is_not_a_stub():
    finished = [
        "def fibonacci(n):",
        '    """Return the n-th Fibonacci number."""',
        "    if n < 2:",
        "        return n",
        "    else:",
        "        return fibonacci(n - 1) + fibonacci(n - 2)",
    ]
    assert stub_at(finished) is None
    assert stub_at(finished[:2]) is not None
