import { packageConfig } from '../../tsup.base.ts'

export default packageConfig(['src/index.ts', 'src/agenttap.ts', 'src/agenttap-proxy.ts', 'src/agenttap-monitor.ts', 'src/agenttap-analyze.ts'])
