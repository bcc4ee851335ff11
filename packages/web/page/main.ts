import { pictureOf, snapshotOf, type TurnSnapshot } from "./context.js";
import { byId, type Child, fmt, h } from "./dom.js";
import { renderPicture } from "./picture.js";
import { Rpc, RpcError } from "./rpc.js";

// --- Wire shapes (what the public protocol returns: @rummy/client's wire-2.0.1.ts) ---

/** getRuns answers newest first; a run waiting on a proposal reports 102 (getRun's `pending` says it waits). */
interface RunRow {
  run: string;
  status: number;
  turn: number;
  summary: string | null;
  created?: string;
}
interface EntryRow {
  id: number;
  path: string;
  scheme: string;
  state: string;
  status: number | null;
  outcome: string | null;
  visibility: string;
  turn: number | null;
  tokens: number;
  attributes: Record<string, unknown> | null;
  body?: string;
}
interface RunDetail {
  run: string;
  status: number;
  turn: number;
  model: string | null;
  /** Proposals waiting for a decision (the run's status stays 102 while they do). */
  pending?: number;
  loops?: {
    sequence: number;
    mode: string;
    status: number;
    reason: string | null;
    prompt: string;
  }[];
  turns?: {
    turn: number;
    status: number | null;
    prompt_tokens: number | null;
    completion_tokens: number | null;
    cost: number | null;
  }[];
  context?: {
    telemetry?: {
      prompt_tokens: number;
      completion_tokens: number;
      total_tokens: number;
      cost: number;
    };
    /** Prompts (tool "prompt") and logged commands, oldest first. */
    history?: {
      tool?: string;
      path: string;
      status: number;
      state?: string;
      body: string;
      attributes: any;
      turn: number;
    }[];
  };
}

// --- State ---

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token");
let project = params.get("project");
let projectRoot = params.get("root");

let rpc: Rpc | null = null;
/** Newest first, as getRuns answers. */
let runs: RunRow[] = [];
const details = new Map<string, RunDetail>();
let selected: string | null = null;
let tab: "transcript" | "context" | "entries" = "transcript";
let audits: EntryRow[] = [];
let proposals: EntryRow[] = [];
let shell: EntryRow[] = [];
let contextTurn: number | null = null;
let contextScheme: string | null = null;
let reading: EntryRow | null = null;
const entryFilter = { pattern: "*", scheme: "", visibility: "", bodyFilter: "" };
let entryRows: EntryRow[] = [];
/** What was typed into each proposal's reason field, kept across re-renders. */
const reasons = new Map<string, string>();
/** Model text as it streams, per run and turn. */
const live = new Map<string, string>();
/** The run and turn that last reported progress, for notifications that do not say. */
let latestRun: string | null = null;
const latestTurn = new Map<string, number>();
/** Whether run/progress carries the streamed text; if not, ui/render does. */
let progressCarriesText = false;

/** Runs queued or running; 202 is a proposed entry (a run waiting on one reports 102). */
const ACTIVE = new Set([100, 102, 202]);

/** Whether the run is held up by proposals only you can decide. */
function waitsForYou(run: string): boolean {
  return (details.get(run)?.pending ?? 0) > 0;
}

function statusLabel(status: number | null | undefined, waiting = false): string {
  switch (status) {
    case 100:
      return "queued";
    case 102:
      return waiting ? "waiting for you" : "running";
    case 202:
      return "waiting for you";
    case 200:
      return "done";
    case 204:
      return "done (nothing to do)";
    case 413:
      return "over budget";
    case 422:
      return "could not answer";
    case 499:
      return "cancelled";
    case 400:
      return "bad command";
    case 403:
      return "refused";
    case 404:
      return "not found";
    case 409:
      return "overruled";
    case 508:
      return "repeated";
    case 500:
      return "failed";
    default:
      return status === null || status === undefined ? "—" : String(status);
  }
}

function badge(status: number | null | undefined, waiting = false): HTMLElement {
  const kind =
    status === null || status === undefined
      ? "idle"
      : ACTIVE.has(status)
        ? "active"
        : status < 300
          ? "ok"
          : "bad";
  return h(
    "span",
    { class: `badge ${kind}`, "data-status": status ?? "" },
    `${status ?? ""} ${statusLabel(status, waiting)}`,
  );
}

