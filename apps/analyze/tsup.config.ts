import { packageConfig } from '../../tsup.base.ts'

// Splitting: the Redis and OpenTelemetry commands are chunks of their own, loaded by the commands
// that use them, so a mode's start-up does not read them (nor `@agenttap/jsonl-io/redis`).
export default packageConfig(['src/index.ts', 'src/bin.ts'], { splitting: true })
