docker run -d --name lim nslab/alpine:offline sleep 600
