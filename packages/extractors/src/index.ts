/**
 * @agenttap/extractors — analysis modes over agenttap captures: an incremental DuckDB index of
 * the ledger's model calls (`<capture dir>/.index/`), every mode as SQL over its tables, a
 * reverse-scan path for "latest N prompts", and NDJSON / CSV / Parquet / table writers.
 */
export { createExtractor } from './extractor.js'
export { createTranscriptExtractor, SUMMARY_MODES } from './transcript-usage-modes.js'
export { USAGE_SUMMARY_FILE, USAGE_SUMMARY_VERSION } from './transcript-usage.js'
export type { Extractor, ProblemSummary } from './extractor.js'
export type { IndexUpdate } from './indexer.js'
export type { RecordSource, SourceEntry } from './source-update.js'
export { INDEX_VERSION } from './schema.js'
export { MODES, parseModes } from './modes.js'
export type { ModeSpec } from './modes.js'
export { MODE_NAMES } from './types.js'
export type { EngineName, ExtractFilters, ExtractorOptions, IndexProgress, ModeName, ModelPrice, ModeResult, PriceTable, Row, RunOptions } from './types.js'
export { BUNDLED_PRICES, parsePriceTable, priceFor } from './prices.js'
export { findCaptureFiles, isoInstant } from './sources.js'
export type { CaptureFiles, SourceKind } from './sources.js'
export { latestPrompts } from './reverse.js'
export type { LatestPromptsOptions } from './reverse.js'
export { patchFiles, shellReadFiles } from './derived.js'
export { formatTable, toCsv, toNdjson, writeResult } from './output.js'
export type { OutputFormat, TableOptions } from './output.js'
export { defaultTranscriptDirs } from '@agenttap/transcripts/dirs'
export type { TranscriptDirs } from '@agenttap/transcripts'
export { ExtractError } from './errors.js'
export type { ExtractErrorCode } from './errors.js'
