// The /audit page: list recorded access decisions and verify each receipt in the browser.
//
// Trust comes from the genesis alone: its SHA-256 must equal the chain id, and
// its member keys check the checkpoint and transaction signatures. A result is
// shown as verified only after every check of audit-verify.js has passed.

import { ApiError, fetchCheckpoint, fetchDecisions, fetchGenesis, fetchReceipt } from "./audit-api.js";
import {
  UnsupportedError, VerificationError, checkListedDecision, trustGenesis, verifyCheckpoint,
  verifyReceipt,
} from "./audit-verify.js";

// Receipts fetched and verified at the same time.
const RECEIPT_CONCURRENCY = 4;
const PSEUDONYM_SHOWN = 16;

// State of the page, on window so that tests and the console can read the results.
const page = {
  status: "starting",
  message: "",
  head: { status: "pending", reason: "", body: null },
  decisions: [],
  pageIndex: 0,
  nextPageToken: null,
};
window.consentryAudit = page;

const form = document.getElementById("audit-form");
const messageBox = document.getElementById("message");
const table = document.getElementById("decisions");
const paging = document.getElementById("paging");
let trust = null;
let filters = {};
let pageTokens = [undefined];

function setStatus(status, message) {
  page.status = status;
  page.message = message;
  messageBox.textContent = message;
  messageBox.className = `message ${status}`;
}

// Map an error to the status shown for a checkpoint or receipt and its reason.
function outcomeOf(error) {
  if (error instanceof VerificationError) return ["failed", error.message];
  if (error instanceof UnsupportedError) return ["unsupported", `not verified: ${error.message}`];
  if (error instanceof ApiError) return ["unavailable", error.message];
  return ["failed", `verification stopped: ${error}`];
}

function showHead() {
  const body = page.head.body;
  const text = (id, value) => { document.getElementById(id).textContent = value; };
  text("head-chain-id", trust ? trust.chainId : "unknown");
  text("head-height", body ? String(body.block_height) : "unknown");
  text("head-size", body ? String(body.tree_size) : "unknown");
  text("head-root", body ? body.root_hash : "unknown");
  text("head-signer", body ? `${body.signer} (key ${body.key_id})` : "unknown");
  const status = document.getElementById("head-status");
  status.textContent = page.head.status === "verified"
    ? `verified: signed at ${formatTime(body.time)} by a genesis key`
    : `${page.head.status}: ${page.head.reason}`;
  status.className = page.head.status;
}

// Establish trust in the genesis, then verify a fresh checkpoint as the chain head.
async function loadHead() {
  try {
    trust = trust ?? await trustGenesis(await fetchGenesis());
    const checkpoint = await fetchCheckpoint();
    page.head = { status: "verified", reason: "", body: await verifyCheckpoint(checkpoint, trust) };
  } catch (error) {
    const [status, reason] = outcomeOf(error);
    page.head = { status, reason, body: null };
  }
  showHead();
  return page.head.status === "verified";
}

function formatTime(ms) {
  return Number.isSafeInteger(ms) ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "";
}

