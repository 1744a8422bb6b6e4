docker volume rm -f nslab-owned >/dev/null && docker run -d --name writer -v /srv/nslab-share:/share -v nslab-owned:/vol nslab/alpine:offline sleep 600
