import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RummyError, type TurnContext, definePlugin } from "@rummy/core";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * `persona`: who the model is, at the top of the system prompt. The default
 * ships with the plugin; a run whose attributes name a persona gets
 * `RUMMY_HOME/personas/<name>.md` instead.
 */
export default definePlugin({
  name: "persona",
  version: "0.1.0",
  setup(ctx) {
    const fallback = readFileSync(new URL("../default.md", import.meta.url), "utf8").trim();
    const dir = join(ctx.core.home, "personas");
    const load = (name: string): string => {
      if (!NAME_RE.test(name)) throw new RummyError(400, `invalid persona name '${name}'`);
      try {
        return readFileSync(join(dir, `${name}.md`), "utf8").trim();
      } catch {
        throw new RummyError(404, `no persona '${name}' in ${dir}`);
      }
    };
    ctx.filter<string, TurnContext>(
      "assembly.system",
      (text, turn) => {
        const name = turn.run.attributes.persona;
        const persona = typeof name === "string" && name ? load(name) : fallback;
        return text ? `${persona}\n\n${text}` : persona;
      },
      5,
    );
    ctx.registerRpc("listPersonas", {
      description: "Persona files available in RUMMY_HOME/personas: [{ name }].",
      requiresInit: false,
      handler: () => {
        try {
          return readdirSync(dir)
            .filter((f) => f.endsWith(".md"))
            .map((f) => ({ name: f.slice(0, -3) }));
        } catch {
          return [];
        }
      },
    });
  },
});
