/** Minimal JSON HTTP helper for tests (Node's fetch). */
export async function http(
  method: string,
  url: string,
  options: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
  // Tests read JSON answers by path; typing every answer would only add casts.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // non-JSON body stays text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
