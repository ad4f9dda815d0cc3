"""Pydantic models for the shapes of genesis documents and transaction payloads.

Models validate shape only (types, patterns, required fields). Rules that
depend on chain state, such as "the dataset must exist", live in `state`.
Optional fields are omitted when unset: a JSON null is rejected, so every
logical value has exactly one canonical encoding.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consent_chain.crypto import is_signing_key, key_id_for

Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Hex128 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
MemberId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{0,62}$")]
Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
DatasetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
MondoId = Annotated[str, StringConstraints(pattern=r"^MONDO:[0-9]{7}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Millis = Annotated[int, Field(ge=0)]

TransactionType = Literal[
    "member_add",
    "member_key_rotate",
    "member_key_revoke",
    "dataset_register",
    "consent_update",
    "consent_withdraw",
    "access_decision",
]

# GA4GH Data Use Ontology: the primary permission terms and the modifier terms.
DuoPermission = Literal[
    "DUO:0000004",  # NRES no restriction
    "DUO:0000042",  # GRU general research use
    "DUO:0000006",  # HMB health or medical or biomedical research
    "DUO:0000007",  # DS disease specific research
    "DUO:0000011",  # POA population origins or ancestry research only
]
DISEASE_SPECIFIC = "DUO:0000007"
DuoModifier = Literal[
    "DUO:0000012",  # RS research specific restrictions
    "DUO:0000015",  # NMDS no general methods research
    "DUO:0000016",  # GSO genetic studies only
    "DUO:0000018",  # NPUNCU not for profit, non commercial use only
    "DUO:0000019",  # PUB publication required
    "DUO:0000020",  # COL collaboration required
    "DUO:0000021",  # IRB ethics approval required
    "DUO:0000022",  # GS geographical restriction
    "DUO:0000024",  # MOR publication moratorium
    "DUO:0000025",  # TS time limit on use
    "DUO:0000026",  # US user specific restriction
    "DUO:0000027",  # PS project specific restriction
    "DUO:0000028",  # IS institution specific restriction
    "DUO:0000029",  # RTN return to database or resource
    "DUO:0000043",  # CC clinical care use
    "DUO:0000044",  # NPOA population origins or ancestry research prohibited
    "DUO:0000045",  # NPU not for profit organisation use only
    "DUO:0000046",  # NCU non-commercial use only
]
TIME_LIMIT = "DUO:0000025"
VisaType = Literal[
    "AffiliationAndRole",
    "AcceptedTermsAndPolicies",
    "ResearcherStatus",
    "ControlledAccessGrants",
    "LinkedIdentities",
]


class ChainModel(BaseModel):
    """Strict, frozen base model that forbids unknown fields and explicit nulls."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None:
                    raise ValueError(f"field {name!r} is null; omit optional fields instead")
        return data


class PublicKey(ChainModel):
    """An Ed25519 public key (raw 32 bytes as hex) and its key id."""

    key_id: KeyId
    public_key: Hex64

    @model_validator(mode="after")
    def _key_id_matches(self) -> PublicKey:
        raw = bytes.fromhex(self.public_key)
        if not is_signing_key(raw):
            raise ValueError(
                f"public key {self.public_key} is not a valid Ed25519 key (a small-order or "
                "non-canonical point); export the raw public key of a real key pair"
            )
        expected = key_id_for(raw)
        if self.key_id != expected:
            raise ValueError(f"key_id {self.key_id} does not match the public key ({expected})")
        return self


