import { classifyHttpError } from "./errors.js";

/**
 * A model's context window from an OpenAI-style `GET /models` listing
 * (`context_length` or `context_window`); null when the listing does not say.
 */
export async function contextLengthFromModels(
  provider: string,
  url: string,
  headers: Record<string, string>,
  model: string,
  secrets: readonly (string | undefined)[],
  signal?: AbortSignal,
): Promise<number | null> {
  const response = await fetch(url, { headers, ...(signal ? { signal } : {}) });
  if (!response.ok)
    throw classifyHttpError(
      provider,
      response.status,
      await response.text(),
      response.headers,
      secrets,
    );
  const list = (await response.json()) as {
    data?: { id: string; context_length?: number; context_window?: number }[];
  };
  const found = list.data?.find((m) => m.id === model);
  return found?.context_length ?? found?.context_window ?? null;
}
