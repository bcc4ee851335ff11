export {
  type FakeAnswer,
  type FakeFailure,
  type FakeLlm,
  type FakeLlmOptions,
  type FakeReply,
  type RecordedRequest,
  startFakeLlm,
} from "./fake-llm.js";
export { type RummyHarness, type RummyHarnessOptions, startRummy } from "./harness.js";
export {
  driveLoad,
  type LoadOptions,
  type LoadReport,
  loadModel,
  percentile,
} from "./load.js";
export { treeSnapshot } from "./tree.js";
export { withEngine } from "./with-engine.js";
export {
  hostileCommands,
  type PluginRig,
  pluginRig,
  README_SECTIONS,
  type TestPluginOptions,
  testPlugin,
} from "./conformance.js";
