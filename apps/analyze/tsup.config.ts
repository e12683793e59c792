import { packageConfig } from '../../tsup.base.ts'

// Splitting: the bin loads quick.ts (prompts -n N) or index.ts (everything else) as chunks of their own.
export default packageConfig(['src/index.ts', 'src/bin.ts'], { splitting: true })
