#!/usr/bin/env bash
# refresh.sh rebuilds vendor/, the third-party files of the playground that
# the server embeds: it installs the npm packages at the exact versions of
# package-lock.json in a temporary folder (no node_modules is left here) and
# copies their prebuilt browser bundles (UMD builds, which need no bundler).
#
#   ./refresh.sh           the versions of package-lock.json (npm ci)
#   ./refresh.sh --update  after editing package.json: npm install, and the
#                          new package-lock.json is copied back here
#
# Then run the playground's browser test (go test ./test/browser) and commit
# package.json, package-lock.json and vendor/ together.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$here/package-lock.json" "$work/"
cd "$work"
if [ "${1:-}" = "--update" ]; then
  npm install --no-audit --no-fund --ignore-scripts
  cp package-lock.json "$here/package-lock.json"
else
  npm ci --no-audit --no-fund --ignore-scripts
fi

m=node_modules
out="$here/vendor"
rm -rf "$out"
mkdir -p "$out"
# name in vendor/  <-  file in the package
files=(
  "react.production.min.js     $m/react/umd/react.production.min.js"
  "react-dom.production.min.js $m/react-dom/umd/react-dom.production.min.js"
  "graphiql.min.js             $m/graphiql/graphiql.min.js"
  "graphiql.min.css            $m/graphiql/graphiql.min.css"
  "graphql-ws.min.js           $m/graphql-ws/umd/graphql-ws.min.js"
)
for f in "${files[@]}"; do
  read -r name src <<<"$f"
  # Source maps are not shipped: drop the comments that point at them, so
  # that the browser's tools ask the server for nothing it lacks.
  sed -e '/^\/\/# sourceMappingURL=/d' -e 's|/\*# sourceMappingURL=[^*]*\*/||' "$src" >"$out/$name"
done

# The licences of what is vendored, and the versions, beside the files.
{
  for p in react react-dom graphiql graphql-ws; do
    version=$(node -p "require('./$m/$p/package.json').version")
    echo "==== $p $version"
    cat "$m/$p/"LICENSE*
    echo
  done
} >"$out/LICENSES.txt"
ls -l "$out"
