// A stand-in for @agenttap/ledger's createLedger in the index-machinery tests (incremental reads,
// pending flows, sharding, duplicates): one call per flow, or one per `response.completed` frame
// on a WebSocket flow, with the text of `text_delta`s. It decodes just enough to show what the
// index does with calls; the real ledger's decoding is tested in its own package.
export let LEDGER_VERSION = 1
/** Tests change the version to see the index rebuilt. */
export function setLedgerVersion(v) {
  LEDGER_VERSION = v
}

export function createLedger({ onCall, onFlow, onContent, onError }) {
  const flows = new Map()
  const call = (f, outcome, endTs) => {
    const index = f.calls++
    onCall({
      ledger_version: 1, key: `${f.rec.flow_id}#${index}`, source: 'wire', flow_id: f.rec.flow_id, index,
      session_id: f.rec.session_id, client: f.rec.client ?? 'unknown', provider: f.rec.provider ?? 'unknown',
      api: 'unknown', transport: f.ws ? 'ws' : 'sse', kind: 'model', model: f.rec.request_body?.model,
      started_at: f.rec.ts, ended_at: endTs, outcome, text: f.text.join(''), reasoning: '',
      usage: { input: 1, cache_read: 0, cache_write_5m: 0, cache_write_1h: 0, output: f.lines },
      prompt: index === 0 ? f.rec.request_body?.prompt : undefined,
      tool_calls: [], tool_results: [], request: { tool_names: [], message_count: 1, model: f.rec.request_body?.model },
    })
    f.text = []
    f.lines = 0
  }
  return {
    feed(rec, at) {
      if (typeof rec.v === 'number' && rec.v > 1) onError(Object.assign(new Error(`record of schema version ${rec.v}`), { code: 'NEWER_SCHEMA', flow_id: rec.flow_id, ...at }))
      if (rec.type === 'flow') {
        if (typeof rec.request_body?.system === 'string') onContent({ kind: 'system', hash: `h-${rec.request_body.system}`, text: rec.request_body.system })
        flows.set(rec.flow_id, { rec, calls: 0, lines: 0, text: [], ws: rec.transport === 'ws' })
        return
      }
      let f = flows.get(rec.flow_id)
      if (!f) {
        // Like the real ledger: a flow whose flow record never came is assembled from its records,
        // starting at the earliest one, and reported MISSING_FLOW.
        f = { rec: { flow_id: rec.flow_id, session_id: rec.session_id, ts: rec.ts }, calls: 0, lines: 0, text: [], ws: rec.transport === 'ws', missing: true }
        flows.set(rec.flow_id, f)
        onError(Object.assign(new Error(`flow ${rec.flow_id}: no flow record`), { code: 'MISSING_FLOW', flow_id: rec.flow_id, ...at }))
      }
      if (rec.type === 'sse') {
        let d
        try {
          d = JSON.parse(rec.data)
        } catch {
          return onError(Object.assign(new Error('data is not JSON'), { flow_id: rec.flow_id, seq: rec.seq }))
        }
        f.lines++
        if (d.type === 'text_delta') f.text.push(d.text)
        else if (d.type === 'response.completed') call(f, 'completed', rec.ts)
        else if (d.type === 'mystery') onError(Object.assign(new Error(`unknown event type "mystery"`), { flow_id: rec.flow_id, seq: rec.seq }))
      } else if (rec.type === 'client_frame') {
        f.lines++
      } else if (rec.type === 'flow_end') {
        if (!f.ws || f.lines > 0) call(f, rec.outcome === 'completed' ? 'completed' : 'error', rec.ts)
        onFlow({ ledger_version: 1, flow_id: rec.flow_id, session_id: f.rec.session_id, client: f.rec.client ?? 'unknown', provider: f.rec.provider ?? 'unknown',
          kind: 'model', outcome: rec.outcome, started_at: f.rec.ts, ended_at: rec.ts, calls: f.calls, http_status: rec.status })
        flows.delete(rec.flow_id)
      }
    },
    end() {
      for (const f of flows.values()) {
        if (!f.ws || f.lines > 0) call(f, 'open', undefined)
        onFlow({ ledger_version: 1, flow_id: f.rec.flow_id, session_id: f.rec.session_id, client: f.rec.client ?? 'unknown', provider: f.rec.provider ?? 'unknown',
          kind: 'model', outcome: 'open', started_at: f.rec.ts, calls: f.calls })
      }
      flows.clear()
    },
    reset() {
      flows.clear()
    },
  }
}
