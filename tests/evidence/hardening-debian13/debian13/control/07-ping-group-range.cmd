docker run -d --name ping nslab/alpine:offline sleep 600
