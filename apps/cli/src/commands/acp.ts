import { Readable, Writable } from "node:stream";
import { errorMessage } from "@rummy/core";
import { AcpAgent } from "@rummy/transport-acp";
import { boot } from "../distribution.js";
import { EXIT } from "../errors.js";
import type { Home } from "../home.js";

/**
 * `rummy acp`: rummy as an ACP agent on stdin/stdout, started by an editor.
 * No network listener: the only way in is the pipe pair the parent process
 * holds. Runs until the editor closes stdin.
 */
export async function acp(home: Home, values: { model?: string }): Promise<number> {
  // stdout carries the protocol; anything a plugin prints goes to stderr instead.
  console.log = console.error;
  console.info = console.error;
  // An editor that closed its end mid-cleanup must not crash the shutdown (EPIPE).
  process.stdout.on("error", () => {});
  const agent = new AcpAgent();
  const { core, report, missing } = await boot(home, { quiet: true, extra: [agent.plugin()] });
  for (const f of report.failed)
    process.stderr.write(`rummy acp: plugin ${f.name} failed: ${f.error}\n`);
  for (const m of missing)
    process.stderr.write(`rummy acp: plugin ${m.name} missing: ${m.error}\n`);
  const { connection, done } = agent.serve(
    Writable.toWeb(process.stdout) as WritableStream<Uint8Array>,
    Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>,
    values.model ? { model: values.model } : {},
  );
  const stop = async () => {
    connection.close();
    try {
      await core.close();
    } catch (error) {
      process.stderr.write(`rummy acp: ${errorMessage(error)}\n`);
    }
    process.exit(EXIT.ok);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  await done;
  await stop();
  return EXIT.ok;
}
