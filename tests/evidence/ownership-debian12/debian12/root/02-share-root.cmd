sudo -n sh -c 'rm -rf /srv/nslab-share && mkdir -m 1777 /srv/nslab-share'
