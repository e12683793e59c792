// A ledger that plays back hand-written facts, read from the JSON file named by
// $AGENTTAP_LEDGER_SCRIPT when a ledger is created.
// The script maps flow ids to the FlowFacts and ModelCalls the ledger would emit for them; they
// come out when the flow's flow_end is fed (or at end() for flows that never ended, as a real
// ledger does). This is how the mode tests put exact ModelCall rows into the index.
import { readFileSync } from 'node:fs'

const load = () => JSON.parse(readFileSync(process.env.AGENTTAP_LEDGER_SCRIPT, 'utf8'))
export const LEDGER_VERSION = Number(process.env.AGENTTAP_LEDGER_VERSION ?? 1)

export function createLedger({ onCall, onFlow, onContent }) {
  const script = load()
  const open = new Set()
  let sentContents = false
  const emit = (id) => {
    const s = script.flows[id]
    if (!s) return
    for (const c of s.calls ?? []) onCall(c)
    onFlow(s.facts)
  }
  return {
    feed(rec) {
      if (!sentContents) {
        sentContents = true
        for (const c of script.contents ?? []) onContent(c)
      }
      if (rec.type === 'flow') open.add(rec.flow_id)
      else if (rec.type === 'flow_end' && open.delete(rec.flow_id)) emit(rec.flow_id)
    },
    end() {
      for (const id of open) emit(id)
      open.clear()
    },
    reset() {
      open.clear()
    },
  }
}
