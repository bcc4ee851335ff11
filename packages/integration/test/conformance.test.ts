// Every plugin the distribution bundles passes the same conformance suite a
// community plugin runs (`testPlugin` from @rummy/testing).
import { join } from "node:path";
import type { PluginDefinition } from "@rummy/core";
import engine from "@rummy/engine";
import askUser from "@rummy/plugin-ask-user";
import budget from "@rummy/plugin-budget";
import cp from "@rummy/plugin-cp";
import env from "@rummy/plugin-env";
import error from "@rummy/plugin-error";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import instructions from "@rummy/plugin-instructions";
import known from "@rummy/plugin-known";
import log from "@rummy/plugin-log";
import mv from "@rummy/plugin-mv";
import persona from "@rummy/plugin-persona";
import policy from "@rummy/plugin-policy";
import prompt from "@rummy/plugin-prompt";
import rm from "@rummy/plugin-rm";
import rpc from "@rummy/plugin-rpc";
import set from "@rummy/plugin-set";
import sh from "@rummy/plugin-sh";
import skill from "@rummy/plugin-skill";
import stream from "@rummy/plugin-stream";
import telemetry from "@rummy/plugin-telemetry";
import think from "@rummy/plugin-think";
import unknown from "@rummy/plugin-unknown";
import update from "@rummy/plugin-update";
import yolo from "@rummy/plugin-yolo";
import openai from "@rummy/provider-openai";
import { testPlugin } from "@rummy/testing";
import { ENGINE_PLUGINS } from "../src/index.js";

const packages = join(import.meta.dirname, "..", "..");
const bundled: [string, PluginDefinition][] = [
  ["engine", engine],
  ["plugin-rpc", rpc],
  ["plugin-persona", persona],
  ["plugin-instructions", instructions],
  ["plugin-prompt", prompt],
  ["plugin-known", known],
  ["plugin-unknown", unknown],
  ["plugin-log", log],
  ["plugin-error", error],
  ["plugin-budget", budget],
  ["plugin-policy", policy],
  ["plugin-telemetry", telemetry],
  ["plugin-update", update],
  ["plugin-think", think],
  ["plugin-file", file],
  ["plugin-get", get],
  ["plugin-set", set],
  ["plugin-rm", rm],
  ["plugin-cp", cp],
  ["plugin-mv", mv],
  ["plugin-ask-user", askUser],
  ["plugin-stream", stream],
  ["plugin-sh", sh],
  ["plugin-env", env],
  ["plugin-yolo", yolo],
  ["plugin-skill", skill],
  ["provider-openai", openai],
];

for (const [dir, plugin] of bundled) {
  testPlugin(plugin, {
    // The engine's set around it, as the distribution loads it.
    companions: ENGINE_PLUGINS.filter((p) => p.name !== plugin.name),
    readme: join(packages, dir, "README.md"),
    env: { OPENAI_API_KEY: "sk-conformance", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" },
  });
}