function toast(text: string, level = "info"): void {
  const el = h("div", { class: `toast ${level}` }, text);
  byId("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function failed(error: unknown): void {
  toast(error instanceof Error ? error.message : String(error), "error");
}

// --- Connection ---

async function connect(): Promise<void> {
  const badgeEl = byId("connection");
  const url = `ws://${location.host}/${token ? `?token=${encodeURIComponent(token)}` : ""}`;
  try {
    rpc = await Rpc.connect(url);
  } catch {
    badgeEl.textContent = "cannot connect";
    badgeEl.className = "badge bad";
    return;
  }
  rpc.onclose = () => {
    badgeEl.textContent = "disconnected — reload to reconnect";
    badgeEl.className = "badge bad";
  };
  listen(rpc);
  try {
    const projects = await rpc.call<{ name: string; root: string | null }[]>("getProjects");
    if (!project && projects.length > 0) {
      project = projects[0]!.name;
      projectRoot = projects[0]!.root;
    }
    const select = byId<HTMLSelectElement>("project");
    select.replaceChildren(
      ...projects.map((p) => h("option", { value: p.name, selected: p.name === project }, p.name)),
    );
    if (project && !projects.some((p) => p.name === project))
      select.append(h("option", { value: project, selected: true }, project));
    select.onchange = () => {
      const chosen = projects.find((p) => p.name === select.value);
      project = select.value;
      projectRoot = chosen?.root ?? projectRoot;
      void hello();
    };
  } catch (error) {
    if (error instanceof RpcError && error.code === -32003) {
      badgeEl.textContent = "needs the server's token: open this page with `rummy web`";
      badgeEl.className = "badge bad";
      return;
    }
    // getProjects comes with @rummy/web; any other server still works with the project in the URL.
  }
  await hello();
}

async function hello(): Promise<void> {
  const badgeEl = byId("connection");
  if (!rpc) return;
  if (!project || !projectRoot) {
    badgeEl.textContent = "no project yet: start one with `rummy web` in its folder";
    badgeEl.className = "badge bad";
    return;
  }
  try {
    await rpc.call("rummy/hello", {
      name: project,
      projectRoot,
      clientVersion: "2.0.0",
      ...(token ? { token } : {}),
    });
  } catch (error) {
    badgeEl.textContent = error instanceof Error ? error.message : "hello failed";
    badgeEl.className = "badge bad";
    return;
  }
  badgeEl.textContent = `connected · ${project}`;
  badgeEl.className = "badge ok";
  selected = null;
  details.clear();
  await Promise.all([loadModels(), refreshRuns()]);
  // Proposals outlive the page: open on the newest run that waits for a decision.
  const waiting = runs.find((r) => waitsForYou(r.run));
  if (waiting) await select(waiting.run);
  else renderRun();
}

function listen(client: Rpc): void {
  client.on("run/state", (p: { run?: string }) => {
    scheduleRefresh(p.run);
  });
  client.on("run/progress", (p: { run?: string; turn?: number; content?: string }) => {
    if (!p.run || typeof p.turn !== "number") return;
    latestRun = p.run;
    latestTurn.set(p.run, p.turn);
    if (typeof p.content === "string") {
      progressCarriesText = true;
      appendLive(p.run, p.turn, p.content);
    }
  });
  // 2.0.1's ui/render is { text, append } with no run: it belongs to the run that last reported progress.
  client.on("ui/render", (p: { run?: string; turn?: number; text?: string }) => {
    if (progressCarriesText || typeof p.text !== "string") return;
    const run = p.run ?? latestRun;
    if (!run) return;
    const turn =
      typeof p.turn === "number" ? p.turn : (latestTurn.get(run) ?? details.get(run)?.turn ?? 1);
    appendLive(run, turn, p.text);
  });
  client.on("run/proposal", (p: { run?: string }) => {
    toast(`${p.run ?? "a run"} waits for your decision`);
    scheduleRefresh(p.run);
  });
  client.on("run/changed", (p: { run?: string }) => scheduleRefresh(p.run));
  client.on("stream/cancelled", (p: { run?: string }) => scheduleRefresh(p.run));
  client.on("ui/notify", (p: { text?: string; level?: string }) => {
    if (p.text && p.level && p.level !== "info") toast(p.text, p.level);
  });
}

function appendLive(run: string, turn: number, text: string): void {
  const key = `${run}:${turn}`;
  live.set(key, (live.get(key) ?? "") + text);
  if (run !== selected || tab !== "transcript") return;
  const pre = document.querySelector<HTMLElement>(`pre.stream[data-key="${CSS.escape(key)}"]`);
  if (pre) pre.textContent = live.get(key)!;
  else scheduleRefresh(run);
}

// Notifications say something changed; the data comes from getRuns/getRun/getEntries.
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refreshSelected = false;
function scheduleRefresh(run: string | undefined): void {
  if (!run || run === selected) refreshSelected = true;
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    const alsoRun = refreshSelected;
    refreshSelected = false;
    try {
      await refreshRuns();
      if (alsoRun && selected) await loadRun(selected);
    } catch (error) {
      failed(error);
    }
  }, 120);
}

