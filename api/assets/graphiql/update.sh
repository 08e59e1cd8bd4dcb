#!/usr/bin/env bash
# Refreshes the vendored GraphiQL files from the npm registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent graphiql@3.9.0 react@18.3.1 react-dom@18.3.1 >/dev/null
for package in graphiql react react-dom; do
  mkdir "$package" && tar xzf "$package"-*.tgz -C "$package"
done
sed 's|//# sourceMappingURL=.*$||' graphiql/package/graphiql.min.js >"$here/graphiql.min.js"
cp graphiql/package/graphiql.min.css "$here/graphiql.min.css"
cp react/package/umd/react.production.min.js "$here/react.min.js"
cp react-dom/package/umd/react-dom.production.min.js "$here/react-dom.min.js"
