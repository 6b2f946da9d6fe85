"""Planted secrets in every supported language's literal syntax, whole and while typed, and
ordinary code (HumanEval, the fixture, this project's own source) left unchanged."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from loomline.context.redaction import PLACEHOLDER, SecretRedactor, redact_around, redact_text
from loomline.context.secret_shapes import password_shaped

REPO = Path(__file__).resolve().parents[2]

# Made-up values, each of a different shape.
PASSWORD = "hunter2-Xy9!qWz"
RETURNED = "plantedpw_Zq8#xV2!mK"  # returned as a literal: no credential name near it
AWS_ID = "AKIAZQ7PLANTED4XY2KD"
GITHUB = "ghp_Pl4nT3dT0k3nV4lu3F0rTh3T3st5abcd12"
OPENAI = "sk-proj-7Qx2PlaNTeD9kEy4vALue8Zz"
SLACK = "xoxb-2109876543-PlAnTeD7sLaCk"
KEY_BODY = "MIIEowIBAAKCAQEAzPl4nt3dK3yB0dyL1n3W1thD1g1ts4ndC4s3s0fB0th"

# (language, file name, the document: {pw} a keyword-named variable's value, {ret} a
# returned literal, {aws} {gh} {oa} {slack} tokens).
LANGUAGES = {
    "python": ("app.py", '''
password = '{pw}'
passwd = "{pw}"
db_secret = r"{pw}"
API_KEY: str = "{pw}"
token = b'{pw}'
def admin_password():
    return "{ret}"
AWS = "{aws}"
client(github_token="{gh}", openai="{oa}", slack='{slack}')
'''),
    "javascript": ("app.js", '''
const password = '{pw}';
let passwd = "{pw}";
const secret = `{pw}`;
const config = {{ apiKey: "{pw}", token: '{pw}' }};
function adminPassword() {{ return "{ret}"; }}
const aws = "{aws}", gh = '{gh}', oa = "{oa}", slack = `{slack}`;
'''),
    "typescript": ("app.ts", '''
const password: string = "{pw}";
let passwd: string | undefined = '{pw}';
export const API_KEY: Readonly<string> = `{pw}`;
const options = {{ secret: "{pw}", "token": "{pw}" }};
function adminPassword(): string {{ return '{ret}'; }}
const keys = ["{aws}", "{gh}", "{oa}", "{slack}"];
'''),
    "go": ("main.go", '''
password := "{pw}"
var passwd string = `{pw}`
const apiKey = "{pw}"
cfg := Config{{Secret: "{pw}", Token: "{pw}"}}
func adminPassword() string {{ return "{ret}" }}
keys := []string{{"{aws}", "{gh}", "{oa}", "{slack}"}}
'''),
    "rust": ("main.rs", '''
let password = "{pw}";
let passwd = r#"{pw}"#;
const API_KEY: &str = "{pw}";
static SECRET: &'static str = "{pw}";
let cfg = Config {{ token: String::from("{pw}"), secret: "{pw}".into() }};
fn admin_password() -> &'static str {{ "{ret}" }}
let keys = ["{aws}", "{gh}", "{oa}", "{slack}"];
'''),
    "java": ("App.java", '''
String password = "{pw}";
private static final String PASSWD = "{pw}";
final var apiKey = "{pw}";
props.put("secret", "{pw}"); props.setProperty("token", "{pw}");
String adminPassword() {{ return "{ret}"; }}
String[] keys = {{"{aws}", "{gh}", "{oa}", "{slack}"}};
'''),
    "c": ("app.c", '''
const char *password = "{pw}";
char passwd[] = "{pw}";
static const char secret[32] = "{pw}";
#define API_KEY "{pw}"
const char *admin_password(void) {{ return "{ret}"; }}
const char *keys[] = {{"{aws}", "{gh}", "{oa}", "{slack}"}};
'''),
    "cpp": ("app.cpp", '''
std::string password = "{pw}";
std::string passwd{{"{pw}"}};
auto secret = u8"{pw}";
constexpr auto api_key = R"({pw})";
const char* admin_password() {{ return "{ret}"; }}
std::vector<std::string> keys = {{"{aws}", "{gh}", "{oa}", "{slack}"}};
'''),
    "env": (".env", '''
PASSWORD={pw}
DB_PASSWD="{pw}"
API_KEY='{pw}'
AWS_ACCESS_KEY_ID={aws}
GITHUB_TOKEN={gh}
'''),
    "yaml": ("config.yaml", '''
database:
  password: {pw}
  token: "{pw}"
  secret: '{pw}'
keys: ["{aws}", "{gh}", "{oa}", "{slack}"]
'''),
}
PLANTED = [PASSWORD, RETURNED, AWS_ID, GITHUB, OPENAI, SLACK]


def document(language: str) -> tuple[str, str]:
    name, template = LANGUAGES[language]
    return name, template.format(pw=PASSWORD, ret=RETURNED, aws=AWS_ID, gh=GITHUB,
                                 oa=OPENAI, slack=SLACK)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_planted_secret_survives_in_any_language(language):
    name, text = document(language)
    assert any(secret in text for secret in PLANTED)
    out = SecretRedactor().text(text, name)
    assert not [s for s in PLANTED if s in out], out
    assert PLACEHOLDER in out


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_part_of_a_secret_leaks_while_it_is_typed(language):
    """The document as it is while each secret is typed character by character, the cursor
    just after the typed part: no 6 or more characters of it reach the prompt (a known
    prefix, such as ``AKIA`` or ``ghp_``, and 4 characters after it at most)."""
    name, text = document(language)
    redactor = SecretRedactor()
    # Not the returned literal: nothing names it, so it is a secret only once its shape
    # shows (a word such as "planted" may begin any string).
    for secret in [s for s in PLANTED if s != RETURNED]:
        start = text.find(secret)
        if start == -1:
            continue
        rest = text[start + len(secret):]
        shown = 4 + len(_known_prefix(secret))
        for typed in range(max(6, shown), len(secret) + 1):
            before, after = redactor.around(text[:start] + secret[:typed], rest, name)
            leaked = secret[:typed]
            assert leaked not in before + after, (language, leaked, before[-80:])


def _known_prefix(secret: str) -> str:
    for prefix in ("AKIA", "ghp_", "sk-proj-", "xoxb-"):
        if secret.startswith(prefix):
            return prefix
    return ""


@pytest.mark.parametrize("name", ["key.py", "key.js", "key.go", "key.rs", "id_rsa", "k.pem"])
def test_a_private_key_block_being_typed_leaks_none_of_its_body(name):
    head = 'KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
    for typed in range(6, len(KEY_BODY) + 1):
        before, after = redact_around(head + KEY_BODY[:typed], '\n"""\n', name)
        assert KEY_BODY[:typed] not in before + after
        assert KEY_BODY[:6] not in before