class Member(ChainModel):
    """A member institution with its role and signing keys."""

    id: MemberId
    name: Text
    role: Role
    keys: list[PublicKey] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> Member:
        ids = [key.key_id for key in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError(f"member {self.id} lists a key id twice")
        return self


class MemberAdd(ChainModel):
    """Payload adding a member institution."""

    member: Member


class MemberKeyRotate(ChainModel):
    """Payload adding a key to the submitting member, optionally retiring an old one."""

    new_key: PublicKey
    retire_key_id: KeyId | None = None


class MemberKeyRevoke(ChainModel):
    """Payload revoking one of the submitting member's keys."""

    key_id: KeyId
    reason: Text


class TimeLimit(ChainModel):
    """Window of permitted use, in milliseconds since the Unix epoch."""

    not_before: Millis | None = None
    not_after: Millis | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimeLimit:
        if self.not_before is None and self.not_after is None:
            raise ValueError("a time limit needs not_before, not_after or both")
        start, end = self.not_before, self.not_after
        if start is not None and end is not None and start >= end:
            raise ValueError("time limit not_before must be earlier than not_after")
        return self


class Consent(ChainModel):
    """Data use conditions: one DUO permission, modifiers, MONDO diseases and time limits."""

    permission: DuoPermission
    modifiers: list[DuoModifier] = []
    disease_ids: list[MondoId] = []
    time_limit: TimeLimit | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Consent:
        if len(set(self.modifiers)) != len(self.modifiers):
            raise ValueError("consent modifiers must not repeat")
        if len(set(self.disease_ids)) != len(self.disease_ids):
            raise ValueError("consent disease_ids must not repeat")
        if self.permission == DISEASE_SPECIFIC and not self.disease_ids:
            raise ValueError("disease specific research (DUO:0000007) needs MONDO disease_ids")
        if self.permission != DISEASE_SPECIFIC and self.disease_ids:
            raise ValueError("disease_ids are only allowed with DUO:0000007")
        has_end = self.time_limit is not None and self.time_limit.not_after is not None
        if TIME_LIMIT in self.modifiers and not has_end:
            raise ValueError("time limit on use (DUO:0000025) needs time_limit.not_after")
        return self


class DatasetRegister(ChainModel):
    """Payload registering a dataset under its first consent (version 1)."""

    dataset_id: DatasetId
    consent: Consent


class ConsentUpdate(ChainModel):
    """Payload replacing a dataset's consent; `version` is the new version number."""

    dataset_id: DatasetId
    version: int = Field(ge=2)
    consent: Consent


class ConsentWithdraw(ChainModel):
    """Payload withdrawing consent for a whole dataset or for one participant's samples."""

    dataset_id: DatasetId
    scope: Literal["dataset", "participant"]
    participant: Hex64 | None = None

    @model_validator(mode="after")
    def _participant_matches_scope(self) -> ConsentWithdraw:
        if self.scope == "participant" and self.participant is None:
            raise ValueError("a participant withdrawal needs the participant pseudonym")
        if self.scope == "dataset" and self.participant is not None:
            raise ValueError("a dataset withdrawal must not name a participant")
        return self


class Region(ChainModel):
    """Genomic region requested: reference name and 0-based half-open [start, end)."""

    reference_name: Text
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Region:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError("region start must be smaller than end")
        return self


class VisaUse(ChainModel):
    """A Passport visa used in a decision, identified by its jti or the SHA-256 of the JWT."""

    type: VisaType
    issuer: Text
    jti: Text | None = None
    sha256: Hex64 | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> VisaUse:
        if (self.jti is None) == (self.sha256 is None):
            raise ValueError("a visa is identified by exactly one of jti and sha256")
        return self


class ConsentReference(ChainModel):
    """The dataset consent version a decision evaluated."""

    dataset_id: DatasetId
    version: int = Field(ge=1)


class AccessDecision(ChainModel):
    """Payload recording one allow or deny decision on a data request."""

    request_id: Text
    time: Millis
    endpoint: Literal["htsget/reads", "htsget/variants", "drs/objects", "drs/access"]
    object_id: Text
    region: Region | None = None
    requester: Hex64
    visas: list[VisaUse] = []
    consent: ConsentReference
    decision: Literal["allow", "deny"]
    reasons: list[Text] = []

    @model_validator(mode="after")
    def _deny_has_reason(self) -> AccessDecision:
        if self.decision == "deny" and not self.reasons:
            raise ValueError("a deny decision needs at least one reason")
        return self


PAYLOAD_MODELS: dict[str, type[ChainModel]] = {
    "member_add": MemberAdd,
    "member_key_rotate": MemberKeyRotate,
    "member_key_revoke": MemberKeyRevoke,
    "dataset_register": DatasetRegister,
    "consent_update": ConsentUpdate,
    "consent_withdraw": ConsentWithdraw,
    "access_decision": AccessDecision,
}


class TransactionBody(ChainModel):
    """The signed part of a transaction; `payload` is checked by the model for `type`."""

    chain_id: Hex64
    type: TransactionType
    member: MemberId
    key_id: KeyId
    seq: int = Field(ge=1)
    time: Millis
    payload: dict[str, Any]


class BlockHeader(ChainModel):
    """The signed part of a block."""

    version: Literal[1]
    chain_id: Hex64
    height: int = Field(ge=1)
    prev_hash: Hex64
    time: Millis
    proposer: MemberId
    key_id: KeyId
    config_hash: Hex64
    tx_count: int = Field(ge=1)
    tx_root: Hex64
    log_size: int = Field(ge=1)
    log_root: Hex64


class BlockPolicy(ChainModel):
    """Block signing rule: in `proposer` mode, one signature by a listed member's active key."""

    # NOTE: only single-proposer signing exists; a cosignature quorum mode
    # would add a new literal here and a check in state.check_block_signer.
    mode: Literal["proposer"]
    proposers: list[MemberId] = Field(min_length=1)


class Policy(ChainModel):
    """Chain policy: roles allowed to submit each transaction type, and block signing."""

    submit: dict[TransactionType, list[Role]]
    block: BlockPolicy


class GenesisDocument(ChainModel):
    """The genesis document whose canonical SHA-256 is the chain id."""

    version: Literal[1]
    name: Text
    time: Millis
    members: list[Member] = Field(min_length=1)
    policy: Policy

    @model_validator(mode="after")
    def _consistent(self) -> GenesisDocument:
        member_ids = [member.id for member in self.members]
        if len(set(member_ids)) != len(member_ids):
            raise ValueError("genesis lists a member id twice")
        key_ids = [key.key_id for member in self.members for key in member.keys]
        if len(set(key_ids)) != len(key_ids):
            raise ValueError("genesis lists a key id twice")
        unknown = sorted(set(self.policy.block.proposers) - set(member_ids))
        if unknown:
            raise ValueError(f"block proposers {unknown} are not genesis members")
        return self
