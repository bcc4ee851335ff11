/**
 * bench/stream: per-event overhead of a streamed answer through
 * provider-openai (SSE parsing, JSON decode, delta callbacks, completeness
 * checks) against bare fetch + a minimal SSE split of the same stream from
 * the same fake server, in the same run.
 */
import { chatCompletionsProvider } from "@rummy/provider-openai";
import { startFakeLlm } from "@rummy/testing";
import { type BenchResult, report, timeItAsync } from "./util.js";

export async function benchStream(
  events = Number(process.env.BENCH_EVENTS ?? 20_000),
): Promise<BenchResult> {
  const llm = await startFakeLlm();
  const content = "abcd".repeat(events);
  const reply = { content, chunkSize: 4 };
  const body = JSON.stringify({
    model: "m",
    stream: true,
    messages: [{ role: "user", content: "go" }],
  });
  const provider = chatCompletionsProvider({ name: "openai", baseUrl: llm.url, apiKey: "k" });
  try {
    const bare = async () => {
      llm.enqueue(reply);
      const res = await fetch(`${llm.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const decoder = new TextDecoder();
      let buffer = "";
      let count = 0;
      for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(bytes, { stream: true });
        let idx = buffer.indexOf("\n\n");
        while (idx !== -1) {
          const data = buffer.slice(6, idx);
          buffer = buffer.slice(idx + 2);
          if (data !== "[DONE]") {
            const delta = JSON.parse(data).choices[0].delta.content;
            if (delta) count++;
          }
          idx = buffer.indexOf("\n\n");
        }
      }
      if (count !== events) throw new Error(`bare parse saw ${count} events`);
    };
    const through = async () => {
      llm.enqueue(reply);
      let count = 0;
      const result = await provider.complete({
        model: "m",
        messages: [{ role: "user", content: "go" }],
        onDelta: () => void count++,
      });
      if (count !== events || result.content.length !== content.length)
        throw new Error(`provider saw ${count} events`);
    };
    await bare();
    await through();
    const baseMs = Math.min(
      await timeItAsync(bare),
      await timeItAsync(bare),
      await timeItAsync(bare),
    );
    const oursMs = Math.min(
      await timeItAsync(through),
      await timeItAsync(through),
      await timeItAsync(through),
    );
    return report("stream", [
      {
        label: `bare fetch + SSE split, per event (${events} events, baseline)`,
        value: (baseMs * 1000) / events,
        unit: "µs",
      },
      { label: "through provider-openai, per event", value: (oursMs * 1000) / events, unit: "µs" },
      { label: "overhead per event", value: ((oursMs - baseMs) * 1000) / events, unit: "µs" },
      { label: "ratio provider/bare", value: oursMs / baseMs, unit: "×", ratio: true },
    ]);
  } finally {
    await llm.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStream();
