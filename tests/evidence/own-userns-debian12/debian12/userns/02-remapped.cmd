docker run -d --name remapped nslab/alpine:offline sleep 600