// --- Runs ---

async function loadModels(): Promise<void> {
  if (!rpc) return;
  const models = await rpc.call<{ alias: string }[]>("getModels");
  byId("model").replaceChildren(...models.map((m) => h("option", { value: m.alias }, m.alias)));
}

async function refreshRuns(): Promise<void> {
  if (!rpc) return;
  // Newest first; `created` is only to the second, so the server's order is the one to keep.
  runs = await rpc.call<RunRow[]>("getRuns", {});
  // Tokens, cost and pending proposals per run come from getRun; the newest runs are enough for the list.
  await Promise.all(
    runs.slice(0, 30).map(async (r) => {
      const known = details.get(r.run);
      if (known && known.status === r.status && known.turn === r.turn && !ACTIVE.has(r.status))
        return;
      details.set(r.run, await rpc!.call<RunDetail>("getRun", { run: r.run }));
    }),
  );
  renderRuns();
}

function renderRuns(): void {
  byId("runs").replaceChildren(
    ...runs.map((r) => {
      const d = details.get(r.run);
      const t = d?.context?.telemetry;
      return h(
        "li",
        {
          class: r.run === selected ? "run selected" : "run",
          "data-run": r.run,
          onclick: () => void select(r.run),
        },
        h(
          "div",
          { class: "run-head" },
          h("strong", {}, r.run),
          badge(r.status, waitsForYou(r.run)),
        ),
        h(
          "div",
          { class: "run-meta" },
          `turn ${r.turn} · ${fmt(t?.total_tokens ?? 0)} tokens · $${(t?.cost ?? 0).toFixed(4)}`,
        ),
        r.summary ? h("div", { class: "run-summary" }, r.summary) : null,
      );
    }),
  );
}

async function select(run: string): Promise<void> {
  selected = run;
  contextTurn = null;
  contextScheme = null;
  reading = null;
  entryRows = [];
  renderRuns();
  try {
    await loadRun(run);
  } catch (error) {
    failed(error);
  }
}

async function loadRun(run: string): Promise<void> {
  if (!rpc) return;
  const [detail, auditRows, proposed, output] = await Promise.all([
    rpc.call<RunDetail>("getRun", { run }),
    rpc.call<EntryRow[]>("getEntries", { run, pattern: "audit://*", withBody: true }),
    rpc.call<EntryRow[]>("getEntries", { run, state: "proposed", withBody: true }),
    rpc.call<EntryRow[]>("getEntries", { run, scheme: "sh", withBody: true }),
  ]);
  if (run !== selected) return;
  details.set(run, detail);
  audits = auditRows.sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0));
  proposals = proposed;
  shell = output;
  if (tab === "entries" && entryRows.length === 0) await loadEntries();
  renderRuns();
  renderRun();
}

