import type { ConfigSpec } from "@rummy/core";

/** The engine's limits, read from the environment when the plugin loads (and by the CLI at boot). */
export const ENGINE_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_ALLOW_YOLO",
    type: "boolean",
    default: false,
    description:
      "whether clients may start yolo loops (proposals accepted at once, commands run by the server)",
  },
  {
    key: "RUMMY_MAX_TURNS",
    type: "integer",
    default: 25,
    min: 1,
    max: 1000,
    description: "turns one loop may take before it is abandoned",
  },
  {
    key: "RUMMY_MAX_STRIKES",
    type: "integer",
    default: 3,
    min: 1,
    max: 100,
    description: "consecutive turns with errors or cycles before a loop is abandoned (499)",
  },
  {
    key: "RUMMY_BUDGET_CEILING",
    type: "number",
    default: 0.9,
    min: 0.1,
    max: 1,
    description: "share of the model's context window a prompt may use",
  },
  {
    key: "RUMMY_CONTEXT_DEFAULT",
    type: "integer",
    default: 32_768,
    min: 1024,
    max: 10_000_000,
    description: "context window assumed when the provider cannot tell",
  },
  {
    key: "RUMMY_CYCLE_WINDOW",
    type: "integer",
    default: 3,
    min: 1,
    max: 50,
    description: "how many earlier turns a repeated turn is compared against",
  },
  {
    key: "RUMMY_COMMAND_WAIT",
    type: "number",
    default: 60,
    min: 0,
    max: 86_400,
    description:
      "seconds the next turn waits for this turn's commands to finish; past it the model sees the output so far",
  },
];
