import { packageConfig } from '../../tsup.base.ts'

// Splitting: `./usage` and the main entry share one copy of the usage and rate-limit readers.
export default packageConfig(['src/index.ts', 'src/usage-entry.ts'], { splitting: true })
