docker exec writer touch /share/by-root && ls -ln /srv/nslab-share
