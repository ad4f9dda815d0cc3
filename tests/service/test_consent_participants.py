"""Participant withdrawals this node's catalog does not record: deny, then map them.

Another institution's withdrawal reaches this node only as a pseudonym on the
chain. The tests submit such a withdrawal straight to the node's chain, so
the node's catalog has no rows for it, as on a node that did not record it.
"""

from __future__ import annotations

import json
from pathlib import Path

from consent_chain.consents import withdraw
from service.consent_header import HEADER
from tests.service.test_consent_chain import (
    BAM_ID,
    DATASET_ID,
    VCF_ID,
    ChainNode,
    chain_node,
    consent_of,
    passport_file,
    run_cli,
    ticket,
    verified_receipt,
)

__all__ = ["chain_node"]

# A pseudonym under another institution's secret; this node cannot derive it.
ELSEWHERE = "5e" * 32


def withdraw_elsewhere(node: ChainNode, pseudonym: str = ELSEWHERE) -> None:
    """Put a participant withdrawal on the chain without any catalog rows for it."""
    consent_of(node).node.submit("consent_withdraw", {
        "dataset_id": DATASET_ID, "scope": "participant", "participant": pseudonym,
    })


def test_unmapped_withdrawal_denies_until_mapped(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    withdraw_elsewhere(chain_node)

    reads = ticket(chain_node, BAM_ID, passport)
    variants = ticket(chain_node, VCF_ID, passport, "variants")
    pending = run_cli(chain_node, "consent", "pending", "--dataset", DATASET_ID)
    mapped = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                     "--pseudonym", ELSEWHERE, "--objects", BAM_ID)
    mapped_reads = ticket(chain_node, BAM_ID, passport)
    mapped_variants = ticket(chain_node, VCF_ID, passport, "variants")
    pending_after = run_cli(chain_node, "consent", "pending", "--dataset", DATASET_ID)

    assert reads.status_code == 403
    assert variants.status_code == 403
    assert ELSEWHERE in reads.json()["htsget"]["message"]
    decision = verified_receipt(chain_node, reads.headers[HEADER])
    assert decision["decision"] == "deny"
    reasons = str(decision["reasons"])
    assert ELSEWHERE in reasons
    assert f"dataset {DATASET_ID}" in reasons
    assert "`consentry consent participant`" in reasons
    assert pending.returncode == 0, pending.stderr
    assert pending.stdout.split() == [ELSEWHERE]
    assert mapped.returncode == 0, mapped.stderr
    assert mapped_reads.status_code == 403
    assert "withdrew consent" in mapped_reads.json()["htsget"]["message"]
    assert mapped_variants.status_code == 200
    assert pending_after.stdout == ""


def test_participant_without_objects_serves_dataset(chain_node: ChainNode,
                                                    tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    withdraw_elsewhere(chain_node)
    assert ticket(chain_node, BAM_ID, passport).status_code == 403

    mapped = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                     "--pseudonym", ELSEWHERE, "--none")
    reads = ticket(chain_node, BAM_ID, passport)
    variants = ticket(chain_node, VCF_ID, passport, "variants")

    assert mapped.returncode == 0, mapped.stderr
    assert reads.status_code == 200
    assert variants.status_code == 200
    assert verified_receipt(chain_node, reads.headers[HEADER])["decision"] == "allow"


def test_each_unmapped_withdrawal_must_be_mapped(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    second = "6f" * 32
    withdraw_elsewhere(chain_node)
    withdraw_elsewhere(chain_node, second)

    run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
            "--pseudonym", ELSEWHERE, "--none")
    denied = ticket(chain_node, VCF_ID, passport, "variants")

    assert denied.status_code == 403
    assert second in denied.json()["htsget"]["message"]
    assert ELSEWHERE not in denied.json()["htsget"]["message"]


def test_participant_command_rejects_bad_input(chain_node: ChainNode) -> None:
    withdraw_elsewhere(chain_node)

    unknown = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                      "--pseudonym", "ab" * 32, "--none")
    empty = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                    "--pseudonym", ELSEWHERE, "--objects", "")
    outside = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                      "--pseudonym", ELSEWHERE, "--objects", "elsewhere/")
    pending = run_cli(chain_node, "consent", "pending", "--dataset", DATASET_ID)

    assert unknown.returncode == 1
    assert f"is not a withdrawn participant of dataset '{DATASET_ID}'" in unknown.stderr
    assert empty.returncode == 1
    assert "must not be empty" in empty.stderr
    assert outside.returncode == 1
    assert "is outside dataset" in outside.stderr
    assert pending.stdout.split() == [ELSEWHERE]


def test_participants_command_exports_custodian_rows(chain_node: ChainNode) -> None:
    consent = consent_of(chain_node)
    withdraw(consent.node, consent.catalog, DATASET_ID, "NA12878", [BAM_ID])
    withdraw_elsewhere(chain_node)
    run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
            "--pseudonym", ELSEWHERE, "--none")

    exported = run_cli(chain_node, "consent", "participants", "--dataset", DATASET_ID)

    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == {
        "dataset_id": DATASET_ID,
        "participants": {consent.node.participant("NA12878"): [BAM_ID], ELSEWHERE: []},
    }


def test_participants_file_maps_the_unrecorded(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    second = "6f" * 32
    withdraw_elsewhere(chain_node)
    withdraw_elsewhere(chain_node, second)
    run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
            "--pseudonym", second, "--none")
    exported = tmp_path / "participants.json"
    exported.write_text(json.dumps({"dataset_id": DATASET_ID, "participants": {
        ELSEWHERE: [BAM_ID], second: [VCF_ID]}}))

    imported = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                       "--from-file", str(exported))
    again = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                    "--from-file", str(exported))

    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == [ELSEWHERE]
    assert "mapped 1 of 2" in imported.stderr
    assert again.stdout == ""
    assert ticket(chain_node, BAM_ID, passport).status_code == 403
    assert ticket(chain_node, VCF_ID, passport, "variants").status_code == 200


def test_participants_file_for_other_dataset_is_rejected(chain_node: ChainNode,
                                                        tmp_path: Path) -> None:
    withdraw_elsewhere(chain_node)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"dataset_id": "EGAD-other", "participants": {ELSEWHERE: []}}))
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"dataset_id": DATASET_ID, "participants": {"ab" * 32: []}}))

    wrong_dataset = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                            "--from-file", str(other))
    not_withdrawn = run_cli(chain_node, "consent", "participant", "--dataset", DATASET_ID,
                            "--from-file", str(unknown))

    assert wrong_dataset.returncode == 1
    assert "is not the output of `consentry consent participants" in wrong_dataset.stderr
    assert not_withdrawn.returncode == 1
    assert "is not a withdrawn participant" in not_withdrawn.stderr
    assert run_cli(chain_node, "consent", "pending", "--dataset", DATASET_ID).stdout.split() == [
        ELSEWHERE]
