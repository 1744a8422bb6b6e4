docker run --rm nslab/alpine:offline unshare -U true
