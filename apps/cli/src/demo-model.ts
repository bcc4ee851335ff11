import type { CompletionRequest, CompletionResult, Provider } from "@rummy/core";

/**
 * The scripted model behind `rummy demo`. It is not an LLM: it replays a
 * fixed three-turn script so a newcomer can watch the moving parts — known
 * and unknown entries, the log, streamed output, a final answer — without an
 * API key. Registered as provider `demo`, only by the
 * demo command; never a default.
 */
export const DEMO_PROVIDER_NAME = "demo";

const SCRIPT: readonly string[] = [
  `<think>I am the scripted demo model, not a real LLM. First I write down what I know and what I do not.</think>
<known path="known://demo/rummy">rummy keeps what the model learns as entries in SQLite, not as a chat history.</known>
<unknown path="unknown://demo/turns">How does the model see its earlier work without a history?</unknown>
<update status="102">Recorded a fact and an open question; looking into the question next.</update>`,
  `<think>The <log> and <context> sections of my prompt answer the question.</think>
<known path="known://demo/turns">Each turn's prompt is assembled from the entries: context, unknowns, the log of earlier commands, the budget.</known>
<update status="102">Answered my open question.</update>`,
  `<update status="200">Demo complete. The scripted model recorded two facts (known://demo/rummy, known://demo/turns) and an open question (unknown://demo/turns); every command and its result is in the run's log. Try \`rummy runs show\` to see them, then \`rummy ask\` with a real model.</update>`,
];

export function demoProvider(): Provider {
  let calls = 0;
  return {
    name: DEMO_PROVIDER_NAME,
    async complete(request: CompletionRequest): Promise<CompletionResult> {
      // One demo runs one run, so the call count is the script position.
      const step = Math.min(calls++, SCRIPT.length - 1);
      const content = SCRIPT[step]!;
      // Stream it in small pieces so the terminal shows progress like a real model.
      for (let i = 0; i < content.length; i += 24) {
        if (request.signal?.aborted) break;
        request.onDelta?.({ content: content.slice(i, i + 24) });
        await new Promise((r) => setTimeout(r, 5));
      }
      const promptTokens = Math.ceil(
        request.messages.reduce((n, m) => n + m.content.length, 0) / 4,
      );
      const completionTokens = Math.ceil(content.length / 4);
      return {
        content,
        reasoning: null,
        usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
        cost: 0,
        finishReason: "stop",
        model: "scripted-demo",
      };
    },
    async contextLength() {
      return 32_000;
    },
  };
}
