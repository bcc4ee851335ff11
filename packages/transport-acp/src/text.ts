import { decodeEntities } from "@rummy/core";

/**
 * Follows a model's streamed reply and yields, as it grows, the text a
 * person should read: the bodies of `<update>` tags (the agent's messages)
 * and of `<think>` tags (its thoughts). Everything else — the tool tags — is
 * shown as tool calls instead. A tag or entity cut off mid-chunk is held
 * back until it is complete.
 */
export class ReplyText {
  #buffer = "";
  #sentMessage = 0;
  #sentThought = 0;

  /** Adds a chunk; returns the message and thought text not yet returned. */
  push(chunk: string): { message: string; thought: string } {
    this.#buffer += chunk;
    return this.#take(false);
  }

  /** The rest, once the reply is complete. */
  end(): { message: string; thought: string } {
    return this.#take(true);
  }

  /** All message text so far (for a turn whose reply did not stream). */
  get message(): string {
    return bodies(this.#buffer, "update", true);
  }

  #take(final: boolean): { message: string; thought: string } {
    const message = bodies(this.#buffer, "update", final);
    const thought = bodies(this.#buffer, "think", final);
    const out = {
      message: message.slice(this.#sentMessage),
      thought: thought.slice(this.#sentThought),
    };
    this.#sentMessage = Math.max(this.#sentMessage, message.length);
    this.#sentThought = Math.max(this.#sentThought, thought.length);
    return out;
  }
}

/** The decoded bodies of every `<tag …>…</tag>` in the text, the last one possibly still open. */
function bodies(text: string, tag: string, final: boolean): string {
  const open = new RegExp(`<${tag}(?:\\s[^>]*)?>`, "g");
  const close = `</${tag}>`;
  const parts: string[] = [];
  for (let m = open.exec(text); m; m = open.exec(text)) {
    const start = m.index + m[0].length;
    const end = text.indexOf(close, start);
    if (end >= 0) {
      parts.push(decodeEntities(text.slice(start, end)).trim());
      open.lastIndex = end + close.length;
      continue;
    }
    let body = text.slice(start);
    if (!final) body = body.replace(/<[^>]*$/, "").replace(/&[#a-zA-Z0-9]*$/, "");
    // Trailing space is held back too: a closed body is trimmed, and what was sent must stay its prefix.
    parts.push(decodeEntities(body).trim());
    break;
  }
  return parts.filter(Boolean).join("\n\n");
}
