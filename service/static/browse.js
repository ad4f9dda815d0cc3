// The /browse page: open htsget tracks of Consentry objects in igv.js.
//
// The passport never appears in a URL. It is kept in sessionStorage (gone
// when the tab closes) and sent as "Authorization: Bearer" on ticket
// requests only, through the igv.js track option `headers`.
//
// The page sends requests only to this node and to the data hosts that its
// tickets name. igv.js options turn off the remote lookups that have one, and
// a guard on fetch and XMLHttpRequest rejects the others (see guardRequests).

import igv from "./igv.esm.min.js";
import {
  UNKNOWN_CONTIG_LENGTH, bamContigs, inflateBgzf, mergeContigs, vcfContigs,
} from "./headers.js";
import {
  TicketError, authorizationHeaders, describeTicketError, fetchHeaderTicket, fetchTicketData,
  ticketUrl,
} from "./tickets.js";

const PASSPORT_KEY = "consentry.passport";

// igv.js caps samplingDepth at 10000 alignments per 100 bp window.
const MAX_SAMPLING_DEPTH = 10000;

// BAM stores positions as signed 32-bit integers.
const MAX_POSITION = 2 ** 31 - 1;
const REGION_FORMS = "Enter a contig name such as chr20, or contig:start-end such as " +
  "chr20:6,000,000-6,010,000, where positions are 1-based and start ≤ end.";
// A position is digits, optionally grouped in threes by commas.
const POSITION_PATTERN = /^(\d+|\d{1,3}(,\d{3})+)$/;
const CONTIGS_LISTED = 10;

// Origins that the page and igv.js may send requests to. The page adds the
// origin of each data URL in the header tickets it reads, because a node that
// stores objects in S3 returns presigned S3 URLs.
const allowedOrigins = new Set([window.location.origin]);

// State of the page, on window so that tests and the console can read what igv.js loaded.
const page = {
  status: "idle",
  message: "",
  browser: null,
  tracks: [],
  referenceUrl: null,
};
window.consentryBrowse = page;

const form = document.getElementById("track-form");
const messageBox = document.getElementById("message");
const passportField = form.elements.passport;

function setStatus(status, message) {
  page.status = status;
  page.message = message;
  messageBox.textContent = message;
  messageBox.className = `message ${status}`;
}

/** Raise unless `url` is a data: or blob: URL or goes to an allowed origin. */
function checkRequestUrl(url) {
  const parsed = new URL(url, window.location.href);
  const local = parsed.protocol === "data:" || parsed.protocol === "blob:";
  if (local || allowedOrigins.has(parsed.origin)) {
    return;
  }
  const message = `The track browser blocked a request to ${parsed.origin}, because it sends ` +
    "requests only to this node and to the data hosts that its tickets name.";
  console.warn(message, url);
  throw new Error(message);
}

/**
 * Wrap fetch and XMLHttpRequest.open so that requests to other origins fail before they are sent.
 *
 * igv.js 3.8.10 has no option that turns off three of its remote requests.
 * After any request fails with status 0, 403, 404 or 410, it loads a URL
 * mapping table from igv.org/data/url_mappings.tsv. Its read menu sends a
 * read's sequence to a BLAT service on igv.org, and its popups look up ClinVar
 * on eutils.ncbi.nlm.nih.gov. It sends all three through fetch or XMLHttpRequest.
 */
function guardRequests() {
  const uncheckedFetch = window.fetch.bind(window);
  window.fetch = async function fetchChecked(resource, options) {
    checkRequestUrl(resource instanceof Request ? resource.url : String(resource));
    return uncheckedFetch(resource, options);
  };
  const uncheckedOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function openChecked(method, url, ...rest) {
    checkRequestUrl(String(url));
    return uncheckedOpen.call(this, method, url, ...rest);
  };
}

// NOTE: only header tickets are read here. If the region tickets that igv.js
// requests named a data host that the header ticket did not, the guard would
// block it. The S3 adapter presigns every URL of an object for one bucket.
function allowTicketHosts(ticket) {
  for (const entry of ticket.urls) {
    const url = new URL(entry.url, window.location.href);
    if (url.protocol === "http:" || url.protocol === "https:") {
      allowedOrigins.add(url.origin);
    }
  }
}

