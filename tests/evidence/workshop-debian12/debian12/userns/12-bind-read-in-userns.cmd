docker run --rm -v /srv/nslab-root-only:/secret nslab/alpine:offline cat /secret
