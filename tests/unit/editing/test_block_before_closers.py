"""A block answered at an auto-closed bracket (``nums.map(|);`` answered
``x => {\\n  return x * 2;\\n});``) keeps its body: its own closing line replaces the closers
the editor typed, in every language and line ending; it is not dropped."""

from __future__ import annotations

import pytest

from loomline.completion.service import Completion
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.editing.harness import CURSOR, ENDINGS, complete_marked

# (language, document, answer): the answer replaces the rest of the cursor's line.
BLOCKS = [
    pytest.param("javascript", "function f(nums) {\n  return nums.map(█);\n}\n",
                 "x => {\n    return x * 2;\n  });", id="javascript"),
    pytest.param("typescript",
                 "function f(items: string[]) {\n  items.forEach(█);\n}\n",
                 "(item: string) => {\n    console.log(item);\n  });", id="typescript"),
    pytest.param("go", "func f(xs []int) {\n\tsort.Slice(xs, █)\n}\n",
                 "func(i, j int) bool {\n\t\treturn xs[i] < xs[j]\n\t})", id="go"),
    pytest.param("rust", "fn f(xs: &[i32]) {\n    xs.iter().for_each(█);\n}\n",
                 "|x| {\n        println!(\"{}\", x);\n    });", id="rust"),
    pytest.param("java", "class A {\n  void f(List<Integer> xs) {\n    xs.forEach(█);\n  }\n}\n",
                 "x -> {\n      System.out.println(x);\n    });", id="java"),
    pytest.param("c", "void f(void) {\n  call(█);\n}\n",
                 "(struct opts){\n    .verbose = 1,\n  });", id="c"),
    pytest.param("cpp", "void f(std::vector<int>& v) {\n  std::sort(v.begin(), v.end(), █);\n}\n",
                 "[](int a, int b) {\n    return a < b;\n  });", id="cpp"),
    pytest.param("python", "def f(xs):\n    return sorted(█)\n",
                 "[\n        x for x in xs\n    ])", id="python"),
]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer"), BLOCKS)
async def test_a_block_at_an_auto_closed_bracket_replaces_the_closers(
    language_id: str, marked: str, answer: str, ending: str
) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending)
    assert isinstance(result, Completion), result
    head, tail = marked.split(CURSOR)
    rest_of_line = tail.split("\n", 1)[1]
    assert applied == head + answer + "\n" + rest_of_line
    assert not adds_parse_errors(language_id, head, answer, "\n" + rest_of_line)
