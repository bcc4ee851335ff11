import { definePlugin } from "@rummy/core";
import { DEMO_PROVIDER_NAME, demoProvider } from "../demo-model.js";
import type { Home } from "../home.js";
import { projectDir } from "../workdir.js";
import { runPrompt } from "./ask.js";

/** A literal provider/model target, so the demo adds nothing to the user's models. */
const DEMO_MODEL = `${DEMO_PROVIDER_NAME}/scripted`;

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
  // The demo's runs live in their own project, rooted in the folder it runs in.
  const dir = projectDir(values.project, home.env);
  return runPrompt(home, {
    mode: "act",
    prompt: "Show me how rummy works.",
    model: DEMO_MODEL,
    project: { name: values.project ? dir.name : "rummy-demo", root: dir.root },
    showAndAccept: true,
    // The demo's command runs here like any accepted command a client executes.
    runAccepted: true,
    json: values.json,
    showThinking: values["show-thinking"],
    extra: [scripted],
  });
}
