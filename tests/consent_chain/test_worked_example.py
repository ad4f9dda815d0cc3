"""Checks that the worked example in docs/consent-chain.md matches real output."""

from __future__ import annotations

import hashlib
import re

from tests.consent_chain.worked_example import render
from tests.support import REPO_ROOT

DOC = REPO_ROOT / "docs" / "consent-chain.md"


def test_document_shows_current_output() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- worked-example:start -->\n```text\n(.*?)\n```", text, re.S)
    assert match is not None
    assert match.group(1) == render()


def test_example_roots_follow_from_leaves() -> None:
    values = {}
    for line in render().splitlines():
        name, value = line.split(" = ", 1)
        values[name.strip()] = value
    leaf0 = bytes.fromhex(values["tx 0 leaf hash"])
    leaf1 = bytes.fromhex(values["tx 1 leaf hash"])
    root = hashlib.sha256(b"\x01" + leaf0 + leaf1).hexdigest()
    assert f'"tx_root":"{root}"' in values["block 1 header"]
