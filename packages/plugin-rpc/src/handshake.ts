import { type PluginContext, RummyError } from "@rummy/core";
import { bindProject, resolveProjectRoot } from "./project-root.js";
import type { RpcShared } from "./shared.js";
import { describeParams } from "./wire.js";

/** The protocol version this server speaks; clients must match its MAJOR. */
export const RUMMY_PROTOCOL_VERSION = "2.0.0";

/** The handshake: `ping`, `discover` (and its alias `rpc/discover`), `rummy/hello`. */
export function registerHandshake(ctx: PluginContext, shared: RpcShared): void {
  const core = ctx.core;

  ctx.registerRpc("ping", {
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
  ctx.registerRpc("discover", {
    description:
      'The live catalog: { methods, notifications }, each keyed by name with its description; params are described as strings ("string? — what it is"), paramsSchema has them as a schema.',
    requiresInit: false,
    handler: discover,
  });
  ctx.registerRpc("rpc/discover", {
    description: "Alias of discover.",
    requiresInit: false,
    handler: discover,
  });

  ctx.registerRpc("rummy/hello", {
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
      const root = resolveProjectRoot(params.projectRoot, shared.projectParents);
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
}
