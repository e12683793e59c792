/** @agenttap/jsonl-io — filled in by its issue. */
export const packageName = '@agenttap/jsonl-io'
