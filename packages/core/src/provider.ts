import { badRequest, RummyError } from "./errors.js";
import type { Models } from "./records.js";

/**
 * The provider contract: how the engine talks to an LLM. A provider package
 * (openai, openrouter, ollama, xai, …) registers one Provider; model aliases
 * (`RUMMY_MODEL_<alias>="provider/model"`) pick it by the first segment.
 */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

export interface CompletionDelta {
  readonly content?: string;
  readonly reasoning?: string;
}

export interface CompletionRequest {
  /** The provider's own model id (the part after `provider/`). */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly signal?: AbortSignal;
  /** Called as the model writes, when the provider streams. */
  readonly onDelta?: (delta: CompletionDelta) => void;
  /** Called before the provider retries after a retryable failure (a rate limit, a 5xx). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: string }) => void;
  readonly temperature?: number;
  readonly maxTokens?: number;
}

export interface CompletionUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly totalTokens: number;
  readonly cachedTokens?: number;
}

export interface CompletionResult {
  readonly content: string;
  readonly reasoning: string | null;
  readonly usage: CompletionUsage | null;
  /** In US dollars, when the provider reports it. */
  readonly cost: number | null;
  readonly finishReason: string | null;
  readonly model: string;
}

export interface Provider {
  /** The first segment of a model target: `openai` in `openai/gpt-4o`. */
  readonly name: string;
  complete(request: CompletionRequest): Promise<CompletionResult>;
  /** The model's context window in tokens, or null when it cannot be found out. */
  contextLength?(model: string, signal?: AbortSignal): Promise<number | null>;
}

export type ProviderErrorKind =
  | "context_length"
  | "rate_limit"
  | "server"
  | "network"
  | "timeout"
  | "auth"
  | "bad_request"
  | "aborted"
  | "malformed"
  | "incomplete";

const KIND_STATUS: Record<ProviderErrorKind, number> = {
  context_length: 413,
  rate_limit: 429,
  server: 502,
  network: 503,
  timeout: 504,
  auth: 401,
  bad_request: 400,
  aborted: 499,
  malformed: 502,
  incomplete: 502,
};

/** A provider failure, classified so the engine knows whether to retry, shrink the prompt, or give up. */
export class ProviderError extends RummyError {
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number | null; status?: number } = {},
  ) {
    super(options.status ?? KIND_STATUS[kind], message);
    this.name = "ProviderError";
    this.kind = kind;
    this.retryable =
      options.retryable ??
      ["rate_limit", "server", "network", "timeout", "incomplete"].includes(kind);
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

export interface ResolvedModel {
  readonly alias: string;
  readonly provider: Provider;
  /** The provider's model id. */
  readonly model: string;
  readonly contextLength: number | null;
}

/** Providers by name, and model aliases resolved through them. */
export class ProviderRegistry {
  readonly #providers = new Map<string, Provider & { owner: string }>();
  readonly #models: Models;

  constructor(models: Models) {
    this.#models = models;
  }

  register(provider: Provider, owner = "core"): () => void {
    if (!/^[a-z][a-z0-9_-]*$/.test(provider.name))
      throw badRequest(`invalid provider name '${provider.name}'`);
    const existing = this.#providers.get(provider.name);
    if (existing)
      throw badRequest(`provider '${provider.name}' is already registered by ${existing.owner}`);
    const entry = Object.assign(Object.create(provider) as Provider, provider, { owner });
    this.#providers.set(provider.name, entry);
    return () => {
      if (this.#providers.get(provider.name) === entry) this.#providers.delete(provider.name);
    };
  }

  get(name: string): Provider | undefined {
    return this.#providers.get(name);
  }

  names(): string[] {
    return [...this.#providers.keys()].sort();
  }

  /**
   * Resolves a model alias (or a literal `provider/model` target) to its
   * provider. Unknown alias or provider → a 404 the caller can act on.
   */
  resolve(aliasOrTarget: string): ResolvedModel {
    const record = this.#models.get(aliasOrTarget);
    const target = record?.target ?? aliasOrTarget;
    const slash = target.indexOf("/");
    if (slash <= 0) {
      throw new RummyError(
        404,
        `unknown model '${aliasOrTarget}': add it with RUMMY_MODEL_<alias>="provider/model" or addModel`,
      );
    }
    const providerName = target.slice(0, slash);
    const provider = this.#providers.get(providerName);
    if (!provider) {
      throw new RummyError(
        404,
        `model '${aliasOrTarget}' needs provider '${providerName}', which is not loaded (loaded: ${this.names().join(", ") || "none"})`,
      );
    }
    return {
      alias: record?.alias ?? aliasOrTarget,
      provider,
      model: target.slice(slash + 1),
      contextLength: record?.contextLength ?? null,
    };
  }
}
