import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { rummy, startServe, tempHome } from "./helpers.js";

/**
 * The web page in a real browser: Debian's Chromium driven by playwright-core
 * against the real `rummy serve` and the fake LLM. Screenshots of each step go
 * to test-artifacts/web/.
 */
const CHROMIUM = process.env.RUMMY_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = join(import.meta.dirname, "..", "..", "..");
const ARTIFACTS = join(ROOT, "test-artifacts", "web");
/** RUMMY_WEB_DOCS=1 also refreshes the screenshot the READMEs show. */
const DOCS_SHOT = join(ROOT, "packages", "web", "docs", "context-picture.png");
const TOKEN = "web-test-token-5b1f";

const missing = existsSync(CHROMIUM)
  ? null
  : `Chromium is not installed at ${CHROMIUM}: install it with \`apt-get update && apt-get install -y chromium\` (or set RUMMY_CHROMIUM)`;
if (missing) process.stderr.write(`web.test: skipped: ${missing}\n`);

let home: string;
let cleanup: () => void;
let llm: FakeLlm;
let project: string;
let env: Record<string, string>;

before(async () => {
  ({ home, cleanup } = tempHome());
  // A small window so the picture's prompt bar reads at a glance.
  llm = await startFakeLlm({ contextLength: 4096 });
  project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-web-project-")));
  writeFileSync(join(project, "greeting.txt"), "hello\n");
  env = {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_MODEL: "fake",
    RUMMY_RETRY_ATTEMPTS: "1",
    RUMMY_TOKEN: TOKEN,
  };
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  await llm.close();
  rmSync(project, { recursive: true, force: true });
  cleanup();
});

const INTRO =
  "Looking at greeting.txt first. It says hello; the task wants the world greeted, so I will edit that one line.";
const NOTES = [
  `<known path="known://greeting/style">Greetings in this project are lowercase, with a comma before the name: "hello, world". ${"Keep the tone plain and friendly. ".repeat(6)}</known>`,
  `<known path="known://greeting/history">greeting.txt was added with the project skeleton and has said "hello" since. ${"Nobody has changed it. ".repeat(12)}</known>`,
  `<unknown path="unknown://greeting/period">Should the greeting end with a period?</unknown>`,
].join("\n");
const SLOW_TAIL = " Proposing the edit now, then I will wait for you.".repeat(3);

