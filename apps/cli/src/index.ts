export { BUNDLED_PACKAGES, boot, bundledPlugins } from "./distribution.js";
export { parseDotenv, upsertDotenv } from "./dotenv.js";
export { CliError, EXIT } from "./errors.js";
export { type Home, openHome, resolveHomePath } from "./home.js";
