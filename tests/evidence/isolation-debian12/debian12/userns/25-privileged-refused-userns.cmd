docker run --rm --network none --privileged nslab/alpine:offline true
