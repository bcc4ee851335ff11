export {
  isLoopback,
  RPC_ERRORS,
  type RummyServer,
  type ServerOptions,
  startServer,
} from "./server.js";
