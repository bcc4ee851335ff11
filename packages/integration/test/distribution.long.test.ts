// The full distribution suite (RUMMY_LONG=1 pnpm test distribution.long): everything the CI slice
// does, and the scaffolded plugin's own `npm install && npm test` as its author runs them.
import { distributionSuite } from "./distribution-suite.js";

distributionSuite({ scaffoldTests: true });
