import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginEnvKey } from "@rummy/core";

test("a plugin's enable key is its name without scope or a rummy-plugin- prefix", () => {
  assert.equal(pluginEnvKey("yolo"), "RUMMY_PLUGIN_YOLO");
  assert.equal(pluginEnvKey("my-thing"), "RUMMY_PLUGIN_MY_THING");
  assert.equal(pluginEnvKey("@acme/rummy-plugin-hello"), "RUMMY_PLUGIN_HELLO");
  assert.equal(pluginEnvKey("rummy-plugin-hello"), "RUMMY_PLUGIN_HELLO");
  assert.equal(pluginEnvKey("@rummy/plugin-mcp"), "RUMMY_PLUGIN_MCP");
  // Only a leading prefix goes; a name that merely contains it keeps it.
  assert.equal(pluginEnvKey("@acme/my-plugin-kit"), "RUMMY_PLUGIN_MY_PLUGIN_KIT");
});
