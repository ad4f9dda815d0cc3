// The /browse page: open htsget tracks of Consentry objects in igv.js.
//
// The passport never appears in a URL. It is kept in sessionStorage (gone
// when the tab closes) and sent as "Authorization: Bearer" on ticket
// requests only, through the igv.js track option `headers`.

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

function contigOf(locus) {
  const colon = locus.lastIndexOf(":");
  return colon > 0 ? locus.slice(0, colon) : locus;
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

function referenceConfig(locus) {
  const contigs = mergeContigs([
    ...page.tracks.map((track) => track.contigs),
    [{ name: contigOf(locus), length: UNKNOWN_CONTIG_LENGTH }],
  ]);
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

async function showTracks(locus, passport) {
  if (page.browser) {
    igv.removeBrowser(page.browser);
    page.browser = null;
  }
  page.browser = await igv.createBrowser(document.getElementById("igv"), {
    reference: referenceConfig(locus),
    locus,
    tracks: page.tracks.map((track) => trackConfig(track, passport)),
    loadDefaultGenomes: false,
    showCytobandIdeogram: false,
  });
  await page.browser.updateViews();
}

async function openTrack(objectId, format, locus) {
  const passport = currentPassport();
  showPassportState();
  setStatus("loading", `Requesting the ${format} header of ${objectId}…`);
  const ticket = await fetchHeaderTicket(window.location.origin, format, objectId, passport);
  if (format === "CRAM") {
    throw new Error(
      `${objectId} is readable, but igv.js ${igv.version()} reads htsget data only as ` +
      "BAM or VCF. Open the CRAM in IGV desktop (File > Load from URL) with " +
      `${ticketUrl(window.location.origin, format, objectId)}, or choose BAM if the ` +
      "object is also stored as BAM.");
  }
  const contigs = await readContigs(format, ticket);
  page.tracks = page.tracks.filter((t) => t.objectId !== objectId || t.format !== format);
  page.tracks.push({ objectId, format, contigs });
  setStatus("loading", `Loading ${page.tracks.length} track(s) at ${locus}…`);
  await showTracks(locus, passport);
  setStatus("ready", `Showing ${page.tracks.map((t) => t.objectId).join(", ")} at ${locus}.`);
}

async function onSubmit(event) {
  event.preventDefault();
  const objectId = form.elements.objectId.value.trim();
  const format = form.elements.format.value;
  const locus = form.elements.region.value.trim();
  try {
    await openTrack(objectId, format, locus);
  } catch (error) {
    const hasPassport = Boolean(sessionStorage.getItem(PASSPORT_KEY));
    const text = error instanceof TicketError
      ? describeTicketError(error, objectId, hasPassport)
      : `Could not open ${objectId}: ${error.message}`;
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

form.addEventListener("submit", onSubmit);
document.getElementById("forget-passport").addEventListener("click", forgetPassport);
document.getElementById("clear-tracks").addEventListener("click", clearTracks);
showPassportState();
