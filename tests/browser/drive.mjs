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
const SEARCH_TIMEOUT_MS = 10000;
const QUIET_MS = 500;
const POLL_MS = 100;
const MAX_ALERTS = 20;
const PAGE_HOST = "127.0.0.1";

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
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}

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

// igv.js draws inside a shadow root, which Playwright locators enter and
// document.querySelector does not. An alert's body is empty once it is closed.
function openIgvAlerts(page) {
  return page.locator(".igv-ui-alert-dialog-container", {
    has: page.locator(".igv-ui-alert-dialog-body-copy:not(:empty)"),
  });
}

// Return the text of every open igv.js alert, with runs of white space as one
// space, and close the alerts, oldest first.
async function dismissAlerts(page) {
  const texts = [];
  const alerts = openIgvAlerts(page);
  while (await alerts.count() > 0 && texts.length < MAX_ALERTS) {
    const alert = alerts.first();
    const text = await alert.locator(".igv-ui-alert-dialog-body-copy").textContent();
    texts.push(text.replace(/\s+/g, " ").trim());
    await alert.getByText("OK", { exact: true }).click();
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
// in an "Unrecognized locus" alert and a resolved one changes the locus. The
// step waits for either, and then until no request is pending.
async function searchInIgv(page, step, network) {
  const currentLocus = () => page.evaluate(() => String(window.consentryBrowse.browser.currentLoci()));
  const before = await currentLocus();
  await page.fill(".igv-search-input", step.query);
  await page.press(".igv-search-input", "Enter");
  const deadline = Date.now() + SEARCH_TIMEOUT_MS;
  while (await openIgvAlerts(page).count() === 0 && await currentLocus() === before) {
    if (Date.now() > deadline) {
      throw new Error(`igv.js neither moved nor showed an alert within ${SEARCH_TIMEOUT_MS} ms ` +
        `after a search for ${JSON.stringify(step.query)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  await network.quiet();
}

async function runStep(page, step, network) {
  if (step.action === "igvSearch") {
    await searchInIgv(page, step, network);
  } else {
    await submit(page, step);
    await network.quiet();
  }
  const collected = await page.evaluate(collectTracks);
  if (step.screenshot) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
  }
  collected.igvAlerts = await dismissAlerts(page);
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
