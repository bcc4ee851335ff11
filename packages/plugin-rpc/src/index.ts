import {
  ENGINE_EVENTS,
  type EntryState,
  type Entry,
  isGlob,
  type LoopFlags,
  type Mode,
  type ParamsSchema,
  type PluginContext,
  type RpcCallContext,
  type RunProgressEvent,
  type RunProposalEvent,
  type RunRecord,
  runForCall,
  type RunStateEvent,
  RummyError,
  type RummyCore,
  type StoreChange,
  type Visibility,
  type WriteResult,
  definePlugin,
} from "@rummy/core";
import { allowedProjectParents, bindProject, resolveProjectRoot } from "./project-root.js";
import {
  describeParams,
  entryRow,
  historyOf,
  latestUpdate,
  proposalItem,
  runStateSnapshot,
  runTotals,
  turnTexts,
  UPDATE_PATTERN,
  wireRunStatus,
} from "./wire.js";

/** The protocol version this server speaks; clients must match its MAJOR. */
export const RUMMY_PROTOCOL_VERSION = "2.0.0";

const STATES = ["proposed", "streaming", "resolved", "failed", "cancelled"] as const;
const VISIBILITY = ["visible", "summarized", "archived"] as const;
const RUN_FLAGS = ["noInteraction", "noWeb", "noProposals", "noRepo", "yolo"] as const;

const runParam = { type: "string", required: true, description: "run alias" } as const;
const limitParams: ParamsSchema = {
  limit: { type: "integer", min: 0, description: "max results" },
  offset: { type: "integer", min: 0, description: "skip the first N results" },
};

/**
 * The rpc plugin: every method a 2.0 client uses, registered through the
 * core's RPC registry (the transport serves whatever is registered), plus
 * the mapping of engine events onto the notifications clients listen for.
 */
