import { packageConfig } from '../../tsup.base.ts'

export default packageConfig(['src/index.ts', 'src/index-worker.ts', 'src/transcript-sink.ts', 'src/transcript-usage-sink.ts', 'src/prompts-entry.ts', 'src/facts-entry.ts', 'src/transcript-usage-entry.ts', 'src/index-maintain-run.ts'])
