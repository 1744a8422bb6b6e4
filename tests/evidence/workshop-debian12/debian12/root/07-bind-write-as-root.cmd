docker run --rm -v /srv/nslab-root-dir:/hostdir nslab/alpine:offline touch /hostdir/written-by-container
