/**
 * The command line's help: `rummy --help` gives every command with its flags,
 * `rummy <command> --help` (or `rummy help <command>`) that command's usage
 * and what each flag does. The README's command table says the same.
 */

const PROMPT_OPTIONS = `options:
  --model <alias>      model alias (default: RUMMY_MODEL)
  --run <alias>        name the run (continue it if it exists)
  --continue           continue this project's most recent run
  --project <dir>      the project's folder (default: the folder you are in)
  --connect <ws-url>   use a running server instead of an embedded one
  --yes                accept every proposal (yolo)
  --show-thinking      show the model's thinking, dimmed
  --json               print the final result as one JSON line
`;

export const COMMAND_HELP = {
  serve: `usage: rummy [serve] [--port N] [--host H] [--allow-broken-plugins]

Starts the server on RUMMY_HOME with the default plugins and prints where it listens,
which plugins and models loaded. A plugin that fails to load stops it (exit 1).

options:
  --port N                  the port (default: RUMMY_PORT, else PORT, else 3044; 0 picks a free one)
  --host H                  the address (default: RUMMY_HOST or 127.0.0.1; off loopback a token is required)
  --allow-broken-plugins    start even when a plugin fails to load or is missing
`,
  ask: `usage: rummy ask "<prompt>" [options]

One read-only run, start to finish, on the project in this folder (or --project <dir>).

${PROMPT_OPTIONS}`,
  act: `usage: rummy act "<prompt>" [options]

One run that may change things, start to finish; its proposals wait for your approval.

${PROMPT_OPTIONS}`,
  demo: `usage: rummy demo [--project <dir>] [--show-thinking] [--json]

A complete run against a scripted model (not an LLM), no API key needed. Its runs live in a
folder of their own (RUMMY_HOME/demo) unless --project names one; it prints how to look at them.

options:
  --project <dir>      run the demo on that folder's project instead
  --show-thinking      show the scripted model's thinking, dimmed
  --json               print the final result as one JSON line
`,
  web: `usage: rummy web [--open] [--port N] [--project <dir>]

Prints the web page's URL for this folder's project, with the server's token in the fragment,
after checking that a server answers.

options:
  --open               also open it in the browser
  --port N             the server's port (default: RUMMY_PORT, else PORT, else 3044)
  --project <dir>      the project's folder (default: the folder you are in)
`,
  acp: `usage: rummy acp [--model <alias>]

An ACP agent on stdio, for editors (Zed: see transport-acp's README).

options:
  --model <alias>      the model for new sessions (default: RUMMY_MODEL)
`,
  plugins: `usage: rummy plugins list [--json] | add <package-or-path> | remove <package>

Community plugins install into RUMMY_HOME with npm, are enabled as RUMMY_PLUGIN_<NAME> in
RUMMY_HOME/.env, and load on the next start. \`list\` shows the bundled ones too.

options:
  --json               list as JSON
`,
  models: `usage: rummy models list [--json] | add <alias> <provider/model> [--context N] | remove <alias>

Model aliases, plus RUMMY_MODEL_<alias>=provider/model from the environment.

options:
  --context N          the model's context length in tokens (add)
  --json               list as JSON
`,
  runs: `usage: rummy runs list | show [<alias>] [--project <dir-or-name>] [--entries] [--json]

Runs; one run's loops, turns (tokens, cost), its activity and own entries. No alias: the latest run.

options:
  --project <p>        a project's folder (as ask takes it) or its name
  --entries            list the project's files too (show)
  --json               print as JSON
`,
  doctor: `usage: rummy doctor

Checks the home folder, the token file (where and its mode, never its value), the configuration,
database integrity, plugins, and that each model's provider answers. Exit 1 when a check fails.
`,
  token: `usage: rummy token [--rotate]

Prints the server's token (RUMMY_TOKEN, else RUMMY_HOME/token).

options:
  --rotate             replace RUMMY_HOME/token; running servers refuse the old one on new connections
`,
} as const;

export type HelpTopic = keyof typeof COMMAND_HELP;

export const USAGE = `rummy — an LLM agent service

usage:
  rummy [serve] [--port N] [--host H] [--allow-broken-plugins]   start the server with the default plugins
  rummy ask "<prompt>" [options]        ask a question (read-only run)
  rummy act "<prompt>" [options]        ask for changes (proposals need your approval)
  rummy demo [--project <dir>]          a complete run against a scripted model, no API key needed
  rummy web [--open] [--port N] [--project <dir>]   print (and open) the web page's URL for a folder's project
  rummy acp [--model <alias>]           an ACP agent on stdio, for editors (Zed: see transport-acp's README)
  rummy plugins list|add <package-or-path>|remove <package>
  rummy models list|add <alias> <provider/model> [--context N]|remove <alias>
  rummy runs list|show [<alias>] [--project <p>] [--entries] [--json]
  rummy doctor                          check configuration, providers and the database
  rummy token [--rotate]                print the server's token (RUMMY_HOME/token); --rotate replaces it
  rummy <command> --help                that command's usage and flags

${PROMPT_OPTIONS.replace("options:", "options for ask/act:")}
Ctrl-C cancels the run (continue it later with --run); a second Ctrl-C quits at once.
environment: RUMMY_HOME (default ~/.rummy) holds the database, .env, plugins, skills, personas and
the token (RUMMY_HOME/token) every client must present; ask/act/demo read it from there.
`;
