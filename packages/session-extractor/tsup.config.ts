import { packageConfig } from '../../tsup.base.ts'

// Splitting: `./redact` and the main entry share one copy of the redactor (one default redactor).
export default packageConfig(['src/index.ts', 'src/redact-entry.ts'], { splitting: true })
