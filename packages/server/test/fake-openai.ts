// The wire shapes of an OpenAI-compatible chat completions API, as api.openai.com sends them, for fake servers.

/** SSE text exactly as api.openai.com streams a chat completion. */
export function completionStream(tokens: string[], options: { finishReason?: string; eol?: string; model?: string } = {}): string {
  const eol = options.eol ?? '\n'
  const base = {
    id: 'chatcmpl-AX1y2z3',
    object: 'chat.completion.chunk',
    created: 1732406400,
    model: options.model ?? 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_0ba0d124f1',
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}${eol}${eol}`
  return [
    chunk({ role: 'assistant', content: '', refusal: null }, null),
    ...tokens.map((t) => chunk({ content: t }, null)),
    chunk({}, options.finishReason ?? 'stop'),
    `data: [DONE]${eol}${eol}`,
  ].join('')
}

/** The error body api.openai.com answers a bad key with (401), the key masked as it does. */
export const invalidKeyError = (maskedKey: string) => ({
  error: {
    message: `Incorrect API key provided: ${maskedKey}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
})
