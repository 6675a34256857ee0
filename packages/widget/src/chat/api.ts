// A small fetch wrapper for /api/widget: product key header, JSON bodies, the error envelope as ApiError.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

export type Call = <T>(method: 'GET' | 'POST', path: string, body?: unknown, token?: string) => Promise<T>

export function createApi(base: string, key: string, fetcher: typeof fetch = (...a) => fetch(...a)): Call {
  return async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { 'X-Product-Key': key }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (token) headers.Authorization = `Bearer ${token}`
    let res: Response
    try {
      res = await fetcher(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' })
    } catch {
      // Offline, DNS, or a CORS refusal (the browser hides which): all retryable from here.
      throw new ApiError(0, 'network_error', 'The chat server could not be reached')
    }
    const data = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
    if (!res.ok) {
      const retry = Number(res.headers.get('retry-after'))
      throw new ApiError(res.status, data.error?.code ?? `http_${res.status}`, data.error?.message ?? res.statusText, retry > 0 ? retry * 1000 : undefined)
    }
    return data as T
  }
}

/** Errors no retry will fix: the key or the site is not allowed. */
export function isFatal(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 403 || (err.status >= 400 && err.status < 500 && /key|origin|product/.test(err.code)))
}
