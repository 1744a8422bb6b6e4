docker run -d --name sleeper nslab/alpine:offline sleep 600
