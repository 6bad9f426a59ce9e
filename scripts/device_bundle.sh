#!/bin/bash
# Packs what the talk's load (`scripts/device_talk.sh`) needs on a lent many-core machine,
# which has no package registries: release builds of examples/hello and examples/tokio_hello
# (the workspace's release profile, stripped) and this machine's wrk, each run through a
# bundled copy of its shared libraries and dynamic loader, so that nothing depends on the
# other machine's libraries. Writes target/device/ (about 15 MB; git ignores target/):
#
#     scripts/device_bundle.sh            # here
#     # then, on the lent machine, with target/device carried along:
#     bash scripts/device_talk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/device
wrk=$(command -v wrk) || { echo "device_bundle: wrk not found (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release --example hello --example tokio_hello
rm -rf "$out"
mkdir -p "$out/lib"
cp target/release/examples/hello target/release/examples/tokio_hello "$wrk" "$out/lib/"
strip "$out/lib/hello" "$out/lib/tokio_hello"
loader=
for bin in "$out/lib/hello" "$out/lib/tokio_hello" "$out/lib/wrk"; do
    # `ldd` lines: "name => /path (addr)" for libraries, "/lib64/ld-linux... (addr)" for the loader.
    while read -r lib; do
        cp -L "$lib" "$out/lib/"
        case "$lib" in */ld-linux*) loader=$(basename "$lib") ;; esac
    done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
done
[ -n "$loader" ] || { echo "device_bundle: no dynamic loader found in ldd's output" >&2; exit 1; }
for name in hello tokio_hello wrk; do
    # `exec` keeps the process id: the matrix reads the server's CPU time by it.
    cat > "$out/$name" <<WRAP
#!/bin/sh
here=\$(dirname "\$0")
exec "\$here/lib/$loader" --library-path "\$here/lib" "\$here/lib/$name" "\$@"
WRAP
    chmod +x "$out/$name"
done
du -sh "$out"
ls -l "$out/lib"
