docker run -d --name hostns --userns=host nslab/alpine:offline sleep 600
