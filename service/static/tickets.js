// Request htsget tickets the way igv.js does, so the page can report a
// missing or rejected passport before igv.js shows its own generic alert.

import { concatBytes } from "./headers.js";

/** An htsget request that failed, with the status and the error body of the spec. */
export class TicketError extends Error {
  constructor(status, errorName, serverMessage) {
    super(`${status} ${errorName}: ${serverMessage}`);
    this.status = status;
    this.errorName = errorName;
    this.serverMessage = serverMessage;
  }
}

/** Return the htsget endpoint ("reads" or "variants") that serves `format`. */
export function endpointFor(format) {
  return format === "VCF" ? "variants" : "reads";
}

/** Return the ticket URL of an object. An id may contain "/", which stays a path separator. */
export function ticketUrl(origin, format, objectId) {
  const path = objectId.split("/").map(encodeURIComponent).join("/");
  return `${origin}/${endpointFor(format)}/${path}`;
}

/** Return the request headers that carry the passport, if there is one. */
export function authorizationHeaders(passport) {
  return passport ? { Authorization: `Bearer ${passport}` } : {};
}

/** Request the header ticket of an object; raise TicketError when the server rejects it. */
export async function fetchHeaderTicket(origin, format, objectId, passport) {
  const url = `${ticketUrl(origin, format, objectId)}?format=${format}&class=header`;
  const response = await fetch(url, { headers: authorizationHeaders(passport) });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.htsget ? body.htsget : {};
    throw new TicketError(response.status, error.error ?? "Error",
      error.message ?? response.statusText);
  }
  if (!body || !body.htsget || !Array.isArray(body.htsget.urls)) {
    throw new TicketError(response.status, "InvalidTicket", "the response is not an htsget ticket");
  }
  return body.htsget;
}

/** Download every block of a ticket and return the concatenated bytes. */
export async function fetchTicketData(ticket) {
  // Like igv.js, send only the ticket's own headers to data URLs, because presigned
  // S3 URLs reject a second credential and the passport is meant for the ticket server.
  const blocks = await Promise.all(ticket.urls.map(async (entry) => {
    if (entry.url.startsWith("data:")) {
      const response = await fetch(entry.url);
      return new Uint8Array(await response.arrayBuffer());
    }
    const response = await fetch(entry.url, { headers: entry.headers ?? {} });
    if (!response.ok) {
      throw new TicketError(response.status, "DataError",
        `a ticket data URL returned ${response.status} ${response.statusText}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }));
  return concatBytes(blocks);
}

/** Return the sentence the page shows for a failed ticket request. */
export function describeTicketError(error, objectId, hasPassport) {
  const detail = `The server said: ${error.serverMessage}`;
  if (error.status === 401 && !hasPassport) {
    return `A passport is required to read ${objectId}. ` +
      `Paste your passport token into the Passport field and open the track again. ${detail}`;
  }
  if (error.status === 401) {
    return `The server did not accept your passport (401 ${error.errorName}). ` +
      `Paste a current, unexpired passport token and try again. ${detail}`;
  }
  if (error.status === 403) {
    return `Your passport does not grant access to ${objectId} (403 ${error.errorName}). ` +
      `Ask the data access committee for a visa that covers this dataset. ${detail}`;
  }
  if (error.status === 404) {
    return `No object ${objectId} is stored in this format (404 ${error.errorName}). ` +
      `Check the object id and the format. ${detail}`;
  }
  return `The ticket request for ${objectId} failed (${error.status} ${error.errorName}). ${detail}`;
}
