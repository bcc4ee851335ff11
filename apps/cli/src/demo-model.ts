import type { CompletionRequest, CompletionResult, Provider } from "@rummy/core";

/**
 * The scripted model behind `rummy demo`. It is not an LLM: it replays a
 * fixed three-turn script so a newcomer can watch the moving parts — known
 * and unknown entries, a proposal, a command whose output streams into an
 * entry, a final answer — without an API key. Registered as provider `demo`, only by the
 * demo command; never a default.
 */
export const DEMO_PROVIDER_NAME = "demo";

const SCRIPT: readonly string[] = [
  `<think>I am the scripted demo model, not a real LLM. First I write down what I know and what I do not, then look around.</think>
<known path="known://demo/rummy">rummy keeps what the model learns as entries in SQLite, not as a chat history.</known>
<unknown path="unknown://demo/files">What is in the folder this demo runs in?</unknown>
<env>ls -1 | head -5</env>
<update status="102">Listing the folder to answer my open question.</update>`,
  `<think>The listing streamed into env://turn_1/…_1; its last lines are in my context.</think>
<known path="known://demo/files">The folder listing is stored at env://turn_1/ls_1_head_5_1, streamed while the command ran.</known>
<update status="102">Answered my open question from the command's output.</update>`,
  `<update status="200">Demo complete. The scripted model recorded facts (known://demo/…), an open question (unknown://demo/files), ran \`ls -1 | head -5\` as a proposal you saw accepted, with its output streamed into an entry, and every command and result is in the run's log. Try the \`rummy runs show\` printed below next, then \`rummy ask\` with a real model.</update>`,
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
