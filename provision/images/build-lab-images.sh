#!/bin/sh
# Builds the lab's images inside a machine, offline, from files its Debian
# packages installed (busybox-static, docker-registry), with `docker import`.
#   build-lab-images.sh PREFIX RECIPE IMAGE...
# IMAGE is one of: alpine hello clock registry. Each becomes PREFIX/IMAGE:offline,
# labelled with RECIPE (a hash of this script) so a changed recipe rebuilds it.
# Stands in for `docker pull alpine / hello-world / registry:2` where no
# registry can be reached; nslab pulls the real images where one can.
set -eu
# Modes as in the real images, whatever the session's umask (Debian 13 gives
# SSH sessions 002, which would make /var/lib/registry group-writable, and a
# `-u 1000` container runs with group 0).
umask 022
prefix=$1 recipe=$2; shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

busybox_tree() {
  root=$1
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh ash ps id date sleep cat ls echo touch mkdir whoami grep env stat mknod chown chmod rm unshare mount umount true; do
    ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
}

# Copies a dynamically linked program with the libraries it loads.
with_libraries() {
  root=$1 program=$2
  mkdir -p "$root$(dirname "$program")"
  cp "$program" "$root$program"
  for lib in $(ldd "$program" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

import_tree() {
  name=$1; shift
  # Owned by root as in the real images, whoever runs this script.
  tar -C "$work/$name" --numeric-owner --owner=0 --group=0 -c . |
    docker import --change "LABEL org.nslab.recipe=$recipe" "$@" - "$prefix/$name:offline" >/dev/null
  echo "built $prefix/$name:offline"
}

for image in "$@"; do
  # Like `docker pull` of an image already there: nothing to do.
  built_from=$(docker image inspect -f '{{index .Config.Labels "org.nslab.recipe"}}' "$prefix/$image:offline" 2>/dev/null || true)
  if [ "$built_from" = "$recipe" ]; then
    echo "present $prefix/$image:offline"
    continue
  fi
  busybox_tree "$work/$image"
  case $image in
    alpine)
      import_tree alpine --change 'CMD ["/bin/sh"]' ;;
    hello)
      import_tree hello --change 'CMD ["/bin/echo", "Hello from Docker! (nslab offline hello-world)"]' ;;
    clock)
      import_tree clock --change 'CMD ["/bin/sh", "-c", "while date; do sleep 1; done"]' ;;
    registry)
      with_libraries "$work/registry" /usr/bin/docker-registry
      mkdir -p "$work/registry/etc/docker/registry" "$work/registry/var/lib/registry"
      cat > "$work/registry/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
EOF
      import_tree registry --change 'EXPOSE 5000' \
        --change 'CMD ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]' ;;
    *)
      echo "build-lab-images.sh: unknown image '$image' (known: alpine hello clock registry)" >&2
      exit 2 ;;
  esac
done
