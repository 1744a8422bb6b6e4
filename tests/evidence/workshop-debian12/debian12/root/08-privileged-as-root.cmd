docker run --rm --privileged nslab/alpine:offline id
