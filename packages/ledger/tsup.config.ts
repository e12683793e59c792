import { packageConfig } from '../../tsup.base.ts'

// Splitting: `./pricing` and the main entry share one copy of the pricing and error modules.
export default packageConfig(['src/index.ts', 'src/pricing-entry.ts'], { splitting: true })
