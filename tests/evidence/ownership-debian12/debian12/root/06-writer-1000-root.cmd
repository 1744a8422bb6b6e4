docker run -d --name writer-1000 -u 1000:1000 -v /srv/nslab-share:/share nslab/alpine:offline sleep 600 && docker exec writer-1000 touch /share/by-1000