async function startRun(event: Event): Promise<void> {
  event.preventDefault();
  if (!rpc) return;
  const prompt = byId<HTMLTextAreaElement>("prompt").value.trim();
  const model = byId<HTMLSelectElement>("model").value;
  const mode = byId<HTMLSelectElement>("mode").value;
  const alias = byId<HTMLInputElement>("alias").value.trim();
  if (!prompt) return;
  try {
    const result = await rpc.call<{ alias: string }>("set", {
      path: `run://${alias}`,
      body: prompt,
      attributes: { model, mode },
    });
    byId<HTMLTextAreaElement>("prompt").value = "";
    byId<HTMLInputElement>("alias").value = "";
    tab = "transcript";
    await refreshRuns();
    await select(result.alias);
  } catch (error) {
    failed(error);
  }
}

async function cancelRun(run: string): Promise<void> {
  try {
    await rpc?.call("set", {
      path: `run://${run}`,
      state: "cancelled",
      outcome: "cancelled from the web page",
    });
  } catch (error) {
    failed(error);
  }
}

// --- The run pane ---

function renderRun(): void {
  const pane = byId("run-pane");
  if (!selected) {
    pane.replaceChildren(h("p", { class: "empty" }, "Choose a run or start one."));
    return;
  }
  const d = details.get(selected);
  const t = d?.context?.telemetry;
  const run = selected;
  const parts: (HTMLElement | null)[] = [
    h(
      "div",
      { class: "run-title" },
      h("h2", {}, run),
      badge(d?.status, waitsForYou(run)),
      h("span", { class: "muted" }, d?.model ?? ""),
      h(
        "span",
        { class: "muted", id: "run-totals" },
        `${fmt(t?.prompt_tokens ?? 0)} in · ${fmt(t?.completion_tokens ?? 0)} out · $${(t?.cost ?? 0).toFixed(4)}`,
      ),
      d && ACTIVE.has(d.status)
        ? h(
            "button",
            { class: "danger", id: "cancel", onclick: () => void cancelRun(run) },
            "Cancel run",
          )
        : null,
    ),
    renderProposals(run),
    h(
      "nav",
      { class: "tabs" },
      ...(["transcript", "context", "entries"] as const).map((name) =>
        h(
          "button",
          {
            class: tab === name ? "tab active" : "tab",
            id: `tab-${name}`,
            onclick: () => {
              tab = name;
              if (name === "entries" && entryRows.length === 0) void loadEntries().then(renderRun);
              renderRun();
            },
          },
          name === "context" ? "context picture" : name,
        ),
      ),
    ),
    tab === "transcript"
      ? renderTranscript(run, d)
      : tab === "context"
        ? renderContext(run)
        : renderEntries(run),
  ];
  // A refresh must not eat what someone is typing: keep the focused field and its caret.
  const active = document.activeElement;
  const focused = active instanceof HTMLInputElement && pane.contains(active) ? active : null;
  const focusId = focused?.id ?? "";
  const caret = focused ? [focused.selectionStart, focused.selectionEnd] : null;
  pane.replaceChildren(...parts.filter((x): x is HTMLElement => x !== null));
  const again = focusId ? document.getElementById(focusId) : null;
  if (again instanceof HTMLInputElement) {
    again.focus();
    if (caret) again.setSelectionRange(caret[0] ?? null, caret[1] ?? null);
  }
}

function renderProposals(run: string): HTMLElement | null {
  if (proposals.length === 0) return null;
  return h(
    "section",
    { id: "proposals" },
    h("h3", {}, `Waiting for you (${proposals.length})`),
    ...proposals.map((p) => {
      const a = p.attributes ?? {};
      const action = String(a.action ?? p.path.split("/")[3] ?? "proposal");
      // A file edit carries its unified diff under `patch` (the body is the content accepting writes).
      const detail: Child =
        typeof a.patch === "string"
          ? diffView(a.patch)
          : typeof a.command === "string"
            ? h("pre", { class: "command" }, `$ ${a.command}`)
            : typeof a.question === "string"
              ? h("p", { class: "question" }, a.question)
              : h("pre", {}, p.body ?? "");
      const reason = h("input", {
        class: "reason",
        id: `reason:${p.path}`,
        value: reasons.get(p.path) ?? "",
        placeholder:
          action === "ask_user" ? "your answer, or a reason to decline" : "reason (optional)",
        oninput: (e: Event) => reasons.set(p.path, (e.target as HTMLInputElement).value),
      });
      const note =
        action === "sh" || action === "env"
          ? h(
              "p",
              { class: "muted" },
              "Accepting here records your approval; the command runs where a terminal client or yolo runs it.",
            )
          : null;
      const decide = async (state: "resolved" | "cancelled") => {
        const text = reason.value.trim();
        try {
          await rpc?.call("set", { run, path: p.path, state, ...(text ? { body: text } : {}) });
          toast(`${state === "resolved" ? "accepted" : "rejected"} ${p.path}`);
          scheduleRefresh(run);
        } catch (error) {
          failed(error);
        }
      };
      return h(
        "div",
        { class: "proposal", "data-path": p.path },
        h(
          "div",
          { class: "proposal-head" },
          h("strong", {}, `<${action}>`),
          " ",
          String(a.path ?? p.path),
        ),
        detail,
        note,
        h(
          "div",
          { class: "row" },
          reason,
          h("button", { class: "accept", onclick: () => void decide("resolved") }, "Accept"),
          h(
            "button",
            { class: "reject danger", onclick: () => void decide("cancelled") },
            "Reject",
          ),
        ),
      );
    }),
  );
}