test("the page drives an act run end to end in Chromium: stream, proposal, file, context picture", {
  skip: missing ?? false,
  timeout: 180_000,
}, async (t) => {
  const { chromium } = await import("playwright-core");
  llm.enqueue(
    {
      // Streamed slowly so the page shows text while the turn is still going.
      content: `${INTRO}${SLOW_TAIL}\n${NOTES}\n<update status="102">noted the house style</update>`,
      chunkSize: 12,
      chunkDelayMs: 60,
      promptTokens: 1234,
      completionTokens: 56,
    },
    {
      content: `<set path="greeting.txt">\n<<<<<<< SEARCH\nhello\n=======\nhello, world\n>>>>>>> REPLACE\n</set>\n<update status="102">editing greeting.txt</update>`,
      promptTokens: 1290,
      completionTokens: 30,
    },
    {
      content: `<update status="200">greeted the world</update>`,
      promptTokens: 1300,
      completionTokens: 9,
    },
  );
  const server = await startServe(home, ["--port", "0"], env);
  const port = new URL(server.url).port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const profile = mkdtempSync(join(tmpdir(), "rummy-web-profile-"));
  const client = await RummyClient.connect(server.url, { token: TOKEN });
  await client.hello(basename(project), project);
  try {
    // `rummy web` prints the page's address for this folder, the token in the fragment.
    const printed = await rummy(["web", "--port", port], {
      home,
      env: { RUMMY_TOKEN: TOKEN },
      cwd: project,
    });
    assert.equal(printed.code, 0, printed.stderr);
    const url = printed.stdout.trim();
    assert.match(url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=${TOKEN}&project=`));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    void profile;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    const shot = (name: string) =>
      page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

    await page.goto(url);
    await page.locator("#connection.ok").waitFor();
    // Reported, not asserted (timings belong in benchmarks): how fast the page loads on loopback.
    // A string, evaluated in the page: this package's types have no DOM.
    const timing = await page.evaluate(`(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, connected: performance.now() };
    })()`);
    t.diagnostic(
      `page load on loopback: ${JSON.stringify(timing, (_k, v) => (typeof v === "number" ? Math.round(v) : v))} ms`,
    );
    await shot("1-connected");

    await page.fill("#prompt", "greet the world in greeting.txt");
    await page.selectOption("#mode", "act");
    await page.selectOption("#model", "fake");
    await page.fill("#alias", "web_edit");
    await page.click("#start");

    // Streamed text shows while the model is still writing (the turn's audit record does not exist yet).
    const stream = page.locator('pre.stream[data-key="web_edit:1"]');
    await stream.filter({ hasText: "Looking at greeting.txt" }).waitFor();
    const partial = await stream.textContent();
    const audit = await client.call<unknown[]>("getEntries", {
      run: "web_edit",
      pattern: "audit://turn_1",
    });
    assert.equal(
      audit.length,
      0,
      "text on the page came from the stream, before the turn's answer was complete",
    );
    assert.ok(!partial!.includes("<update"), `still partial: ${partial}`);
    await shot("2-streaming");

    // The proposal shows its diff; accepting it from the page writes the file and the run ends 200.
    const proposal = page.locator('#proposals .proposal[data-path^="log://turn_2/set/"]');
    await proposal.waitFor();
    const diff = await proposal.locator("pre.diff").textContent();
    assert.match(diff!, /-hello\n\+hello, world/);
    assert.equal(
      readFileSync(join(project, "greeting.txt"), "utf8"),
      "hello\n",
      "nothing written before accepting",
    );
    await shot("3-proposal");
    // While it waits, the client steps two notes down: the next turn's picture shows them demoted.
    await client.call("set", {
      run: "web_edit",
      path: "known://greeting/style",
      visibility: "summarized",
    });
    await client.call("set", {
      run: "web_edit",
      path: "known://greeting/history",
      visibility: "archived",
    });
    await proposal.locator("button.accept").click();
    await page.locator('.run-title .badge[data-status="200"]').waitFor({ timeout: 30_000 });
    assert.equal(readFileSync(join(project, "greeting.txt"), "utf8"), "hello, world\n");
    const run = await client.call<{
      status: number;
      turns: { turn: number; prompt_tokens: number }[];
    }>("getRun", { run: "web_edit" });
    assert.equal(run.status, 200);
    await page.locator("#proposals").waitFor({ state: "detached" });
    await page
      .locator('article.turn[data-turn="3"] .verdict')
      .filter({ hasText: "greeted the world" })
      .waitFor();
    await shot("4-done");

    // The context picture of the last turn, checked against getRun and getEntries.
    await page.click("#tab-context");
    const svg = page.locator("#context-picture");
    await svg.waitFor();
    const lastTurn = run.turns.at(-1)!.turn;
    assert.equal(await svg.getAttribute("data-turn"), String(lastTurn));
    const [record] = await client.call<{ attributes: { context: any } }[]>("getEntries", {
      run: "web_edit",
      pattern: `audit://turn_${lastTurn}`,
    });
    const recorded = record!.attributes.context as {
      ceiling: number;
      contextLength: number;
      tokens: number;
      entries: [string, string, string, number, number][];
    };
    assert.equal(Number(await svg.getAttribute("data-ceiling")), recorded.ceiling);
    assert.equal(Number(await svg.getAttribute("data-context-length")), recorded.contextLength);
    assert.equal(Number(await svg.getAttribute("data-prompt-tokens")), recorded.tokens);
    const summary = await page.locator("#context-summary").textContent();
    assert.match(
      summary!,
      new RegExp(
        `provider counted ${run.turns.at(-1)!.prompt_tokens.toLocaleString("en-US")} prompt tokens`,
      ),
    );
    // Per scheme, the picture's visible tokens are the run's visible entries as getEntries reports them
    // (those the last turn itself wrote came after its prompt was built); `pattern: "*"` asks for every
    // scheme, as the default is the project's files only.
    const entries = await client.call<
      { path: string; scheme: string; visibility: string; tokens: number; turn: number }[]
    >("getEntries", { run: "web_edit", pattern: "*", visibility: "visible" });
    const inPrompt = new Set(recorded.entries.map((e) => e[0]));
    const expected = new Map<string, number>();
    for (const e of entries) {
      if (e.turn === lastTurn && !inPrompt.has(e.path)) continue;
      expected.set(e.scheme, (expected.get(e.scheme) ?? 0) + e.tokens);
    }
    const drawn = await page.$$eval("#context-picture g.scheme", (gs) =>
      gs.map(
        (g) => [g.getAttribute("data-scheme")!, Number(g.getAttribute("data-visible"))] as const,
      ),
    );
    assert.ok(drawn.length >= 2, `schemes drawn: ${JSON.stringify(drawn)}`);
    const drawnVisible = new Map(drawn.filter(([, v]) => v > 0));
    assert.deepEqual(Object.fromEntries(drawnVisible), Object.fromEntries(expected));
    assert.ok((expected.get("file") ?? 0) > 0, "the edited file is in the picture");

    // Summarized entries count what was sent (their summary), archived ones their full size, not sent.
    const archived = await client.call<{ tokens: number }[]>("getEntries", {
      run: "web_edit",
      scheme: "known",
      visibility: "archived",
    });
    const known = page.locator('#context-picture g.scheme[data-scheme="known"]');
    assert.equal(
      Number(await known.getAttribute("data-archived")),
      archived.reduce((n, e) => n + e.tokens, 0),
    );
    const style = recorded.entries.find((e) => e[0] === "known://greeting/style")!;
    assert.equal(style[2], "summarized");
    assert.ok(style[3] < style[4], "a summary costs less than the entry");
    assert.equal(Number(await known.getAttribute("data-summarized")), style[3]);
    const demoted = await page.locator("#demoted").textContent();
    assert.match(demoted!, /known:\/\/greeting\/style visible → summarized/);
    assert.match(demoted!, /known:\/\/greeting\/history visible → archived/);

    // Clicking an entry reads it.
    await page.locator('#context-entries tr[data-path="greeting.txt"]').click();
    await page.locator("#reader pre").filter({ hasText: "hello, world" }).waitFor();
    await shot("5-context-picture");
    if (process.env.RUMMY_WEB_DOCS === "1") {
      mkdirSync(join(DOCS_SHOT, ".."), { recursive: true });
      await page.locator("#toasts").evaluate((el) => el.replaceChildren());
      await page.locator("#context").screenshot({ path: DOCS_SHOT });
    }

    // The entries table filters by glob.
    await page.click("#tab-entries");
    await page.fill("#filter-pattern", "log://*");
    await page.click("#entries-filter button[type=submit]");
    await page.locator('#entries-table tr[data-path^="log://turn_2/update/"]').waitFor();
    // The unfiltered table has log rows too: wait (up to 10 s) for the filtered answer to replace it.
    const tablePaths = () =>
      page.$$eval("#entries-table tbody tr[data-path]", (rows) =>
        rows.map((r) => r.getAttribute("data-path")!),
      );
    let paths = await tablePaths();
    for (let i = 0; i < 100 && !paths.every((p) => p.startsWith("log://")); i++) {
      await new Promise((r) => setTimeout(r, 100));
      paths = await tablePaths();
    }
    assert.ok(paths.length > 0 && paths.every((p) => p.startsWith("log://")), paths.join(", "));
    await shot("6-entries");

    assert.deepEqual(problems, [], "no script errors or CSP violations");
    await context.close();
  } finally {
    await client.close();
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await server.stop();
  }
});

