/** The commented `.env.example` written into a new RUMMY_HOME. */
export const ENV_EXAMPLE = `# rummy configuration. Copy to .env in this folder and uncomment what you need.
# Precedence: built-in defaults < this folder's .env < the shell's environment.

# --- Server -------------------------------------------------------------------
# Address and port the JSON-RPC WebSocket server listens on (loopback by default).
# RUMMY_HOST=127.0.0.1
# PORT is read too (rummy 2.0.1's name); RUMMY_PORT wins when both are set.
# RUMMY_PORT=3044
# Clients must present the token in RUMMY_HOME/token (created on first start, mode 0600;
# \`rummy token\` prints it, \`rummy token --rotate\` replaces it). RUMMY_TOKEN overrides the file;
# RUMMY_TOKEN=off disables auth (tests only; loopback only; warned at every start).
# RUMMY_TOKEN=
# Browser origins allowed to connect (comma-separated), besides the server's own page.
# RUMMY_ALLOWED_ORIGINS=https://app.example
# Let clients ask for yolo (proposals accepted at once, commands run by the server).
# RUMMY_ALLOW_YOLO=1
# Directories project roots must be in (separated by ':'); / and your home are refused unless listed.
# RUMMY_PROJECT_ROOTS=/home/me/src:/work

# --- Models -------------------------------------------------------------------
# An alias per model: RUMMY_MODEL_<alias>="<provider>/<model>". The first segment picks
# the provider plugin (openai, openrouter, ollama, xai).
# RUMMY_MODEL_fast=openai/gpt-4o-mini
# RUMMY_MODEL_local=ollama/qwen2.5-coder:7b
# RUMMY_MODEL_deep=openrouter/deepseek/deepseek-chat-v3
# The alias used when a client does not name one.
# RUMMY_MODEL=fast

# --- Providers ----------------------------------------------------------------
# OPENAI_API_KEY=
# OPENAI_BASE_URL=https://api.openai.com/v1
# OPENROUTER_API_KEY=
# OPENROUTER_BASE_URL=https://openrouter.ai/api/v1
# OLLAMA_BASE_URL=http://127.0.0.1:11434
# XAI_API_KEY=
# XAI_BASE_URL=https://api.x.ai/v1

# --- Plugins ------------------------------------------------------------------
# Load an npm package as a plugin (installed under this folder by \`rummy plugins add\`):
# RUMMY_PLUGIN_MYTHING=rummy-plugin-mything
# Turn a bundled plugin off:
# RUMMY_PLUGIN_TELEMETRY=off

# --- Engine -------------------------------------------------------------------
# Share of the model's context window a prompt may use.
# RUMMY_BUDGET_CEILING=0.9
# Characters per token when no tokenizer is configured.
# RUMMY_TOKEN_DIVISOR=4
# RUMMY_LOG_LEVEL=info
`;
