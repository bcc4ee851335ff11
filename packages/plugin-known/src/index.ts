import {
  type Entry,
  readToolDoc,
  recordModelEntry,
  RummyError,
  schemePath,
  slugOf,
  section,
  type TurnContext,
  definePlugin,
} from "@rummy/core";

/**
 * `known`: the model's knowledge as `known://` entries, and the `<context>`
 * section of every prompt — each data entry the run can see, in full when
 * visible, as a one-line tile when summarized.
 */
export default definePlugin({
  name: "known",
  version: "0.1.0",
  setup(ctx) {
    const config = ctx.readConfig([
      {
        key: "RUMMY_MAX_ENTRY_TOKENS",
        type: "integer",
        default: 2000,
        min: 10,
        max: 1_000_000,
        description: "largest body one <known> may write",
      },
    ]);
    const maxTokens = config.RUMMY_MAX_ENTRY_TOKENS as number;
    ctx.registerScheme({
      name: "known",
      category: "data",
      defaultScope: "run",
      writableBy: ["model"],
      render: { summarized: (e) => tile(e) },
    });
    ctx.registerTool({
      name: "known",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const body = call.body.trim();
        if (!body) throw new RummyError(400, "<known> needs the fact as its body");
        const tokens = ctx.core.tokenizer.count(body);
        if (tokens > maxTokens) {
          throw new RummyError(
            413,
            `this fact is ${tokens} tokens, over the limit of ${maxTokens}: split it into smaller facts at separate known:// paths`,
          );
        }
        recordModelEntry(call, turn, {
          path: schemePath("known", call.attributes.path, body, slugOf),
          body,
          visibility: "visible",
        });
      },
    });
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const data = turn.entries.filter(
          (e) => turn.core.schemes.get(e.scheme)?.category === "data",
        );
        if (data.length === 0) return text;
        const rendered = data.map((e) => renderDataEntry(turn, e)).join("\n");
        return join(text, section("context", { entries: data.length }, rendered));
      },
      10,
    );
  },
});

function renderDataEntry(turn: TurnContext, e: Entry): string {
  const attrs = {
    path: e.path,
    tokens: e.tokens,
    ...(e.state && e.state !== "resolved" ? { state: e.state } : {}),
    ...(e.visibility === "summarized" ? { summarized: "true" } : {}),
  };
  return section("entry", attrs, turn.render(e));
}

/** A summarized entry: its summary attribute, or its first line. */
function tile(e: Entry): string {
  if (typeof e.attributes.summary === "string") return e.attributes.summary;
  const first = e.body.split("\n", 1)[0] ?? "";
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

function join(a: string, b: string): string {
  return a ? `${a}\n\n${b}` : b;
}
