"""No secret in the repository. The well-known local keys — the Cosmos DB emulator's key, Azurite's
devstoreaccount1 key, the local Event Grid topic key — appear only where they must (each place
listed below with the reason), and nothing shaped like a real credential is committed anywhere.
The scan reads every tracked file (`git ls-files`); each pattern is first shown to match a
credential made up by the test, so a pattern that can no longer match fails here too.

(That no key and no token reaches the logs of a real run is checked where the runs are:
tests/local_cloud/test_cross_cloud_loop.py, tests/aws/test_entra_auth.py, and for the whole app
with Cosmos tests/e2e/test_cross_cloud_saga.py.)"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from eventgrid_local.token_issuer import LocalTokenIssuer

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SETTINGS = "local.settings.example.json"
THIS_FILE = str(Path(__file__).resolve().relative_to(REPO))

# Azurite's account key for devstoreaccount1 is public (Microsoft documents it), but it is still a
# key: only its first characters are written here, enough to find it.
AZURITE_KEY_PREFIX = "Eby8vdM02xNOcqFl"


def local_keys() -> dict[str, str]:
    values = json.loads((REPO / EXAMPLE_SETTINGS).read_text())["Values"]
    return {"the Cosmos emulator key": values["COSMOS_KEY"], "the local topic key": values["EVENTGRID_TOPIC_KEY"],
            "Azurite's devstoreaccount1 key": AZURITE_KEY_PREFIX}


# Where a local key may appear, and why. Nowhere else.
ALLOWED = {
    (EXAMPLE_SETTINGS, "the Cosmos emulator key"):
        "the example settings hold the local emulator's values for developers to copy; Azure uses identities",
    (EXAMPLE_SETTINGS, "the local topic key"):
        "the example settings point the app at the local Event Grid service; Azure topics have local auth off",
    (THIS_FILE, "Azurite's devstoreaccount1 key"):
        "this test names the key's first characters in order to look for it",
}

# Shapes of real credentials. (This file builds its samples at run time; it is excluded from the scan.)
SECRET_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key block": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |ENCRYPTED |DSA )?PRIVATE KEY-----"),
    "Azure storage account key": re.compile(r"AccountKey=[A-Za-z0-9+/]{80,}={0,2}"),
    "SAS signature": re.compile(r"[?&]sig=[A-Za-z0-9%+/]{30,}"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"),
    "bearer token": re.compile(r"Bearer\s+ey[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"),
    "Application Insights key": re.compile(r"InstrumentationKey=[0-9a-f]{8}-[0-9a-f]{4}-"),
}


def samples() -> dict[str, str]:
    """One made-up credential per shape, so every pattern is shown to match what it is for."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    token = LocalTokenIssuer("http://127.0.0.1:1").token("api://sample")
    account_key = base64.b64encode(secrets.token_bytes(64)).decode()
    signature = base64.b64encode(secrets.token_bytes(32)).decode()  # an HMAC-SHA256, URL-encoded in a SAS
    return {
        "AWS access key id": "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "private key block": pem,
        "Azure storage account key": f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={account_key}",
        "SAS signature": f"https://x.blob.core.windows.net/c?sv=2024&sig={quote(signature, safe='')}",
        "JSON web token": token,
        "bearer token": f"Authorization: Bearer {token}",
        "Application Insights key": "InstrumentationKey=12345678-1234-1234-1234-123456789abc;IngestionEndpoint=x",
    }


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        return [name for name in listed.stdout.decode().split("\0") if name and (REPO / name).is_file()]
    skip = {".git", ".venv", "node_modules", ".local", ".devhost", "__pycache__"}
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and not skip & set(p.parts)]


def text_of(name: str) -> str:
    return (REPO / name).read_bytes().decode("utf-8", "replace")  # binary files are scanned as what they spell


def test_every_pattern_matches_what_it_is_for() -> None:
    made = samples()
    assert set(made) == set(SECRET_SHAPES)
    for shape, sample in made.items():
        assert SECRET_SHAPES[shape].search(sample), f"{shape}: the pattern no longer matches a real one"


def test_the_local_keys_appear_only_where_they_must() -> None:
    keys = local_keys()
    assert all(len(key) >= 16 for key in keys.values())
    found = {(name, what) for name in tracked_files() for what, key in keys.items() if key in text_of(name)}
    assert found - set(ALLOWED) == set(), f"local keys outside their allowed places: {sorted(found - set(ALLOWED))}"
    assert set(ALLOWED) - found == set(), f"stale allowances (drop them): {sorted(set(ALLOWED) - found)}"


def test_nothing_shaped_like_a_credential_is_committed() -> None:
    files = tracked_files()
    assert EXAMPLE_SETTINGS in files and THIS_FILE in files and len(files) > 100, "the scan must see the tree"
    found = [(name, shape) for name in files if name != THIS_FILE
             for shape, pattern in SECRET_SHAPES.items() if pattern.search(text_of(name))]
    assert found == [], found


def test_local_settings_are_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "local.settings.json"], cwd=REPO, check=False)
    assert ignored.returncode == 0, "local.settings.json must stay out of git"