test("a proposal made while no page was open is there when it opens, and is rejected with a reason", {
  skip: missing ?? false,
  timeout: 180_000,
}, async () => {
  const { chromium } = await import("playwright-core");
  llm.enqueue(
    {
      content: `<set path="greeting.txt">\n<<<<<<< SEARCH\nhello\n=======\nHELLO\n>>>>>>> REPLACE\n</set>\n<update status="102">shouting</update>`,
    },
    { content: `<update status="200">left it as it is</update>` },
  );
  const before = readFileSync(join(project, "greeting.txt"), "utf8");
  const server = await startServe(home, ["--port", "0"], env);
  const port = new URL(server.url).port;
  const client = await RummyClient.connect(server.url, { token: TOKEN });
  await client.hello(basename(project), project);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const proposed = new Promise<void>((resolve) => client.on("run/proposal", () => resolve()));
    await client.call("set", {
      path: "run://shout",
      body: "make it louder",
      attributes: { model: "fake", mode: "act" },
    });
    await proposed;
    const printed = await rummy(["web", "--port", port], {
      home,
      env: { RUMMY_TOKEN: TOKEN },
      cwd: project,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(printed.stdout.trim());
    const proposal = page.locator('#proposals .proposal[data-path^="log://turn_1/set/"]');
    await proposal.waitFor();
    assert.match((await proposal.locator("pre.diff").textContent())!, /\+HELLO/);
    // The run reports 102 while it waits (as 2.0.1 does); the page says it waits for you.
    await page
      .locator('.run-title .badge[data-status="102"]')
      .filter({ hasText: "waiting for you" })
      .waitFor();
    await proposal.locator("input.reason").fill("keep it quiet");
    await page.screenshot({ path: join(ARTIFACTS, "7-durable-proposal.png"), fullPage: true });
    await proposal.locator("button.reject").click();
    await page.locator('.run-title .badge[data-status="200"]').waitFor({ timeout: 30_000 });
    assert.equal(
      readFileSync(join(project, "greeting.txt"), "utf8"),
      before,
      "a rejected edit writes nothing",
    );
    const [entry] = await client.call<
      { status: number; outcome: string; attributes: { resolution?: string } }[]
    >("getEntries", { run: "shout", pattern: "log://turn_1/set/*" });
    assert.equal(entry!.status, 403, "a rejected proposal reads as refused");
    assert.equal(entry!.outcome, "rejected:403");
    assert.equal(entry!.attributes.resolution, "keep it quiet", "the reason typed on the page");
    await page.locator(".result.note").filter({ hasText: "your note: keep it quiet" }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "8-rejected.png"), fullPage: true });
  } finally {
    await client.close();
    await browser.close();
    await server.stop();
  }
});

