// Incremental parsers for the two streaming wires providers speak.
import { ProviderError } from "@rummy/core";

export interface SseEvent {
  readonly event: string | null;
  readonly data: string;
}

/** Parses a Server-Sent Events byte stream incrementally (handles CRLF, multi-line data, comments). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | null = null;
  let data: string[] = [];
  const flushLine = function* (line: string): Generator<SseEvent> {
    if (line === "") {
      if (data.length > 0) yield { event, data: data.join("\n") };
      event = null;
      data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let idx = buffer.search(/\r\n|\n|\r/);
    while (idx !== -1) {
      const line = buffer.slice(0, idx);
      const sepLength = buffer.startsWith("\r\n", idx) ? 2 : 1;
      buffer = buffer.slice(idx + sepLength);
      yield* flushLine(line);
      idx = buffer.search(/\r\n|\n|\r/);
    }
  }
  buffer += decoder.decode();
  if (buffer) yield* flushLine(buffer);
  yield* flushLine("");
}

/** Parses newline-delimited JSON incrementally; a line that is not JSON is a `malformed` ProviderError. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  const parse = (line: string) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new ProviderError(
        "malformed",
        `provider sent a line that is not JSON: ${line.slice(0, 120)}`,
        { retryable: false },
      );
    }
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let idx = buffer.indexOf("\n");
    while (idx !== -1) {
      const line = buffer.slice(0, idx).trim();
      buffer = buffer.slice(idx + 1);
      if (line) yield parse(line);
      idx = buffer.indexOf("\n");
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield parse(rest);
}
