import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import { type Rig, rig } from "../src/index.js";

let r: Rig;
let root: string;
let projectId: number;

before(async () => {
  // Every turn rescans here; the shared-scan interval has its own test below.
  r = await rig({ RUMMY_FILE_SCAN_INTERVAL: "0" }, [file, get]);
  root = realpathSync(mkdtempSync(join(tmpdir(), "rummy-project-")));
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "dist"));
  writeFileSync(join(root, ".gitignore"), "dist/\n*.log\n");
  writeFileSync(join(root, "src", "app.ts"), "export const app = 1;\n");
  // A nested .gitignore applies below its own directory only.
  writeFileSync(join(root, "src", ".gitignore"), "generated.ts\n/local.ts\n");
  writeFileSync(join(root, "src", "generated.ts"), "// generated\n");
  writeFileSync(join(root, "src", "local.ts"), "// local\n");
  writeFileSync(join(root, "generated.ts"), "// kept: the rule lives in src/\n");
  writeFileSync(join(root, "package.json"), '{ "name": "demo" }\n');
  writeFileSync(join(root, "secret.txt"), "do not read\n");
  writeFileSync(join(root, "dist", "bundle.js"), "minified\n");
  writeFileSync(join(root, "debug.log"), "noise\n");
  writeFileSync(join(root, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]));
  symlinkSync("/etc", join(root, "etc-link"));
  projectId = r.core.projects.ensure("files", root).id;
  r.core.fileConstraints.set(projectId, "secret.txt", "ignore");
  r.core.fileConstraints.set(projectId, "package.json", "readonly");
});
after(async () => {
  await r.close();
  rmSync(root, { recursive: true, force: true });
});

async function loop(alias: string, replies: string[], flags = {}) {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({
    projectId,
    alias,
    model: "fake",
    mode: "ask",
    prompt: "look",
    flags,
  });
  return r.core.engine.settled(run.id);
}

test("the project's files become entries; nested .gitignore files, ignore constraints, symlinks and binaries are handled", async () => {
  const done = await loop("scan", [
    `<get path="src/app.ts"/>\n<update status="102">reading</update>`,
    `<update status="200">seen</update>`,
  ]);
  assert.equal(done.status, 200);
  const files = r.core.store.get({ projectId, scheme: "file" }).map((e) => e.path);
  assert.deepEqual(files, [
    ".gitignore",
    "generated.ts",
    "logo.png",
    "package.json",
    "src/.gitignore",
    "src/app.ts",
  ]);
  const pkg = r.core.store.getOne({ projectId }, "package.json")!;
  assert.equal(pkg.attributes.readonly, true);
  const png = r.core.store.getOne({ projectId }, "logo.png")!;
  assert.equal(png.body, "");
  assert.equal(png.attributes.mimetype, "application/octet-stream");
  const view = r.core.store.getOne({ runId: done.id }, "src/app.ts")!;
  assert.equal(view.visibility, "visible", "promoted by <get>");
  const [first, second] = r.llm
    .chatRequests()
    .slice(-2)
    .map((q) => q.body.messages[1].content as string);
  assert.match(first!, /path="src\/app.ts"[^>]*summarized="true"/, "files start as tiles");
  assert.match(second!, /export const app = 1;/, "after <get>, the content");
});

test("edits and deletions on disk are picked up at the next turn (freshness by hash)", async () => {
  const run = r.core.runs.create({ projectId, alias: "fresh", model: "fake" });
  r.llm.setHandler(() => ({ content: `<update status="102">waiting</update>` }));
  let turns = 0;
  const off = r.core.hooks.on("turn.completed", () => {
    turns++;
    if (turns === 1) {
      writeFileSync(join(root, "src", "app.ts"), "export const app = 2;\n");
      writeFileSync(join(root, "src", "new.ts"), "export {};\n");
      unlinkSync(join(root, "logo.png"));
    }
    if (turns === 2) r.llm.setHandler(() => ({ content: `<update status="200">done</update>` }));
  });
  r.core.engine.submit({ projectId, alias: "fresh", model: "fake", mode: "ask", prompt: "watch" });
  await r.core.engine.settled(run.id);
  off();
  r.llm.setHandler(undefined);
  assert.equal(r.core.store.getOne({ projectId }, "src/app.ts")!.body, "export const app = 2;\n");
  assert.ok(r.core.store.getOne({ projectId }, "src/new.ts"));
  assert.equal(r.core.store.getOne({ projectId }, "logo.png"), undefined);
  assert.ok(r.core.store.getOne({ runId: run.id }, "src/new.ts"), "the run sees the new file");
});

test("noRepo: files are scanned but the run gets no file views", async () => {
  const done = await loop("norepo", [`<update status="200">ok</update>`], { noRepo: true });
  assert.equal(done.status, 200);
  assert.deepEqual(r.core.store.get({ runId: done.id, scheme: "file" }), []);
});

test("runs whose turns start within RUMMY_FILE_SCAN_INTERVAL share one scan; a later turn sees the disk", async () => {
  const throttled = await rig({ RUMMY_FILE_SCAN_INTERVAL: "800" }, [file, get]);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "rummy-interval-")));
  try {
    writeFileSync(join(dir, "a.ts"), "a\n");
    const pid = throttled.core.projects.ensure("interval", dir).id;
    const once = async (alias: string) => {
      throttled.llm.enqueue({ content: `<update status="200">ok</update>` });
      const { run } = throttled.core.engine.submit({
        projectId: pid,
        alias,
        model: "fake",
        mode: "ask",
        prompt: "look",
      });
      return throttled.core.engine.settled(run.id);
    };
    await once("first");
    writeFileSync(join(dir, "b.ts"), "b\n");
    const second = await once("second");
    assert.equal(throttled.core.store.getOne({ projectId: pid }, "b.ts"), undefined, "shared scan");
    assert.ok(throttled.core.store.getOne({ runId: second.id }, "a.ts"), "views still given");
    await new Promise((res) => setTimeout(res, 900));
    const third = await once("third");
    assert.ok(
      throttled.core.store.getOne({ projectId: pid }, "b.ts"),
      "rescanned after the interval",
    );
    assert.ok(throttled.core.store.getOne({ runId: third.id }, "b.ts"));
    // A file created by an accepted edit (not a scan) reaches runs that were already synced.
    throttled.core.store.set({ projectId: pid, path: "c.ts", body: "c\n", writer: "plugin" });
    await new Promise((res) => setTimeout(res, 10)); // change events are delivered asynchronously
    const again = await once("second");
    assert.ok(
      throttled.core.store.getOne({ runId: again.id }, "c.ts"),
      "new file entry, new views",
    );
  } finally {
    await throttled.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