@pytest.mark.parametrize(
    "line",
    [
        'FORMAT = "%Y-%m-%dT%H:%M:%S%z"',
        'PATTERN = r"^[A-Za-z0-9_]+(?:\\.[A-Za-z0-9_]+)*$"',
        'LOCALE = "sr_RS.UTF-8@latin"',
        'MIME = "text/html;charset=UTF-8"',
        'HOME = "$HOME/.config/App2!x"',
        'label = "Password: "',
        'print("Token: " + repr(token))',
        'prompt = getpass("Enter password: ")',
        'token = f"loomline-{key}-{next(ids)}"',
        "secret = os.environ['APP_SECRET']",
        'password = "{password}"',
        'password = "********"',
        'pwd = "/home/user/project"',
        'COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"  # the commit',
        'sha256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"',
        "region = 'ASIAPACIFIC'",
        'model = "scikit-learn"',
        'name = "task-queue-v2"',
    ],
)
def test_ordinary_code_is_not_taken_for_a_secret(line):
    assert redact_text(line, "ordinary.py") == line


def test_password_shape():
    assert password_shaped(RETURNED) and password_shaped("Xk9#mP2$vL7qR4")
    for text in ("HelloWorld", "Hello World 1!", "camelCaseName_2", "%d items: %s!",
                 "v1.2.3-beta", "utf-8", "aB3!"):
        assert not password_shaped(text)


def _ordinary_sources() -> list[Path]:
    roots = [REPO / "server", REPO / "completion", REPO / "context", REPO / "tests/fixtures",
             REPO / "editor-extension/src"]
    # The modules that describe secrets hold examples of them on purpose.
    describing = {"secret_shapes.py", "redaction.py"}
    return [path for root in roots for path in sorted(root.rglob("*"))
            if path.suffix in {".py", ".ts", ".json"} and path.name not in describing]


def test_this_projects_own_code_is_unchanged_by_redaction():
    sources = _ordinary_sources()
    assert len(sources) > 50
    redactor = SecretRedactor()
    changed = [path.name for path in sources
               if redactor.text(text := path.read_text(encoding="utf-8"), path.name) != text]
    assert changed == []


HUMANEVAL = REPO / "tests/fixtures/humaneval-infilling/HumanEval-RandomSpanInfillingLight.jsonl.gz"


def test_humaneval_programs_are_unchanged_by_redaction():
    programs: dict[str, str] = {}
    with gzip.open(HUMANEVAL, "rt", encoding="utf-8") as rows:
        for row in map(json.loads, rows):
            task = row["task_id"].rsplit("/", 1)[0]
            programs.setdefault(task, row["prompt"] + row["canonical_solution"]
                                + row["suffix"] + row["test"])
    assert len(programs) == 164
    redactor = SecretRedactor()
    changed = [task for task, text in programs.items() if redactor.text(text, "he.py") != text]
    assert changed == []
