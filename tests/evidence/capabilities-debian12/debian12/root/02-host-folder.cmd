sudo -n sh -c 'rm -rf /srv/nslab-rootonly && mkdir -m 0755 /srv/nslab-rootonly && ls -ldn /srv/nslab-rootonly'
