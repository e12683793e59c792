import { packageConfig } from '../../tsup.base.ts'

export default packageConfig(['src/index.ts', 'src/generate.ts', 'src/import-worker.ts'])