function diffView(diff: string): HTMLElement {
  return h(
    "pre",
    { class: "diff" },
    ...diff
      .split("\n")
      .filter((line) => !/^(Index: |={10,}$)/.test(line))
      .map((line) =>
        h(
          "span",
          {
            class:
              line.startsWith("+") && !line.startsWith("+++")
                ? "add"
                : line.startsWith("-") && !line.startsWith("---")
                  ? "del"
                  : line.startsWith("@@")
                    ? "hunk"
                    : "",
          },
          `${line}\n`,
        ),
      ),
  );
}

/** A turn's own status: 102 there means the loop went on to another turn. */
function turnBadge(status: number | null): HTMLElement {
  if (status === null) return h("span", { class: "badge active" }, "in progress");
  if (status === 102 || status === 409)
    return h("span", { class: "badge", "data-status": status }, `${status} continued`);
  return badge(status);
}

/** The assistant's text of a turn, from its audit record. */
function assistantText(audit: EntryRow | undefined): string | null {
  const body = audit?.body;
  if (!body) return null;
  const at = body.lastIndexOf("## assistant\n\n");
  return at < 0 ? null : body.slice(at + "## assistant\n\n".length);
}

function renderTranscript(run: string, d: RunDetail | undefined): HTMLElement {
  const turns = d?.turns ?? [];
  const history = d?.context?.history ?? [];
  const loops = d?.loops ?? [];
  const section = h("section", { id: "transcript" });
  for (const loop of loops)
    section.append(
      h(
        "div",
        { class: "user-prompt" },
        h("span", { class: "muted" }, `you (${loop.mode})`),
        h("p", {}, loop.prompt),
      ),
    );
  const numbers = new Set(turns.map((t) => t.turn));
  for (const key of live.keys()) {
    const [r, n] = key.split(":");
    if (r === run) numbers.add(Number(n));
  }
  for (const n of [...numbers].sort((a, b) => a - b)) {
    const t = turns.find((x) => x.turn === n);
    const audit = audits.find((a) => a.turn === n);
    const text = assistantText(audit) ?? live.get(`${run}:${n}`) ?? "";
    // The prompts are shown from the loops above; the turn lists its commands.
    const commands = history.filter((e) => e.turn === n && e.tool !== "prompt");
    const output = shell.filter((e) => e.turn === n && e.body);
    const verdict = commands.filter((c) => c.path.includes("/update/")).at(-1);
    section.append(
      h(
        "article",
        { class: "turn", "data-turn": n },
        h(
          "div",
          { class: "turn-head" },
          h("strong", {}, `turn ${n}`),
          turnBadge(t?.status ?? null),
          h(
            "span",
            { class: "muted" },
            t ? `${fmt(t.prompt_tokens)} in · ${fmt(t.completion_tokens)} out` : "",
          ),
        ),
        h("pre", { class: "stream", "data-key": `${run}:${n}` }, text),
        commands.length
          ? h(
              "ul",
              { class: "commands" },
              ...commands.map((c) =>
                h(
                  "li",
                  {},
                  badge(c.status),
                  " ",
                  h("code", {}, c.path),
                  c.body ? h("div", { class: "result" }, c.body) : null,
                  typeof c.attributes?.resolution === "string"
                    ? h("div", { class: "result note" }, `your note: ${c.attributes.resolution}`)
                    : null,
                ),
              ),
            )
          : null,
        ...output.map((o) =>
          h("div", { class: "shell" }, h("code", {}, o.path), h("pre", {}, o.body ?? "")),
        ),
        verdict && t?.status !== null && t?.status !== 102
          ? h("p", { class: "verdict" }, `verdict ${t?.status}: ${verdict.body}`)
          : null,
      ),
    );
  }
  if (numbers.size === 0) section.append(h("p", { class: "empty" }, "No turns yet."));
  return section;
}

