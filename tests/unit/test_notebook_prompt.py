"""A notebook cell's earlier cells go into the prompt's prefix, before the cell's own text,
within what the cell's own prefix leaves of the budget."""

from __future__ import annotations

from loomline.completion.prompt import CELLS, PromptPiece, build_prompt
from loomline.completion.templates import template_for
from loomline.completion.tokens import EstimatedTokens

CELLS_TEXT = "import math\n\nvar_alpha = math.pi\n\n"


def _cells(text: str = CELLS_TEXT) -> PromptPiece:
    return PromptPiece(source="nb.ipynb", text=text, reason="earlier cells", kind=CELLS)


def test_earlier_cells_come_right_before_the_cells_own_prefix():
    prompt = build_prompt(
        template_for("qwen"), "# show var_alpha\n", "", counter=EstimatedTokens(), budget=400,
        path="nb.ipynb", pieces=[_cells()],
    )
    assert prompt.text == (
        "<|fim_prefix|>" + CELLS_TEXT + "# show var_alpha\n<|fim_suffix|><|fim_middle|>"
    )
    assert prompt.prefix == "# show var_alpha\n"  # the document's own part
    assert [(p.piece.kind, p.piece.text) for p in prompt.pieces] == [(CELLS, CELLS_TEXT)]
    alone = build_prompt(
        template_for("qwen"), "# show var_alpha\n", "", counter=EstimatedTokens(), budget=400,
        path="nb.ipynb",
    )
    assert prompt.tokens == alone.tokens + EstimatedTokens().count(CELLS_TEXT)


def test_earlier_cells_keep_their_end_when_the_budget_is_short():
    many = "".join(f"value_{n} = {n}\n" for n in range(200)) + "\n"
    prompt = build_prompt(
        template_for("qwen"), "print(value_199)", "", counter=EstimatedTokens(), budget=120,
        path="nb.ipynb", pieces=[_cells(many)],
    )
    lead = prompt.pieces[0].piece.text
    assert many.endswith(lead) and "value_199 = 199\n\n" in lead and "value_0 =" not in lead
    assert lead.startswith("value_")  # whole lines only
    assert prompt.text.index(lead) < prompt.text.index("print(value_199)")
    assert prompt.tokens <= 120


def test_earlier_cells_dropped_when_the_cell_itself_fills_the_window():
    own = "".join(f"line_{n} = {n}\n" for n in range(300))
    prompt = build_prompt(
        template_for("qwen"), own, "", counter=EstimatedTokens(), budget=100,
        path="nb.ipynb", pieces=[_cells()],
    )
    assert "var_alpha" not in prompt.text
    assert [p.kind for p in prompt.dropped] == [CELLS]


def test_cells_go_between_other_files_context_and_the_prefix():
    other = PromptPiece(source="lib.py", text="def helper():\n    pass\n", reason="r")
    for comment in (None, "#"):
        prompt = build_prompt(
            template_for("qwen"), "x = ", "", counter=EstimatedTokens(), budget=400,
            path="nb.ipynb", pieces=[_cells(), other], comment=comment,
        )
        text = prompt.text
        assert text.index("def helper") < text.index("var_alpha = math.pi") < text.index("x = ")
        assert [p.piece.kind for p in prompt.pieces] == [CELLS, "definition"]
