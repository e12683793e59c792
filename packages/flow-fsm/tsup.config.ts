import { packageConfig } from '../../tsup.base.ts'

// `format` is its own entry too: the formatters, with no Node dependency, for browser bundles (the web view's page).
export default packageConfig(['src/index.ts', 'src/format.ts'])
