import type Database from "better-sqlite3";
import type { Db } from "../db/open.js";
import { ENTRY_COLUMNS, NOW, VIEW_COLUMNS } from "./rows.js";

type StatementName =
  | "runProject"
  | "dataVersion"
  | "findForRun"
  | "body"
  | "insertEntry"
  | "replaceBody"
  | "appendBody"
  | "setAttributes"
  | "insertView"
  | "updateView"
  | "deleteView"
  | "insertViewCounted"
  | "newestPerRun"
  | "runSet"
  | "shared"
  | "sharedOnly"
  | "setSchemes"
  | "findSet"
  | "setSize"
  | "retireSet"
  | "insertSet"
  | "insertSetRow"
  | "link"
  | "ownCopy"
  | "unlink"
  | "dropUnusedSet"
  | "deleteEntry";

/** Every fixed statement of the store, by name. */
export type Statements = Readonly<Record<StatementName, Database.Statement>>;

/** Prepares every fixed statement of the store, once per database. */
export function prepareStatements(db: Db): Statements {
  return {
    runProject: db.prepare("SELECT project_id FROM runs WHERE id = ?").pluck(),
    // Moves when another connection commits (never for this one's own commits).
    dataVersion: db.prepare("SELECT data_version FROM pragma_data_version").pluck(),
    findForRun: db.prepare(
      `SELECT ${ENTRY_COLUMNS}, ${VIEW_COLUMNS} FROM entries e
       LEFT JOIN run_views v ON v.entry_id = e.id AND v.run_id = ?
       WHERE e.scope = ? AND e.path = ?`,
    ),
    body: db.prepare("SELECT body FROM entries WHERE id = ?").pluck(),
    insertEntry: db
      .prepare(
        `INSERT INTO entries (scope, path, body, attributes, hash, tokens)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
      )
      .pluck(),
    replaceBody: db.prepare(
      `UPDATE entries SET body = ?, attributes = ?, hash = ?, tokens = ?, updated_at = ${NOW}
       WHERE id = ?`,
    ),
    appendBody: db.prepare(
      `UPDATE entries SET body = body || ?, attributes = ?, hash = NULL, tokens = tokens + ?,
         updated_at = ${NOW} WHERE id = ?`,
    ),
    setAttributes: db.prepare(
      `UPDATE entries SET attributes = ?, updated_at = ${NOW} WHERE id = ?`,
    ),
    insertView: db.prepare(
      `INSERT INTO run_views (run_id, entry_id, loop_id, turn, state, outcome, visibility, writer)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateView: db.prepare(
      `UPDATE run_views SET loop_id = ?, turn = ?, state = ?, outcome = ?, visibility = ?,
         writer = ?, write_count = write_count + 1, updated_at = ${NOW}
       WHERE run_id = ? AND entry_id = ?`,
    ),
    deleteView: db.prepare("DELETE FROM run_views WHERE run_id = ? AND entry_id = ?"),
    insertViewCounted: db.prepare(
      `INSERT INTO run_views (run_id, entry_id, loop_id, turn, state, outcome, visibility, writer,
         write_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // Seeks each run's own scope by path prefix (the GLOB), so the cost follows the matches.
    newestPerRun: db
      .prepare(
        `SELECT m.run_id, e.id, e.path, e.body FROM
           (SELECT r.id AS run_id, max(x.id) AS entry_id FROM runs r
              JOIN entries x ON x.scope = 'run:' || r.id AND x.path GLOB ?
              JOIN run_views o ON o.run_id = r.id AND o.entry_id = x.id
            WHERE r.project_id = ? GROUP BY r.id) m
         JOIN entries e ON e.id = m.entry_id`,
      )
      .raw(),
    runSet: db.prepare("SELECT set_id, turn, writer FROM run_view_sets WHERE run_id = ?"),
    shared: db.prepare(
      `SELECT s.visibility, l.turn, l.writer FROM run_view_sets l
       JOIN view_set_rows s ON s.set_id = l.set_id AND s.entry_id = ? WHERE l.run_id = ?`,
    ),
    sharedOnly: db
      .prepare(
        `SELECT s.entry_id FROM run_view_sets l JOIN view_set_rows s ON s.set_id = l.set_id
         WHERE l.run_id = ? AND NOT EXISTS
           (SELECT 1 FROM run_views o WHERE o.run_id = l.run_id AND o.entry_id = s.entry_id)`,
      )
      .pluck(),
    setSchemes: db.prepare("SELECT schemes FROM view_sets WHERE id = ?").pluck(),
    findSet: db.prepare("SELECT id FROM view_sets WHERE scope = ? AND digest = ?").pluck(),
    setSize: db.prepare("SELECT count(*) FROM view_set_rows WHERE set_id = ?").pluck(),
    retireSet: db.prepare("UPDATE view_sets SET digest = NULL WHERE id = ?"),
    insertSet: db
      .prepare("INSERT INTO view_sets (scope, digest, schemes) VALUES (?, ?, ?) RETURNING id")
      .pluck(),
    insertSetRow: db.prepare(
      "INSERT INTO view_set_rows (set_id, entry_id, visibility) VALUES (?, ?, ?)",
    ),
    link: db.prepare(
      "INSERT INTO run_view_sets (run_id, set_id, turn, writer) VALUES (?, ?, ?, ?)",
    ),
    ownCopy: db.prepare(
      `INSERT INTO run_views (run_id, entry_id, turn, state, visibility, write_count, writer)
       SELECT l.run_id, s.entry_id, l.turn, 'resolved', s.visibility, 1, l.writer
       FROM run_view_sets l JOIN view_set_rows s ON s.set_id = l.set_id
       WHERE l.run_id = ? AND NOT EXISTS
         (SELECT 1 FROM run_views o WHERE o.run_id = l.run_id AND o.entry_id = s.entry_id)`,
    ),
    unlink: db.prepare("DELETE FROM run_view_sets WHERE run_id = ? RETURNING set_id").pluck(),
    dropUnusedSet: db.prepare(
      "DELETE FROM view_sets WHERE id = ? AND NOT EXISTS (SELECT 1 FROM run_view_sets WHERE set_id = ?)",
    ),
    deleteEntry: db.prepare("DELETE FROM entries WHERE id = ?"),
  };
}
