// Drive Debian's chromium through the /audit page and print what it listed and verified as JSON.
//
// Usage: node audit.mjs SCENARIO.json
// The scenario names the page URL, the chromium binary, a fresh profile
// directory, URL path prefixes whose requests are aborted (to simulate an
// unreachable API) and the steps to take in order:
//   {"list": {filters}, "screenshot": path?}   submit the form with these filters
//   {"next": true, "screenshot": path?}        open the next page of decisions
//   {"verify": {genesis, receipt, txHash}}     run audit-verify.js on a receipt
// Requests to hosts other than 127.0.0.1 are aborted and listed in the output.

import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const LAUNCH_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];
const STEP_TIMEOUT_MS = 60000;
const FORM_FIELDS = ["dataset_id", "object_id", "requester", "participant"];

// Runs in the page: what the page shows, as state and as table text.
function collect() {
  const state = window.consentryAudit;
  const rows = Array.from(document.querySelectorAll("#decisions tbody tr"), (row) => ({
    txHash: row.dataset.txHash,
    cells: Array.from(row.cells, (td) => td.textContent),
  }));
  return {
    status: state.status,
    message: state.message,
    head: state.head,
    nextPageToken: state.nextPageToken,
    decisions: state.decisions.map((entry) => ({
      txHash: entry.txHash, decision: entry.decision, status: entry.status, reason: entry.reason,
    })),
    rows,
    headStatusText: document.getElementById("head-status").textContent,
  };
}

async function waitUntilDone(page) {
  await page.waitForFunction(
    () => ["idle", "ready", "error"].includes(window.consentryAudit.status),
    null, { timeout: STEP_TIMEOUT_MS },
  );
}

// Runs in the page: import the verification module and check one receipt.
async function verifyInPage({ genesis, receipt, txHash }) {
  const verify = await import("/static/audit-verify.js");
  try {
    const trust = await verify.trustGenesis(genesis);
    const verified = await verify.verifyReceipt(receipt, trust, txHash);
    const envelope = verify.canonicalBytes(receipt.transaction);
    return {
      ok: true,
      chainId: trust.chainId,
      txHash: verified.txHash,
      leafHash: verify.toHex(await verify.leafHash(envelope)),
    };
  } catch (error) {
    return { ok: false, error: `${error.name}: ${error.message}`, kind: error.constructor.name };
  }
}

async function runStep(page, step) {
  if (step.verify) {
    return page.evaluate(verifyInPage, step.verify);
  }
  await page.evaluate(() => { window.consentryAudit.status = "submitted"; });
  if (step.list) {
    for (const name of FORM_FIELDS) {
      await page.fill(`input[name=${name}]`, step.list[name] ?? "");
    }
    await page.selectOption("select[name=page_size]", String(step.list.page_size ?? 50));
    await page.click("button[type=submit]");
  } else if (step.next) {
    await page.click("#next-page");
  }
  await waitUntilDone(page);
  if (step.screenshot) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
  }
  return page.evaluate(collect);
}

async function main() {
  const scenario = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const context = await chromium.launchPersistentContext(scenario.userDataDir, {
    executablePath: scenario.executablePath,
    headless: true,
    args: LAUNCH_ARGS,
    viewport: { width: 1500, height: 1000 },
  });
  const offsite = [];
  const consoleErrors = [];
  const aborted = [];
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== "127.0.0.1") {
      offsite.push(url.href);
      return route.abort();
    }
    if ((scenario.abortPaths ?? []).some((prefix) => url.pathname.startsWith(prefix))) {
      aborted.push(url.pathname);
      return route.abort("connectionrefused");
    }
    return route.continue();
  });
  try {
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (msg.type() === "error") consoleErrors.push(msg.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.goto(scenario.pageUrl);
    await page.waitForFunction(() => window.consentryAudit !== undefined);
    await waitUntilDone(page);
    const initial = await page.evaluate(collect);
    if (scenario.initialScreenshot) {
      await page.screenshot({ path: scenario.initialScreenshot, fullPage: true });
    }
    const steps = [];
    for (const step of scenario.steps) {
      steps.push(await runStep(page, step));
    }
    process.stdout.write(JSON.stringify({ initial, steps, offsite, aborted, consoleErrors }));
  } finally {
    await context.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
