#!/usr/bin/env node
// The release as a user gets it (issue 17): `pnpm pack` every publishable package into a temp
// directory, check each tarball (LICENSE, exports with types and import, no source maps or tests,
// no workspace: ranges, README links that work on npm), then install the `agenttap` tarball into a
// clean temp project with npm, the other tarballs as the only source of @agenttap/* (overrides, no
// workspace), and run what a newcomer runs: `agenttap --version`, `agenttap analyze usage` on the
// fixture capture, `npx agenttap --help`, and `agenttap demo --help` when this build has the demo.
// Prints one line per check; exits 1 on the first failure. Needs the build (pnpm build) and the
// npm registry for third-party dependencies (cached by npm after the first run).
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const repo = resolve(import.meta.dirname, '..')
const keep = process.argv.includes('--keep')
const work = mkdtempSync(join(tmpdir(), 'agenttap-pack-'))
const packs = join(work, 'tarballs')
mkdirSync(packs)
let failures = 0
const ok = (m) => console.log(`ok    ${m}`)
const fail = (m) => {
  failures++
  console.log(`FAIL  ${m}`)
}

// 1. Every publishable workspace package (not private) → a tarball.
const dirs = ['packages', 'apps'].flatMap((d) => readdirSync(join(repo, d)).map((n) => join(repo, d, n)))
const pkgs = []
for (const dir of dirs) {
  let pj
  try {
    pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  } catch {
    continue
  }
  if (pj.private) continue
  pkgs.push({ dir, name: pj.name })
}
for (const p of pkgs) {
  const r = spawnSync('pnpm', ['pack', '--pack-destination', packs], { cwd: p.dir, encoding: 'utf8' })
  if (r.status !== 0) fail(`pnpm pack ${p.name}: ${r.stderr.trim().split('\n').at(-1)}`)
}
const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'))
if (tarballs.length !== pkgs.length) fail(`${pkgs.length} publishable packages, ${tarballs.length} tarballs`)
else ok(`${tarballs.length} tarballs: ${pkgs.map((p) => p.name).join(', ')}`)

