"""A workspace full of planted secrets, and the secrets, for the privacy test over stdio.

Every secret value here is made up. ``PLANTED`` lists what must never reach an engine: whole
values and the lines of a private key's body; ``LOCAL_ONLY`` marks text of an ignored file that
is no secret at all (so only keeping the file out keeps it out).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path


def _key_body(seed: int, lines: int) -> list[str]:
    chars = string.ascii_letters + string.digits + "+/"
    rng = random.Random(seed)
    return ["".join(rng.choice(chars) for _ in range(64)) for _ in range(lines)]


AWS_ID = "AKIAIOSFODNN7PLANTED"
AWS_SECRET = "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"
KEY_BODY = _key_body(15, 6)
GITHUB = "ghp_PLaNTeDt0keNf0rTheN0teb00kCeLL123456"
SLACK = "xoxb-210987654321-1234567890123-PlAnTeDsLaCkToKeNvAlUe12"
STRIPE = "sk_live_PLaNTeD4eC39HqLyjWDarjtT1z"
NOTEBOOK_API_KEY = "c2f7e1a94b3d8e6f0a1b2c3d4e5f6a7b"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkLXVzZXIiLCJyb2xlIjoiYWRtaW4ifQ"
    ".Zk9QbGFudGVkU2lnbmF0dXJlVmFsdWVGb3JUZXN0aW5nMTIz"
)
DB_PASSWORD = "Tr0ub4dor&3-planted"
LOCAL_ONLY = "replica-7.db.internal.example"

PLANTED = [AWS_ID, AWS_SECRET, *KEY_BODY, GITHUB, SLACK, STRIPE, NOTEBOOK_API_KEY, JWT,
           DB_PASSWORD, LOCAL_ONLY]

SECRETS_PY = f'''"""Credentials for the deployment."""

AWS_ACCESS_KEY_ID = "{AWS_ID}"
AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"
DEPLOY_KEY = """-----BEGIN RSA PRIVATE KEY-----
{chr(10).join(KEY_BODY)}
-----END RSA PRIVATE KEY-----"""


def aws_credentials():
    """The key pair, as boto3 takes it."""
    return {{"aws_access_key_id": AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": AWS_SECRET_ACCESS_KEY}}


def deploy_key():
    """The deployment's private key."""
    return DEPLOY_KEY
'''

CLIENT_PY = '''from app.secrets import AWS_ACCESS_KEY_ID, aws_credentials, deploy_key


def make_client(service):
    credentials = aws_credentials()
    return connect_service(service, AWS_ACCESS_KEY_ID, credentials)


def sign_release(path):
    key = deploy_key()
''' + "    \n"  # the cursor's line

# The same helper in the ignored file and in an unrelated one: the snippet search would pick it.
CONNECT = '''def connect_database(host, port, user):
    url = f"postgresql://{user}@{host}:{port}/main"
    engine = create_engine(url, pool_size=5, pool_recycle=3600)
    return engine.connect()
'''

LOCAL_SETTINGS_PY = f'''DATABASE_HOST = "{LOCAL_ONLY}"
DATABASE_PASSWORD = "{DB_PASSWORD}"


{CONNECT}'''

DB_PY = f'''import logging

log = logging.getLogger(__name__)


{CONNECT}

def reconnect(host, port, user):
    log.info("reconnecting")
''' + "    \n"

DOTENV = f"STRIPE_SECRET_KEY={STRIPE}\nSLACK_BOT_TOKEN={SLACK}\nAWS_ACCESS_KEY_ID={AWS_ID}\n"

NOTEBOOK_CELL = f'''import requests

GITHUB_TOKEN = "{GITHUB}"
api_key = "{NOTEBOOK_API_KEY}"
slack_token = "{SLACK}"
response = requests.get(url, headers={{"Authorization": f"token {{GITHUB_TOKEN}}"}})
'''

UNTITLED = f'''import jwt

TOKEN = "{JWT}"
claims = jwt.decode(TOKEN, options={{"verify_signature": False}})
'''


@dataclass(frozen=True)
class PlantedDocument:
    uri: str
    text: str
    language: str
    excluded: bool  # .gitignore or an exclusion glob: no completion, no context


def plant(root: Path) -> list[PlantedDocument]:
    """Write the workspace under ``root``; the documents an editor would have open."""
    (root / "app").mkdir(parents=True)
    (root / ".gitignore").write_text("local_settings.py\n__pycache__/\n")
    files = {
        "app/__init__.py": ("", "python", False),
        "app/secrets.py": (SECRETS_PY, "python", False),
        "app/client.py": (CLIENT_PY, "python", False),
        "app/local_settings.py": (LOCAL_SETTINGS_PY, "python", True),
        "app/db.py": (DB_PY, "python", False),
        ".env": (DOTENV, "plaintext", True),
    }
    documents = []
    for relative, (text, language, excluded) in files.items():
        (root / relative).write_text(text)
        documents.append(PlantedDocument((root / relative).as_uri(), text, language, excluded))
    (root / "analysis.ipynb").write_text('{"cells": [], "nbformat": 4, "nbformat_minor": 5}\n')
    cell = f"vscode-notebook-cell:{root / 'analysis.ipynb'}#W0sZmlsZQ%3D%3D"
    documents.append(PlantedDocument(cell, NOTEBOOK_CELL, "python", False))
    documents.append(PlantedDocument("untitled:Untitled-1", UNTITLED, "python", False))
    return documents


def leaks(text: str) -> list[str]:
    """The planted values in ``text``, whole or any 12 characters of one."""
    found = []
    for secret in PLANTED:
        pieces = {secret[i : i + 12] for i in range(max(1, len(secret) - 11))}
        if any(piece in text for piece in pieces):
            found.append(secret)
    return found
