docker run -d --name sc nslab/alpine:offline sleep 600
