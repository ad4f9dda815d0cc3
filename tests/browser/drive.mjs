// Drive Debian's chromium through the /browse page and print what igv.js loaded as JSON.
//
// Usage: node drive.mjs SCENARIO.json
// The scenario names the page URL, the chromium binary, a fresh profile
// directory and the form submissions to make in order. Requests to any host
// other than 127.0.0.1 are aborted and listed in the output, and every other
// request is listed with its Authorization header.

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const LAUNCH_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
const STEP_TIMEOUT_MS = 60000;

// Runs in the page: collect what igv.js holds for each track of the current view.
function collectTracks() {
  const state = window.consentryBrowse;
  const result = { status: state.status, message: state.message, alignments: [], variants: [] };
  if (!state.browser) {
    return result;
  }
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
  const collected = await page.evaluate(collectTracks);
  if (step.screenshot) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
  }
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
  const consoleErrors = [];
  await context.route("**/*", async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.hostname !== "127.0.0.1") {
      offsite.push(request.url());
      return route.abort();
    }
    const headers = await request.allHeaders();
    requests.push({ url: request.url(), authorization: headers.authorization ?? null });
    return route.continue();
  });
  try {
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(scenario.pageUrl);
    await page.waitForFunction(() => window.consentryBrowse !== undefined);
    const steps = [];
    for (const step of scenario.steps) {
      steps.push(await submit(page, step));
    }
    const sessionPassport = await page.evaluate(() => sessionStorage.getItem("consentry.passport"));
    const finalUrl = page.url();
    const report = { steps, offsite, requests, consoleErrors, sessionPassport, finalUrl };
    process.stdout.write(JSON.stringify(report));
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
