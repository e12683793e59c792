/**
 * `@agenttap/transcripts/dirs`: where the agents keep their transcripts, without the importers
 * (and the ledger they load): a CLI resolves `--source transcripts` dirs before it knows whether
 * anything needs importing. Also the merge rule of two pieces of one call's usage
 * (`usageWins`), for a reader that keeps calls without loading the importers (analyze's usage
 * summary), and the hash of a file's first bytes a read keeps (`bytesHash`). Built with code splitting: one copy of the discovery module.
 */
export { defaultTranscriptDirs, findTranscripts } from './discover.js'
export type { TranscriptDirs } from './discover.js'
export { usageRank, usageWins } from './call-merge.js'
export { bytesHash } from './head-hash.js'
