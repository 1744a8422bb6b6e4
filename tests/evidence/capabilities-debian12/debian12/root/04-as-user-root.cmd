docker run -d --name as-user -u 1000 nslab/alpine:offline sleep 600
