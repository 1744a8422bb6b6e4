docker run -d --name sc-open --security-opt seccomp=unconfined nslab/alpine:offline sleep 600
