#!/usr/bin/env bash
# Refreshes the vendored Chart.js build from the npm registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent chart.js@4.6.1 >/dev/null
tar xzf chart.js-*.tgz
sed 's|//# sourceMappingURL=.*$||' package/dist/chart.umd.min.js >"$here/chart.umd.min.js"
