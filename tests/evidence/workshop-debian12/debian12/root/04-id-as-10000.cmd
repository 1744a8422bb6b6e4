docker run --rm --user 10000:10000 nslab/alpine:offline id
