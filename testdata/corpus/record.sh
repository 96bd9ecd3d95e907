#!/bin/bash
# Records BuildKit's result for corpus cases into CASE/expected/ (see README.md here).
#
#   testdata/corpus/record.sh [CASE…]     # default: every case whose `source` says `recorded`
#
# Needs dockerd with BuildKit (Debian's docker.io 20.10: /usr/bin/docker), python3 and
# busybox-static. The base image is kiln's own busybox rootfs, imported as
# kiln-corpus-busybox:1; the kiln test imports the same tarball under the same name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=/usr/bin/docker
export DOCKER_BUILDKIT=1

work=$(mktemp -d)
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$here/../make-busybox-rootfs.sh" "$work/base.tar"
$docker import "$work/base.tar" kiln-corpus-busybox:1 >/dev/null

# The HTTP server ADD URL cases read from: CASE/http/ is served as /CASE/.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$here" "$port" >/dev/null 2>&1 &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 50); do python3 -c "import urllib.request; urllib.request.urlopen('$url/')" 2>/dev/null && break; sleep 0.1; done

if [ $# -eq 0 ]; then
  set -- $(cd "$here" && for d in [0-9]*/; do d=${d%/}; [ "$(cat "$d/source")" = recorded ] && echo "$d"; done)
fi

for name in "$@"; do
  name=${name%/}
  case_dir=$here/$name
  [ "$(cat "$case_dir/source")" = recorded ] || { echo "$name: source is not \`recorded\`, skipped" >&2; continue; }
  dir=$work/$name
  mkdir -p "$dir/context"
  if [ -d "$case_dir/context" ]; then cp -a "$case_dir/context/." "$dir/context/"; fi
  if [ -f "$case_dir/context.sh" ]; then (cd "$dir/context" && bash "$case_dir/context.sh"); fi
  sed "s|{{HTTP}}|$url/$name/http|g" "$case_dir/Dockerfile" > "$dir/Dockerfile"
  flags=(--network=none -f "$dir/Dockerfile")
  if [ -f "$case_dir/args" ]; then
    while IFS= read -r arg; do [ -z "$arg" ] || flags+=(--build-arg "$arg"); done < "$case_dir/args"
  fi
  if [ -f "$case_dir/target" ]; then flags+=(--target "$(cat "$case_dir/target")"); fi
  tag=kiln-corpus-case:$name
  rm -rf "$case_dir/expected"
  mkdir -p "$case_dir/expected"
  if ! $docker build "${flags[@]}" --progress=plain -o "type=tar,dest=$dir/fs.tar" "$dir/context" > "$dir/log" 2>&1; then
    grep -m1 -E '^(error|ERROR|failed to solve)' "$dir/log" > "$case_dir/expected/error" || tail -1 "$dir/log" > "$case_dir/expected/error"
    echo "$name: BuildKit failed: $(cat "$case_dir/expected/error")"
    continue
  fi
  $docker build "${flags[@]}" -q -t "$tag" "$dir/context" >/dev/null
  $docker save -o "$dir/image.tar" "$tag"
  $docker rmi "$tag" >/dev/null
  python3 "$here/normalise.py" fs "$work/base.tar" "$dir/fs.tar" > "$case_dir/expected/fs.json"
  python3 "$here/normalise.py" config "$dir/image.tar" "$url/$name/http" > "$case_dir/expected/config.json"
  echo "$name: recorded"
done
