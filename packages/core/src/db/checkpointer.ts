import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Db } from "./open.js";

/**
 * WAL checkpoints off the main thread. SQLite's automatic checkpoint runs
 * inside whichever commit crosses 1000 WAL pages: it copies the log into the
 * database file and fsyncs it, and on a busy disk that one commit holds the
 * event loop for a hundred milliseconds or more. Here the main connection
 * never checkpoints; a worker thread with its own connection runs PASSIVE
 * checkpoints (they never block the writer or readers) every `intervalMs`.
 * The worker starts at the first tick, so a short-lived store never pays for
 * a thread. If it cannot run, the main connection checkpoints as before.
 */
export class Checkpointer {
  readonly #db: Db;
  readonly #timer: NodeJS.Timeout;
  #worker: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(db: Db, intervalMs = 1000) {
    this.#db = db;
    db.pragma("wal_autocheckpoint = 0");
    this.#timer = setInterval(() => this.#tick(), intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#failed) return;
    try {
      this.#worker ??= this.#start();
      this.#worker.postMessage("checkpoint");
    } catch {
      this.#fallBack();
    }
  }

  #start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: createRequire(import.meta.url).resolve("better-sqlite3"),
        path: this.#db.name,
      },
    });
    worker.unref();
    worker.on("error", () => this.#fallBack());
    this.#exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    return worker;
  }

  #fallBack(): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#worker = undefined;
    try {
      if (this.#db.open) this.#db.pragma("wal_autocheckpoint = 1000");
    } catch {
      // A closed or broken database checkpoints on close or not at all.
    }
  }

  /** Stops the timer and waits for the worker to close its connection. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#failed = true;
    // Held until it has closed its connection: the database closes after it.
    this.#worker?.ref();
    this.#worker?.postMessage("close");
    this.#worker = undefined;
    await this.#exited;
  }
}

// Plain CommonJS, evaluated in the worker: it needs no TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("busy_timeout = 5000");
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A full disk or a locked file: the next tick tries again; the log keeps every commit meanwhile.
  }
});
`;
