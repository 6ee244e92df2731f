#!/usr/bin/env bash
# dynamodb-local.sh DIR VERSION SHA256 — installs DynamoDB Local (AWS's own
# emulator) into DIR, from the npm package amplify-dynamodb-simulator at
# VERSION, which ships AWS's DynamoDBLocal.jar with its native libraries.
#
# The tarball is fetched with `npm pack` (no npm install: nothing of the
# package runs), its SHA-256 checked against SHA256, and only its emulator/
# folder extracted with tar. DIR/DynamoDBLocal.jar is written last, so a
# present jar means a complete installation. Java (17 or later) is installed
# from apt when `java` is missing.
set -Eeuo pipefail
if [[ $# -ne 3 ]]; then
  echo "usage: $0 DIR VERSION SHA256" >&2
  exit 2
fi
dir=$1 version=$2 want=$3

if ! command -v java >/dev/null 2>&1; then
  echo "dynamodb-local: java is missing; installing openjdk-17-jre-headless" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi
command -v npm >/dev/null 2>&1 || { echo "dynamodb-local: npm is not on PATH" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "amplify-dynamodb-simulator@$version" >/dev/null)
tarball="$work/amplify-dynamodb-simulator-$version.tgz"
got=$(sha256sum "$tarball" | cut -d' ' -f1)
if [[ $got != "$want" ]]; then
  echo "dynamodb-local: $tarball has SHA-256 $got, want $want" >&2
  exit 1
fi
mkdir -p "$work/x"
tar -xzf "$tarball" -C "$work/x" package/emulator
rm -rf "$dir.tmp"
mkdir -p "$(dirname "$dir")"
mv "$work/x/package/emulator" "$dir.tmp"
jar="$dir.tmp/DynamoDBLocal.jar"
[[ -f $jar && -d $dir.tmp/DynamoDBLocal_lib ]] || { echo "dynamodb-local: the package has no emulator/DynamoDBLocal.jar" >&2; exit 1; }
mv "$jar" "$work/DynamoDBLocal.jar"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
mv "$work/DynamoDBLocal.jar" "$dir/DynamoDBLocal.jar"
echo "dynamodb-local: installed in $dir"
