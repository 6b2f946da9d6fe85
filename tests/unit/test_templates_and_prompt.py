from __future__ import annotations

import pytest

from loomline.completion.prompt import PREFIX_ALIGN_LINES, PromptPiece, build_prompt
from loomline.completion.templates import context_layout_for, template_for, templates
from loomline.completion.tokens import EstimatedTokens


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("Qwen/Qwen2.5-Coder-0.5B", "qwen"),
        ("bigcode/starcoder2-3b", "starcoder"),
        ("deepseek-ai/deepseek-coder-1.3b-base", "deepseek"),
        ("codellama/CodeLlama-7b-hf", "codellama"),
        ("google/codegemma-2b", "codegemma"),
        ("something/unknown", "qwen"),
    ],
)
def test_template_inferred_from_model_name(model, family):
    assert template_for(model).name == family


def test_template_by_setting_and_unknown_setting():
    assert template_for("Qwen/x", "starcoder").name == "starcoder"
    with pytest.raises(KeyError):
        template_for("Qwen/x", "nope")


def test_every_template_orders_prefix_suffix_middle():
    # Every preset, so that the loop below checks each one.
    assert set(templates()) >= {"codegemma", "codellama", "deepseek", "qwen", "starcoder"}
    for template in templates().values():
        text = template.fim("PRE", "SUF")
        assert text.index("PRE") < text.index("SUF") < len(text)
        assert text.endswith(template.middle)
        assert template.stop


class CharTokens:
    name = "chars"

    def count(self, text: str) -> int:
        return len(text)


def test_prompt_fits_the_budget_and_keeps_the_cursor():
    prefix = "".join(f"line {i}\n" for i in range(200)) + "    cur"
    suffix = "sor()\n" + "".join(f"after {i}\n" for i in range(200))
    prompt = build_prompt(
        template_for("qwen"), prefix, suffix, counter=CharTokens(), budget=600, suffix_share=0.25
    )
    assert prompt.tokens <= 600
    assert prompt.prefix.endswith("    cur")
    assert prompt.suffix.startswith("sor()")
    assert len(prompt.suffix) < len(prompt.prefix)
    assert prompt.text.endswith("<|fim_middle|>")


def test_prefix_window_start_is_stable_while_typing():
    base = "".join(f"line {i}\n" for i in range(300))
    starts = set()
    for typed in ["", "x", "x =", "x = 1"]:
        prompt = build_prompt(
            template_for("qwen"), base + typed, "", counter=CharTokens(), budget=800
        )
        starts.add(prompt.prefix.split("\n", 1)[0])
    # The start moves in whole steps, and rarely: at most once over these keystrokes.
    assert len(starts) <= 2
    assert all(int(start.split()[1]) % PREFIX_ALIGN_LINES == 0 for start in starts)


# Two pieces that fit and one too big for any budget here.
PIECES = [
    PromptPiece("pkg/a.py", "# Adds.\ndef a(x): ...", "definition of a"),
    PromptPiece("pkg/b.py", "def b(): ...", "definition of b"),
    PromptPiece("pkg/huge.py", "x" * 5000, "too big"),
]


def test_context_pieces_come_first_in_order_and_respect_budget():
    prompt = build_prompt(
        template_for("qwen"),
        "import pkg\n",
        "",
        counter=EstimatedTokens(),
        budget=400,
        path="main.py",
        pieces=PIECES,
        repo="demo",
    )
    text = prompt.text
    assert text.startswith("<|repo_name|>demo\n")
    assert text.index("pkg/a.py") < text.index("pkg/b.py") < text.index("main.py")
    assert text.index("main.py") < text.index("<|fim_prefix|>")
    assert [p.piece.source for p in prompt.pieces] == ["pkg/a.py", "pkg/b.py"]
    assert [p.source for p in prompt.dropped] == ["pkg/huge.py"]
    assert prompt.tokens <= 400 / (1 - 0.4)  # context comes on top of the cursor window


def test_context_as_comments_at_the_head_of_the_prefix():
    prompt = build_prompt(
        template_for("qwen"), "import pkg\n", "\n", counter=EstimatedTokens(), budget=400,
        path="main.py", pieces=PIECES, repo="demo", comment="#",
    )
    assert prompt.text == (
        "<|fim_prefix|># from pkg/a.py:\n# # Adds.\n# def a(x): ...\n"
        "# from pkg/b.py:\n# def b(): ...\n\nimport pkg\n<|fim_suffix|>\n<|fim_middle|>"
    )
    assert prompt.prefix == "import pkg\n"  # the document's part, for post-processing
    assert [p.source for p in prompt.dropped] == ["pkg/huge.py"]
    alone = build_prompt(
        template_for("qwen"), "x = 1\n", "", counter=EstimatedTokens(), budget=400,
        pieces=[], comment="//",
    )
    assert alone.text == "<|fim_prefix|>x = 1\n<|fim_suffix|><|fim_middle|>"


def test_context_layout_from_the_model_preset_or_the_setting():
    # Measured on the repository-level set: the 0.5B uses comments better, the 1.5B files.
    assert context_layout_for("Qwen/Qwen2.5-Coder-0.5B-Instruct") == "comments"
    assert context_layout_for("Qwen/Qwen2.5-Coder-1.5B-Instruct") == "files"
    assert context_layout_for("something/unknown") == "files"
    assert context_layout_for("Qwen/Qwen2.5-Coder-0.5B-Instruct", "files") == "files"


def test_a_lone_file_gets_the_plain_fim_prompt():
    prompt = build_prompt(
        template_for("qwen"), "def f():\n    ", "\n", counter=EstimatedTokens(), budget=400,
        path="main.py", pieces=[], repo="demo",
    )
    assert prompt.text == "<|fim_prefix|>def f():\n    <|fim_suffix|>\n<|fim_middle|>"


def test_single_enormous_line_is_cut():
    prompt = build_prompt(template_for("qwen"), "x" * 100_000, "", counter=CharTokens(), budget=300)
    assert len(prompt.text) < 2000
