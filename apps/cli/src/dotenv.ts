/**
 * A small `.env` reader: `KEY=value` lines, `#` comments, optional `export `,
 * single or double quotes (double quotes understand \n and \"). Anything
 * else on a line is an error naming the line, so a typo is not silently lost.
 */
export function parseDotenv(text: string, source = ".env"): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match)
      throw new Error(`${source}:${index + 1}: expected KEY=value, got ${JSON.stringify(raw)}`);
    const key = match[1]!;
    let value = match[2]!;
    if (value.startsWith('"')) {
      const end = value.lastIndexOf('"');
      if (end === 0) throw new Error(`${source}:${index + 1}: unterminated double quote`);
      value = value.slice(1, end).replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    } else if (value.startsWith("'")) {
      const end = value.lastIndexOf("'");
      if (end === 0) throw new Error(`${source}:${index + 1}: unterminated single quote`);
      value = value.slice(1, end);
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    out[key] = value;
  }
  return out;
}

/** Sets or replaces `KEY=value` in a .env text, keeping everything else as it was. */
export function upsertDotenv(text: string, key: string, value: string | null): string {
  const lines = text.length ? text.split("\n") : [];
  const re = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`);
  const kept = lines.filter((l) => !re.test(l));
  if (value !== null) {
    if (kept.length && kept[kept.length - 1] === "") kept.pop();
    kept.push(`${key}=${/[\s#"']/.test(value) ? JSON.stringify(value) : value}`, "");
  }
  return kept.join("\n");
}
