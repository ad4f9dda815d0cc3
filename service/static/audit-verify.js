// Verify consent chain receipts in the browser, as docs/consent-chain.md defines them.
//
// Hashes are SHA-256 and signatures Ed25519, both from WebCrypto. Every check
// throws VerificationError naming what failed, so the page can show the reason.

const encoder = new TextEncoder();

export const TX_DOMAIN = "consentry/tx/v1\n";
export const CHECKPOINT_DOMAIN = "consentry/checkpoint/v1\n";
export const RECEIPT_VERSION = 1;
const HASH_PATTERN = /^[0-9a-f]{64}$/;
const SIGNATURE_PATTERN = /^[0-9a-f]{128}$/;

/** A check of a genesis, checkpoint or receipt failed, and the message names the check. */
export class VerificationError extends Error {}

/** WebCrypto in this browser lacks a primitive, so nothing can be verified. */
export class UnsupportedError extends Error {}

/** Encode a value as canonical JSON (RFC 8785 for the types the chain uses). */
export function canonicalJson(value) {
  if (value === null || value === undefined) {
    throw new VerificationError("canonical JSON does not allow null");
  }
  if (typeof value === "string" || typeof value === "boolean") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw new VerificationError(`canonical JSON allows only integers, not ${value}`);
    }
    return String(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  // The default sort compares UTF-16 code units, which is the order RFC 8785 requires.
  const names = Object.keys(value).sort();
  return `{${names.map((name) => `${JSON.stringify(name)}:${canonicalJson(value[name])}`).join(",")}}`;
}

/** Return the UTF-8 bytes of a value's canonical JSON. */
export function canonicalBytes(value) {
  return encoder.encode(canonicalJson(value));
}

export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text, label, pattern = HASH_PATTERN) {
  if (typeof text !== "string" || !pattern.test(text)) {
    throw new VerificationError(`${label} is not lowercase hex of the expected length`);
  }
  return Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
}