// --- Context picture ---

function snapshots(): TurnSnapshot[] {
  return audits
    .map((a) => snapshotOf(a.turn ?? 0, a.attributes))
    .filter((x): x is TurnSnapshot => x !== null);
}

function renderContext(run: string): HTMLElement {
  const all = snapshots();
  const section = h("section", { id: "context" });
  if (all.length === 0) {
    section.append(
      h(
        "p",
        { class: "empty" },
        "No turn has been sent yet (the telemetry plugin records each turn's context).",
      ),
    );
    return section;
  }
  const index =
    contextTurn === null
      ? all.length - 1
      : Math.max(
          0,
          all.findIndex((x) => x.turn === contextTurn),
        );
  const current = all[index]!;
  const picture = pictureOf(current, index > 0 ? all[index - 1]! : null);
  const provider = details.get(run)?.turns?.find((t) => t.turn === current.turn);
  section.append(
    h(
      "div",
      { class: "turn-picker" },
      "turn ",
      ...all.map((x) =>
        h(
          "button",
          {
            class: x.turn === current.turn ? "tab active" : "tab",
            "data-turn": x.turn,
            onclick: () => {
              contextTurn = x.turn;
              renderRun();
            },
          },
          String(x.turn),
        ),
      ),
    ),
    h(
      "p",
      { class: "muted", id: "context-summary" },
      `The provider counted ${fmt(provider?.prompt_tokens)} prompt tokens; rummy counted ${fmt(picture.promptTokens)} (${fmt(picture.entryTokens)} of them entries). Ceiling ${fmt(picture.ceiling)} of a ${fmt(picture.contextLength)} window.`,
    ),
    renderPicture(picture, (scheme) => {
      contextScheme = contextScheme === scheme ? null : scheme;
      renderRun();
    }),
  );
  section.append(
    h("h3", {}, `Demoted for turn ${current.turn}`),
    picture.demoted.length
      ? h(
          "ul",
          { id: "demoted" },
          ...picture.demoted.map((d) =>
            h(
              "li",
              {},
              h("a", { href: "#", onclick: (e: Event) => void readEntry(e, run, d.path) }, d.path),
              ` ${d.from} → ${d.to} (${fmt(d.tokens)} tokens)`,
            ),
          ),
        )
      : h("p", { class: "muted", id: "demoted" }, "nothing was demoted"),
  );
  const rows = current.entries.filter((e) => !contextScheme || e[1] === contextScheme);
  section.append(
    h(
      "h3",
      {},
      contextScheme
        ? `Entries: ${contextScheme} (click the row again to show all)`
        : "Entries in this turn's context",
    ),
    h(
      "table",
      { class: "entries", id: "context-entries" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, "path"),
          h("th", {}, "scheme"),
          h("th", {}, "visibility"),
          h("th", {}, "sent"),
          h("th", {}, "full"),
        ),
      ),
      h(
        "tbody",
        {},
        ...rows.map(([path, scheme, visibility, sent, full]) =>
          h(
            "tr",
            {
              class: visibility,
              "data-path": path,
              onclick: (e: Event) => void readEntry(e, run, path),
            },
            h("td", {}, path),
            h("td", {}, scheme),
            h("td", {}, visibility),
            h("td", { class: "num" }, fmt(sent)),
            h("td", { class: "num" }, fmt(full)),
          ),
        ),
      ),
    ),
  );
  if (reading) section.append(entryReader(reading));
  return section;
}

