/**
 * Mimetypes: what a body holds, independent of where it lives. Explicit
 * `attributes.mimetype` wins, then the path's extension, then text/markdown.
 * Textual types are read line-numbered; binary ones are refused (soft 405).
 */
const BY_EXTENSION: Record<string, string> = {
  md: "text/markdown",
  txt: "text/plain",
  ts: "application/typescript",
  tsx: "application/typescript",
  js: "application/javascript",
  mjs: "application/javascript",
  cjs: "application/javascript",
  json: "application/json",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  xml: "application/xml",
  html: "text/html",
  css: "text/css",
  sql: "application/sql",
  sh: "application/x-sh",
  py: "text/x-python",
  rs: "text/x-rust",
  go: "text/x-go",
  java: "text/x-java",
  c: "text/x-c",
  h: "text/x-c",
  csv: "text/csv",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
  wasm: "application/wasm",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  woff: "font/woff",
  woff2: "font/woff2",
  bin: "application/octet-stream",
};
const TEXTUAL_APPLICATION = new Set([
  "json",
  "xml",
  "yaml",
  "x-yaml",
  "javascript",
  "typescript",
  "ecmascript",
  "sql",
  "toml",
  "x-sh",
  "x-shellscript",
]);

export function mimetypeOf(path: string, attributes: Record<string, unknown>): string {
  if (typeof attributes.mimetype === "string" && attributes.mimetype) return attributes.mimetype;
  const ext = /\.([A-Za-z0-9]+)$/
    .exec(path.replace(/^[a-z][a-z0-9+.-]*:\/\//, ""))?.[1]
    ?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || "text/markdown";
}

export function isTextual(mimetype: string): boolean {
  const [type, subtype = ""] = mimetype.toLowerCase().split(";")[0]!.trim().split("/");
  if (type === "text") return true;
  if (/\+(json|xml|yaml)$/.test(subtype)) return true;
  return type === "application" && TEXTUAL_APPLICATION.has(subtype);
}
