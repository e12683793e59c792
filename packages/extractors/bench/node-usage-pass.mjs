// The baseline the usage benchmark compares against: a plain line-by-line Node pass
// (readline + JSON.parse of every record, then of every event's data) computing the same
// per-flow usage as the `usage` mode (Anthropic: message_start usage overridden by the last
// message_delta usage; Responses: the terminal response.* usage).
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

export async function nodeUsagePass(files) {
  const flows = new Map()
  for (const file of files) {
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
    for await (const line of rl) {
      let rec
      try { rec = JSON.parse(line) } catch { continue }
      if (rec?.type !== 'sse' || typeof rec.data !== 'string') continue
      let d
      try { d = JSON.parse(rec.data) } catch { continue }
      const t = rec.event ?? d?.type
      let f = flows.get(rec.flow_id)
      const get = () => (f ??= (flows.set(rec.flow_id, (f = { u0: undefined, u1: undefined, s1: -1, ur: undefined, sr: -1 })), f))
      if (t === 'message_start' && d.message?.usage) get().u0 ??= d.message.usage
      else if (t === 'message_delta' && d.usage) { get(); if (rec.seq >= f.s1) { f.u1 = d.usage; f.s1 = rec.seq } }
      else if (typeof t === 'string' && t.startsWith('response.') && d.response?.usage) { get(); if (rec.seq >= f.sr) { f.ur = d.response.usage; f.sr = rec.seq } }
    }
  }
  const out = []
  for (const [flow_id, f] of flows) {
    const a = { ...(f.u0 ?? {}), ...(f.u1 ?? {}) }
    if (f.ur) {
      const cached = f.ur.input_tokens_details?.cached_tokens ?? 0
      out.push({ flow_id, input_tokens: f.ur.input_tokens - cached, cache_read_tokens: cached, cache_write_tokens: 0, output_tokens: f.ur.output_tokens ?? 0 })
    } else {
      out.push({ flow_id, input_tokens: a.input_tokens ?? 0, cache_read_tokens: a.cache_read_input_tokens ?? 0, cache_write_tokens: a.cache_creation_input_tokens ?? 0, output_tokens: a.output_tokens ?? 0 })
    }
  }
  return out
}
