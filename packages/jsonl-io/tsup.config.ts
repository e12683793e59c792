import { packageConfig } from '../../tsup.base.ts'

// splitting: both entries share one copy of JsonlError and the validator, so instanceof holds across them.
export default packageConfig(['src/index.ts', 'src/redis.ts'], { splitting: true })
