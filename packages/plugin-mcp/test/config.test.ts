import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, createLogger, RummyCore } from "@rummy/core";
import mcp, { catalog, McpConfig, parseMcpConfig } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "rummy-mcp-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the Claude Desktop shape parses: stdio and Streamable HTTP servers", () => {
  const { servers } = parseMcpConfig(
    JSON.stringify({
      mcpServers: {
        fs: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
          env: { A: "1" },
        },
        remote: {
          url: "https://mcp.example.com/mcp",
          headers: { Authorization: "Bearer x" },
          timeout: 5000,
        },
      },
    }),
    "mcp.json",
  );
  assert.deepEqual(servers.get("fs"), {
    name: "fs",
    kind: "stdio",
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
    env: { A: "1" },
  });
  assert.deepEqual(servers.get("remote"), {
    name: "remote",
    kind: "http",
    url: "https://mcp.example.com/mcp",
    headers: { Authorization: "Bearer x" },
    timeoutMs: 5000,
  });
});

test("every problem in a bad file is reported at once, naming the server", () => {
  assert.throws(
    () =>
      parseMcpConfig(
        JSON.stringify({
          mcpServers: {
            a: { command: "x", url: "http://y" },
            b: { command: "x", args: "not-a-list" },
            c: { url: "ftp://nope" },
            "bad name": { command: "x" },
            d: { command: "x", readOnly: "sometimes", timeout: 5 },
          },
        }),
        "mcp.json",
      ),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.problems.join("\n");
      assert.match(text, /mcpServers\.a needs exactly one of "command" \(stdio\) or "url"/);
      assert.match(text, /mcpServers\.b\.args must be an array of strings/);
      assert.match(text, /mcpServers\.c\.url must be an http:\/\/ or https:\/\/ URL/);
      assert.match(text, /mcpServers\.bad name: a server name is/);
      assert.match(text, /mcpServers\.d\.timeout must be/);
      assert.match(text, /mcpServers\.d\.readOnly must be "auto" or "propose"/);
      return true;
    },
  );
  assert.throws(() => parseMcpConfig("{not json", "mcp.json"), /mcp\.json: not valid JSON/);
});

test("project overrides: the home file's projects section always, <root>/.mcp.json only when trusted", () => {
  const root = join(dir, "project");
  mkdirSync(root);
  const home = join(dir, "mcp.json");
  writeFileSync(
    home,
    JSON.stringify({
      mcpServers: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is the feature
        fs: { command: "fs-server", args: ["${projectRoot}"] },
        web: { command: "web" },
      },
      projects: { [root]: { mcpServers: { web: { disabled: true }, db: { command: "db" } } } },
    }),
  );
  writeFileSync(
    join(root, ".mcp.json"),
    JSON.stringify({ mcpServers: { local: { command: "local" } } }),
  );
  const untrusted = new McpConfig(home, false).forProject(root).servers;
  assert.deepEqual([...untrusted.keys()].sort(), ["db", "fs"]);
  assert.deepEqual(
    (untrusted.get("fs") as { args?: readonly string[] } | undefined)?.args,
    [root],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is the feature
    "${projectRoot} expands",
  );
  const trusted = new McpConfig(home, true).forProject(root).servers;
  assert.deepEqual([...trusted.keys()].sort(), ["db", "fs", "local"]);
  assert.deepEqual(
    [...new McpConfig(home, true).forProject(join(dir, "other")).servers.keys()].sort(),
    ["fs", "web"],
  );
  writeFileSync(join(root, ".mcp.json"), "{broken");
  const broken = new McpConfig(home, true).forProject(root);
  assert.match(broken.error!, /\.mcp\.json: not valid JSON/);
  assert.deepEqual(
    [...broken.servers.keys()].sort(),
    ["db", "fs"],
    "a bad project file loses only itself",
  );
});

test("the tool docs fit their budget by dropping detail, never by dropping servers silently", () => {
  const tools = Array.from({ length: 60 }, (_, i) => ({
    name: `tool_${i}`,
    description: `Does thing number ${i} with great care. More words here.`,
    inputSchema: {
      type: "object" as const,
      properties: { path: { type: "string" } },
      required: ["path"],
    },
    annotations: { readOnlyHint: i % 2 === 0 },
  }));
  const count = (t: string) => Math.ceil(t.length / 4);
  const servers = [{ name: "big", tools, resources: [], error: null }];
  const full = catalog(servers, { askMode: false, maxTokens: 100_000, count });
  assert.match(
    full,
    /- tool_0 \(read-only\) \{path: string\}: Does thing number 0 with great care\./,
  );
  const names = catalog(servers, { askMode: false, maxTokens: 700, count });
  assert.ok(count(names) <= 700);
  assert.match(names, /- tool_1\n/);
  assert.doesNotMatch(names, /great care/);
  const tiny = catalog(servers, { askMode: false, maxTokens: 200, count });
  assert.match(tiny, /Servers: big \(60 tools\)\. Their tools did not fit the prompt budget/);
  const ask = catalog(servers, { askMode: true, maxTokens: 100_000, count });
  assert.doesNotMatch(ask, /tool_1 /);
  assert.match(ask, /tool_2 \(read-only\)/);
});

test("a broken home mcp.json stops the plugin at boot with every problem listed; the core carries on", async () => {
  const bad = join(dir, "bad-mcp.json");
  writeFileSync(bad, JSON.stringify({ mcpServers: { x: {}, y: { command: 3 } } }));
  const core = RummyCore.open({
    home: dir,
    dbPath: ":memory:",
    logger: createLogger("silent"),
    env: { RUMMY_MCP_CONFIG: bad },
  });
  try {
    const result = await core.use(mcp);
    assert.ok("error" in result);
    assert.match(result.error, /mcpServers\.x needs exactly one of "command" \(stdio\) or "url"/);
    assert.match(result.error, /mcpServers\.y\.command must be a non-empty string/);
    assert.equal(core.tools.get("mcp"), undefined, "nothing half-registered");
  } finally {
    await core.close();
  }
});
