/**
 * Schema migrations, applied in order when the store opens. Each one runs in
 * its own transaction and is recorded in `schema_migrations`; a migration is
 * never edited after release — add a new one instead.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";

/**
 * Run status transitions. Terminal statuses (200, 204, 413, 422, 499, 500)
 * may only reopen to 100/102, because a fresh prompt starts a new loop on an
 * existing run; nothing may jump from queued straight to a verdict, and a
 * finished run cannot be re-labelled with another verdict.
 */
export const RUN_TRANSITIONS: Readonly<Record<number, readonly number[]>> = {
  100: [102, 499, 500],
  102: [102, 202, 200, 204, 413, 422, 499, 500],
  202: [102, 499, 500],
  200: [100, 102],
  204: [100, 102],
  413: [100, 102],
  422: [100, 102],
  499: [100, 102],
  500: [100, 102],
};

function transitionGuard(): string {
  const allowed = Object.entries(RUN_TRANSITIONS)
    .map(([from, tos]) => `(OLD.status = ${from} AND NEW.status IN (${tos.join(", ")}))`)
    .join("\n      OR ");
  return `
CREATE TRIGGER runs_status_transition
BEFORE UPDATE OF status ON runs
WHEN NEW.status <> OLD.status AND NOT (
      ${allowed}
    )
BEGIN
  SELECT RAISE(ABORT, 'run status transition not allowed');
END;`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
CREATE TABLE projects (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  root TEXT,
  created_at TEXT NOT NULL DEFAULT ${NOW}
);

CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  alias TEXT NOT NULL UNIQUE,
  target TEXT NOT NULL CHECK (instr(target, '/') > 1),
  context_length INTEGER CHECK (context_length IS NULL OR context_length > 0),
  source TEXT NOT NULL DEFAULT 'client' CHECK (source IN ('env', 'client')),
  created_at TEXT NOT NULL DEFAULT ${NOW}
);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  parent_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  alias TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 200),
  model TEXT,
  status INTEGER NOT NULL DEFAULT 100,
  attributes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
  next_turn INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (project_id, alias)
);
${transitionGuard()}

CREATE TABLE loops (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  sequence INTEGER NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('ask', 'act')),
  prompt TEXT NOT NULL,
  model TEXT,
  flags TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(flags)),
  status INTEGER NOT NULL DEFAULT 100,
  reason TEXT,
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (run_id, sequence)
);
CREATE INDEX loops_by_status ON loops (run_id, status);

CREATE TABLE turns (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  loop_id INTEGER NOT NULL REFERENCES loops(id) ON DELETE CASCADE,
  sequence INTEGER NOT NULL,
  status INTEGER,
  context_tokens INTEGER,
  prompt_tokens INTEGER,
  completion_tokens INTEGER,
  cost REAL,
  usage TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(usage)),
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (run_id, sequence)
);

CREATE TABLE schemes (
  name TEXT PRIMARY KEY,
  category TEXT NOT NULL CHECK (category IN ('data', 'logging', 'unknown', 'prompt', 'audit')),
  default_scope TEXT NOT NULL CHECK (default_scope IN ('run', 'project', 'global')),
  writable_by TEXT NOT NULL CHECK (json_valid(writable_by)),
  plugin TEXT
);

CREATE TABLE file_constraints (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  pattern TEXT NOT NULL,
  visibility TEXT NOT NULL CHECK (visibility IN ('active', 'readonly', 'ignore')),
  created_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (project_id, pattern)
);

CREATE TABLE rpc_log (
  id INTEGER PRIMARY KEY,
  connection_id TEXT,
  project_id INTEGER,
  method TEXT NOT NULL,
  request_id TEXT,
  params TEXT,
  result TEXT,
  error_code INTEGER,
  error_message TEXT,
  duration_ms REAL,
  created_at TEXT NOT NULL DEFAULT ${NOW}
);

CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  scope TEXT NOT NULL CHECK (scope = 'global' OR scope GLOB 'run:[0-9]*' OR scope GLOB 'project:[0-9]*'),
  path TEXT NOT NULL CHECK (length(path) BETWEEN 1 AND 2048),
  scheme TEXT GENERATED ALWAYS AS (
    CASE WHEN instr(path, '://') > 1 THEN substr(path, 1, instr(path, '://') - 1) ELSE 'file' END
  ) STORED,
  body TEXT NOT NULL DEFAULT '',
  attributes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes)),
  hash TEXT,
  tokens INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (scope, path)
);
CREATE INDEX entries_by_scheme ON entries (scope, scheme);
CREATE INDEX entries_by_path ON entries (path);

CREATE TABLE run_views (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  loop_id INTEGER REFERENCES loops(id) ON DELETE SET NULL,
  turn INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'resolved'
    CHECK (state IN ('proposed', 'streaming', 'resolved', 'failed', 'cancelled')),
  outcome TEXT,
  visibility TEXT NOT NULL DEFAULT 'visible'
    CHECK (visibility IN ('visible', 'summarized', 'archived')),
  write_count INTEGER NOT NULL DEFAULT 1,
  writer TEXT CHECK (writer IN ('system', 'plugin', 'client', 'model')),
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (run_id, entry_id)
);
CREATE INDEX run_views_by_visibility ON run_views (run_id, visibility);
CREATE INDEX run_views_by_state ON run_views (run_id, state);
CREATE INDEX run_views_by_entry ON run_views (entry_id);
`,
  },
  {
    version: 2,
    name: "shared view sets; runs by project",
    // A run's views of project entries (its first look at the project's files) are shared: runs
    // given the same entries with the same visibilities point at one set instead of copying it.
    // A run's own row in run_views overrides the shared one. Additive: existing views stay as they are.
    sql: `
CREATE TABLE view_sets (
  id INTEGER PRIMARY KEY,
  scope TEXT NOT NULL,
  -- Of the (entry, visibility) list the set was made from; NULL once entries left it.
  digest TEXT,
  schemes TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(schemes)),
  created_at TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (scope, digest)
);

CREATE TABLE view_set_rows (
  set_id INTEGER NOT NULL REFERENCES view_sets(id) ON DELETE CASCADE,
  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  visibility TEXT NOT NULL CHECK (visibility IN ('visible', 'summarized', 'archived')),
  PRIMARY KEY (set_id, entry_id)
) WITHOUT ROWID;
CREATE INDEX view_set_rows_by_entry ON view_set_rows (entry_id);
CREATE INDEX view_set_rows_by_visibility ON view_set_rows (set_id, visibility);

CREATE TABLE run_view_sets (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  set_id INTEGER NOT NULL REFERENCES view_sets(id) ON DELETE CASCADE,
  turn INTEGER NOT NULL DEFAULT 0,
  writer TEXT CHECK (writer IN ('system', 'plugin', 'client', 'model')),
  created_at TEXT NOT NULL DEFAULT ${NOW}
);
CREATE INDEX run_view_sets_by_set ON run_view_sets (set_id);

-- A project's runs in creation order without a sort (getRuns lists them all).
CREATE INDEX runs_by_project ON runs (project_id, id);
`,
  },
];