// Show a 0-based, half-open region as 1-based and inclusive, like htsget clients do.
function formatRegion(region) {
  if (!region) return "whole object";
  if (region.start === undefined && region.end === undefined) return region.reference_name;
  const start = (region.start ?? 0) + 1;
  return `${region.reference_name}:${start}-${region.end ?? ""}`;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function addRow(tbody, listed) {
  const row = tbody.insertRow();
  row.dataset.txHash = listed.tx_hash;
  cell(row, String(listed.leaf_index));
  cell(row, formatTime(listed.time));
  cell(row, listed.member ?? "");
  cell(row, `${listed.requester.slice(0, PSEUDONYM_SHOWN)}…`, "pseudonym").title = listed.requester;
  cell(row, listed.endpoint ?? "");
  cell(row, listed.object_id);
  cell(row, formatRegion(listed.region));
  cell(row, listed.decision, listed.decision === "allow" ? "allow" : "deny");
  cell(row, (listed.reasons ?? []).join("; "));
  return cell(row, "checking…", "pending");
}

async function checkReceipt(entry, receiptCell) {
  try {
    const receipt = await fetchReceipt(entry.txHash);
    const verified = await verifyReceipt(receipt, trust, entry.txHash);
    checkListedDecision(entry.listed, receipt, verified.payload);
    const head = page.head.body;
    if (head && head.tree_size === verified.checkpoint.tree_size
        && head.root_hash !== verified.checkpoint.root_hash) {
      throw new VerificationError(
        "the receipt's checkpoint has a different root hash than the chain head of the same size");
    }
    entry.status = "verified";
    entry.reason = `included in the log of ${verified.checkpoint.tree_size} signed by `
      + `${verified.checkpoint.signer}`;
  } catch (error) {
    [entry.status, entry.reason] = outcomeOf(error);
  }
  receiptCell.textContent = entry.status === "verified" ? "verified" : `${entry.status}: ${entry.reason}`;
  receiptCell.title = entry.reason;
  receiptCell.className = entry.status;
}

async function checkReceipts(jobs) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const [entry, receiptCell] = jobs[next];
      next += 1;
      await checkReceipt(entry, receiptCell);
    }
  };
  await Promise.all(Array.from({ length: RECEIPT_CONCURRENCY }, worker));
}

function summarize() {
  const count = (status) => page.decisions.filter((entry) => entry.status === status).length;
  const total = page.decisions.length;
  if (total === 0) {
    setStatus("ready", "No recorded decisions match these filters.");
  } else if (count("verified") === total) {
    setStatus("ready", `${total} decisions on this page; every receipt verified against the checkpoint.`);
  } else {
    const failed = total - count("verified");
    setStatus("error", `${failed} of ${total} receipts could not be verified; `
      + "the Receipt column gives each reason. Do not rely on those decisions.");
  }
}

async function loadPage(index) {
  setStatus("loading", "Loading decisions…");
  page.pageIndex = index;
  let answer;
  try {
    answer = await fetchDecisions({ ...filters, page_token: pageTokens[index] });
  } catch (error) {
    table.hidden = true;
    paging.hidden = true;
    page.decisions = [];
    setStatus("error", `Decisions could not be listed: ${error.message}`);
    return;
  }

  page.nextPageToken = answer.next_page_token ?? null;
  pageTokens[index + 1] = answer.next_page_token;
  const tbody = table.tBodies[0];
  tbody.replaceChildren();
  page.decisions = answer.decisions.map((listed) => ({
    txHash: listed.tx_hash, decision: listed.decision, listed, status: "pending", reason: "",
  }));
  const jobs = page.decisions.map((entry) => [entry, addRow(tbody, entry.listed)]);
  table.hidden = jobs.length === 0;
  showPaging();

  if (!(await loadHead())) {
    for (const [entry, receiptCell] of jobs) {
      entry.status = "unverified";
      entry.reason = "the chain head could not be verified";
      receiptCell.textContent = entry.reason;
      receiptCell.className = "failed";
    }
    setStatus("error", `Receipts were not verified because the checkpoint is ${page.head.status}: `
      + page.head.reason);
    return;
  }

  setStatus("loading", `Verifying ${jobs.length} receipts…`);
  await checkReceipts(jobs);
  summarize();
}

function showPaging() {
  paging.hidden = page.pageIndex === 0 && page.nextPageToken === null;
  document.getElementById("previous-page").disabled = page.pageIndex === 0;
  document.getElementById("next-page").disabled = page.nextPageToken === null;
  document.getElementById("page-number").textContent = `page ${page.pageIndex + 1}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(form);
  filters = {};
  for (const name of ["dataset_id", "object_id", "member", "requester", "participant",
    "page_size"]) {
    const value = String(data.get(name) ?? "").trim();
    if (value) filters[name] = value;
  }
  pageTokens = [undefined];
  loadPage(0);
});
document.getElementById("previous-page").addEventListener("click", () => loadPage(page.pageIndex - 1));
document.getElementById("next-page").addEventListener("click", () => loadPage(page.pageIndex + 1));

loadHead().then((verified) => {
  if (verified) {
    setStatus("idle", "");
  } else {
    setStatus("error", `The consent chain cannot be audited here: ${page.head.reason}`);
  }
});
