import {
  readToolDoc,
  recordModelEntry,
  RummyError,
  schemePath,
  slugOf,
  section,
  type TurnContext,
  definePlugin,
} from "@rummy/core";

/** `unknown`: open questions as `unknown://` entries, listed in an `<unknowns>` section until removed. */
export default definePlugin({
  name: "unknown",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerScheme({
      name: "unknown",
      category: "unknown",
      defaultScope: "run",
      writableBy: ["model"],
    });
    ctx.registerTool({
      name: "unknown",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const body = call.body.trim();
        if (!body) throw new RummyError(400, "<unknown> needs the question as its body");
        recordModelEntry(call, turn, {
          path: schemePath("unknown", call.attributes.path, body, slugOf),
          body,
          visibility: "visible",
        });
      },
    });
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const open = turn.entries.filter((e) => e.scheme === "unknown");
        if (open.length === 0) return text;
        const body = open
          .map((e) =>
            section(
              "unknown",
              { path: e.path },
              e.visibility === "summarized" ? (e.body.split("\n", 1)[0] ?? "") : e.body,
            ),
          )
          .join("\n");
        return `${text ? `${text}\n\n` : ""}${section("unknowns", { open: open.length }, body)}`;
      },
      20,
    );
  },
});