function concat(...parts) {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

function cryptoApi() {
  if (!globalThis.crypto || !globalThis.crypto.subtle) {
    throw new UnsupportedError(
      "WebCrypto is unavailable (it needs a secure context: https or http://127.0.0.1)");
  }
  return globalThis.crypto.subtle;
}

export async function sha256(bytes) {
  return new Uint8Array(await cryptoApi().digest("SHA-256", bytes));
}

/** Return the RFC 9162 leaf hash SHA-256(0x00 || data). */
export async function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

async function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** Verify an RFC 9162 (section 2.1.3.2) inclusion proof of `leaf` at `index` in a tree. */
export async function verifyInclusion(leaf, index, treeSize, proof, root) {
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new VerificationError(`leaf index ${index} is outside the tree of size ${treeSize}`);
  }
  let fn = index;
  let sn = treeSize - 1;
  let hash = leaf;
  for (const sibling of proof) {
    if (sn === 0) {
      throw new VerificationError("the inclusion proof has more hashes than the tree needs");
    }
    if (fn % 2 === 1 || fn === sn) {
      hash = await nodeHash(sibling, hash);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      hash = await nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) {
    throw new VerificationError("the inclusion proof has fewer hashes than the tree needs");
  }
  if (toHex(hash) !== toHex(root)) {
    throw new VerificationError("the inclusion proof does not lead to the checkpoint's root hash");
  }
}

/** Verify an Ed25519 signature over `domain || message`; return whether it holds. */
export async function verifyEd25519(publicKey, signature, domain, message) {
  const subtle = cryptoApi();
  let key;
  try {
    key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    if (error && error.name === "NotSupportedError") {
      throw new UnsupportedError("this browser's WebCrypto does not support Ed25519");
    }
    throw new VerificationError(`the Ed25519 public key is invalid (${error})`);
  }
  return subtle.verify({ name: "Ed25519" }, key, signature,
                       concat(encoder.encode(domain), message));
}

/** Check a genesis document against its chain id; return the chain id and member keys. */
export async function trustGenesis(answer) {
  const chainId = toHex(await sha256(canonicalBytes(answer.genesis)));
  if (chainId !== answer.chain_id) {
    throw new VerificationError(
      `the genesis hashes to ${chainId}, not to the chain id ${answer.chain_id}`);
  }
  const keys = new Map();
  for (const member of answer.genesis.members ?? []) {
    for (const key of member.keys ?? []) {
      keys.set(`${member.id}/${key.key_id}`, fromHex(key.public_key, `public key ${key.key_id}`));
    }
  }
  // NOTE: only genesis keys are trusted, so a checkpoint or transaction signed by a
  // key added later with member_key_rotate or member_add fails as "not in the genesis".
  return { chainId, keys };
}

async function checkSignature(trust, member, keyId, signatureHex, domain, message, label) {
  const publicKey = trust.keys.get(`${member}/${keyId}`);
  if (publicKey === undefined) {
    throw new VerificationError(`${label} is signed by key ${keyId} of ${member}, which is not in the genesis`);
  }
  const signature = fromHex(signatureHex, `${label} signature`, SIGNATURE_PATTERN);
  if (!(await verifyEd25519(publicKey, signature, domain, message))) {
    throw new VerificationError(`the Ed25519 signature of the ${label} is invalid`);
  }
}

/** Verify a signed checkpoint against the trusted genesis; return its body. */
export async function verifyCheckpoint(checkpoint, trust) {
  const body = checkpoint.body;
  if (body.chain_id !== trust.chainId) {
    throw new VerificationError(`the checkpoint names chain ${body.chain_id}, not ${trust.chainId}`);
  }
  await checkSignature(trust, body.signer, body.key_id, checkpoint.signature,
                       CHECKPOINT_DOMAIN, canonicalBytes(body), "checkpoint");
  return body;
}

/** Verify a receipt: its checkpoint, transaction signature, hashes and inclusion proof. */
export async function verifyReceipt(receipt, trust, expectedTxHash) {
  if (receipt.version !== RECEIPT_VERSION) {
    throw new VerificationError(`receipt version ${receipt.version} is not ${RECEIPT_VERSION}`);
  }
  const checkpoint = await verifyCheckpoint(receipt.checkpoint, trust);
  const envelope = canonicalBytes(receipt.transaction);
  const txHash = toHex(await sha256(envelope));
  if (expectedTxHash !== undefined && txHash !== expectedTxHash) {
    throw new VerificationError(`the transaction hashes to ${txHash}, not to ${expectedTxHash}`);
  }
  const body = receipt.transaction.body;
  if (body.chain_id !== trust.chainId) {
    throw new VerificationError(`the transaction names chain ${body.chain_id}, not ${trust.chainId}`);
  }
  await checkSignature(trust, body.member, body.key_id, receipt.transaction.signature,
                       TX_DOMAIN, canonicalBytes(body), "transaction");
  const proof = receipt.inclusion_proof.map((node, i) => fromHex(node, `inclusion proof hash ${i}`));
  await verifyInclusion(await leafHash(envelope), receipt.leaf_index, checkpoint.tree_size,
                        proof, fromHex(checkpoint.root_hash, "checkpoint root hash"));
  return { txHash, checkpoint, payload: body.payload };
}

/** Check that a decision listed by the audit index is the one the verified receipt signs. */
export function checkListedDecision(listed, receipt, verifiedPayload) {
  const {
    tx_hash: txHash, leaf_index: leafIndex, block_height: height, member, ...payload
  } = listed;
  if (member !== receipt.transaction.body.member) {
    throw new VerificationError(
      `the audit index names ${member} as the member that recorded transaction ${txHash}, `
      + `but its signed body names ${receipt.transaction.body.member}`);
  }
  if (leafIndex !== receipt.leaf_index || height !== receipt.block_height) {
    throw new VerificationError(
      `the audit index places transaction ${txHash} at leaf ${leafIndex} in block ${height}, `
      + `but its receipt at leaf ${receipt.leaf_index} in block ${receipt.block_height}`);
  }
  if (canonicalJson(payload) !== canonicalJson(verifiedPayload)) {
    throw new VerificationError("the audit index lists a decision that differs from the signed transaction");
  }
}
