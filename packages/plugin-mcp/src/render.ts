import type {
  CallToolResult,
  ReadResourceResult,
  Tool as McpTool,
} from "@modelcontextprotocol/sdk/types.js";
import type { Resource } from "./connection.js";

/** Whether a tool declares itself read-only (`annotations.readOnlyHint`). Anything else may change things. */
export function isReadOnly(tool: McpTool): boolean {
  return tool.annotations?.readOnlyHint === true;
}

/** A JSON schema's arguments as a one-line signature: `{path: string, head?: number}`. */
export function signature(schema: McpTool["inputSchema"] | undefined): string {
  const props = (schema?.properties ?? {}) as Record<string, { type?: unknown; enum?: unknown[] }>;
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  const parts = Object.entries(props).map(([name, p]) => {
    const type = Array.isArray(p?.enum)
      ? p.enum.map((v) => JSON.stringify(v)).join("|")
      : Array.isArray(p?.type)
        ? p.type.join("|")
        : typeof p?.type === "string"
          ? p.type
          : "any";
    return `${name}${required.has(name) ? "" : "?"}: ${type}`;
  });
  return `{${parts.join(", ")}}`;
}

function firstSentence(text: string | undefined, max = 160): string {
  const clean = (text ?? "").replace(/\s+/g, " ").trim();
  const end = clean.search(/[.!?](\s|$)/);
  const sentence = end >= 0 ? clean.slice(0, end + 1) : clean;
  return sentence.length > max ? `${sentence.slice(0, max - 1)}…` : sentence;
}

export interface CatalogServer {
  readonly name: string;
  readonly tools: readonly McpTool[] | null;
  readonly resources: readonly Resource[];
  readonly error: string | null;
}

/**
 * The MCP section of the tool docs: the tag, then each server's tools,
 * fitted to a token budget by detail level — description and argument
 * signature, then names only, then a count — so many servers never crowd
 * out the prompt. `<mcp server="x"/>` lists a server's tools in full.
 */
export function catalog(
  servers: readonly CatalogServer[],
  options: { askMode: boolean; maxTokens: number; count: (text: string) => number },
): string {
  const head = [
    '## <mcp server="name" tool="tool">{json arguments}</mcp> - Call a tool of an MCP server',
    "",
    'Example: <mcp server="fs" tool="read_text_file">{"path": "README.md"}</mcp>',
    "",
    "- The body is a JSON object of the tool's arguments; the result lands in an mcp://server/tool/… entry",
    options.askMode
      ? "- Ask mode offers only tools marked read-only"
      : "- Tools not marked read-only wait for the user's approval",
    '- <mcp server="name"/> lists that server\'s tools with their full argument schemas',
    '- Read a server\'s resource with <get path="mcp://server/resource-uri"/>',
  ].join("\n");
  const render = (level: 0 | 1 | 2): string => {
    const blocks = servers.map((s) => {
      if (s.error) return `### ${s.name}: unavailable (${s.error})`;
      const tools = (s.tools ?? []).filter((t) => !options.askMode || isReadOnly(t));
      const lines: string[] = [`### ${s.name}`];
      if (level === 2) lines.push(`${tools.length} tools: ${tools.map((t) => t.name).join(", ")}`);
      else
        for (const t of tools) {
          const mark = isReadOnly(t) ? " (read-only)" : "";
          lines.push(
            level === 0
              ? `- ${t.name}${mark} ${signature(t.inputSchema)}: ${firstSentence(t.description)}`
              : `- ${t.name}${mark}`,
          );
        }
      if (s.resources.length) {
        const shown = s.resources.slice(0, level === 0 ? 20 : 5);
        lines.push(
          `resources: ${shown.map((r) => r.uri).join(", ")}${s.resources.length > shown.length ? ` (+${s.resources.length - shown.length} more)` : ""}`,
        );
      }
      return lines.join("\n");
    });
    return `${head}\n\n${blocks.join("\n\n")}`;
  };
  for (const level of [0, 1, 2] as const) {
    const text = render(level);
    if (options.count(text) <= options.maxTokens) return text;
  }
  const counts = servers
    .map((s) => `${s.name} (${s.error ? "unavailable" : `${s.tools?.length ?? 0} tools`})`)
    .join(", ");
  return `${head}\n\nServers: ${counts}. Their tools did not fit the prompt budget; list one server's with <mcp server="name"/>.`;
}

/** A server's tools in full, for `<mcp server="x"/>`. */
export function fullListing(server: string, tools: readonly McpTool[], askMode: boolean): string {
  const shown = tools.filter((t) => !askMode || isReadOnly(t));
  if (!shown.length) return `${server} offers no tools${askMode ? " usable in ask mode" : ""}`;
  return shown
    .map(
      (t) =>
        `${t.name}${isReadOnly(t) ? " (read-only)" : ""}: ${(t.description ?? "").trim()}\narguments: ${JSON.stringify(t.inputSchema)}`,
    )
    .join("\n\n");
}

/** A tool result as text: text parts as they are, other content described, structured content as JSON. */
export function resultText(result: CallToolResult): string {
  const parts: string[] = [];
  for (const item of result.content ?? []) {
    switch (item.type) {
      case "text":
        parts.push(item.text);
        break;
      case "image":
      case "audio":
        parts.push(
          `[${item.type} ${item.mimeType}, ${Math.floor((item.data.length * 3) / 4)} bytes]`,
        );
        break;
      case "resource": {
        const r = item.resource as { uri: string; text?: string; blob?: string; mimeType?: string };
        parts.push(
          typeof r.text === "string"
            ? `resource ${r.uri}:\n${r.text}`
            : `[resource ${r.uri}${r.mimeType ? ` ${r.mimeType}` : ""}, binary]`,
        );
        break;
      }
      case "resource_link":
        parts.push(`resource link: ${item.uri}${item.name ? ` (${item.name})` : ""}`);
        break;
      default:
        parts.push(`[${(item as { type: string }).type} content]`);
    }
  }
  if (!parts.length && result.structuredContent !== undefined)
    parts.push(JSON.stringify(result.structuredContent, null, 2));
  // Older servers answer with `toolResult` instead of content.
  if (!parts.length && "toolResult" in result) parts.push(JSON.stringify(result.toolResult));
  return parts.join("\n");
}

/** A resource's contents as text (binary parts described). */
export function resourceText(result: ReadResourceResult): {
  body: string;
  mimeType: string | null;
} {
  const parts: string[] = [];
  let mimeType: string | null = null;
  for (const c of result.contents) {
    mimeType ??= c.mimeType ?? null;
    if ("text" in c && typeof c.text === "string") parts.push(c.text);
    else if ("blob" in c && typeof c.blob === "string")
      parts.push(`[${c.mimeType ?? "binary"} ${Math.floor((c.blob.length * 3) / 4)} bytes]`);
  }
  return { body: parts.join("\n"), mimeType };
}
