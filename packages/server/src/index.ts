export {
  readServerConfig,
  SERVER_CONFIG,
  type ServerSettings,
  serverPort,
} from "./config.js";
export {
  RPC_ERRORS,
  type RummyServer,
  type ServerOptions,
  serverToken,
  startServer,
} from "./server.js";
export {
  checkRequestSource,
  isLoopback,
  isWildcard,
  ownOrigins,
  parseAllowedOrigins,
  type ResolvedToken,
  resolveToken,
  rotateToken,
  type SourceDecision,
  type SourcePolicy,
  TOKEN_FILE,
  type TokenSource,
  tokenMatches,
} from "./security.js";
