sudo -n -u nslab-podman env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/nslab-podman XDG_RUNTIME_DIR=/run/user/1002 podman exec probe cat /host/secret