// 2. What is inside each tarball.
const byName = new Map()
for (const t of tarballs) {
  const file = join(packs, t)
  const list = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean)
  const pj = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }))
  byName.set(pj.name, file)
  const problems = []
  if (!list.includes('package/LICENSE')) problems.push('no LICENSE')
  if (pj.license !== 'MIT') problems.push(`license ${pj.license}`)
  if (!list.includes('package/README.md')) problems.push('no README.md')
  const maps = list.filter((f) => f.endsWith('.map'))
  if (maps.length) problems.push(`source maps: ${maps.slice(0, 3).join(', ')}`)
  const tests = list.filter((f) => /\.test\.|\/test\/|\/src\//.test(f))
  if (tests.length) problems.push(`tests or sources: ${tests.slice(0, 3).join(', ')}`)
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [d, v] of Object.entries(pj[field] ?? {})) if (String(v).startsWith('workspace:')) problems.push(`${field} ${d}: ${v}`)
  }
  for (const [sub, e] of Object.entries(pj.exports ?? {})) {
    if (sub === './package.json') continue
    if (typeof e !== 'object' || !e.types || !e.import) problems.push(`exports["${sub}"] without types and import`)
    else for (const f of [e.types, e.import]) if (!list.includes(`package/${f.replace(/^\.\//, '')}`)) problems.push(`exports["${sub}"] → ${f} missing`)
  }
  for (const b of Object.values(pj.bin ?? {})) if (!list.includes(`package/${b.replace(/^\.\//, '')}`)) problems.push(`bin ${b} missing`)
  const readme = list.includes('package/README.md') ? execFileSync('tar', ['-xzOf', file, 'package/README.md'], { encoding: 'utf8' }) : ''
  // On npm a relative link resolves against npmjs.com, not the repository: only absolute links and anchors work.
  const relative = [...readme.matchAll(/\]\((?!https?:|mailto:|#)([^)\s]+)\)/g)].map((m) => m[1])
  if (relative.length) problems.push(`README relative links: ${relative.slice(0, 3).join(', ')}`)
  if (problems.length) fail(`${pj.name}: ${problems.join('; ')}`)
  else ok(`${pj.name}: LICENSE, README, exports with types and import, no maps or tests, no workspace: ranges`)
}

// 3. A clean project that installs the agenttap tarball, the other tarballs as the only source of @agenttap/*.
const project = join(work, 'project')
mkdirSync(project)
const agenttap = byName.get('agenttap')
if (!agenttap) {
  fail('no agenttap tarball')
} else {
  const overrides = Object.fromEntries([...byName].filter(([n]) => n !== 'agenttap').map(([n, f]) => [n, `file:${f}`]))
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'newcomer', private: true, type: 'module', dependencies: { agenttap: `file:${agenttap}` }, overrides }, null, 2))
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project, encoding: 'utf8', env: { ...process.env, npm_config_workspaces: 'false' } })
  if (npm.status !== 0) fail(`npm install: ${npm.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  else ok('npm install of the agenttap tarball in a clean project')

  const bin = (name) => join(project, 'node_modules', '.bin', name)
  const version = JSON.parse(execFileSync('tar', ['-xzOf', agenttap, 'package/package.json'], { encoding: 'utf8' })).version
  const home = join(work, 'home')
  mkdirSync(home)
  const env = { ...process.env, HOME: home, AGENTTAP_LOG_DIR: join(work, 'logs'), NO_COLOR: '1' }
  const runIt = (cmd, args) => spawnSync(cmd, args, { cwd: project, encoding: 'utf8', env, timeout: 120_000 })

  let r = runIt(bin('agenttap'), ['--version'])
  if (r.status === 0 && r.stdout.trim() === version) ok(`agenttap --version → ${version}`)
  else fail(`agenttap --version: exit ${r.status}, ${r.stdout.trim()} ${r.stderr.trim()}`)

  for (const b of ['agenttap-proxy', 'agenttap-monitor', 'agenttap-analyze']) {
    r = runIt(bin(b), ['--version'])
    if (r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout)) ok(`${b} --version`)
    else fail(`${b} --version: exit ${r.status}, ${r.stderr.trim()}`)
  }

  const capture = join(work, 'capture')
  cpSync(join(repo, 'fixtures', 'capture'), capture, { recursive: true })
  r = runIt(bin('agenttap'), ['analyze', 'usage', '--log-dir', capture, '-q'])
  const rows = r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
  if (rows.length > 0 && rows.every((x) => typeof x.total_tokens === 'number' || x.total_tokens === null)) ok(`agenttap analyze usage --log-dir <fixture capture> → ${rows.length} rows`)
  else fail(`agenttap analyze usage: exit ${r.status}, ${r.stderr.trim().split('\n').at(-1)}`)

  // The warm transcripts line (issue 19): answered by analyze's bundle (dist/quick), which must find
  // the installed packages to be the bundled ones (else the package's own code answers, slower),
  // and must answer the bytes the full CLI does after a new session.
  const { appendSession, writeTrapTree } = await import(pathToFileURL(join(repo, 'packages', 'transcripts', 'dist', 'generate.js')).href)
  const tree = writeTrapTree(join(work, 'transcripts'))
  const tx = (logDir, extra = []) => runIt(bin('agenttap'), ['analyze', 'daily', '--source', 'transcripts', '--claude-dir', tree.claudeDir, '--codex-dir', tree.codexDir, '--log-dir', logDir, '-f', 'ndjson', ...extra])
  const txLogs = join(work, 'transcripts-logs')
  const cold = tx(txLogs)
  appendSession(tree.claudeDir, 5, '2026-11-23T08:00:00.000Z')
  cpSync(txLogs, `${txLogs}-full`, { recursive: true })
  const warm = tx(txLogs)
  const full = tx(`${txLogs}-full`, ['--engine', 'index'])
  const bundle = join(project, 'node_modules', '@agenttap', 'analyze', 'dist', 'quick', 'transcript-usage.js')
  const current = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); process.stdout.write(String(m.bundleCurrent()))`], { encoding: 'utf8' })
  if (cold.status === 0 && warm.status === 0 && full.status === 0 && warm.stdout.includes('2026-11-23') && warm.stdout === full.stdout && warm.stderr === '' && current.stdout === 'true') ok('agenttap analyze daily --source transcripts, warm: the bundle is current and answers the full CLI\'s bytes')
  else fail(`agenttap analyze daily --source transcripts, warm: exits ${cold.status} ${warm.status} ${full.status}, same bytes ${warm.stdout === full.stdout}, bundle current ${current.stdout || current.stderr.trim().split('\n').at(-1)} ${warm.stderr.trim()}`)

  r = runIt('npx', ['--no-install', 'agenttap', '--help'])
  if (r.status === 0 && r.stdout.includes('agenttap demo')) ok('npx agenttap --help')
  else fail(`npx agenttap --help: exit ${r.status}, ${r.stderr.trim()}`)

  // The demo, run for real from the installed tarballs as a newcomer would (`npx agenttap demo`),
  // to its end (--exit), then its capture read back by the installed analyze.
  const demoDir = join(work, 'demo-capture')
  r = runIt('npx', ['--no-install', 'agenttap', 'demo', '--exit', '--as-fast', '--log-dir', demoDir])
  const replayed = /(\d+) requests replayed through the proxy \((\d+) events\)/.exec(r.stdout + r.stderr)
  if (r.status === 0 && replayed && Number(replayed[1]) >= 5 && Number(replayed[2]) > 0) ok(`npx agenttap demo --exit → ${replayed[1]} requests, ${replayed[2]} events through the proxy`)
  else fail(`npx agenttap demo --exit: exit ${r.status}, ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`)
  r = runIt(bin('agenttap'), ['analyze', 'sessions', '--log-dir', demoDir, '-q'])
  const sessions = r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
  const clients = new Set(sessions.map((s) => s.client))
  if (clients.has('claude-code') && clients.has('codex')) ok(`agenttap analyze sessions on the demo's capture → ${sessions.length} sessions (${[...clients].sort().join(', ')})`)
  else fail(`agenttap analyze sessions on the demo's capture: exit ${r.status}, clients ${[...clients].join(', ') || 'none'} ${r.stderr.trim().split('\n').at(-1) ?? ''}`)
}

if (keep) console.log(`kept: ${work}`)
else rmSync(work, { recursive: true, force: true })
console.log(failures === 0 ? 'pack-install test: PASS' : `pack-install test: ${failures} failure(s)`)
process.exitCode = failures === 0 ? 0 : 1
