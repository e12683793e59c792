#!/usr/bin/env bash
# one-off: creates a package skeleton. usage: skeleton.sh <dir> <name> <description> [private]
set -euo pipefail
dir=$1 name=$2 desc=$3 private=${4:-}
mkdir -p "$dir/src" "$dir/test"
short=${name#@agenttap/}
if [ -n "$private" ]; then
cat > "$dir/package.json" <<EOF
{
  "name": "$name",
  "version": "0.0.0",
  "private": true,
  "description": "$desc",
  "type": "module",
  "sideEffects": false,
  "bin": {
    "agenttap-$short": "./dist/bin.js"
  },
  "exports": {
    ".": {
      "types": "./dist/index.d.ts",
      "import": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "files": ["dist"],
  "engines": {
    "node": ">=20.19"
  },
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc --noEmit -p tsconfig.json",
    "test": "vitest run"
  },
  "dependencies": {},
  "devDependencies": {}
}
EOF
cat > "$dir/tsup.config.ts" <<EOF
import { packageConfig } from '../../tsup.base.ts'

export default packageConfig(['src/index.ts', 'src/bin.ts'])
EOF
else
cat > "$dir/package.json" <<EOF
{
  "name": "$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "sideEffects": false,
  "exports": {
    ".": {
      "types": "./dist/index.d.ts",
      "import": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "files": ["dist"],
  "engines": {
    "node": ">=20.19"
  },
  "publishConfig": {
    "access": "public"
  },
  "repository": {
    "type": "git",
    "url": "git+https://github.com/agenttap/agenttap.git",
    "directory": "$dir"
  },
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc --noEmit -p tsconfig.json",
    "test": "vitest run"
  },
  "dependencies": {},
  "devDependencies": {}
}
EOF
cat > "$dir/tsup.config.ts" <<EOF
import { packageConfig } from '../../tsup.base.ts'

export default packageConfig(['src/index.ts'])
EOF
fi
cat > "$dir/tsconfig.json" <<EOF
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "allowImportingTsExtensions": true
  },
  "include": ["src", "test", "tsup.config.ts"]
}
EOF
