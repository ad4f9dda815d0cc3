// Drive Debian's chromium through the /browse page and print what igv.js loaded as JSON.
//
// Usage: node drive.mjs SCENARIO.json
// The scenario names the page URL, the chromium binary, a fresh profile
// directory and the steps to take in order. A step submits the page's form,
// or with `action: "igvSearch"` types `query` into igv.js's own locus search
// box. A step with `rejectRangeTickets` makes every htsget ticket request for a
// region (one with referenceName) return 404 while the step runs.
// Requests to any host other than 127.0.0.1 are aborted and listed in the
// output, and every other request is listed with its Authorization header.

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const LAUNCH_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
const STEP_TIMEOUT_MS = 60000;
const SEARCH_TIMEOUT_MS = 5000;
const QUIET_MS = 500;

// Count the page's pending requests, so that a step can wait until none has
// been pending for QUIET_MS and every request it caused is in the report.
function trackPending(page) {
  let pending = 0;
  let lastChange = Date.now();
  const change = (delta) => { pending += delta; lastChange = Date.now(); };
  page.on("request", () => change(1));
  page.on("requestfinished", () => change(-1));
  page.on("requestfailed", () => change(-1));
  return {
    async quiet() {
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (pending > 0 || Date.now() - lastChange < QUIET_MS) {
        if (Date.now() > deadline) {
          throw new Error(`${pending} requests were still pending after ${STEP_TIMEOUT_MS} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
const PAGE_HOST = "127.0.0.1";

// Runs in the page: collect what igv.js holds for each track of the current view.
function collectTracks() {
  const state = window.consentryBrowse;
  const result = {
    status: state.status, message: state.message, locus: null, alignments: [], variants: [],
  };
  if (!state.browser) {
    return result;
  }
  result.locus = String(state.browser.currentLoci());
  for (const track of state.browser.findTracks(() => true)) {
    const viewport = track.trackView && track.trackView.viewports[0];
    const cached = viewport && viewport.featureCache ? viewport.featureCache.features : undefined;
    if (track.type === "alignment" && cached) {
      result.alignments.push({
        name: track.name,
        downsampledIntervals: cached.downsampledIntervals.length,
        reads: cached.allAlignments().map((a) => ({
          chr: a.chr, start: a.start, end: a.end, flags: a.flags, name: a.readName,
        })),
      });
    } else if (track.type === "variant" && Array.isArray(cached)) {
      result.variants.push({
        name: track.name,
        records: cached.map((v) => ({ chr: v.chr, start: v.start, end: v.end, id: v.names })),
      });
    }
  }
  return result;
}

// Runs in the page: return the text of every open igv.js alert and close them.
function dismissAlerts() {
  const texts = [];
  for (const container of document.querySelectorAll(".igv-ui-alert-dialog-container")) {
    const body = container.querySelector(".igv-ui-alert-dialog-body-copy");
    if (container.style.display === "none" || !body.textContent.trim()) {
      continue;
    }
    texts.push(body.textContent.trim());
    container.lastElementChild.firstElementChild.click();
  }
  return texts;
}

async function submit(page, step) {
  await page.evaluate(() => { window.consentryBrowse.status = "submitted"; });
  await page.fill("input[name=objectId]", step.objectId);
  await page.selectOption("select[name=format]", step.format);
  await page.fill("input[name=region]", step.region);
  await page.fill("input[name=passport]", step.passport ?? "");
  await page.click("button[type=submit]");
  await page.waitForFunction(
    () => ["ready", "error"].includes(window.consentryBrowse.status),
    null, { timeout: STEP_TIMEOUT_MS },
  );
}

// igv.js searches on the input's change event. A query it cannot resolve ends
// in an "Unrecognized locus" alert and a resolved one changes the locus, but a
// query that igv.js parses into the current locus does neither, so waiting for
// those two signals may time out. The step then waits until no request is pending.
async function searchInIgv(page, step, network) {
  const before = await page.evaluate(() => String(window.consentryBrowse.browser.currentLoci()));
  await page.fill(".igv-search-input", step.query);
  await page.press(".igv-search-input", "Enter");
  let settled = true;
  try {
    await page.waitForFunction(
      (locus) => String(window.consentryBrowse.browser.currentLoci()) !== locus
        || [...document.querySelectorAll(".igv-ui-alert-dialog-body-copy")]
          .some((body) => body.textContent.trim() !== ""),
      before, { timeout: SEARCH_TIMEOUT_MS },
    );
  } catch (error) {
    if (error.name !== "TimeoutError") throw error;
    settled = false;
  }
  await network.quiet();
  return settled;
}

async function runStep(page, step, network) {
  let searchSettled = null;
  if (step.action === "igvSearch") {
    searchSettled = await searchInIgv(page, step, network);
  } else {
    await submit(page, step);
    await network.quiet();
  }
  const collected = await page.evaluate(collectTracks);
  collected.searchSettled = searchSettled;
  if (step.screenshot) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
  }
  collected.igvAlerts = await page.evaluate(dismissAlerts);
  return collected;
}

async function main() {
  const scenario = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const context = await chromium.launchPersistentContext(scenario.userDataDir, {
    executablePath: scenario.executablePath,
    headless: true,
    args: LAUNCH_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  const offsite = [];
  const requests = [];
  const seen = [];
  const consoleErrors = [];
  let rejectRangeTickets = false;
  await context.route("**/*", async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.hostname !== PAGE_HOST) {
      offsite.push(request.url());
      return route.abort();
    }
    if (rejectRangeTickets && url.searchParams.has("referenceName")) {
      requests.push({ url: request.url(), authorization: null, rejected: true });
      return route.fulfill({
        status: 404,
        contentType: "application/json",
        body: JSON.stringify({ htsget: { error: "NotFound", message: "rejected by the test" } }),
      });
    }
    const headers = await request.allHeaders();
    requests.push({ url: request.url(), authorization: headers.authorization ?? null });
    return route.continue();
  });
  try {
    const page = await context.newPage();
    // Every request the page starts, including those the route handler aborts.
    page.on("request", (request) => seen.push(request.url()));
    const network = trackPending(page);
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(scenario.pageUrl);
    await page.waitForFunction(() => window.consentryBrowse !== undefined);
    const steps = [];
    for (const step of scenario.steps) {
      const offsiteBefore = offsite.length;
      rejectRangeTickets = Boolean(step.rejectRangeTickets);
      const collected = await runStep(page, step, network);
      rejectRangeTickets = false;
      collected.offsite = offsite.slice(offsiteBefore);
      steps.push(collected);
    }
    const sessionPassport = await page.evaluate(() => sessionStorage.getItem("consentry.passport"));
    const finalUrl = page.url();
    const report = { steps, offsite, requests, seen, consoleErrors, sessionPassport, finalUrl };
    process.stdout.write(JSON.stringify(report));
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
