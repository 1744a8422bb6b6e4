docker run --rm nslab/alpine:offline id