function currentPassport() {
  const typed = passportField.value.trim();
  if (typed) {
    sessionStorage.setItem(PASSPORT_KEY, typed);
    passportField.value = "";
  }
  return sessionStorage.getItem(PASSPORT_KEY) ?? "";
}

function showPassportState() {
  const stored = sessionStorage.getItem(PASSPORT_KEY);
  passportField.placeholder = stored
    ? "A passport is stored for this tab; paste another to replace it"
    : "Paste a GA4GH passport (JWT); leave empty for open data";
}

/** A typed region that the page rejects before it passes the region to igv.js. */
class RegionError extends Error {}

function invalidRegion(text, reason) {
  return new RegionError(
    `The region "${text}" is invalid because ${reason}. ${REGION_FORMS} The view is unchanged.`);
}

function parsePosition(text, digits) {
  if (!POSITION_PATTERN.test(digits)) {
    throw invalidRegion(text, "it is neither a contig name nor contig:start-end");
  }
  const position = Number(digits.replaceAll(",", ""));
  if (position < 1) {
    throw invalidRegion(text, "positions start at 1");
  }
  if (position > MAX_POSITION) {
    throw invalidRegion(text,
      `${digits} is larger than the maximum position ${MAX_POSITION.toLocaleString("en-US")}`);
  }
  return position;
}

/**
 * Parse "contig" or "contig:start-end" (1-based, inclusive) into {contig, start, end}.
 * The SAM and VCF specifications allow ":" and "-" in contig names, so a text
 * that is a contig name of the object is taken whole.
 */
function parseRegion(text, contigNames) {
  if (contigNames.has(text)) {
    return { contig: text, start: null, end: null };
  }
  const range = /^(.+):([^:]*)-([^:]*)$/.exec(text);
  if (!range) {
    if (text.includes(":")) {
      throw invalidRegion(text, "it is neither a contig name nor contig:start-end");
    }
    return { contig: text, start: null, end: null };
  }
  const [, contig, startText, endText] = range;
  const start = parsePosition(text, startText);
  const end = parsePosition(text, endText);
  if (start > end) {
    throw invalidRegion(text, `the start ${startText} is after the end ${endText}`);
  }
  return { contig, start, end };
}

/** Return the region as igv.js reads a locus: "contig" or "contig:start-end". */
function locusOf(region) {
  return region.start === null ? region.contig : `${region.contig}:${region.start}-${region.end}`;
}

function checkContig(region, contigs, text, objectId, format) {
  // A VCF header without ##contig lines names no contigs, so any contig may hold records.
  if (contigs.length === 0 || contigs.some((contig) => contig.name === region.contig)) {
    return;
  }
  const names = contigs.slice(0, CONTIGS_LISTED).map((contig) => contig.name).join(", ");
  const more = contigs.length > CONTIGS_LISTED
    ? ` and ${contigs.length - CONTIGS_LISTED} more` : "";
  throw new RegionError(
    `The region "${text}" names ${region.contig}, but ${region.contig} is not a contig in ` +
    `the header of ${objectId} (${format}). The header names ${names}${more}. ` +
    "The view is unchanged.");
}

async function readContigs(format, ticket) {
  const data = await inflateBgzf(await fetchTicketData(ticket));
  return format === "VCF" ? vcfContigs(data) : bamContigs(data);
}

function trackConfig(track, passport) {
  const common = {
    sourceType: "htsget",
    name: `${track.objectId} (${track.format})`,
    url: ticketUrl(window.location.origin, track.format, track.objectId),
    headers: authorizationHeaders(passport),
  };
  if (track.format === "VCF") {
    return { ...common, type: "variant", format: "vcf" };
  }
  // Show every mapped read. By default igv.js hides duplicates and vendor-failed
  // reads and downsamples deep regions.
  return {
    ...common,
    type: "alignment",
    format: "bam",
    filter: { vendorFailed: false, duplicates: false },
    samplingDepth: MAX_SAMPLING_DEPTH,
  };
}