test("a command accepted on the page: its output streams into the transcript as a terminal client runs it", {
  skip: missing ?? false,
  timeout: 180_000,
}, async () => {
  const { chromium } = await import("playwright-core");
  llm.enqueue(
    { content: `<sh>make test</sh>\n<update status="102">running the tests</update>` },
    { content: `<update status="200">tests pass</update>` },
  );
  const server = await startServe(home, ["--port", "0"], env);
  const port = new URL(server.url).port;
  const client = await RummyClient.connect(server.url, { token: TOKEN });
  await client.hello(basename(project), project);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const printed = await rummy(["web", "--port", port], {
      home,
      env: { RUMMY_TOKEN: TOKEN },
      cwd: project,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(printed.stdout.trim());
    await page.locator("#connection.ok").waitFor();
    await page.fill("#prompt", "run the tests");
    await page.fill("#alias", "tests");
    await page.click("#start");
    const proposal = page.locator('#proposals .proposal[data-path^="log://turn_1/sh/"]');
    await proposal.waitFor();
    assert.match((await proposal.locator("pre.command").textContent())!, /\$ make test/);
    const path = (await proposal.getAttribute("data-path"))!;
    await proposal.locator("button.accept").click();
    await proposal.waitFor({ state: "detached" });
    // This client plays the terminal that runs the accepted command: each chunk shows as it lands.
    const output = page.locator('article.turn[data-turn="1"] .shell pre');
    await client.call("stream", { run: "tests", path, channel: 1, chunk: "ok 1 - parses\n" });
    await output.filter({ hasText: "ok 1 - parses" }).waitFor();
    assert.doesNotMatch((await output.textContent())!, /ok 2/);
    await client.call("stream", { run: "tests", path, channel: 1, chunk: "ok 2 - renders\n" });
    await output.filter({ hasText: "ok 2 - renders" }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "9-shell-output.png"), fullPage: true });
    await client.call("stream/completed", { run: "tests", path, exit_code: 0, duration: "0.1s" });
    await page.locator('.run-title .badge[data-status="200"]').waitFor({ timeout: 30_000 });
  } finally {
    await client.close();
    await browser.close();
    await server.stop();
  }
});

test("without the token the page says how to get in and sees nothing", {
  skip: missing ?? false,
  timeout: 120_000,
}, async () => {
  const { chromium } = await import("playwright-core");
  const server = await startServe(home, ["--port", "0"], env);
  const port = new URL(server.url).port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/#token=wrong&project=x&root=/tmp`);
    await page.locator("#connection.bad").filter({ hasText: /token/ }).waitFor();
    assert.equal(await page.locator("#runs li").count(), 0);
    await page.screenshot({ path: join(ARTIFACTS, "0-no-token.png") });
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("rummy web says so when no server answers, and prints no URL", async () => {
  const res = await rummy(["web", "--port", "9"], { home, env: { RUMMY_TOKEN: TOKEN } });
  assert.equal(res.code, 1);
  assert.equal(res.stdout, "");
  assert.match(res.stderr, /no rummy server answers on http:\/\/127\.0\.0\.1:9[\s\S]*rummy serve/);
});
