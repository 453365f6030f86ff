/**
 * Polls `url` until it answers 2xx, the signal aborts, or `timeoutMs` passes (then throws).
 * Used to know when a child process is ready, so the interval is short.
 */
export async function waitForHttp(url: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (options.signal?.aborted) throw new Error(`stopped waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready in ${options.timeoutMs} ms (${lastError})`);
}
