import type { Picture } from "./context.js";
import { fmt, s } from "./dom.js";

/** Fixed colours for the schemes a run usually holds; others get one from a hash of the name. */
const SCHEME_COLORS: Record<string, string> = {
  file: "#3a6ea5",
  known: "#2f6f4f",
  unknown: "#a5673a",
  log: "#7b4fa0",
  prompt: "#a03a57",
  sh: "#4f8f8f",
  env: "#8f8a3a",
  skill: "#5a5a8f",
};
const PALETTE = ["#6b8e23", "#b05f8a", "#507d9c", "#9c6b50", "#5f9c78", "#8a7bb0"];

export function colorOf(scheme: string): string {
  const fixed = SCHEME_COLORS[scheme];
  if (fixed) return fixed;
  let hash = 7;
  for (const ch of scheme) hash = (hash * 31 + ch.charCodeAt(0)) % 1_000_003;
  return PALETTE[hash % PALETTE.length]!;
}

const WIDTH = 760;
const LABEL = 120;
const BAR = WIDTH - LABEL - 150;
const ROW = 26;

/**
 * The budget of one turn as SVG: the whole prompt against the ceiling and
 * the window, then one row per scheme split into visible, summarized and
 * archived tokens. Numbers ride along as data-* attributes too.
 */
export function renderPicture(p: Picture, onScheme: (scheme: string) => void): SVGElement {
  const top = 64;
  const height = top + 30 + p.schemes.length * ROW + 30;
  const svg = s("svg", {
    id: "context-picture",
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: "img",
    "aria-label": `context of turn ${p.turn}`,
    "data-turn": p.turn,
    "data-ceiling": p.ceiling,
    "data-context-length": p.contextLength,
    "data-prompt-tokens": p.promptTokens ?? "",
    "data-entry-tokens": p.entryTokens,
  });
  svg.append(
    s(
      "defs",
      {},
      s(
        "pattern",
        {
          id: "hatch",
          width: 6,
          height: 6,
          patternUnits: "userSpaceOnUse",
          patternTransform: "rotate(45)",
        },
        s("rect", { width: 6, height: 6, fill: "#fff" }),
        s("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#999", "stroke-width": 2 }),
      ),
    ),
  );

  // The prompt against the window: entry tokens by scheme, then everything else (instructions, tool docs, markup).
  const prompt = p.promptTokens ?? p.entryTokens;
  const scale = BAR / Math.max(1, p.contextLength, prompt, p.ceiling);
  svg.append(
    s(
      "text",
      { x: 0, y: 14, class: "title" },
      `turn ${p.turn}: ${fmt(prompt)} tokens sent, ceiling ${fmt(p.ceiling)}, window ${fmt(p.contextLength)}`,
    ),
  );
  svg.append(s("text", { x: 0, y: 42, class: "label" }, "prompt"));
  svg.append(s("rect", { x: LABEL, y: 28, width: BAR, height: 20, class: "window" }));
  let x = LABEL;
  for (const t of p.schemes) {
    const sent = t.visible + t.summarized;
    if (sent <= 0) continue;
    svg.append(
      s(
        "rect",
        { x, y: 28, width: sent * scale, height: 20, fill: colorOf(t.scheme), class: "seg" },
        s("title", {}, `${t.scheme}: ${fmt(sent)} tokens`),
      ),
    );
    x += sent * scale;
  }
  const other = Math.max(0, prompt - p.entryTokens);
  if (other > 0)
    svg.append(
      s(
        "rect",
        { x, y: 28, width: other * scale, height: 20, class: "other" },
        s("title", {}, `instructions, tools and markup: ${fmt(other)} tokens`),
      ),
    );
  const cx = LABEL + p.ceiling * scale;
  svg.append(s("line", { x1: cx, y1: 22, x2: cx, y2: 54, class: "ceiling" }));
  svg.append(s("text", { x: cx + 4, y: 60, class: "ceiling-label" }, `ceiling ${fmt(p.ceiling)}`));

  // One row per scheme.
  const rowMax = Math.max(1, ...p.schemes.map((t) => t.visible + t.summarized + t.archived));
  const rowScale = BAR / rowMax;
  svg.append(
    s(
      "text",
      { x: LABEL, y: top + 14, class: "legend" },
      "■ visible   ▨ summarized (as sent)   ▢ archived (not sent)",
    ),
  );
  p.schemes.forEach((t, i) => {
    const y = top + 24 + i * ROW;
    const color = colorOf(t.scheme);
    const g = s("g", {
      class: "scheme",
      "data-scheme": t.scheme,
      "data-visible": t.visible,
      "data-summarized": t.summarized,
      "data-archived": t.archived,
      "data-count": t.count,
      tabindex: 0,
      onclick: () => onScheme(t.scheme),
    });
    g.append(s("text", { x: 0, y: y + 14, class: "label" }, `${t.scheme} (${t.count})`));
    let bx = LABEL;
    const seg = (w: number, attrs: Record<string, string | number>, title: string) => {
      if (w <= 0) return;
      g.append(
        s(
          "rect",
          { x: bx, y, width: Math.max(1, w * rowScale), height: 18, ...attrs },
          s("title", {}, title),
        ),
      );
      bx += Math.max(1, w * rowScale);
    };
    seg(t.visible, { fill: color }, `${t.scheme} visible: ${fmt(t.visible)} tokens`);
    seg(
      t.summarized,
      { fill: color, "fill-opacity": 0.4, stroke: color },
      `${t.scheme} summarized: ${fmt(t.summarized)} tokens sent`,
    );
    seg(
      t.archived,
      { fill: "url(#hatch)", stroke: "#999" },
      `${t.scheme} archived: ${fmt(t.archived)} tokens, not sent`,
    );
    g.append(
      s(
        "text",
        { x: LABEL + BAR + 8, y: y + 14, class: "nums" },
        `${fmt(t.visible)} · ${fmt(t.summarized)} · ${fmt(t.archived)}`,
      ),
    );
    svg.append(g);
  });
  return svg;
}
