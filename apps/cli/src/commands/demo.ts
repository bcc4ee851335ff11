import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { definePlugin } from "@rummy/core";
import { DEMO_PROVIDER_NAME, demoProvider } from "../demo-model.js";
import type { Home } from "../home.js";
import { type ProjectDir, projectDir } from "../workdir.js";
import { runPrompt } from "./ask.js";

/** A literal provider/model target, so the demo adds nothing to the user's models. */
const DEMO_MODEL = `${DEMO_PROVIDER_NAME}/scripted`;

/** The demo's project name when it runs in its own folder. */
export const DEMO_PROJECT = "rummy-demo";

/** `rummy demo`: a complete run against the scripted demo model, on an embedded server, no API key needed. */
export async function demo(
  home: Home,
  values: { project?: string; json?: boolean; "show-thinking"?: boolean },
): Promise<number> {
  const scripted = definePlugin({
    name: "demo-model",
    setup(ctx) {
      ctx.registerProvider(demoProvider());
    },
  });
  if (!values.json) {
    process.stdout.write(
      "rummy demo — a scripted model (not an LLM) plays a short run so you can see how rummy works.\n\n",
    );
  }
  // A folder of its own unless --project names one: the demo never shares a root with the folder
  // it was started in, so that folder's project (`ask`, `web`, `runs --project .`) stays the user's.
  const project = values.project ? projectDir(values.project, home.env) : demoFolder(home);
  const code = await runPrompt(home, {
    mode: "act",
    prompt: "Show me how rummy works.",
    model: DEMO_MODEL,
    project,
    showAndAccept: true,
    // The demo's command runs in its folder like any accepted command a client executes.
    runAccepted: true,
    json: values.json,
    showThinking: values["show-thinking"],
    extra: [scripted],
  });
  if (!values.json) {
    process.stdout.write(
      `\nThe demo's runs are in the project of ${project.root}:\n  rummy runs show --project ${shellWord(project.root)}\n  rummy runs list --project ${shellWord(project.root)}\n`,
    );
  }
  return code;
}

/** RUMMY_HOME/demo, with a file for the demo's `ls` to find. */
function demoFolder(home: Home): ProjectDir {
  const root = join(home.path, "demo");
  mkdirSync(root, { recursive: true });
  const readme = join(root, "README.md");
  if (!existsSync(readme))
    writeFileSync(
      readme,
      "The folder `rummy demo` runs in. Its runs are the project `rummy-demo`; deleting this folder is harmless.\n",
    );
  return { name: DEMO_PROJECT, root };
}

/** A path as one shell word, quoted only when it needs to be. */
function shellWord(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
