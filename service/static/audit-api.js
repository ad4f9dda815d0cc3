// Read the consent chain API of this node (/consent-chain) for the /audit page.

const API = "/consent-chain";

/** The consent chain API was unreachable or returned an error, as the message describes. */
export class ApiError extends Error {}

async function getJson(path, params) {
  const url = new URL(API + path, window.location.origin);
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== "") {
      url.searchParams.set(name, value);
    }
  }
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (error) {
    throw new ApiError(`the consent chain API at ${url.pathname} is unreachable (${error.message})`);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`${url.pathname} returned HTTP ${response.status} without a JSON body`);
  }
  if (!response.ok) {
    const detail = body && body.htsget ? body.htsget.message : JSON.stringify(body);
    throw new ApiError(`${url.pathname} returned HTTP ${response.status}: ${detail}`);
  }
  return body;
}

/** Fetch the genesis document and the chain id the node claims for it. */
export function fetchGenesis() {
  return getJson("/genesis");
}

/** Fetch a checkpoint of the committed log, freshly signed by the node. */
export function fetchCheckpoint() {
  return getJson("/checkpoint");
}

/** Fetch one page of decisions; `filters` contains the query parameters of /decisions. */
export function fetchDecisions(filters) {
  return getJson("/decisions", filters);
}

/** Fetch the receipt of one transaction. */
export function fetchReceipt(txHash) {
  return getJson(`/transactions/${encodeURIComponent(txHash)}/receipt`);
}