function referenceConfig(region) {
  // A contig that no open header names (possible only for a VCF without
  // ##contig lines) gets the largest length that a BAI or TBI index can address.
  const contigs = mergeContigs(page.tracks.map((track) => track.contigs));
  if (!contigs.some((contig) => contig.name === region.contig)) {
    contigs.push({ name: region.contig, length: UNKNOWN_CONTIG_LENGTH });
  }
  const sizes = contigs.map(({ name, length }) => `${name}\t${length}\n`).join("");
  if (page.referenceUrl) {
    URL.revokeObjectURL(page.referenceUrl);
  }
  page.referenceUrl = URL.createObjectURL(new Blob([sizes], { type: "text/plain" }));
  // A chrom-sizes reference has no sequence, so no FASTA is needed. igv.js then
  // draws reads without mismatch colours.
  return {
    id: "consentry",
    name: "Contigs of the opened objects",
    format: "chromsizes",
    fastaURL: page.referenceUrl,
    wholeGenomeView: false,
  };
}

async function showTracks(region, passport) {
  if (page.browser) {
    igv.removeBrowser(page.browser);
    page.browser = null;
  }
  page.browser = await igv.createBrowser(document.getElementById("igv"), {
    reference: referenceConfig(region),
    locus: locusOf(region),
    tracks: page.tracks.map((track) => trackConfig(track, passport)),
    // Load no genome list from igv.org, and send no name that igv.js cannot
    // resolve from the reference to its search service (igv.org/genomes/locus.php).
    loadDefaultGenomes: false,
    search: false,
    showCytobandIdeogram: false,
  });
  await page.browser.updateViews();
}

async function openTrack(objectId, format, regionText) {
  const passport = currentPassport();
  showPassportState();
  setStatus("loading", `Requesting the ${format} header of ${objectId}…`);
  const ticket = await fetchHeaderTicket(window.location.origin, format, objectId, passport);
  allowTicketHosts(ticket);
  if (format === "CRAM") {
    throw new Error(
      `${objectId} is readable, but igv.js ${igv.version()} reads htsget data only as ` +
      "BAM or VCF. Open the CRAM in IGV desktop (File > Load from URL) with " +
      `${ticketUrl(window.location.origin, format, objectId)}, or choose BAM if the ` +
      "object is also stored as BAM.");
  }
  const contigs = await readContigs(format, ticket);
  // Check the region against the object's header before igv.js gets it, so a
  // mistyped region leaves the current view as it is.
  const region = parseRegion(regionText, new Set(contigs.map((contig) => contig.name)));
  checkContig(region, contigs, regionText, objectId, format);
  page.tracks = page.tracks.filter((t) => t.objectId !== objectId || t.format !== format);
  page.tracks.push({ objectId, format, contigs });
  setStatus("loading", `Loading ${page.tracks.length} track(s) at ${regionText}…`);
  await showTracks(region, passport);
  setStatus("ready", `Showing ${page.tracks.map((t) => t.objectId).join(", ")} at ${regionText}.`);
}

async function onSubmit(event) {
  event.preventDefault();
  const objectId = form.elements.objectId.value.trim();
  const format = form.elements.format.value;
  const regionText = form.elements.region.value.trim();
  try {
    await openTrack(objectId, format, regionText);
  } catch (error) {
    const hasPassport = Boolean(sessionStorage.getItem(PASSPORT_KEY));
    let text = `Could not open ${objectId}: ${error.message}`;
    if (error instanceof TicketError) {
      text = describeTicketError(error, objectId, hasPassport);
    } else if (error instanceof RegionError) {
      text = error.message;
    }
    setStatus("error", text);
  }
}

function forgetPassport() {
  sessionStorage.removeItem(PASSPORT_KEY);
  passportField.value = "";
  showPassportState();
  setStatus("idle", "The passport was removed from this tab.");
}

function clearTracks() {
  if (page.browser) {
    igv.removeBrowser(page.browser);
    page.browser = null;
  }
  page.tracks = [];
  setStatus("idle", "All tracks were closed.");
}

guardRequests();
form.addEventListener("submit", onSubmit);
document.getElementById("forget-passport").addEventListener("click", forgetPassport);
document.getElementById("clear-tracks").addEventListener("click", clearTracks);
showPassportState();
