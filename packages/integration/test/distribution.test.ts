// CI: build, publish to a local Verdaccio, install as a user would, (a) the CLI, (b) a minimal
// server, (c) a community plugin from the kit, version refusal and bad input to `plugins add`.
import { distributionSuite } from "./distribution-suite.js";

distributionSuite({ scaffoldTests: false });
