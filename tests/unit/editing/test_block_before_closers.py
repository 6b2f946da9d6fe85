"""A block answered at an auto-closed bracket (``nums.map(|);`` answered
``x => {\\n  return x * 2;\\n});``) keeps its body: its own closing line replaces the closers
the editor typed, in every language and line ending; it is not dropped."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean
from loomline.completion.service import Completion
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.cleanup.marks import cursor_for
from tests.unit.editing.harness import CURSOR, ENDINGS, complete_marked, streamed

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


# (language, document, answer, the document's lines from the cursor's once it is applied):
# the answer's closing line writes more than the rest of the line (``;``) or less (not the
# ``.collect()`` or comment after the typed closer); the typed closers are replaced through
# the item's range, and what of the rest of the line it does not write stays.
PAST_THE_CLOSERS = [
    pytest.param("javascript", "nums.map(█)\n", "num => {\n  return num * 2;\n});",
                 "nums.map(num => {\n  return num * 2;\n});\n", id="javascript"),
    pytest.param("typescript",
                 "function f(items: string[]) {\n  items.forEach(█)\n}\n",
                 "(item: string) => {\n    console.log(item);\n  });",
                 "  items.forEach((item: string) => {\n    console.log(item);\n  });\n}\n",
                 id="typescript"),
    pytest.param("go", "func f(t *testing.T, dir string) {\n\tt.Cleanup(█) // at the end\n}\n",
                 "func() {\n\t\tos.RemoveAll(dir)\n\t})",
                 "\tt.Cleanup(func() {\n\t\tos.RemoveAll(dir)\n\t}) // at the end\n}\n",
                 id="go"),
    pytest.param("rust", "fn f(xs: &[i32]) -> Vec<i32> {\n    xs.iter().map(█).collect()\n}\n",
                 "|x| {\n        x * 2\n    })",
                 "    xs.iter().map(|x| {\n        x * 2\n    }).collect()\n}\n", id="rust"),
    pytest.param("java",
                 "class A {\n  List<Integer> f(List<Integer> xs) {\n"
                 "    return xs.stream().map(█).toList();\n  }\n}\n",
                 "x -> {\n      return x * 2;\n    })",
                 "    return xs.stream().map(x -> {\n      return x * 2;\n    }).toList();\n"
                 "  }\n}\n", id="java"),
    pytest.param("c", "void f(void) {\n  call(█)\n}\n",
                 "(struct opts){\n    .verbose = 1,\n  });",
                 "  call((struct opts){\n    .verbose = 1,\n  });\n}\n", id="c"),
    pytest.param("cpp", "void f(Pool& pool) {\n  pool.submit(█)\n}\n",
                 "[&] {\n    work();\n  });",
                 "  pool.submit([&] {\n    work();\n  });\n}\n", id="cpp"),
    pytest.param("python", "def f(xs):\n    return sorted(█)[:3]\n",
                 "[\n        x for x in xs\n    ])",
                 "    return sorted([\n        x for x in xs\n    ])[:3]\n", id="python"),
]


@pytest.mark.parametrize("multiline", ["auto", "always"])
@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer", "lines"), PAST_THE_CLOSERS)
async def test_a_block_that_ends_past_the_typed_closers_replaces_them(
    language_id: str, marked: str, answer: str, lines: str, ending: str, multiline: str
) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending,
                                            multiline=multiline)
    assert isinstance(result, Completion), result
    head = marked.split(CURSOR)[0]
    line_start = head.rfind("\n") + 1
    assert applied == head[:line_start] + lines
    assert not adds_parse_errors(language_id, "", applied, "")


@pytest.mark.parametrize("size", [1, 2, 5])
@pytest.mark.parametrize(("language_id", "marked", "answer"), [
    *BLOCKS, *(pytest.param(*case.values[:3], id=case.id) for case in PAST_THE_CLOSERS)])
def test_a_streamed_block_is_read_through_its_closing_line(
    language_id: str, marked: str, answer: str, size: int
) -> None:
    # A last line so far `}` (or `})`) may yet become `});`: the stream is read on.
    cursor = cursor_for(marked, language_id, multiline=True)
    assert streamed(marked, language_id, answer, size) == clean(answer, cursor)
