import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RummyError, runForCall, type TurnContext, definePlugin } from "@rummy/core";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MAX_PERSONA = 100_000;

/**
 * `persona`: who the model is, at the top of the system prompt. The default
 * ships with the plugin. A run's `persona` attribute (set when the run starts,
 * or later with `persona/set`) replaces it: persona text, as in rummy 2.0.1 —
 * or, for runs that name a file, `RUMMY_HOME/personas/<name>.md`.
 */
export default definePlugin({
  name: "persona",
  version: "0.1.0",
  setup(ctx) {
    const core = ctx.core;
    const fallback = readFileSync(new URL("../default.md", import.meta.url), "utf8").trim();
    const dir = join(core.home, "personas");
    const fileOf = (name: string) => join(dir, `${name}.md`);
    const load = (name: string): string => {
      if (!NAME_RE.test(name)) throw new RummyError(400, `invalid persona name '${name}'`);
      try {
        return readFileSync(fileOf(name), "utf8").trim();
      } catch {
        throw new RummyError(404, `no persona '${name}' in ${dir}`);
      }
    };
    /** A one-word persona that names a file is that file; anything else is the persona's text. */
    const personaText = (value: string): string =>
      NAME_RE.test(value) && existsSync(fileOf(value)) ? load(value) : value.trim();
    ctx.filter<string, TurnContext>(
      "assembly.system",
      (text, turn) => {
        const value = turn.run.attributes.persona;
        const persona = typeof value === "string" && value.trim() ? personaText(value) : fallback;
        return text ? `${persona}\n\n${text}` : persona;
      },
      5,
    );
    ctx.registerRpc("persona/set", {
      description:
        "Set a run's persona: `text` (wins), or `name` — RUMMY_HOME/personas/<name>.md; neither clears it back to the default. Takes effect from the run's next turn.",
      params: {
        run: { type: "string", required: true, description: "run alias" },
        name: { type: "string", maxLength: 100, description: "persona file name (without .md)" },
        text: { type: "string", maxLength: MAX_PERSONA, description: "persona text" },
      },
      handler: (params: { run: string; name?: string; text?: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const persona = params.text?.trim() ? params.text : params.name ? load(params.name) : null;
        core.runs.update(run.id, { attributes: { persona } });
        return { status: "ok" };
      },
    });
    ctx.registerRpc("listPersonas", {
      description: "Persona files available in RUMMY_HOME/personas: [{ name, path }].",
      requiresInit: false,
      handler: () => {
        try {
          return readdirSync(dir)
            .filter((f) => f.endsWith(".md"))
            .sort()
            .map((f) => ({ name: f.slice(0, -3), path: join(dir, f) }));
        } catch {
          return [];
        }
      },
    });
  },
});
