/**
 * A lone client in a process of its own, for bench/load: it times `getRun`
 * round trips on the server while the load's 50 clients (a process that is
 * itself busy parsing every notification 50 times over) do their work, so the
 * latency it sees is the server's, not the load clients' own backlog.
 * Driven over IPC: `{ url, token, project, run }`, then `{ idle: n }` (n
 * calls, 2 ms apart) or `{ load: true }` … `"stop"`; each answers with the
 * latencies in ms.
 */
import { RummyClient } from "@rummy/client";

type Command =
  | { url: string; token: string; project: string; run: string }
  | { idle: number }
  | { load: true }
  | "stop";

let client: RummyClient | undefined;
let run = "";
let stopping = false;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(): Promise<number> {
  const start = performance.now();
  await client!.call("getRun", { run });
  return performance.now() - start;
}

process.on("message", async (command: Command) => {
  if (command === "stop") {
    stopping = true;
    return;
  }
  if ("url" in command) {
    client = await RummyClient.connect(command.url, command.token ? { token: command.token } : {});
    await client.hello("load", command.project);
    run = command.run;
    process.send!({ ready: true });
    return;
  }
  const latencies: number[] = [];
  if ("idle" in command) {
    for (let i = 0; i < command.idle; i++) {
      latencies.push(await timed());
      await pause(2);
    }
  } else {
    stopping = false;
    while (!stopping) {
      latencies.push(await timed());
      await pause(20);
    }
    await client!.close();
  }
  process.send!({ latencies });
});
