import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RpcCallError, RummyClient } from "@rummy/client";
import type { ParamSpec } from "@rummy/core";
import askUser from "@rummy/plugin-ask-user";
import cp from "@rummy/plugin-cp";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import mv from "@rummy/plugin-mv";
import rm from "@rummy/plugin-rm";
import set from "@rummy/plugin-set";
import { serverToken, startServer } from "@rummy/server";
import fc from "fast-check";
import { rig, SHELL_PLUGINS } from "../src/index.js";

interface Catalog {
  methods: Record<string, { params?: Record<string, ParamSpec>; requiresInit?: boolean }>;
}

/** Codes a refusal may carry: invalid params, application refusal (data.status), not initialized, timeout. */
const REFUSALS = new Set([-32602, -32000, -32001, -32002]);

/** A value of the declared type (often at an edge), or a value of any type. */
function valueFor(spec: ParamSpec): fc.Arbitrary<unknown> {
  const typed: fc.Arbitrary<unknown> = spec.enum
    ? fc.constantFrom(...spec.enum)
    : spec.type === "string"
      ? fc.oneof(
          fc.string(),
          fc.constantFrom(
            "",
            "known://x",
            "run://fuzz",
            "src/a.ts",
            "../etc/passwd",
            "*",
            "a\u0000b",
          ),
          fc.string({ minLength: 3000, maxLength: 3000 }),
        )
      : spec.type === "integer"
        ? fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 2 ** 53, 102, 200))
        : spec.type === "number"
          ? fc.double()
          : spec.type === "boolean"
            ? fc.boolean()
            : spec.type === "array"
              ? fc.array(fc.anything(), { maxLength: 5 })
              : fc.object({ maxDepth: 2 });
  return fc.oneof({ weight: 3, arbitrary: typed }, { weight: 1, arbitrary: fc.anything() });
}

/** Params for a method: each declared one present (typed or not) or absent, plus stray keys. */
function paramsFor(schema: Record<string, ParamSpec> = {}): fc.Arbitrary<unknown> {
  const declared = fc.record(
    Object.fromEntries(Object.entries(schema).map(([k, spec]) => [k, valueFor(spec)])),
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 8, arbitrary: declared },
    {
      weight: 1,
      arbitrary: fc
        .tuple(declared, fc.dictionary(fc.string(), fc.anything(), { maxKeys: 3 }))
        .map(([a, b]) => ({ ...b, ...(a as object) })),
    },
    { weight: 1, arbitrary: fc.oneof(fc.array(fc.anything()), fc.constant(undefined)) },
  );
}

export interface FuzzReport {
  methods: number;
  calls: number;
  accepted: number;
  refused: number;
}

/**
 * Calls every method of the live `discover` catalog with generated params
 * over a real WebSocket. Each call must succeed or be refused with one of
 * the protocol's refusal codes and a message — never an internal error,
 * never a stack trace — and afterwards the server must answer and every
 * acknowledged write made before the fuzz must be intact.
 */
export async function fuzzParams(runsPerMethod: number, seed: number): Promise<FuzzReport> {
  const r = await rig({ RUMMY_RPC_TIMEOUT: "5000" }, [
    ...SHELL_PLUGINS,
    file,
    get,
    set,
    rm,
    cp,
    mv,
    askUser,
  ]);
  const root = join(r.home, "project");
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "src", "a.ts"), "export const a = 1;\n");
  const server = await startServer({ core: r.core, port: 0 });
  const client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  const report: FuzzReport = { methods: 0, calls: 0, accepted: 0, refused: 0 };
  try {
    await client.hello("fuzz", root);
    // Any reply ends the run; the fuzz is about the surface, not the model.
    r.llm.setHandler(() => ({ content: `<update status="200">ok</update>` }));
    await client.call("set", {
      path: "run://fuzz",
      body: "hello",
      attributes: { model: "fake", mode: "ask" },
    });
    const sentinels: string[] = [];
    for (let i = 0; i < 10; i++) {
      await client.call("set", { run: "fuzz", path: `known://sentinel/${i}`, body: `s${i}` });
      sentinels.push(`known://sentinel/${i}`);
    }

    const catalog = await client.call<Catalog>("discover");
    // rummy/hello re-points the connection; it is fuzzed last, on its own connection.
    const names = Object.keys(catalog.methods).sort();
    for (const name of names) {
      report.methods++;
      const caller =
        name === "rummy/hello"
          ? await RummyClient.connect(server.url, { token: serverToken(r.core)! })
          : client;
      await fc.assert(
        fc.asyncProperty(paramsFor(catalog.methods[name]!.params), async (params) => {
          report.calls++;
          try {
            await caller.call(name, params as Record<string, unknown>);
            report.accepted++;
          } catch (error) {
            assert.ok(error instanceof RpcCallError, `${name}: not an RPC error: ${String(error)}`);
            assert.ok(
              REFUSALS.has(error.code),
              `${name}(${JSON.stringify(params)?.slice(0, 300)}) → ${error.code} ${error.message}`,
            );
            assert.ok(error.message.length > 0 && !/\n\s+at /.test(error.message), "no stack");
            report.refused++;
          }
        }),
        { numRuns: runsPerMethod, seed },
      );
      if (caller !== client) await caller.close();
    }

    assert.deepEqual(await client.call("ping"), {});
    const kept = await client.call<{ path: string; body: string }[]>("getEntries", {
      run: "fuzz",
      pattern: "known://sentinel/*",
      withBody: true,
    });
    // A fuzzed rm/mv may legitimately remove a sentinel only if it named it; they are named nowhere.
    assert.deepEqual(
      kept.map((e) => e.path),
      sentinels,
      "acknowledged writes are intact",
    );
    return report;
  } finally {
    r.llm.setHandler(undefined);
    await client.close().catch(() => {});
    await server.close();
    await r.close();
  }
}
