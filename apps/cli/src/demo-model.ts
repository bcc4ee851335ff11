import type { CompletionRequest, CompletionResult, Provider } from "@rummy/core";

/**
 * The scripted model behind `rummy demo`. It is not an LLM: it replays a
 * fixed three-turn script so a newcomer can watch every moving part — known
 * and unknown entries, a streamed command, a file-edit proposal, a final
 * answer — without an API key. Registered as provider `demo`, only by the
 * demo command; never a default.
 */
export const DEMO_PROVIDER_NAME = "demo";

const SCRIPT: readonly string[] = [
  `<think>I am the scripted demo model. First I note what I know, what I don't, and look around.</think>
<known path="known://demo/rummy">rummy keeps what the model learns as entries in SQLite, not as chat history.</known>
<unknown path="unknown://demo/files">Which files are in this project folder?</unknown>
<env>ls -1</env>
<update status="102">Listing the project folder to answer my open question.</update>`,
  `<think>The listing is in the env output channel. Now I propose a small file edit.</think>
<set path="HELLO.md"># Hello from rummy

This file was written by the scripted demo model through a proposal you accepted.
</set>
<update status="102">Proposed HELLO.md; waiting for it to be accepted.</update>`,
  `<update status="200">Demo complete: I recorded a known fact and an open question, ran \`ls -1\` as a streamed command, and wrote HELLO.md through an accepted proposal.</update>`,
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