export default definePlugin({
  name: "rpc",
  version: "0.1.0",
  setup(ctx) {
    const core = ctx.core;
    seedModels(ctx);
    // Validated at boot: a bad list stops the server instead of admitting roots it should not.
    const projectParents = allowedProjectParents(core.env.RUMMY_PROJECT_ROOTS);
    const allowYolo = yoloAllowed(core.env.RUMMY_ALLOW_YOLO);
    const rpc = (name: string, def: Parameters<PluginContext["registerRpc"]>[1]) =>
      ctx.registerRpc(name, def);

    // --- Protocol ---
    rpc("ping", {
      description: "Liveness check. Returns {}.",
      requiresInit: false,
      handler: () => ({}),
    });

    const discover = () => {
      const registered = core.rpc.methods();
      const names = new Set(registered.map((m) => m.name));
      // Tools answer by name through the fallback; list the ones no method shadows, as 2.0.1 does.
      const tools = core.tools
        .list()
        .filter((t) => !names.has(t.name))
        .map((t) => core.rpc.get(t.name))
        .filter((m) => m !== undefined);
      return {
        methods: Object.fromEntries(
          [...registered, ...tools]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((m) => [
              m.name,
              {
                description: m.description,
                params: describeParams(m.params),
                longRunning: m.longRunning ?? false,
                requiresInit: m.requiresInit ?? true,
                // The machine-checkable form of `params` (rummy addition).
                paramsSchema: m.params ?? {},
              },
            ]),
        ),
        notifications: Object.fromEntries(
          core.rpc.notifications().map((n) => [n.name, { description: n.description }]),
        ),
      };
    };
    rpc("discover", {
      description:
        'The live catalog: { methods, notifications }, each keyed by name with its description; params are described as strings ("string? — what it is"), paramsSchema has them as a schema.',
      requiresInit: false,
      handler: discover,
    });
    rpc("rpc/discover", {
      description: "Alias of discover.",
      requiresInit: false,
      handler: discover,
    });

    rpc("rummy/hello", {
      description:
        "Connection handshake, the first call a client makes: names the project (created on first use, its root fixed then: an existing directory, resolved through symlinks; another root is refused 409 unless move is true and the project is idle) and checks the protocol version (MAJOR must match). Presents the token if the connection did not. Returns { rummyVersion, projectId, projectRoot }.",
      requiresInit: false,
      params: {
        name: {
          type: "string",
          required: true,
          maxLength: 200,
          description: "project name (unique identifier)",
        },
        projectRoot: {
          type: "string",
          required: true,
          maxLength: 4096,
          description: "absolute path to the project's files",
        },
        configPath: {
          type: "string",
          description: "path to a rummy config directory (accepted for compatibility)",
        },
        clientVersion: {
          type: "string",
          description: "the client's protocol version; a different MAJOR is refused",
        },
        token: { type: "string", description: "the server's shared token, when it has one" },
        move: {
          type: "boolean",
          description:
            "re-root an existing project at projectRoot (refused while any of its runs is active or waiting)",
        },
      },
      handler: (
        params: { name: string; projectRoot: string; clientVersion?: string; move?: boolean },
        call,
      ) => {
        if (params.clientVersion !== undefined) {
          const clientMajor = params.clientVersion.split(".")[0];
          const serverMajor = RUMMY_PROTOCOL_VERSION.split(".")[0];
          if (clientMajor !== serverMajor) {
            throw new RummyError(
              426,
              `protocol mismatch: server ${RUMMY_PROTOCOL_VERSION}, client ${params.clientVersion}. Clients must match MAJOR.`,
            );
          }
        }
        if (!params.name.trim()) throw new RummyError(400, "rummy/hello: name must not be empty");
        const root = resolveProjectRoot(params.projectRoot, projectParents);
        const project = bindProject(core, params.name, root, params.move === true);
        const session = call.session;
        session.projectId = project.id;
        session.projectName = project.name;
        session.projectRoot = root;
        session.initialized = true;
        return {
          rummyVersion: RUMMY_PROTOCOL_VERSION,
          projectId: project.id,
          projectRoot: root,
        };
      },
    });

    // --- The primitives (writer: client) ---
    rpc("set", {
      description:
        "Create or update an entry: write a body, change state or visibility, merge attributes, append (streaming), or update every entry matching a pattern. `set run://<alias>` starts, continues, forks or cancels a run; setting the state of a proposed entry resolves the proposal.",
      longRunning: true,
      params: {
        run: { type: "string", description: "run alias (not needed for run:// paths)" },
        path: {
          type: "string",
          required: true,
          maxLength: 2048,
          description: "entry path, e.g. known://fact or run://alias",
        },
        body: { type: "string", description: "entry body (for run:// — the prompt)" },
        state: {
          type: "string",
          enum: STATES,
          description: "proposed | streaming | resolved | failed | cancelled",
        },
        visibility: {
          type: "string",
          enum: VISIBILITY,
          description: "visible | summarized | archived",
        },
        outcome: {
          type: "string",
          nullable: true,
          description: "why, when state is failed or cancelled",
        },
        attributes: {
          type: "object",
          description: "JSON attributes (merged); for run:// — model, mode, flags",
        },
        append: { type: "boolean", description: "append body instead of replacing it" },
        pattern: { type: "boolean", description: "treat path as a glob and update every match" },
        bodyFilter: {
          type: "string",
          description: "with pattern: only entries whose body matches",
        },
      },
      handler: (params: SetParams, call) => {
        if (params.path.startsWith("run://") && params.attributes?.yolo === true && !allowYolo) {
          throw new RummyError(
            403,
            "set run://: yolo (server-side execution) is off on this server; start it with RUMMY_ALLOW_YOLO=1 to allow it",
          );
        }
        return dispatchSet(core, params, call);
      },
    });

    rpc("get", {
      description:
        "Promote an entry (or every entry matching a glob) to visible — or to the given visibility — in the run's context.",
      params: {
        run: runParam,
        path: {
          type: "string",
          required: true,
          maxLength: 2048,
          description: "entry path or glob",
        },
        bodyFilter: { type: "string", description: "narrow pattern matches by body content" },
        visibility: {
          type: "string",
          enum: VISIBILITY,
          description: "target visibility (default visible)",
        },
      },
      handler: (
        params: { run: string; path: string; bodyFilter?: string; visibility?: Visibility },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const visibility = params.visibility ?? "visible";
        const result =
          isGlob(params.path) || params.bodyFilter !== undefined
            ? core.store.setPattern({
                runId: run.id,
                pattern: params.path,
                visibility,
                writer: "client",
                ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
              })
            : promote(core, run, params.path, visibility);
        return outcome(result);
      },
    });

    rpc("rm", {
      description:
        "Remove an entry (or every match of a glob) from the run's view; content owned by the run goes with it. Files on disk: tool/rm.",
      params: {
        run: runParam,
        path: {
          type: "string",
          required: true,
          maxLength: 2048,
          description: "entry path or glob",
        },
        bodyFilter: { type: "string", description: "narrow pattern matches by body content" },
      },
      handler: (params: { run: string; path: string; bodyFilter?: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const glob = isGlob(params.path) || params.bodyFilter !== undefined;
        return outcome(
          core.store.rm({
            runId: run.id,
            writer: "client",
            ...(glob ? { pattern: params.path } : { path: params.path }),
            ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
          }),
        );
      },
    });

    for (const verb of ["cp", "mv"] as const) {
      rpc(verb, {
        description:
          verb === "cp"
            ? "Copy an entry to a new path. Files on disk: tool/cp."
            : "Rename an entry (copy, then remove the source). Files on disk: tool/mv.",
        params: {
          run: runParam,
          from: { type: "string", required: true, maxLength: 2048, description: "source path" },
          to: { type: "string", required: true, maxLength: 2048, description: "destination path" },
          visibility: {
            type: "string",
            enum: VISIBILITY,
            description: "visibility of the destination",
          },
        },
        handler: (
          params: { run: string; from: string; to: string; visibility?: Visibility },
          call,
        ) => {
          const run = runForCall(core.runs, call, params.run);
          const input = {
            runId: run.id,
            from: params.from,
            to: params.to,
            writer: "client" as const,
            ...(params.visibility ? { visibility: params.visibility } : {}),
          };
          return outcome(verb === "cp" ? core.store.cp(input) : core.store.mv(input));
        },
      });
    }

    rpc("update", {
      description:
        "Record a turn's continuation or terminal signal at log://turn_N/update/<slug> (102 continue, 200/204 done, 422 cannot answer).",
      params: {
        run: runParam,
        body: { type: "string", required: true, description: "update text" },
        status: {
          type: "integer",
          enum: [102, 200, 204, 422],
          description: "102 | 200 | 204 | 422 (default 102)",
        },
        attributes: { type: "object", description: "extra attributes" },
      },
      handler: (
        params: {
          run: string;
          body: string;
          status?: number;
          attributes?: Record<string, unknown>;
        },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const turn = Math.max(1, run.nextTurn - 1);
        const path = `log://turn_${turn}/update/${slugOf(params.body)}`;
        const result = core.store.set({
          runId: run.id,
          path,
          body: params.body,
          turn,
          state: "resolved",
          attributes: {
            ...params.attributes,
            status: params.status ?? 102,
            action: "update",
            by: "client",
          },
          // The log is not client-writable; this lifecycle verb writes on the client's behalf.
          writer: "plugin",
        });
        return { ...outcome(result), path };
      },
    });

    // --- Models ---
    rpc("getModels", {
      description: "List the models: [{ alias, actual, context_length }].",
      requiresInit: false,
      params: limitParams,
      handler: (params: { limit?: number; offset?: number }) =>
        page(core.models.list(), params).map((m) => ({
          alias: m.alias,
          actual: m.target,
          context_length: m.contextLength,
        })),
    });
    rpc("addModel", {
      description: "Add or update a model alias. Returns { alias }.",
      requiresInit: false,
      params: {
        alias: { type: "string", required: true, maxLength: 200, description: "short name" },
        actual: { type: "string", required: true, maxLength: 500, description: "provider/model" },
        contextLength: { type: "integer", min: 1, description: "context window in tokens" },
      },
      handler: (params: { alias: string; actual: string; contextLength?: number }) => {
        const m = core.models.upsert({
          alias: params.alias,
          target: params.actual,
          contextLength: params.contextLength ?? null,
          source: "client",
        });
        return { alias: m.alias, actual: m.target };
      },
    });
    rpc("removeModel", {
      description: "Remove a model alias.",
      requiresInit: false,
      params: { alias: { type: "string", required: true, description: "model alias" } },
      handler: (params: { alias: string }) => {
        if (!core.models.remove(params.alias))
          throw new RummyError(404, `no model '${params.alias}'`);
        return { status: "ok" };
      },
    });

    // --- File constraints (project-level) ---
    rpc("file/constraint", {
      description:
        "Set a project-level file constraint: active | readonly | ignore. Patterns may be globs; constraints persist across runs.",
      params: {
        pattern: {
          type: "string",
          required: true,
          maxLength: 2048,
          description: "file path or glob",
        },
        visibility: {
          type: "string",
          required: true,
          enum: ["active", "readonly", "ignore"],
          description: "active | readonly | ignore",
        },
      },
      handler: (
        params: { pattern: string; visibility: "active" | "readonly" | "ignore" },
        call,
      ) => {
        const pattern = normalizePattern(params.pattern);
        core.fileConstraints.set(projectOf(call), pattern, params.visibility);
        return { ok: true, pattern };
      },
    });
    rpc("file/drop", {
      description: "Remove a project-level file constraint.",
      params: {
        pattern: {
          type: "string",
          required: true,
          maxLength: 2048,
          description: "file path or glob",
        },
      },
      handler: (params: { pattern: string }, call) => {
        const pattern = normalizePattern(params.pattern);
        core.fileConstraints.remove(projectOf(call), pattern);
        return { ok: true, pattern };
      },
    });
    rpc("getConstraints", {
      description: "The project's file constraints: [{ pattern, visibility }].",
      handler: (_params, call) => core.fileConstraints.list(projectOf(call)),
    });

    // --- Queries ---
    rpc("getEntries", {
      description:
        "List a run's entries matching a glob (read-only, no promotion). Filters: scheme, state, visibility, bodyFilter. `withBody` includes bodies; `since` returns only entries with a larger id; `limit` caps the count.",
      params: {
        run: runParam,
        pattern: {
          type: "string",
          maxLength: 2048,
          description: "glob over paths; with no pattern, scheme or state: the project's files",
        },
        scheme: { type: "string", description: "filter by scheme" },
        state: { type: "string", enum: STATES, description: "filter by state" },
        visibility: { type: "string", enum: VISIBILITY, description: "filter by visibility" },
        bodyFilter: { type: "string", description: "filter by body content (substring or glob)" },
        withBody: { type: "boolean", description: "include bodies (default false)" },
        since: { type: "integer", min: 0, description: "only entries with id > since" },
        limit: { type: "integer", min: 0, description: "cap the count" },
      },
      handler: (params: GetEntriesParams, call) => {
        const run = runForCall(core.runs, call, params.run);
        // Unfiltered, the answer is the project's files, as in 2.0.1; a pattern, scheme or state widens it.
        const filesOnly =
          params.pattern === undefined && params.scheme === undefined && params.state === undefined;
        let entries = core.store.get({
          runId: run.id,
          pattern: params.pattern ?? "*",
          ...(filesOnly ? { scheme: "file" } : {}),
          order: "id",
          includeBody: params.withBody === true,
          ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
          ...(params.scheme !== undefined ? { scheme: params.scheme } : {}),
          ...(params.state !== undefined ? { state: params.state } : {}),
          ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
        });
        if (params.since !== undefined) entries = entries.filter((e) => e.id > params.since!);
        if (params.limit !== undefined) entries = entries.slice(0, params.limit);
        return entries.map((e) => entryRow(e, params.withBody === true));
      },
    });

    rpc("getRuns", {
      description: "The project's runs, newest first: [{ run, status, turn, summary, created }].",
      params: limitParams,
      handler: (params: { limit?: number; offset?: number }, call) => {
        // The core's ready summary lines (one query, kept while nothing is written); the wire's status.
        return core.runs
          .summaries(projectOf(call), { ...params, pattern: UPDATE_PATTERN })
          .map((s) => (s.status === 202 ? { ...s, status: wireRunStatus(s.status) } : s));
      },
    });

    rpc("getRun", {
      description:
        "Full detail of a run: status, model, temperature, persona, context limit, usage totals, each turn's reasoning and content, its history (prompts and commands), the latest prompt and update; also loops and per-turn usage.",
      params: { run: runParam },
      handler: (params: { run: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const turns = core.turns.list(run.id);
        const loops = core.loops.list(run.id);
        const attrs = run.attributes;
        const pending = core.store.get({ runId: run.id, state: "proposed", includeBody: false });
        return {
          run: run.alias,
          turn: Math.max(0, run.nextTurn - 1),
          status: wireRunStatus(run.status),
          model: run.model,
          temperature: typeof attrs.temperature === "number" ? attrs.temperature : null,
          persona: typeof attrs.persona === "string" ? attrs.persona : null,
          context_limit: typeof attrs.contextLimit === "number" ? attrs.contextLimit : null,
          context: {
            telemetry: runTotals(core, run),
            ...turnTexts(core, run),
            history: historyOf(core, run),
          },
          last_user_prompt: loops.filter((l) => l.prompt).at(-1)?.prompt ?? null,
          last_summary: latestUpdate(core, run)?.body ?? null,
          // rummy additions: proposals waiting (the run shows 102 while they do), and the records behind it.
          pending: pending.length,
          attributes: run.attributes,
          loops: loops.map((l) => ({
            sequence: l.sequence,
            mode: l.mode,
            status: l.status,
            reason: l.reason,
            prompt: l.prompt,
          })),
          turns: turns.map((t) => ({
            turn: t.sequence,
            status: t.status,
            prompt_tokens: t.promptTokens,
            completion_tokens: t.completionTokens,
            cost: t.cost,
          })),
        };
      },
    });

    // --- Notifications ---
    const notifications: [string, string, ParamsSchema][] = [
      [
        "run/state",
        "A run's full state: { run, turn, status, summary?, history[], unknowns[], telemetry, reason } — after each dispatched command (102), each turn that continues, and when the run ends.",
        {},
      ],
      [
        "run/progress",
        "Transient activity: { run, turn, status: thinking | processing | retrying, phase, content?, reasoning? } (content/reasoning: model text as it streams).",
        {},
      ],
      [
        "run/proposal",
        "Proposals wait for a client: { run, proposed: [{ path, body, attributes (JSON string), turn, action }] }. Resolve with set { run, path, state }.",
        {},
      ],
      [
        "run/changed",
        "Pulse: entries of the run changed; reconcile with getEntries { run, since }.",
        {},
      ],
      ["ui/render", "Streaming output for display: { text, append, run, turn }.", {}],
      [
        "ui/notify",
        "A short message for the user: { text, level: info | warn | error, run? } — a proposal waiting for a decision, a run that ended with an error.",
        {},
      ],
    ];
    for (const [name, description, params] of notifications)
      ctx.registerNotification(name, { description, params });

    forwardEngineEvents(ctx);

    // Any registered tool is callable by its name, resolved when called (so tools loaded later count).
    // `tool/<name>` reaches a tool whose name a store verb already holds (set, get, rm, cp, mv):
    // the verb changes entries only; the tool also changes files, through a proposal.
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
  },
});

interface SetParams {
  run?: string;
  path: string;
  body?: string;
  state?: EntryState;
  visibility?: Visibility;
  outcome?: string | null;
  attributes?: Record<string, unknown>;
  append?: boolean;
  pattern?: boolean;
  bodyFilter?: string;
}

interface GetEntriesParams {
  run: string;
  pattern?: string;
  scheme?: string;
  state?: EntryState;
  visibility?: Visibility;
  bodyFilter?: string;
  withBody?: boolean;
  since?: number;
  limit?: number;
}

async function dispatchSet(
  core: RummyCore,
  params: SetParams,
  call: RpcCallContext,
): Promise<unknown> {
  if (params.path.startsWith("run://")) return dispatchRunSet(core, params, call);
  if (!params.run) throw new RummyError(400, "set: run is required (except for run:// paths)");
  const run = runForCall(core.runs, call, params.run);
  if (params.pattern) {
    return outcome(
      core.store.setPattern({
        runId: run.id,
        pattern: params.path,
        writer: "client",
        ...(params.state !== undefined ? { state: params.state } : {}),
        ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
        ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
        ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
        ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
      }),
    );
  }
  // A state change on a proposed entry is a resolution: the engine runs its side effects.
  if (params.state !== undefined && !params.append) {
    const current = pendingProposal(core, run, params.path);
    if (current && params.state !== "proposed") {
      const decision = params.state === "resolved" ? "accept" : "reject";
      const result = await core.engine.resolve(run.id, current.path, {
        decision,
        ...(params.body !== undefined ? { body: params.body } : {}),
        ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
      });
      if (!result.ok)
        throw new RummyError(result.status, result.error ?? `failed with status ${result.status}`);
      // 2.0.1 answers with the run and its status; the proposal's own fate rides along.
      const after = core.runs.get(run.id) ?? run;
      return {
        run: run.alias,
        status: wireRunStatus(after.status),
        ok: true,
        state: result.state ?? null,
        outcome: result.outcome ?? null,
      };
    }
  }
  return outcome(
    core.store.set({
      runId: run.id,
      path: params.path,
      writer: "client",
      turn: Math.max(0, run.nextTurn - 1),
      ...(params.body !== undefined ? { body: params.body } : {}),
      ...(params.append !== undefined ? { append: params.append } : {}),
      ...(params.state !== undefined ? { state: params.state } : {}),
      ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
      ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
      ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
    }),
  );
}

/** `set run://<alias>`: start (named or anonymous), continue/inject, fork, or cancel. */
async function dispatchRunSet(
  core: RummyCore,
  params: SetParams,
  call: RpcCallContext,
): Promise<unknown> {
  const projectId = projectOf(call);
  const attrs = params.attributes ?? {};
  const alias = params.path.slice("run://".length);
  const existing = alias ? core.runs.byAlias(projectId, alias) : undefined;

  if (existing && params.state !== undefined) {
    if (params.state !== "cancelled") {
      throw new RummyError(
        400,
        `set run://${alias}: only state "cancelled" can be set on a run (to cancel it)`,
      );
    }
    await core.engine.cancel(existing.id, params.outcome ?? "cancelled by client");
    return { ok: true, alias };
  }
  if (!existing && params.state !== undefined)
    throw new RummyError(404, `no run '${alias}' to change`);

  const mode = attrs.mode;
  if (mode !== "ask" && mode !== "act") {
    throw new RummyError(
      400,
      `set run://: attributes.mode is required and must be "ask" or "act" (got ${JSON.stringify(mode)})`,
    );
  }
  const model =
    typeof attrs.model === "string" ? attrs.model : (existing?.model ?? core.env.RUMMY_MODEL);
  if (!model)
    throw new RummyError(
      400,
      "set run://: attributes.model is required for a new run (or set RUMMY_MODEL)",
    );
  const flags: Record<string, boolean> = {};
  for (const flag of RUN_FLAGS) if (attrs[flag] !== undefined) flags[flag] = attrs[flag] === true;
  const prompt = params.body ?? "";
  const engine = core.engine;

  if (existing && attrs.fork === true) {
    const child = engine.fork(existing.id, typeof attrs.as === "string" ? attrs.as : undefined);
    const { run } = engine.submit({
      projectId,
      alias: child.alias,
      model,
      mode: mode as Mode,
      prompt,
      flags: flags as LoopFlags,
    });
    return { ok: true, alias: run.alias };
  }
  if (existing && !prompt) return { ok: true, alias };
  const { run } = engine.submit({
    projectId,
    ...(alias ? { alias } : {}),
    model,
    mode: mode as Mode,
    prompt,
    flags: flags as LoopFlags,
    attributes: Object.fromEntries(
      Object.entries(attrs).filter(([k]) => !["mode", "model", "fork", ...RUN_FLAGS].includes(k)),
    ),
  });
  return { ok: true, alias: run.alias };
}

/** `RUMMY_ALLOW_YOLO`: "1"/"true" opts the server in to running commands itself; unset or "0" keeps it off. */
function yoloAllowed(raw: string | undefined): boolean {
  const value = raw?.trim().toLowerCase() ?? "";
  if (value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new RummyError(400, `RUMMY_ALLOW_YOLO=${JSON.stringify(raw)}: expected 1 or 0`);
}

function projectOf(call: RpcCallContext): number {
  const id = call.session.projectId;
  // 2.0.1's text, which clients match on.
  if (id === null) throw new RummyError(400, "Project not initialized.");
  return id;
}

/**
 * The pending proposal a client names: its log path (ours,
 * `log://turn_N/set/<slug>`), or 2.0.1's `set://turn_N/<file>` / `set://<file>`
 * for a file edit, matched by file (and turn when given).
 */
function pendingProposal(core: RummyCore, run: RunRecord, path: string): Entry | undefined {
  const entry = core.store.getOne({ runId: run.id }, path);
  if (entry) return entry.state === "proposed" ? entry : undefined;
  const m = /^set:\/\/(?:turn_(\d+)\/)?(.+)$/.exec(path);
  if (!m) return undefined;
  const turn = m[1] === undefined ? undefined : Number(m[1]);
  const file = m[2]!.replace(/^\.\//, "");
  return core.store
    .get({ runId: run.id, state: "proposed", scheme: "log", order: "id", includeBody: false })
    .find(
      (e) =>
        e.attributes.action === "set" &&
        e.attributes.path === file &&
        (turn === undefined || e.turn === turn),
    );
}

/** Promotes one entry, adding it to the run's view when the project has it but the run does not yet. */
function promote(
  core: RummyCore,
  run: RunRecord,
  path: string,
  visibility: Visibility,
): WriteResult {
  const seen =
    core.store.getOne({ runId: run.id }, path) ??
    core.store.getOne({ projectId: run.projectId }, path);
  if (!seen) return { ok: false, status: 404, path, error: `no entry at '${path}'` };
  return core.store.set({ runId: run.id, path, visibility, writer: "client" });
}

/** A store result as the wire shows it; refusals become errors with their status. */
function outcome(result: WriteResult): Record<string, unknown> {
  if (!result.ok)
    throw new RummyError(result.status, result.error ?? `failed with status ${result.status}`);
  return {
    ok: true,
    status: result.status,
    ...(result.count !== undefined ? { count: result.count } : {}),
    ...(result.paths !== undefined ? { paths: result.paths } : {}),
  };
}

function page<T>(items: T[], params: { limit?: number; offset?: number }): T[] {
  const offset = params.offset ?? 0;
  return items.slice(offset, params.limit === undefined ? undefined : offset + params.limit);
}

function normalizePattern(pattern: string): string {
  return pattern.trim().replace(/^\.\//, "").replace(/\/+$/, "");
}

function slugOf(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40);
  return slug || "update";
}

/** Seeds `RUMMY_MODEL_<alias>="provider/model"` from the environment into the models table. */
function seedModels(ctx: PluginContext): void {
  for (const [key, value] of Object.entries(ctx.env)) {
    if (!key.startsWith("RUMMY_MODEL_") || !value) continue;
    const alias = key.slice("RUMMY_MODEL_".length);
    try {
      ctx.core.models.upsert({ alias, target: value.trim(), contextLength: null, source: "env" });
    } catch (error) {
      throw new RummyError(400, `${key}=${value}: ${(error as Error).message}`);
    }
  }
}

/** Engine hook events → client notifications, routed to the run's project. */
function forwardEngineEvents(ctx: PluginContext): void {
  const core = ctx.core;
  ctx.on<RunStateEvent>(ENGINE_EVENTS.runState, (e) => {
    const run = core.runs.get(e.runId);
    if (!run) return;
    core.rpc.notify("run/state", runStateSnapshot(core, run, e), { projectId: e.projectId });
    // A run that ended badly is worth a toast; the state above is for bookkeeping.
    if (e.status >= 400)
      core.rpc.notify(
        "ui/notify",
        {
          run: e.alias,
          level: e.status >= 500 ? "error" : "warn",
          text: `${e.alias} ended ${e.status}${e.reason ? `: ${e.reason}` : ""}`,
        },
        { projectId: e.projectId },
      );
  });
  ctx.on<RunProgressEvent>(ENGINE_EVENTS.runProgress, (e) => {
    core.rpc.notify(
      "run/progress",
      {
        run: e.alias,
        turn: e.turn,
        // 2.0.1's coarse status: the model is working on it, a provider call is being retried,
        // or its commands are being carried out.
        status:
          e.phase === "retrying"
            ? "retrying"
            : e.phase === "dispatching" || e.phase === "done"
              ? "processing"
              : "thinking",
        phase: e.phase,
        ...(e.content ? { content: e.content } : {}),
        ...(e.reasoning ? { reasoning: e.reasoning } : {}),
      },
      { projectId: e.projectId },
    );
    if (e.content)
      core.rpc.notify(
        "ui/render",
        { text: e.content, append: true, run: e.alias, turn: e.turn },
        { projectId: e.projectId },
      );
  });
  ctx.on<RunProposalEvent>(ENGINE_EVENTS.runProposal, (e) => {
    core.rpc.notify(
      "ui/notify",
      {
        run: e.alias,
        level: "info",
        text: `${e.alias} waits for your decision: <${e.action}> ${e.path}`,
      },
      { projectId: e.projectId },
    );
    core.rpc.notify(
      "run/proposal",
      { run: e.alias, proposed: [proposalItem(e)] },
      { projectId: e.projectId },
    );
  });
  // run/changed pulses, coalesced per run so a streaming command does not flood clients.
  const pending = new Set<number>();
  let timer: NodeJS.Timeout | null = null;
  ctx.on<StoreChange>("entry.changed", (change) => {
    if (change.runId === null) return;
    pending.add(change.runId);
    timer ??= setTimeout(() => {
      timer = null;
      for (const runId of pending) {
        const run = core.runs.get(runId);
        if (run) core.rpc.notify("run/changed", { run: run.alias }, { projectId: run.projectId });
      }
      pending.clear();
    }, 25);
  });
  ctx.on("core.closing", () => {
    if (timer) clearTimeout(timer);
  });
}
