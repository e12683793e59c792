/**
 * Access to the server: the token (from the page URL once, then this tab's sessionStorage — per
 * origin: scheme, host and port), sent in the `X-Agenttap-Token` header of every API call. No
 * cookie: a cookie of 127.0.0.1 would be sent to every other local server as well.
 */
const TOKEN_KEY = 'agenttap.token'
const TOKEN_HEADER = 'X-Agenttap-Token'

/** The token: from the URL the first time (then dropped from the address bar), then from this tab's storage. */
function takeToken(): string | null {
  const params = new URLSearchParams(location.search)
  const fromUrl = params.get('token')
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl)
    params.delete('token')
    const rest = params.toString()
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`)
  }
  return sessionStorage.getItem(TOKEN_KEY)
}
export const token = takeToken()
export const authHeaders = (): Record<string, string> => (token ? { [TOKEN_HEADER]: token } : {})

/** GETs JSON from the API with the token. */
export async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { headers: authHeaders(), cache: 'no-store' })
  if (!r.ok) throw new Error(`${r.status} ${(await r.text()).slice(0, 300)}`)
  return (await r.json()) as T
}


/** What the live stream tells the page besides its frames. */
export type StreamState = 'live' | 'reconnecting' | 'no token' | 'token refused'

/**
 * The live stream: server-sent events read with fetch (an EventSource cannot send the token
 * header), reconnecting after 2 s when it drops. Frames go to `onFrame`, state changes to `onState`.
 */
export function openStream(onFrame: (event: string, data: string) => void, onState: (s: StreamState) => void): void {
  if (!token) return onState('no token')
  void (async () => {
    try {
      const res = await fetch('/api/stream', { headers: authHeaders(), cache: 'no-store' })
      if (res.status === 403) return onState('token refused')
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
      onState('live')
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      // Frames end with a blank line; keep the unfinished tail.
      let tail = ''
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        // Look for the frame end only in what is new (a big snapshot comes in many chunks).
        let from = Math.max(0, tail.length - 1)
        tail += value
        let end: number
        while ((end = tail.indexOf('\n\n', from)) !== -1) {
          const block = tail.slice(0, end)
          tail = tail.slice(end + 2)
          from = 0
          let event = 'message'
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length > 0) onFrame(event, data.join('\n'))
        }
      }
    } catch {
      // dropped: reconnect below
    }
    onState('reconnecting')
    window.setTimeout(() => openStream(onFrame, onState), 2000)
  })()
}
