docker run --rm --privileged nslab/alpine:offline true
