import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { rummy, startServe, tempHome } from "./helpers.js";

let home: string;
let cleanup: () => void;
before(() => ({ home, cleanup } = tempHome()));
after(() => cleanup());

test("serve starts, says where it listens and what loaded, and answers discover", async () => {
  const server = await startServe(home, ["--port", "0"], {
    RUMMY_MODEL_fast: "openai/gpt-4o-mini",
  });
  try {
    assert.match(server.output(), /plugins: .*rpc/);
    const client = await RummyClient.connect(server.url, { token: server.token });
    await client.hello("cli-test", home);
    const catalog = await client.call<{ methods: Record<string, unknown> }>("discover");
    assert.ok(catalog.methods["rummy/hello"]);
    assert.ok(catalog.methods.getEntries);
    const models = await client.call<{ alias: string }[]>("getModels");
    assert.ok(
      models.some((m) => m.alias === "fast"),
      "models seeded from the environment",
    );
    await client.close();
  } finally {
    const code = await server.stop();
    assert.equal(code, 0, `SIGTERM shuts down cleanly; output: ${server.output()}`);
  }
});

test("a port already in use is an error a person can act on", async () => {
  const first = await startServe(home, ["--port", "0"]);
  try {
    const port = new URL(first.url).port;
    const second = await rummy(["serve", "--port", port], { home });
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`port ${port} is already in use`));
    assert.match(second.stderr, /RUMMY_PORT/);
  } finally {
    await first.stop();
  }
});
