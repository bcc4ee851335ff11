import { type PluginContext, runForCall, RummyError } from "@rummy/core";
import { type RpcShared, runParam } from "./shared.js";

/**
 * The tool fallback: any registered tool is callable by its name, resolved
 * when called (so tools loaded later count). `tool/<name>` reaches a tool whose
 * name a store verb already holds (set, get, rm, cp, mv): the verb changes
 * entries only; the tool also changes files, through a proposal.
 */
export function registerTools(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;
  ctx.setRpcFallback((method) => {
    const name = method.startsWith("tool/") ? method.slice("tool/".length) : method;
    const tool = core.tools.get(name);
    if (!tool) return undefined;
    return {
      name: method,
      owner: tool.owner,
      description: `Run the <${name}> tool as the client; recorded in the run's log like the model's commands.`,
      params: {
        run: runParam,
        path: { type: "string", maxLength: 2048, description: "the tool's path attribute" },
        body: { type: "string", description: "the tool's body" },
        attributes: { type: "object", description: "other attributes" },
      },
      handler: async (
        params: {
          run: string;
          path?: string;
          body?: string;
          attributes?: Record<string, unknown>;
        },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries(params.attributes ?? {}))
          attributes[k] = typeof v === "string" ? v : JSON.stringify(v);
        if (params.path !== undefined) attributes.path = params.path;
        const result = await core.engine.invokeTool(run.id, {
          name,
          attributes,
          ...(params.body !== undefined ? { body: params.body } : {}),
        });
        if (!result.ok)
          throw new RummyError(
            result.status,
            `<${name}> failed (${result.outcome ?? result.status})`,
          );
        // 2.0.1 answers { status: "ok" }; where the command was logged and how it stands ride along.
        return {
          status: "ok",
          ok: true,
          path: result.path,
          code: result.status,
          state: result.state,
        };
      },
    };
  });
}
