"""Data Use Ontology (DUO) permission and modifier terms known to Consentry.

The table lists the current permission and modifier terms of DUO
(https://github.com/EBISPOT/DUO, `src/ontology/duo.csv`), keyed by DUO id,
with the short name the Consent Codes use.
"""

from __future__ import annotations

from collections.abc import Iterable

PERMISSIONS = {
    "DUO:0000004": "NRES",
    "DUO:0000042": "GRU",
    "DUO:0000006": "HMB",
    "DUO:0000007": "DS",
    "DUO:0000011": "POA",
}
MODIFIERS = {
    "DUO:0000044": "NPOA",
    "DUO:0000045": "NPU",
    "DUO:0000046": "NCU",
    "DUO:0000018": "NPUNCU",
    "DUO:0000015": "NMDS",
    "DUO:0000016": "GSO",
    "DUO:0000012": "RS",
    "DUO:0000043": "CC",
    "DUO:0000021": "IRB",
    "DUO:0000019": "PUB",
    "DUO:0000020": "COL",
    "DUO:0000029": "RTN",
    "DUO:0000022": "GS",
    "DUO:0000024": "MOR",
    "DUO:0000025": "TS",
    "DUO:0000026": "US",
    "DUO:0000027": "PS",
    "DUO:0000028": "IS",
}
KNOWN_CODES = {**PERMISSIONS, **MODIFIERS}
ID_BY_NAME = {name: duo_id for duo_id, name in KNOWN_CODES.items()}


class InvalidConsentCodes(ValueError):
    """A consent code is unknown, or the codes name more than one permission term."""


def normalize_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """Return the DUO ids of `codes` (ids such as DUO:0000042 or names such as GRU), in order.

    Raises InvalidConsentCodes for an unknown code, and for more than one
    permission term, because a dataset carries exactly one.
    """
    found: list[str] = []
    for code in codes:
        text = code.strip()
        duo_id = text.upper() if text.upper() in KNOWN_CODES else ID_BY_NAME.get(text.upper())
        if duo_id is None:
            raise InvalidConsentCodes(
                f"unknown consent code {text!r}; use a DUO id such as DUO:0000042 or one of "
                f"{', '.join(sorted(ID_BY_NAME))}"
            )
        if duo_id not in found:
            found.append(duo_id)
    permissions = [code for code in found if code in PERMISSIONS]
    if len(permissions) > 1:
        names = ", ".join(f"{PERMISSIONS[code]} ({code})" for code in permissions)
        raise InvalidConsentCodes(f"give at most one DUO permission term, not {names}")
    return tuple(found)
