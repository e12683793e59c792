/**
 * @agenttap/extractors — extraction modes over agenttap captures: DuckDB (`read_ndjson`) over
 * the canonical JSONL files, a ripgrep prefilter engine, a reverse-scan path for "latest N",
 * and NDJSON / CSV / Parquet / table writers.
 */
export { createExtractor, hasRipgrep } from './extractor.js'
export type { Extractor, MalformedLine } from './extractor.js'
export { MODES, parseModes } from './modes.js'
export type { ModeSpec } from './modes.js'
export { MODE_NAMES } from './types.js'
export type { EngineName, ExtractFilters, ExtractorOptions, ModeName, ModelPrice, ModeResult, PriceTable, Row, RunOptions, ScanStats } from './types.js'
export { BUNDLED_PRICES, parsePriceTable, priceFor } from './prices.js'
export { findCaptureFiles, isoInstant } from './sources.js'
export type { CaptureFiles, SourceKind } from './sources.js'
export { latestPrompts, promptOfFlow } from './reverse.js'
export { argvToCommand, patchFiles, shellReadFiles } from './derived.js'
export { formatTable, toCsv, toNdjson, writeResult } from './output.js'
export type { OutputFormat, TableOptions } from './output.js'
export { ExtractError } from './errors.js'
export type { ExtractErrorCode } from './errors.js'
