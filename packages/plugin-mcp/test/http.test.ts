import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { type Rig, rig } from "@rummy/integration";
import mcp from "../src/index.js";

/** A Streamable HTTP MCP server (the SDK's own server side) on loopback, stateless: one server per request. */
let http: HttpServer;
let r: Rig;
const work = mkdtempSync(join(tmpdir(), "rummy-mcp-http-"));
const seenAuthorization: string[] = [];

before(async () => {
  http = createServer(async (req, res) => {
    seenAuthorization.push(String(req.headers.authorization ?? ""));
    const server = new Server(
      { name: "loopback", version: "1.0.0" },
      { capabilities: { tools: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        {
          name: "shout",
          description: "Upper-cases a word.",
          inputSchema: {
            type: "object",
            properties: { word: { type: "string" } },
            required: ["word"],
          },
          annotations: { readOnlyHint: true },
        },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => ({
      content: [{ type: "text", text: String(request.params.arguments?.word ?? "").toUpperCase() }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  const configFile = join(work, "mcp.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      mcpServers: {
        remote: {
          url: `http://127.0.0.1:${port}/mcp`,
          headers: { Authorization: "Bearer loopback-token" },
        },
      },
    }),
  );
  r = await rig({ RUMMY_MCP_CONFIG: configFile, RUMMY_CONTEXT_DEFAULT: "100000" }, [mcp]);
});
after(async () => {
  await r.close();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

test("a Streamable HTTP server: its tools are documented and called, with the configured headers", async () => {
  r.llm.enqueue(
    {
      content: `<mcp server="remote" tool="shout">{"word": "hello"}</mcp>\n<update status="102">x</update>`,
    },
    { content: `<update status="200">done</update>` },
  );
  const { run } = r.core.engine.submit({
    projectId: r.projectId,
    alias: "http",
    mode: "ask",
    model: "fake",
    prompt: "go",
  });
  const done = await r.core.engine.settled(run.id);
  assert.equal(done.status, 200);
  const [result] = r.core.store.get({ runId: run.id, pattern: "mcp://remote/shout/*" });
  assert.equal(result!.body, "HELLO");
  const system = r.llm.chatRequests()[0]!.body.messages[0].content as string;
  assert.match(system, /- shout \(read-only\) \{word: string\}: Upper-cases a word\./);
  assert.ok(seenAuthorization.length >= 2);
  assert.ok(seenAuthorization.every((h) => h === "Bearer loopback-token"));
});
