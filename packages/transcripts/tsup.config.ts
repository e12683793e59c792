import { packageConfig } from '../../tsup.base.ts'

// Splitting: `./dirs` and the main entry share one copy of the discovery module.
export default packageConfig(['src/index.ts', 'src/generate.ts', 'src/import-worker.ts', 'src/dirs-entry.ts'], { splitting: true })
