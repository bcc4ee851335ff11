// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the corpus holds source files that contain `${…}` literally.
/** The fixture corpus: edits as models write them, with the file before and the expected result (or failure). */
export interface EditCase {
  readonly name: string;
  readonly syntax: string;
  readonly before: string;
  readonly body: string;
  readonly attributes?: Record<string, string>;
  /** Expected file content, or `{ error: RegExp }` for an edit that must be refused. */
  readonly expect: string | { error: RegExp };
}

const APP = "function greet(name) {\n  return `hello ${name}`;\n}\n\nmodule.exports = { greet };\n";
const PY = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
const TABS = "if (x) {\n\tdoThing();\n\tdoOther();\n}\n";
const CRLF = "line one\r\nline two\r\nline three\r\n";

export const CORPUS: readonly EditCase[] = [
  // SEARCH/REPLACE
  {
    name: "single block",
    syntax: "search-replace",
    before: APP,
    body: "<<<<<<< SEARCH\n  return `hello ${name}`;\n=======\n  return `hi ${name}!`;\n>>>>>>> REPLACE",
    expect: APP.replace("hello ${name}`", "hi ${name}!`"),
  },
  {
    name: "two blocks in order",
    syntax: "search-replace",
    before: PY,
    body: "<<<<<<< SEARCH\n    return a + b\n=======\n    return b + a\n>>>>>>> REPLACE\n<<<<<<< SEARCH\n    return a - b\n=======\n    return -(b - a)\n>>>>>>> REPLACE",
    expect: PY.replace("a + b", "b + a").replace("return a - b", "return -(b - a)"),
  },
  {
    name: "trailing spaces in SEARCH",
    syntax: "search-replace",
    before: PY,
    body: "<<<<<<< SEARCH\n    return a + b   \n=======\n    return a + b + 0\n>>>>>>> REPLACE",
    expect: PY.replace("return a + b", "return a + b + 0"),
  },
  {
    name: "indentation drift re-indented",
    syntax: "search-replace",
    before: PY,
    body: "<<<<<<< SEARCH\nreturn a - b\n=======\nreturn a - b  # checked\n>>>>>>> REPLACE",
    expect: PY.replace("return a - b", "return a - b  # checked"),
  },
  {
    name: "tabs in file, spaces in SEARCH",
    syntax: "search-replace",
    before: TABS,
    body: "<<<<<<< SEARCH\n    doThing();\n    doOther();\n=======\n    doOther();\n    doThing();\n>>>>>>> REPLACE",
    expect: "if (x) {\n\tdoOther();\n\tdoThing();\n}\n",
  },
  {
    name: "CRLF file",
    syntax: "search-replace",
    before: CRLF,
    body: "<<<<<<< SEARCH\nline two\n=======\nline 2\n>>>>>>> REPLACE",
    expect: "line one\r\nline 2\r\nline three\r\n",
  },
  {
    name: "7-char markers without space",
    syntax: "search-replace",
    before: APP,
    body: "<<<<<<<SEARCH\nmodule.exports = { greet };\n=======\nexport { greet };\n>>>>>>>REPLACE",
    expect: APP.replace("module.exports = { greet };", "export { greet };"),
  },
  {
    name: "no match names nearest line",
    syntax: "search-replace",
    before: PY,
    body: "<<<<<<< SEARCH\n    return a * b\n=======\n    return a\n>>>>>>> REPLACE",
    expect: { error: /does not match the file; nearest line: " {4}return a \+ b"/ },
  },
  {
    name: "ambiguous match refused",
    syntax: "search-replace",
    before: "x = 1\nx = 1\n",
    body: "<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE",
    expect: { error: /matches 2 places/ },
  },
  // replace-only
  {
    name: "replace-only block replaces the file",
    syntax: "replace-only",
    before: APP,
    body: "=======\nexport const greet = (n) => `hi ${n}`;\n>>>>>>> REPLACE",
    // Exactly the REPLACE text: no newline is added that the model did not write (as 2.0.1).
    expect: "export const greet = (n) => `hi ${n}`;",
  },
  {
    name: "empty SEARCH section is replace-only",
    syntax: "replace-only",
    before: PY,
    body: "<<<<<<< SEARCH\n=======\nprint('new')\n>>>>>>> REPLACE",
    expect: "print('new')",
  },
  // unified diff
  {
    name: "one hunk",
    syntax: "unified-diff",
    before: PY,
    body: "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return sum((a, b))\n",
    expect: PY.replace("return a + b", "return sum((a, b))"),
  },
  {
    name: "two hunks with wrong line numbers",
    syntax: "unified-diff",
    before: PY,
    body: "@@ -10,2 +10,2 @@\n def add(a, b):\n-    return a + b\n+    return int(a) + int(b)\n@@ -99,2 +99,3 @@\n def sub(a, b):\n-    return a - b\n+    # subtract\n+    return a - b\n",
    expect: PY.replace("return a + b", "return int(a) + int(b)").replace(
      "    return a - b",
      "    # subtract\n    return a - b",
    ),
  },
  {
    name: "context lines missing their space",
    syntax: "unified-diff",
    before: APP,
    body: "@@ -4,2 +4,2 @@\n\n-module.exports = { greet };\n+export default greet;\n",
    expect: APP.replace("module.exports = { greet };", "export default greet;"),
  },
  {
    name: "diff against different content fails",
    syntax: "unified-diff",
    before: APP,
    body: "@@ -1,1 +1,1 @@\n-const nope = 1;\n+const yes = 2;\n",
    expect: { error: /does not match/ },
  },
  // sed
  {
    name: "s/// first occurrence",
    syntax: "sed",
    before: "a a a\n",
    body: "s/a/b/",
    expect: "b a a\n",
  },
  { name: "s/// global", syntax: "sed", before: "a a a\n", body: "s/a/b/g", expect: "b b b\n" },
  {
    name: "s||| with slashes in text",
    syntax: "sed",
    before: "path = /usr/lib\n",
    body: "s|/usr/lib|/opt/lib|",
    expect: "path = /opt/lib\n",
  },
  {
    name: "s### and a capture group",
    syntax: "sed",
    before: "version: 1.2.3\n",
    body: "s#version: (\\d+)\\.\\d+\\.\\d+#version: \\1.0.0#",
    expect: "version: 1.0.0\n",
  },
  {
    name: "several sed lines",
    syntax: "sed",
    before: "x=1\ny=2\n",
    body: "s/x=1/x=10/\ns/y=2/y=20/",
    expect: "x=10\ny=20\n",
  },
  {
    name: "sed that matches nothing fails",
    syntax: "sed",
    before: "abc\n",
    body: "s/zzz/y/",
    expect: { error: /matches nothing/ },
  },
  // old/new text
  {
    name: "old_text/new_text pair",
    syntax: "old-new-text",
    before: APP,
    body: "<old_text>\nmodule.exports = { greet };\n</old_text>\n<new_text>\nmodule.exports = { greet, version: 2 };\n</new_text>",
    expect: APP.replace("{ greet }", "{ greet, version: 2 }"),
  },
  {
    name: "two old/new pairs",
    syntax: "old-new-text",
    before: "a\nb\nc\n",
    body: "<old_text>a</old_text><new_text>A</new_text>\n<old_text>c</old_text><new_text>C</new_text>",
    expect: "A\nb\nC\n",
  },
  {
    name: "old_text with wrong indentation",
    syntax: "old-new-text",
    before: PY,
    body: "<old_text>\nreturn a + b\n</old_text>\n<new_text>\nreturn a + b  # ok\n</new_text>",
    expect: PY.replace("return a + b", "return a + b  # ok"),
  },
  // JSON
  {
    name: "JSON object",
    syntax: "json",
    before: "port = 80\n",
    body: '{"search": "port = 80", "replace": "port = 8080"}',
    expect: "port = 8080\n",
  },
  {
    name: "JSON array",
    syntax: "json",
    before: "a=1\nb=2\n",
    body: '[{"search": "a=1", "replace": "a=3"}, {"search": "b=2", "replace": "b=4"}]',
    expect: "a=3\nb=4\n",
  },
  {
    name: "JSON edits wrapper with old/new keys",
    syntax: "json",
    before: "on\n",
    body: '{"edits": [{"old": "on", "new": "off"}]}',
    expect: "off\n",
  },
  {
    name: "JSON search missing",
    syntax: "json",
    before: "x\n",
    body: '{"search": "y", "replace": "z"}',
    expect: { error: /does not match/ },
  },
  // attributes
  {
    name: "search/replace attributes",
    syntax: "attributes",
    before: "debug = false\n",
    body: "",
    attributes: { search: "debug = false", replace: "debug = true" },
    expect: "debug = true\n",
  },
  {
    name: "attribute search with extra whitespace",
    syntax: "attributes",
    before: "  spaced   line\n",
    body: "",
    attributes: { search: "spaced line", replace: "tidy line" },
    expect: "  tidy line\n",
  },
  // whole file
  {
    name: "whole file, exactly as written (no newline added)",
    syntax: "whole-file",
    before: APP,
    body: "console.log('replaced');",
    expect: "console.log('replaced');",
  },
  {
    name: "whole file keeps its own newline",
    syntax: "whole-file",
    before: "",
    body: "a\nb\n",
    expect: "a\nb\n",
  },
  {
    name: "markdown with merge-like lines is a whole file",
    syntax: "whole-file",
    before: "",
    body: "# Title\n\n======\n\ntext\n",
    expect: "# Title\n\n======\n\ntext\n",
  },
];
