docker rm -f registry && docker run -d --name registry -u 1000 -p 127.0.0.1:5000:5000 nslab/registry:offline