async function readEntry(event: Event, run: string, path: string): Promise<void> {
  event.preventDefault();
  try {
    const rows = await rpc!.call<EntryRow[]>("getEntries", { run, pattern: path, withBody: true });
    reading = rows.find((r) => r.path === path) ?? null;
    if (!reading) toast(`${path} is no longer in the run`, "warn");
    renderRun();
    document.getElementById("reader")?.scrollIntoView({ block: "nearest" });
  } catch (error) {
    failed(error);
  }
}

function entryReader(e: EntryRow): HTMLElement {
  return h(
    "div",
    { id: "reader" },
    h(
      "div",
      { class: "row" },
      h("strong", {}, e.path),
      h(
        "span",
        { class: "muted" },
        `${e.scheme} · ${e.visibility} · ${e.state} · ${fmt(e.tokens)} tokens`,
      ),
      h(
        "button",
        {
          onclick: () => {
            reading = null;
            renderRun();
          },
        },
        "close",
      ),
    ),
    h("pre", {}, e.body ?? ""),
  );
}

// --- Entries ---

async function loadEntries(): Promise<void> {
  if (!rpc || !selected) return;
  const q: Record<string, unknown> = {
    run: selected,
    pattern: entryFilter.pattern || "*",
    withBody: true,
    limit: 500,
  };
  if (entryFilter.scheme) q.scheme = entryFilter.scheme;
  if (entryFilter.visibility) q.visibility = entryFilter.visibility;
  if (entryFilter.bodyFilter) q.bodyFilter = entryFilter.bodyFilter;
  entryRows = await rpc.call<EntryRow[]>("getEntries", q);
}

function renderEntries(run: string): HTMLElement {
  const input = (key: keyof typeof entryFilter, placeholder: string) =>
    h("input", {
      value: entryFilter[key],
      placeholder,
      id: `filter-${key}`,
      oninput: (e: Event) => {
        entryFilter[key] = (e.target as HTMLInputElement).value;
      },
    });
  const visibility = h(
    "select",
    {
      id: "filter-visibility",
      onchange: (e: Event) => (entryFilter.visibility = (e.target as HTMLSelectElement).value),
    },
    ...["", "visible", "summarized", "archived"].map((v) =>
      h("option", { value: v, selected: v === entryFilter.visibility }, v || "any visibility"),
    ),
  );
  const form = h(
    "form",
    {
      class: "row",
      id: "entries-filter",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void loadEntries().then(renderRun, failed);
      },
    },
    input("pattern", "path glob, e.g. src/**/*.ts"),
    input("scheme", "scheme"),
    visibility,
    input("bodyFilter", "body contains"),
    h("button", { type: "submit" }, "Search"),
  );
  const open = new Set<string>();
  const table = h(
    "table",
    { class: "entries", id: "entries-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "path"),
        h("th", {}, "scheme"),
        h("th", {}, "state"),
        h("th", {}, "visibility"),
        h("th", {}, "turn"),
        h("th", {}, "tokens"),
      ),
    ),
  );
  const body = h("tbody");
  for (const e of entryRows) {
    const bodyRow = h(
      "tr",
      { class: "body-row", hidden: true },
      h("td", { colspan: 6 }, h("pre", {}, e.body ?? "")),
    );
    body.append(
      h(
        "tr",
        {
          class: e.visibility,
          "data-path": e.path,
          onclick: () => {
            if (open.has(e.path)) open.delete(e.path);
            else open.add(e.path);
            bodyRow.hidden = !open.has(e.path);
          },
        },
        h("td", {}, e.path),
        h("td", {}, e.scheme),
        h("td", {}, `${e.state}${e.outcome ? ` (${e.outcome})` : ""}`),
        h("td", {}, e.visibility),
        h("td", { class: "num" }, e.turn ?? ""),
        h("td", { class: "num" }, fmt(e.tokens)),
      ),
      bodyRow,
    );
  }
  table.append(body);
  return h(
    "section",
    { id: "entries", "data-run": run },
    form,
    h("p", { class: "muted" }, `${entryRows.length} entries`),
    table,
  );
}

byId("new-run").addEventListener("submit", (e) => void startRun(e));
void connect();
